#!/usr/bin/env bash
# Python 3.10, 3.12 and 3.13 venvs for running the core tests on every supported
# Python (the default run uses 3.11). Idempotent: a venv is rebuilt only when
# its requirements change. A version this machine lacks is named and left out
# (its test then skips); in CI (CI=true) a missing version is an error.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
root="$PWD"
reqs="pytest>=8 pydantic>=2 httpx>=0.27 rfc8785>=0.1.4 msgspec>=0.18"
base="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions"
for ver in 3.10 3.12 3.13; do
  venv="$root/.cache/venv-core-py$ver"
  if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$reqs" ] && [ -x "$venv/bin/python" ]; then
    continue
  fi
  py=""
  for dir in "$base/$ver".*; do [ -x "$dir/bin/python" ] && py="$dir/bin/python" && break; done
  [ -n "$py" ] || py="$(command -v "python$ver" || true)"
  if [ -z "$py" ]; then
    if [ "${CI:-}" = "true" ]; then echo "10-pythons: Python $ver not found (CI tests every supported version)" >&2; exit 1; fi
    echo "10-pythons: Python $ver not found: the core suite will not be tested on it" >&2
    continue
  fi
  rm -rf "$venv"
  "$py" -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install -q $reqs 2>&1 | { grep -v "is ignored: it is neither" || true; }
  "$venv/bin/python" - "$root" <<'PY'
import sys, sysconfig
from pathlib import Path
Path(sysconfig.get_paths()["purelib"], "inngest_serverless_checkout.pth").write_text(sys.argv[1] + "\n")
PY
  echo "$reqs" > "$venv/.stamp"
done
