#!/usr/bin/env bash
# What building the deploy templates and running what they build needs, beyond 20-aws.sh and 30-hosts.sh
# (tests/adapters/test_templates_built.py):
#   .cache/aws/runtime-py312: Python 3.12 with awslambdaric only, the client of Lambda's python3.12
#     managed runtime, to run `sam build` / `serverless package` output under the emulator (the
#     built folder brings every other package)
# `sam build` itself finds Python 3.12 through pyenv (the test puts it on PATH).
# Idempotent: the venv is rebuilt only when its stamp (the pin) changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
pin="awslambdaric==4.2.2"
venv=".cache/aws/runtime-py312"
if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$pin" ]; then
  exit 0
fi
base="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions"
py=""
for dir in "$base"/3.12.*; do [ -x "$dir/bin/python" ] && py="$dir/bin/python" && break; done
[ -n "$py" ] || py="$(command -v python3.12 || true)"
if [ -z "$py" ]; then
  if [ "${CI:-}" = "true" ]; then echo "50-templates: Python 3.12 not found (the Lambda templates build for it)" >&2; exit 1; fi
  echo "50-templates: Python 3.12 not found: the built Lambda templates will not be run" >&2
  exit 0
fi
rm -rf "$venv"
mkdir -p .cache/aws
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install -q "$pin"
echo "$pin" > "$venv/.stamp"
