#!/usr/bin/env bash
# Set up (Debian packages, .venv) and start Credit Tray. Arguments go to credit-tray,
# e.g. `scripts/run-app.sh --demo` or `scripts/run-app.sh check`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh app
exec .venv/bin/credit-tray "$@"
