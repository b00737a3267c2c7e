#!/usr/bin/env bash
# Create .venv and install the app (and, with --dev, everything the tests need).
# Works on a fresh Debian 12 machine with Python 3.11; re-running it is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  # Install only what is missing, so a warm machine skips apt entirely.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: apt-get install ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

PY=${PYTHON:-python3}
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_install python3-venv; fi
if [ $dev = 1 ]; then
  # Chromium for the browser tests and screenshots (Playwright cannot download its own here);
  # PostgreSQL for the multi-worker job-store tests.
  command -v chromium >/dev/null 2>&1 || apt_install chromium
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
if [ $dev = 1 ]; then req=requirements-dev.txt; else req=requirements.txt; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
