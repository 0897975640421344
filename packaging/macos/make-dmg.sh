#!/usr/bin/env bash
# Sign "Credit Tray.app" and wrap it in a .dmg (macOS only; run by packaging/build.py).
#
#   bash packaging/macos/make-dmg.sh "dist/Credit Tray.app" dist/CreditTray-<version>-macos-<arch>.dmg
#
# Signing, from the environment:
#   MACOS_SIGN_IDENTITY unset   ad-hoc signature ("-"): the app runs on the machine that built it and,
#                               after the user clears quarantine, elsewhere (packaging/README.md says what
#                               that costs). This is the default and what CI does without secrets.
#   MACOS_SIGN_IDENTITY=...     a "Developer ID Application: ..." identity in the keychain: hardened runtime,
#                               secure timestamp, packaging/macos/entitlements.plist; the .dmg is signed too.
#   + MACOS_NOTARY_APPLE_ID, MACOS_NOTARY_TEAM_ID, MACOS_NOTARY_PASSWORD (an app-specific password):
#                               the .dmg is notarized with notarytool and the ticket stapled to it.
set -euo pipefail
app=${1:?usage: make-dmg.sh APP DMG}
dmg=${2:?usage: make-dmg.sh APP DMG}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
identity=${MACOS_SIGN_IDENTITY:--}
name="$(basename "$app" .app)"

plist="$app/Contents/Info.plist"
[[ $(/usr/libexec/PlistBuddy -c "Print :LSUIElement" "$plist") == true ]] || { echo "LSUIElement missing in $plist" >&2; exit 1; }

# PyInstaller has signed every binary (with the same identity, see the spec); sign the bundle as a whole.
if [[ $identity == - ]]; then
  codesign --force --deep --sign - "$app"
else
  codesign --force --deep --options runtime --timestamp --entitlements "$here/entitlements.plist" \
    --sign "$identity" "$app"
fi
codesign --verify --deep --strict --verbose=2 "$app"

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
rm -f "$dmg"
hdiutil create -volname "$name" -srcfolder "$staging" -fs HFS+ -format UDZO -ov "$dmg"

if [[ $identity != - ]]; then
  codesign --force --timestamp --sign "$identity" "$dmg"
  if [[ -n ${MACOS_NOTARY_APPLE_ID:-} && -n ${MACOS_NOTARY_TEAM_ID:-} && -n ${MACOS_NOTARY_PASSWORD:-} ]]; then
    xcrun notarytool submit "$dmg" --apple-id "$MACOS_NOTARY_APPLE_ID" --team-id "$MACOS_NOTARY_TEAM_ID" \
      --password "$MACOS_NOTARY_PASSWORD" --wait
    xcrun stapler staple "$dmg"
    xcrun stapler validate "$dmg"
  else
    echo "make-dmg.sh: signed with $identity but not notarized (no MACOS_NOTARY_* variables)" >&2
  fi
fi
echo "$dmg"
