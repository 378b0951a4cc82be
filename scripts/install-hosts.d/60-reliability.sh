#!/usr/bin/env bash
# The coverage-guided fuzzer for tests/reliability/test_fuzz_atheris.py and bench/fuzz_atheris.py:
# atheris (libFuzzer for Python) from its manylinux wheel. Idempotent and quiet; if it
# cannot be installed, the smoke test skips and says why.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! python -c "import atheris" 2>/dev/null; then
  python -m pip install -q --only-binary=:all: "atheris>=2.3" \
    || echo "atheris could not be installed; tests/reliability/test_fuzz_atheris.py will skip" >&2
fi
