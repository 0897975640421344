#!/usr/bin/env bash
# The packaging test (tests/test_packaging.py, marker `packaging`): build the Linux bundle, the
# tarball and the .deb from this checkout (scripts/package.sh), install the .deb with dpkg, drive
# the INSTALLED /usr/bin/credit-tray on a throwaway desktop, then purge the package.
# `scripts/test.sh` runs it too (when root); this runs just tests/test_packaging.py, e.g. after
# changing packaging/. Arguments go to pytest, e.g. `bash scripts/package-test.sh -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "package-test.sh: installs and removes a system package; run it as root (e.g. with sudo)" >&2
  exit 77
fi
bash scripts/setup.sh test
export CREDIT_TRAY_REQUIRE_DESKTOP=1
exec .venv/bin/python -m pytest -p no:cacheprovider tests/test_packaging.py -v "$@"
