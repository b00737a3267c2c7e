#!/usr/bin/env bash
# Set up everything the tests need (apt: chromium, postgresql; pip: requirements-dev.txt)
# and run the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
export PYTHONHASHSEED=0
exec .venv/bin/python -m pytest "$@"
