#!/usr/bin/env bash
# Headless Chromium from Debian for the dashboard's browser tests (tests/dashboard/), driven by
# Playwright's Python package (the `test` extra) with executable_path=/usr/bin/chromium: no browser
# is ever downloaded by Playwright. Idempotent and quiet: nothing happens when chromium is there.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
