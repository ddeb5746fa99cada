#!/usr/bin/env bash
# Builds the Weaviate server the memory tests run against, once per machine,
# into a cache outside the checkout (a clean clone reuses it). Prints the path
# of the binary. The build takes 8-18 minutes on two cores the first time.
# Several callers at once share one build: the first takes a lock and
# builds, the others wait for it.
#
# `weaviate.sh --path` only prints where the binary is (or would be), without
# building: the tests use it to find the server that `make deps` built.
set -euo pipefail
version=v1.35.2
cache="${ATTACH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attach-gateway}"
dir="$cache/weaviate-$version"
bin="$dir/weaviate-server"
if [[ "${1:-}" == --path ]]; then
	echo "$bin"
	exit 0
fi
if [[ ! -x $bin ]]; then
	mkdir -p "$dir"
	exec 9>"$dir/build.lock"
	flock 9
	if [[ ! -x $bin ]]; then
		echo "deps: building weaviate-server $version into $cache (once per machine)" >&2
		tmp="$dir/tmp.$$"
		trap 'rm -rf "$tmp"' EXIT
		mkdir -p "$tmp"
		GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/weaviate/weaviate/cmd/weaviate-server@$version" >&2
		mv "$tmp/weaviate-server" "$bin"
	fi
fi
echo "$bin"
