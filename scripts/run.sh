#!/usr/bin/env bash
# Set up and start the app on its embedded defaults (SQLite job store under ./data,
# one local worker, built-in datasets). Open http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/explorer serve "$@"
