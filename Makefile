# riverchief — the two commands a newcomer needs: `make run`, `make test`.
CARGO ?= cargo
LISTEN ?= 127.0.0.1:8080

.PHONY: run test test-rust test-browser lint bench fuzz deps test-db-stop clean-data

## Bring the service up with the demo town on the embedded database.
run:
	@RIVERCHIEF_SKIP_TEST_DEPS=1 bash .ci/install-deps.sh
	$(CARGO) build --release -p riverchief
	RIVERCHIEF_LISTEN=$(LISTEN) ./target/release/riverchief serve --demo

## Every test: Rust unit, database and end-to-end tests, then the browser tests.
## The private test cluster is stopped afterwards, whatever the outcome.
test:
	@status=0; \
	$(MAKE) --no-print-directory test-rust || status=$$?; \
	if [ $$status -eq 0 ]; then $(MAKE) --no-print-directory test-browser || status=$$?; fi; \
	$(MAKE) --no-print-directory test-db-stop; \
	exit $$status

test-rust:
	$(CARGO) test --workspace

test-browser:
	@if [ -f tests/browser/package.json ]; then \
		[ -d tests/browser/node_modules ] || (cd tests/browser && npm ci --no-audit --no-fund); \
		$(CARGO) build -p riverchief; \
		cd tests/browser && npm test; \
	else echo "no browser tests"; fi

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Criterion benches (each beside its baseline) and the load test when present.
bench:
	$(CARGO) bench --workspace
	@if [ -x tests/load/run.sh ]; then tests/load/run.sh; fi

## PostgreSQL + PostGIS (and Chromium for the browser tests) when missing.
deps:
	@bash .ci/install-deps.sh

test-db-stop:
	@bash .ci/stop-test-db.sh

clean-data:
	rm -rf .riverchief
