# Short named recipes; the README's two commands need none of them.
CARGO ?= cargo

.PHONY: run demo test check fmt clippy test-ci fuzz build images bench bench-catalog bench-order bench-reporting bench-lag bench-memory bench-overload mutants

## run: the whole suite locally (SQLite + embedded Kafka), Ctrl-C stops it
run:
	$(CARGO) run -p blangkon -- dev

## demo: fill the running `make run` suite with Blangkon Jateng's first year
## through its APIs (DEMO_ARGS, e.g. --scale jateng-2024)
demo:
	$(CARGO) run -p blangkon -- demo $(DEMO_ARGS)

## test: every test; PostgreSQL and an external broker when
## BLANGKON_TEST_DATABASE_URL / BLANGKON_TEST_KAFKA are set
test:
	$(CARGO) test --workspace

## check: formatting and lints, as CI runs them
check: fmt clippy

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

build:
	$(CARGO) build --workspace --all-targets

## fuzz: every fuzz target for FUZZ_SECONDS (10) from its seed corpus
## (nightly; installs cargo-fuzz once)
fuzz:
	fuzz/run.sh

## test-ci: what .ci/run does: PostgreSQL + tansu, then check and test
test-ci:
	bash .ci/run

## images: the four services' container images, tagged
## $(REGISTRY)/blangkon-<service>:$(VERSION) (the workspace's version), with
## docker (BuildKit) or podman: `make images REGISTRY=registry.example.go.id/blangkon`;
## IMAGE_BUILD_FLAGS for more, e.g. --build-arg RUST_IMAGE=<a mirror's rust image>
SERVICES := vendor catalog order reporting
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
REGISTRY ?= ghcr.io/blangkon
CONTAINER ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)
IMAGE_BUILD_FLAGS ?=

images: $(SERVICES:%=image-%)

# BINARY_FROM=build is the Dockerfile's default, spelled out for podman 4's
# buildah, which skips a stage that only an ARG's default names.
image-%:
	$(CONTAINER) build --file deploy/docker/Dockerfile --target runtime \
	  --build-arg SERVICE=$* --build-arg BINARY_FROM=build \
	  --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
	  --tag $(REGISTRY)/blangkon-$*:$(VERSION) $(IMAGE_BUILD_FLAGS) .

## bench-catalog: load 500,000 products into PostgreSQL and measure search
## over gRPC (p50/p99, throughput at several concurrency levels), then with
## a second replica beside the first (the test broker carries their group)
bench-catalog:
	$(CARGO) run --release -p blangkon -- bench catalog --kafka "$$(deploy/local/tansu.sh start)" $(BENCH_ARGS)

## bench-order: many buyers placing orders on PostgreSQL, against the raw
## single-row insert transaction rate of the same server, then on two
## order replicas (the test broker carries their group)
bench-order:
	$(CARGO) run --release -p blangkon -- bench order --kafka "$$(deploy/local/tansu.sh start)" $(BENCH_ARGS)

## bench-reporting: a year of generated events through the reporting
## projection on PostgreSQL (events/s) beside a raw produce and consume of
## the same records through the test broker, then the public reads (p50/p99)
bench-reporting:
	$(CARGO) run --release -p blangkon -- bench reporting --kafka "$$(deploy/local/tansu.sh start)" $(BENCH_ARGS)

## bench-lag: an order's way from its commit to the public ledger and the
## analysts' stream under a paced load, beside a bare Kafka round trip
## through the same broker (the test broker, deploy/local/tansu.sh)
bench-lag:
	$(CARGO) run --release -p blangkon -- bench lag --kafka "$$(deploy/local/tansu.sh start)" $(BENCH_ARGS)

## bench-memory: each service's resident memory as its own process, idle,
## after load, and the catalog's with 500,000 products
bench-memory:
	$(CARGO) build --release --workspace --bins
	$(CARGO) run --release -p blangkon -- bench memory --kafka "$$(deploy/local/tansu.sh start)" $(BENCH_ARGS)

## bench-overload: the catalog flooded with ten times the calls it serves
## at once: latency of the calls it admits, how fast it sheds the rest,
## and how it answers once the flood stops
bench-overload:
	$(CARGO) run --release -p blangkon -- bench overload $(BENCH_ARGS)

## bench: every benchmark in one run and one table, each figure beside the
## limit measured the same way in the same run (BENCH_ARGS: --quick for a
## smoke run of a few minutes, --json FILE to keep the table)
bench:
	$(CARGO) build --release --workspace --bins
	$(CARGO) run --release -p blangkon -- bench suite --kafka "$$(deploy/local/tansu.sh start)" $(BENCH_ARGS)

## mutants: mutation testing of the domain rules (.cargo/mutants.toml names
## the files; every mutant must be caught by their unit tests). Slow: not
## in CI. Installs cargo-mutants on first use; the report is in mutants.out/.
mutants:
	@command -v cargo-mutants >/dev/null || $(CARGO) install cargo-mutants --locked
	$(CARGO) mutants --no-shuffle $(MUTANTS_ARGS)
