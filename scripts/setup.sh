#!/usr/bin/env bash
# Shared by run-app.sh and test.sh: Debian packages, then a venv in .venv with the project.
#   scripts/setup.sh app    # what the tray needs at run time
#   scripts/setup.sh test   # plus the virtual desktop the GUI tests drive
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
kind=${1:-app}

# Qt's xcb platform plugin needs these system libraries (libxcb-cursor0 since Qt 6.5); one small
# CJK font (5 MB, against 90 MB for Noto CJK) so the language list shows 简体中文, not boxes.
APP_DEBS=(libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3
          libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
          libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 fonts-dejavu-core
          fonts-wqy-microhei)
# The tests' desktop: virtual screen, private session bus, notification daemon, Secret Service,
# screenshots and clicks. (No dbus-x11: its autolaunch leaves stray buses behind tests.)
# prometheus (with promtool) and prometheus-node-exporter: the real tools the exporter's tests run;
# systemd: systemd-analyze for the unit.
TEST_DEBS=(xvfb xauth dbus dunst gnome-keyring libsecret-tools xdotool imagemagick x11-utils
           desktop-file-utils prometheus prometheus-node-exporter systemd)

debs=("${APP_DEBS[@]}")
[[ $kind == test ]] && debs+=("${TEST_DEBS[@]}")

# Nothing changed since the last set-up (same pyproject.toml, same packages): skip the Debian check
# and pip, which take seconds, so run-app.sh starts the app at once.
stamp=.venv/.setup-$kind
key="$(sha256sum pyproject.toml | cut -d' ' -f1) ${debs[*]}"
# The interface's translations: i18n/*.po and *.ts compiled to resources/i18n (build output, not in
# git), again whenever a catalogue is newer than the last compile (a pull), and only then.
compile_translations() {
  local done=resources/i18n/.compiled
  [[ -d i18n ]] || return 0
  if [[ -f $done && -z $(find i18n -newer "$done" -print -quit) ]]; then
    return 0
  fi
  .venv/bin/python scripts/translations.py compile >/dev/null
  mkdir -p resources/i18n && touch "$done"
}

if [[ -x .venv/bin/python && -f $stamp && $(cat "$stamp") == "$key" ]]; then
  compile_translations
  exit 0
fi

python3 -c 'import ensurepip, venv' 2>/dev/null || debs+=(python3-venv)

source scripts/debs.sh
install_debs "${debs[@]}"

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
extra="[i18n]"
[[ $kind == test ]] && extra="[test]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"
compile_translations
printf "%s" "$key" > "$stamp"
