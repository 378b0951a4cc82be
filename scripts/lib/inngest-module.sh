# Sourced by scripts/install-hosts.d/40-inngest-server.sh and 41-conformance-runner.sh.
# inngest_module_copy VERSION DEST: a writable copy of the Go module github.com/inngest/inngest at
# VERSION in DEST, ready for `go build` (run with CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod).
# `go install module/cmd@version` is refused (the module's go.mod has a replace line), so builds
# happen inside a copy of the downloaded module. Go's caches stay where Go keeps them.
# The pinned server version: the one place it is written (tests/real_server/harness.py reads it here).
INNGEST_VERSION="v1.43.0"

inngest_module_copy() {
  local version="$1" dest="$2" dir
  dir="$(go mod download -json "github.com/inngest/inngest@$version" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  cp -r "$dir" "$dest"
  chmod -R u+w "$dest"
  # The zip keeps only vendor/modules.txt, which would switch the build to vendor mode.
  rm -rf "$dest/vendor"
  # docs.go embeds website/pages/docs/* from a git submodule no module zip contains; one small file
  # satisfies the embed (it only feeds the dev server's built-in docs search).
  mkdir -p "$dest/internal/embeddocs/website/pages/docs"
  printf '# Inngest\n' > "$dest/internal/embeddocs/website/pages/docs/index.md"
}
