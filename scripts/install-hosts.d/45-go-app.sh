#!/usr/bin/env bash
# The Go SDK app of tests/go_app (github.com/inngest/inngestgo, fetched through the Go module
# proxy at the version go.mod pins), built into .cache/go-app/<hash of its sources>/go-app for
# tests/protocol/test_go_sdk_app.py. Nothing of the SDK's source is kept in the repository.
# Idempotent and quiet: nothing happens when the binary for the current sources is there.
set -euo pipefail
cd "$(dirname "$0")/../.."
src="tests/go_app"
stamp="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)"
out=".cache/go-app/$stamp"
[ -x "$out/go-app" ] && exit 0
command -v go >/dev/null || { echo "45-go-app.sh: the go command is missing" >&2; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
mkdir -p "$out"
log="$(mktemp)"
(cd "$src" && go build -trimpath -o "../../$out/go-app.tmp" .) >"$log" 2>&1 \
  || { tail -n 40 "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"
mv "$out/go-app.tmp" "$out/go-app"
