#!/usr/bin/env bash
# Builds the Weaviate server the memory tests run against, once per machine,
# into a cache outside the checkout (a clean clone reuses it). Prints the path
# of the binary. The build takes 8-18 minutes on two cores the first time.
set -euo pipefail
version=v1.35.2
cache="${ATTACH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attach-gateway}"
bin="$cache/weaviate-$version/weaviate-server"
if [[ ! -x $bin ]]; then
	mkdir -p "$cache/weaviate-$version"
	echo "deps: building weaviate-server $version into $cache (once per machine)" >&2
	tmp="$cache/weaviate-$version/tmp.$$"
	mkdir -p "$tmp"
	GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/weaviate/weaviate/cmd/weaviate-server@$version" >&2
	mv "$tmp/weaviate-server" "$bin"
	rmdir "$tmp"
fi
echo "$bin"
