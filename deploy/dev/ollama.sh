#!/usr/bin/env bash
# Builds the Ollama server the end-to-end tests and `make engine` run, once
# per machine, into a cache outside the checkout (a clean clone reuses it).
# Prints the path of the binary. The build (CPU only, cgo) takes 6-7 minutes
# on two idle cores the first time.
#
# The module zip on the Go module proxy lacks llama.cpp's vendor/ headers, so
# they come from Debian instead and reach the compiler through CGO_CPPFLAGS:
# nlohmann-json3-dev and libstb-dev from bookworm (apt), and miniaudio's
# single header from sid's libminiaudio-dev, which bookworm does not package.
# That one is fetched with `apt-get download` through a private apt
# configuration under the cache, so the system's sources stay as they are.
#
# Several callers at once share one build: the first takes a lock and builds,
# the others wait for it. `ollama.sh --path` only prints where the binary is
# (or would be), without building.
#
# `ollama.sh serve [ADDR]` (`make engine`) builds it if need be, then runs it
# on ADDR (127.0.0.1:11434) serving the tiny model as "tiny", which answers
# "Hello from the tiny model." to any prompt, until interrupted. Its home and
# models live in the cache (engine-ADDR), never in the checkout.
set -euo pipefail
version=v0.17.4
cache="${ATTACH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/attach-gateway}"
dir="$cache/ollama-$version"
bin="$dir/ollama"
case "${1:-}" in
--path)
	echo "$bin"
	exit 0
	;;
serve)
	addr="${2:-127.0.0.1:11434}"
	"$0" >/dev/null
	# One folder per address, so engines on two ports do not share a home.
	engine="$cache/engine-${addr//[^0-9A-Za-z.]/-}"
	mkdir -p "$engine/model"
	# The model is written afresh each time: it takes well under a second.
	(cd "$(dirname "$0")/../.." && go run ./cmd/tinymodel -dir "$engine/model" >/dev/null)
	# HOME too: Ollama keeps its key pair and history under ~/.ollama.
	export HOME="$engine" OLLAMA_HOST="$addr" OLLAMA_MODELS="$engine/models" OLLAMA_NO_CLOUD=1
	"$bin" serve >"$engine/serve.log" 2>&1 &
	pid=$!
	trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT
	trap 'exit 0' INT TERM
	until curl -fs "http://$addr/api/version" >/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "ollama did not start on $addr (is the port taken?):" >&2
			tail -n 20 "$engine/serve.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	if ! out="$(cd "$engine/model" && "$bin" create tiny -f Modelfile 2>&1)"; then
		echo "ollama create tiny failed: $out" >&2
		exit 1
	fi
	cat <<-EOT
		Ollama $version on http://$addr serving model "tiny" (log: $engine/serve.log).
		Try: curl http://$addr/api/chat -d '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"stream":false}'
		Gateway in front of it: ENGINE_URL=http://$addr make run
		Ctrl-C stops it.
	EOT
	wait "$pid"
	exit
	;;
esac
[[ -x $bin ]] && { echo "$bin"; exit 0; }

mkdir -p "$dir"
exec 9>"$dir/build.lock"
flock 9
[[ -x $bin ]] && { echo "$bin"; exit 0; }

echo "deps: building ollama $version into $cache (once per machine)" >&2
sudo=""
[[ $(id -u) == 0 ]] || sudo=sudo

# nlohmann/json.hpp and stb/stb_image.h, where the compiler looks by default.
if [[ ! -f /usr/include/nlohmann/json_fwd.hpp || ! -f /usr/include/stb/stb_image.h ]]; then
	# Another process may hold the apt lock for minutes on a fresh machine.
	apt_install() {
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
			install -y -q --no-install-recommends nlohmann-json3-dev libstb-dev >&2
	}
	apt_install || { $sudo apt-get -o DPkg::Lock::Timeout=600 update -q >&2 && apt_install; }
fi

# miniaudio/miniaudio.h, from sid, with apt's state, lists and cache all
# private to this folder.
include="$dir/include"
if [[ ! -f $include/miniaudio/miniaudio.h ]]; then
	apt="$dir/apt"
	rm -rf "$apt"
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/parts" "$apt/prefs"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" >"$apt/sources.list"
	: >"$apt/status"
	opts=(
		-o Dir::Etc::SourceList="$apt/sources.list"
		-o Dir::Etc::SourceParts="$apt/parts"
		-o Dir::Etc::PreferencesParts="$apt/prefs"
		-o Dir::State::Lists="$apt/lists"
		-o Dir::State::status="$apt/status"
		-o Dir::Cache="$apt"
		-o Dir::Cache::archives="$apt/archives"
		# The folder is root's (0700): apt's own _apt user could not write it.
		-o APT::Sandbox::User=root
		# Only the package index is needed, not the software-centre metadata
		# (5-6 MB more) that appstream's configuration asks apt to fetch.
		-o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
		-o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false
		-o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
	)
	apt-get "${opts[@]}" update -q >&2
	(cd "$apt" && apt-get "${opts[@]}" download libminiaudio-dev >&2)
	dpkg -x "$apt"/libminiaudio-dev_*.deb "$apt/root"
	header="$(find "$apt/root" -name miniaudio.h | head -n 1)"
	[[ -n $header ]] || { echo "deps: libminiaudio-dev has no miniaudio.h" >&2; exit 1; }
	mkdir -p "$include/miniaudio"
	cp "$header" "$include/miniaudio/miniaudio.h"
	rm -rf "$apt"
fi

tmp="$dir/tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"
CGO_ENABLED=1 CGO_CPPFLAGS="-I$include" GOBIN="$tmp" GOFLAGS=-mod=mod \
	go install -ldflags "-X github.com/ollama/ollama/version.Version=${version#v}" \
	"github.com/ollama/ollama@$version" >&2
mv "$tmp/ollama" "$bin"
echo "$bin"
