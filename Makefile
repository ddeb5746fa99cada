# Attach Gateway. `make run` starts the gateway on its embedded Postgres;
# `make test` runs the whole suite against real services.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/attach

.PHONY: all build run test test-short lint deps bench docker clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/attach

# The gateway on the embedded default: a private Postgres in ./.attach.
run: build
	./deploy/dev/deps.sh run
	./$(BIN) serve

deps:
	./deploy/dev/deps.sh

lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

# Every test, with the race detector, against real Postgres and a real OIDC
# provider started by the tests themselves.
test: deps lint
	$(GO) test -race -count=1 -timeout 30m ./...

test-short: deps
	$(GO) test -count=1 ./...

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
