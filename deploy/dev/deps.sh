#!/usr/bin/env bash
# Installs what building, testing and benchmarking the gateway need on a
# Debian machine, skipping whatever is already there. Safe to run repeatedly.
# That is PostgreSQL (the embedded default and the tests), Node packages (the
# real OIDC provider and the real A2A agent and client the tests run), nginx
# and wrk (the load benchmark and its tests), Chromium (the console's browser
# tests), a Weaviate server (the memory tests) and an Ollama server (the tests
# against a real engine), both built from the Go module proxy once per
# machine and cached outside the checkout. `deps.sh run` installs only what
# `make run` needs: PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
	packages+=(postgresql)
fi
only_run=false
[[ "${1:-}" == run ]] && only_run=true
if ! $only_run; then
	command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
	command -v nginx >/dev/null 2>&1 || packages+=(nginx-light)
	command -v wrk >/dev/null 2>&1 || packages+=(wrk)
	# The console's end-to-end tests drive a real headless browser.
	command -v chromium >/dev/null 2>&1 || packages+=(chromium)
fi

if ((${#packages[@]})); then
	echo "deps: installing ${packages[*]}"
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	$sudo apt-get update -q
	# Another process may hold the apt lock for minutes on a fresh machine.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${packages[@]}"
	# Debian starts a cluster on install; the gateway runs its own.
	if [[ " ${packages[*]} " == *" postgresql "* ]]; then
		$sudo systemctl stop postgresql 2>/dev/null || $sudo service postgresql stop 2>/dev/null || true
	fi
fi

$only_run && exit 0

# The Node programs the tests run: the real OpenID Connect provider (npm
# oidc-provider), the real A2A 1.0 agent and client (npm @a2a-js/sdk) and
# the real DID-JWT library agents sign in with (npm did-jwt) and the real
# MCP client (npm @modelcontextprotocol/sdk), and the real Ollama and OpenAI
# clients (npm ollama, openai) the dialect tests drive.
for dir in app/identity/oidctest app/identity/didtest/js a2a/a2atest/js app/mcp/mcptest/js app/proxy/dialecttest/js; do
	if [[ ! -d $dir/node_modules ]] || [[ $dir/package-lock.json -nt $dir/node_modules/.package-lock.json ]]; then
		echo "deps: npm ci in $dir"
		npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
	fi
done

# The real Weaviate the memory tests run, and the real Ollama the engine
# tests run; each a no-op once it is built.
./deploy/dev/weaviate.sh >/dev/null
./deploy/dev/ollama.sh >/dev/null
