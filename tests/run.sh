#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine, then runs the whole suite.
# Used by the README's quick start and by .ci/run. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# The official Countly SDKs (and jsdom, puppeteer-core) for the end-to-end tests.
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# A real browser for the widget and web SDK tests (Debian's package; never a downloaded build).
if ! command -v chromium-headless-shell >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
  else
    echo "tests/run.sh: please install Debian's chromium-headless-shell (or chromium) for the browser tests" >&2
  fi
fi

exec .venv/bin/python -m pytest "$@"
