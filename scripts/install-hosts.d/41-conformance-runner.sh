#!/usr/bin/env bash
# Inngest's SDK conformance runner with one fix, for tests/real_server/test_conformance.py:
#   .cache/inngest/<version>/conformance-runner   `inngest` built with the fix below
# At v1.43.0 the runner's expected executor context copies request_id and job_id from the
# request it checks but not generation_id, which the same server stamps on every SDK call
# (pkg/execution/driver/request.go), so every case that runs a function fails for every SDK,
# the Go reference app included. The fix adds that one copy (docs/compatibility.md). The unfixed
# runner is the server binary itself (40-inngest-server.sh); the tests run both.
# Idempotent and quiet: nothing happens when the binary is there.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/inngest-module.sh
version="$INNGEST_VERSION"
out=".cache/inngest/$version"
[ -x "$out/conformance-runner" ] && exit 0
command -v go >/dev/null || { echo "41-conformance-runner.sh: the go command is missing" >&2; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
inngest_module_copy "$version" "$work/src"
runner="$work/src/pkg/conformance/runner/serve/runner.go"
anchor='		copyRequestContextFieldIfPresent(&expectedCtx, execReq.Ctx, "JobID")'
grep -qxF "$anchor" "$runner" || { echo "41-conformance-runner.sh: $runner changed; check the fix" >&2; exit 1; }
python3 - "$runner" "$anchor" <<'PY'
import sys
path, anchor = sys.argv[1], sys.argv[2]
text = open(path).read()
fix = anchor.replace('"JobID"', '"GenerationID"')
open(path, "w").write(text.replace(anchor + "\n", anchor + "\n" + fix + "\n", 1))
PY
mkdir -p "$out"
(cd "$work/src" && go build -trimpath -o "$work/conformance-runner" ./cmd) >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; exit 1; }
mv "$work/conformance-runner" "$out/conformance-runner.tmp" && mv "$out/conformance-runner.tmp" "$out/conformance-runner"
