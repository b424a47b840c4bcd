#!/usr/bin/env bash
# Regenerates bench/go-baseline/gen/ (the Go code of boundary's two socket
# schemas) from proto/ with buf and protoc-gen-go, the plugin installed from
# the Go module proxy at the google.golang.org/protobuf version of go.mod, so
# the generated code and the runtime it calls always match.
#
#   bench/go-baseline/generate.sh           regenerate (also: go generate ./receiver)
#   bench/go-baseline/generate.sh --check   exit 1 when the committed files are stale
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/go-baseline-gen.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

version="$(cd "$HERE" && go list -m -f '{{.Version}}' google.golang.org/protobuf)"
GOBIN="$WORK/bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$version"
export PATH="$WORK/bin:$ROOT/node_modules/.bin:$PATH"

cd "$ROOT"
if [[ "${1:-}" == "--check" ]]; then
	buf generate --template bench/go-baseline/buf.gen.yaml --output "$WORK/out"
	if ! diff -r "$WORK/out/bench/go-baseline/gen" bench/go-baseline/gen; then
		echo "bench/go-baseline/gen is stale: run bench/go-baseline/generate.sh" >&2
		exit 1
	fi
	echo "bench/go-baseline/gen is up to date (protoc-gen-go $version)"
else
	buf generate --template bench/go-baseline/buf.gen.yaml
	echo "generated bench/go-baseline/gen (protoc-gen-go $version)"
fi
