#!/usr/bin/env bash
# Build the Linux installers from this checkout (packaging/README.md):
#   dist/credit-tray_<version>_<arch>.deb and dist/credit-tray-<version>-linux-<machine>.tar.gz
# A clean venv in build/venv-packaging gets the project installed NON-editable plus the
# `packaging` extra (PyInstaller), so the bundle holds exactly what a wheel install holds.
# Arguments go to packaging/build.py (e.g. --skip-freeze).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}

# Build tools: venv, binutils (PyInstaller strips with `strip`; the .deb's Depends come from
# `objdump`), dpkg-deb (part of dpkg). Debian's own python3 also needs its shared libpython.
debs=(binutils)
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || debs+=(python3-venv)
if [[ $("$PYTHON" -c 'import sys; print(sys.base_prefix)') == /usr ]]; then
  debs+=("lib$("$PYTHON" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")')")
fi
source scripts/debs.sh
install_debs "${debs[@]}"

venv=build/venv-packaging
[[ -x $venv/bin/python ]] || "$PYTHON" -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
rm -rf build/lib build/bdist.*  # setuptools' in-tree leftovers would put stale modules in the wheel
"${pip[@]}" ".[packaging]"
# The compiled catalogues go into the wheel, so they are built before it (Babel and lrelease are here now).
"$venv/bin/python" scripts/translations.py compile
"${pip[@]}" --no-deps --force-reinstall .  # always this checkout, even at an unchanged version
rm -rf build/lib build/bdist.*
exec "$venv/bin/python" packaging/build.py "$@"
