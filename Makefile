# riverchief — everyday commands. `make help` lists them.
#
# The database: `make run` uses the embedded cluster in $(DATA_DIR) unless
# DATABASE_URL is set; tests use DATABASE_URL when set, otherwise a shared
# private cluster in $(TEST_PG_DIR) that stays up between runs for speed and
# is stopped at the end of `make test` (or by `make test-db-stop`).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo

# Same default as `riverchief serve`.
DATA_DIR ?= $(or $(RIVERCHIEF_DATA_DIR),.riverchief)
TEST_PG_DIR := $(or $(CARGO_TARGET_DIR),target)/test-pg

.DEFAULT_GOAL := help
.PHONY: help deps run test test-rust test-browser lint fmt bench loadtest tileload fuzz test-db-stop clean-data

help:
	@echo "make run           install what is missing, then serve the demo town on http://127.0.0.1:8080"
	@echo "make test          install what is missing, then all tests (Rust, then browser tests); stops the test database after"
	@echo "make lint          rustfmt check and clippy with warnings as errors"
	@echo "make fmt           format the code"
	@echo "make bench         criterion benches and the upload load test (tests/load/run)"
	@echo "make loadtest      mixed load: 32 clients for 60 s on the release server (tests/load/mixed)"
	@echo "make tileload      z14 tiles of a county (300 villages, a year of patrols): 16 clients for 30 s (tests/load/tiles)"
	@echo "make fuzz          fuzz each track reader and the import document for FUZZ_SECONDS (default 600) s; needs nightly and cargo-fuzz"
	@echo "make deps          install system and npm dependencies (.ci/install-deps.sh)"
	@echo "make test-db-stop  stop the shared test PostgreSQL in $(TEST_PG_DIR)"
	@echo "make clean-data    stop and delete the embedded database in $(DATA_DIR)"

deps:
	.ci/install-deps.sh

run:
	.ci/install-deps.sh --runtime
	$(CARGO) run -p riverchief --release -- serve --demo

# First what the tests need (.ci/install-deps.sh: PostgreSQL/PostGIS,
# Chromium, the npm packages; only what is missing, so a second run costs a
# second), so a fresh clone needs nothing but `make test`. Browser tests run
# even when Rust tests failed (more to read in one CI run); the test cluster
# is stopped in every case; the first failure's exit status is the result.
test: deps
	@status=0; \
	$(MAKE) --no-print-directory test-rust || status=$$?; \
	$(MAKE) --no-print-directory test-browser || { s=$$?; [ $$status -ne 0 ] || status=$$s; }; \
	$(MAKE) --no-print-directory test-db-stop || true; \
	exit $$status

test-rust:
	$(CARGO) test --workspace

test-browser:
	@if [ -f tests/browser/package.json ]; then \
		[ -d tests/browser/node_modules ] || .ci/install-deps.sh; \
		echo "browser tests (tests/browser)"; \
		cd tests/browser && npm test; \
	else \
		echo "browser tests: none yet (tests/browser/package.json is absent)"; \
	fi

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# The compliance bench (crates/store/benches/compliance.rs) runs at 10,000
# chiefs; `BENCH_CHIEFS=100000 make bench` is issue #4's full scale (see
# BENCHMARKS.md).
bench:
	$(CARGO) bench --workspace
	@if [ -x tests/load/run ]; then \
		tests/load/run; \
	else \
		echo "load test: none yet (tests/load/run is absent)"; \
	fi

# Issue #8's mixed load (uploads, tiles, compliance, problems): 32 clients
# for 60 s against the release server; figures in BENCHMARKS.md.
loadtest:
	tests/load/mixed

# Issue #6's county scale: 300 villages with a year of patrols, 16 map
# clients on z14 tiles for 30 s, then the raw ST_AsMVT query for the same
# tiles; figures in BENCHMARKS.md.
tileload:
	tests/load/tiles

# One target after another, each for FUZZ_SECONDS. Corpora (seeded from the
# fixtures, grown by libFuzzer) stay in crates/domain/fuzz/corpus/, crashes
# in crates/domain/fuzz/artifacts/; neither is committed. A crash stops the
# run with libFuzzer's reproduction command.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= read_gpx read_kml read_geojson read_any import_town
fuzz:
	@command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz"; exit 1; }
	crates/domain/fuzz/seed.sh
	cd crates/domain && for target in $(FUZZ_TARGETS); do \
		echo "fuzz $$target for $(FUZZ_SECONDS) s"; \
		$(CARGO) +nightly fuzz run -O $$target -- -max_total_time=$(FUZZ_SECONDS) \
			-max_len=65536 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1; \
	done

test-db-stop:
	.ci/embedded-pg.sh stop "$(TEST_PG_DIR)"

clean-data:
	.ci/embedded-pg.sh clean "$(DATA_DIR)"
