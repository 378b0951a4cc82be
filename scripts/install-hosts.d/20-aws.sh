#!/usr/bin/env bash
# Real AWS Lambda hosts for the aws_lambda adapter's tests (docs/deploy-lambda.md):
#   main env (3.11): awslambdaric (the real Python runtime client), Powertools parser +
#     parameters, moto, cfn-lint, aws-sam-translator; mangum + fastapi for bench/ only
#   .cache/aws/aws-lambda-rie: the Runtime Interface Emulator, taken out of the aws-sam-cli wheel
#   .cache/aws/sam-venv: aws-sam-cli, for `sam validate` and its local API Gateway emulator; in a
#     venv because its pins would move the main env (click 8.4 -> 8.1.8, boto3/botocore, cfn-lint,
#     aws-sam-translator, cryptography)
#   .cache/aws/events: samgen_*.json event templates from `sam local generate-event`
#   .cache/aws/sls: serverless@3 + serverless-offline@13 (npm)
# Idempotent: each step checks a stamp or the installed version first.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
cache=".cache/aws"
sam_version="1.170.0"
mkdir -p "$cache"

main_reqs=(
  "awslambdaric==4.2.2"
  "aws-lambda-powertools[parser]==3.37.0"
  "moto[server]>=5.0"
  "cfn-lint>=1.0"
  "aws-sam-translator>=1.90"
  "mangum==0.22.0"
  "fastapi>=0.110"
)
stamp="$cache/main-env.stamp"
want="$(python -c 'import sys; print(sys.executable)') ${main_reqs[*]}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
   || ! python -c 'import importlib.util as u, sys
sys.exit(not all(u.find_spec(m) for m in ("awslambdaric", "aws_lambda_powertools", "moto", "cfnlint",
                                          "samtranslator", "mangum", "fastapi", "flask_cors")))'; then
  python -m pip install -q "${main_reqs[@]}"
  echo "$want" > "$stamp"
fi

# The emulator binary ships inside the aws-sam-cli wheel; take that one member out.
arch="$(uname -m)"; case "$arch" in aarch64|arm64) arch=arm64 ;; *) arch=x86_64 ;; esac
if [ ! -x "$cache/aws-lambda-rie" ]; then
  python -m pip download -q --no-deps "aws-sam-cli==$sam_version" -d "$cache/wheels"
  python - "$cache" "$arch" <<'PY'
import glob, os, sys, zipfile
cache, arch = sys.argv[1], sys.argv[2]
wheel = sorted(glob.glob(os.path.join(cache, "wheels", "aws_sam_cli-*.whl")))[-1]
with zipfile.ZipFile(wheel) as z:
    data = z.read(f"samcli/local/rapid/aws-lambda-rie-{arch}")
out = os.path.join(cache, "aws-lambda-rie")
with open(out + ".tmp", "wb") as f:
    f.write(data)
os.chmod(out + ".tmp", 0o755)
os.replace(out + ".tmp", out)
PY
fi

venv="$cache/sam-venv"
if [ ! -x "$venv/bin/sam" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$sam_version" ]; then
  python -m venv "$venv"
  "$venv/bin/python" -m pip install -q "aws-sam-cli==$sam_version"
  echo "$sam_version" > "$venv/.stamp"
fi

# Event templates the AWS tests build on, from SAM CLI's own generator (tests/fixtures/aws-events/README.md).
events="$cache/events"
if [ ! -f "$events/.stamp" ] || [ "$(cat "$events/.stamp")" != "$sam_version" ]; then
  mkdir -p "$events"
  for spec in "samgen_v1 apigateway aws-proxy" "samgen_v2 apigateway http-api-proxy" "samgen_alb alb request"; do
    set -- $spec
    SAM_CLI_TELEMETRY=0 "$venv/bin/sam" local generate-event "$2" "$3" > "$events/$1.json.tmp" 2>/dev/null
    mv "$events/$1.json.tmp" "$events/$1.json"
  done
  echo "$sam_version" > "$events/.stamp"
fi

sls="$cache/sls"
if [ ! -f "$sls/node_modules/serverless-offline/package.json" ] || [ ! -f "$sls/node_modules/serverless/bin/serverless.js" ]; then
  mkdir -p "$sls"
  [ -f "$sls/package.json" ] || echo '{"name":"sls-harness","private":true}' > "$sls/package.json"
  # --before: the newest registry copies of some serverless@3 dependencies are incomplete.
  (cd "$sls" && npm i -E --before=2026-10-20 --no-audit --no-fund --loglevel=error \
     serverless@3 serverless-offline@13 >/dev/null)
fi
