#!/usr/bin/env bash
# Set up everything (Debian packages, .venv, test dependencies) and run the whole suite:
# lint, types, unit and loopback tests, pytest-qt, and the end-to-end desktop tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh test
export CREDIT_TRAY_REQUIRE_DESKTOP=1  # here a missing desktop tool is a failure, not a skip
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest -p no:cacheprovider "$@"
