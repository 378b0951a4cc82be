#!/usr/bin/env bash
# The real Inngest server for tests/real_server/ and bench/bench_real_server.py:
#   .cache/inngest/<version>/inngest          the server (`inngest dev`, `inngest start`)
#   .cache/inngest/<version>/conformance-go   the Go reference app of its SDK conformance suite
# built from the Go module at the pinned version (no release binary can be downloaded here), and
# PostgreSQL + Redis servers from Debian for the self-hosted tests.
# Idempotent and quiet: nothing happens when both binaries and both servers are there.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/inngest-module.sh
version="$INNGEST_VERSION"
out=".cache/inngest/$version"

if [ ! -x "$out/inngest" ] || [ ! -x "$out/conformance-go" ]; then
  command -v go >/dev/null || { echo "40-inngest-server.sh: the go command is missing" >&2; exit 1; }
  export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod
  work="$(mktemp -d)"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  inngest_module_copy "$version" "$work/src"
  mkdir -p "$out"
  # No version ldflag: a "dev" build has telemetry and the update check off.
  (cd "$work/src" && go build -trimpath -o "$work/inngest" ./cmd \
    && go build -trimpath -o "$work/conformance-go" ./tests/conformance/golang) >"$work/build.log" 2>&1 \
    || { tail -n 40 "$work/build.log" >&2; exit 1; }
  mv "$work/inngest" "$out/inngest.tmp" && mv "$out/inngest.tmp" "$out/inngest"
  mv "$work/conformance-go" "$out/conformance-go.tmp" && mv "$out/conformance-go.tmp" "$out/conformance-go"
fi

# PostgreSQL (initdb, postgres) and Redis for `inngest start --postgres-uri/--redis-uri`.
need=()
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
{ command -v initdb >/dev/null || [ -x "${pg_bin:-/nonexistent}/initdb" ]; } || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "40-inngest-server.sh: ${need[*]} missing; install them as root (apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  log="$(mktemp)"
  # Debian starts the services it installs where it can; the tests run their own on other ports.
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1 \
    || { tail -n 40 "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
fi
