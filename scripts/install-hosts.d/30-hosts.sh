#!/usr/bin/env bash
# Real runtimes for the GCF, Azure, Vercel, ASGI and WSGI adapter harnesses.
#   main env (3.11): functions-framework, azure-functions 1.x, uvicorn
#   .cache/venv-azure313: Python 3.13 + azure-functions 2.x + azure-functions-runtime (the worker's indexer)
#   .cache/venv-vercel312: Python 3.12 + vercel-runtime (the bridge @vercel/python runs)
# Idempotent: each venv is rebuilt only when its stamp (the pinned requirements) changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
root="$PWD"

main_reqs=("functions-framework>=3.8,<4" "azure-functions>=1.20,<2" "uvicorn>=0.30" "starlette>=0.37" "gunicorn>=22" "flask>=3")
if ! python - "${main_reqs[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
from packaging.requirements import Requirement
for spec in sys.argv[1:]:
    req = Requirement(spec)
    if not req.specifier.contains(version(req.name), prereleases=True):
        sys.exit(1)
PY
then
  python -m pip install -q "${main_reqs[@]}"
fi

pyenv_python() {  # pyenv_python 3.13 -> path of an installed 3.13.x interpreter, or empty
  local want="$1" base
  base="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions"
  for dir in "$base/$want".*; do
    [ -x "$dir/bin/python" ] && { echo "$dir/bin/python"; return; }
  done
  command -v "python$want" || true
}

link_project() {  # put the checkout on the venv's path (a .pth file) and install its runtime deps
  local venv="$1"
  "$venv/bin/python" - "$root" <<'PY'
import subprocess, sys, sysconfig, tomllib
from pathlib import Path
root = Path(sys.argv[1])
Path(sysconfig.get_paths()["purelib"], "inngest_serverless_checkout.pth").write_text(f"{root}\n")
deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
if deps:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *deps], check=True)
PY
}

make_venv() {  # make_venv NAME PYVERSION REQUIREMENTS...
  local name="$1" pyver="$2"; shift 2
  local venv="$root/.cache/$name" stamp
  # Rebuild when the pins or the project's own dependencies change.
  stamp="$* | $(python -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"])')"
  if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$stamp" ] && [ -x "$venv/bin/python" ]; then
    return
  fi
  local py; py="$(pyenv_python "$pyver")"
  if [ -z "$py" ]; then echo "30-hosts: no Python $pyver found; $name harness tests will skip" >&2; return; fi
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q "$@"
  link_project "$venv"
  echo "$stamp" > "$venv/.stamp"
}

mkdir -p .cache
make_venv venv-azure313 3.13 "azure-functions>=2,<3" "azure-functions-runtime>=1,<2"
make_venv venv-vercel312 3.12 "vercel-runtime>=0.23,<1"

# `vercel build` offline (no login): the Vercel CLI, and uv, which @vercel/python builds with.
# 58.10.0: newer CLIs do not install from this registry mirror.
vercel_cli=.cache/vercel-cli
if [ ! -x "$vercel_cli/node_modules/.bin/vercel" ]; then
  if command -v npm >/dev/null; then
    mkdir -p "$vercel_cli"
    npm i -E --no-audit --no-fund --silent --prefix "$vercel_cli" vercel@58.10.0 >/dev/null \
      || echo "30-hosts: could not install the Vercel CLI; the vercel build test will skip" >&2
  else
    echo "30-hosts: no npm; the vercel build test will skip" >&2
  fi
fi
if [ -x .cache/venv-vercel312/bin/python ] && [ ! -x .cache/venv-vercel312/bin/uv ]; then
  .cache/venv-vercel312/bin/python -m pip install -q "uv>=0.5,<1"
fi
