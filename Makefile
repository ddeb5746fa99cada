# Attach Gateway. `make run` starts the gateway on its embedded Postgres;
# `make test` runs the whole suite against real services.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/attach

.PHONY: all build run demo test test-short lint generate check-generated deps bench docker clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/attach

# The gateway on the embedded default: a private Postgres in ./.attach.
run: build
	./deploy/dev/deps.sh run
	./$(BIN) serve

# The planner -> coder hand-off through the gateway: the gateway on its
# embedded default, the two demo agents registered for the default team, a
# real engine (ENGINE_URL, else the Ollama of deploy/dev/ollama.sh), one
# hand-off printed as a task tree and its memory; Ctrl-C stops it all.
demo: build
	./deploy/dev/deps.sh run
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/attach-planner ./cmd/attach-planner
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/attach-coder ./cmd/attach-coder
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/attach-demo ./cmd/attach-demo
	./bin/attach-demo $(DEMO_FLAGS)

deps:
	./deploy/dev/deps.sh

lint: check-generated
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# The console's templ output. templ writes each file's path relative to
# -path into the generated code, so it always runs from the repository root
# (where make runs) with the same arguments: every checkout gets the same
# files.
generate:
	$(GO) tool templ generate -path console

# Fails when console/*_templ.go are not what the .templ files generate. It
# generates into a copy of console/ (with the templ pinned in go.mod), so the
# tree is left as it is.
check-generated:
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	cp -R console "$$tmp/" && rm -f "$$tmp"/console/*_templ.go && \
	$(GO) build -o "$$tmp/templ" github.com/a-h/templ/cmd/templ && \
	out="$$(cd "$$tmp" && ./templ generate -path console 2>&1)" || { echo "$$out"; exit 1; }; \
	if ! diff -r console "$$tmp/console" >/dev/null; then \
		echo "console/*_templ.go are stale: run 'make generate' and commit the result"; \
		diff -r console "$$tmp/console" | head -n 20; \
		exit 1; \
	fi

# Every test, with the race detector, against real Postgres and a real OIDC
# provider started by the tests themselves.
test: deps lint
	$(GO) test -race -count=1 -timeout 30m ./...

# The edit-test loop: no race detector, and testing.Short() skips the slow
# parts (Weaviate, Chromium journeys, wrk runs). Everything else still runs
# against real Postgres and the real OIDC provider.
test-short: deps
	$(GO) test -short -count=1 -timeout 10m ./...

# Load test: an upstream called directly, through nginx, and through the
# gateway with JWT verification, memory mirroring off and on, in one run,
# taking turns over three rounds. Prints the medians of req/s, p50, p99 and
# the ratios. Then the memory delivery rates (events/s:
# outbox into a real Weaviate, the sink alone, the Postgres recorder) and the
# console's page render times with 1,000 engines and 10,000 audit rows.
bench: build deps
	$(GO) run ./cmd/attach-bench $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench 'WorkerIntoWeaviate' -benchtime 20000x ./memory/weaviate
	$(GO) test -run '^$$' -bench 'Deliver' -benchtime 40x ./memory/weaviate
	$(GO) test -run '^$$' -bench 'Recorder|WorkerDelivery|ExchangeEvents|Redact' ./memory
	$(GO) test -run '^$$' -bench 'Pages|MemoryPage' ./console

docker:
	docker build -f deploy/Dockerfile -t attach-gateway:$(VERSION) .

clean:
	rm -rf bin testout
