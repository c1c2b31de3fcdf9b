# Benchmarks: data generator, load benchmark, database ceilings, micro-benchmarks (see BENCHMARKS.md).

.PHONY: bench bench-quick bench-ab bench-micro

## The load benchmark on SQLite and PostgreSQL with 1,000,000 stored requests and the same-run
## database ceilings (see BENCHMARKS.md), then the domain's micro-benchmarks.
## BENCH_BACKENDS, BENCH_REQUESTS, BENCH_SECONDS narrow it; BENCH_SERVER measures another build.
bench:
	FEATURES="$(FEATURES)" bench/run.sh
	$(CARGO) bench -p portcullis-domain --bench domain $(FEATURES)

## The same on both backends with 100,000 stored requests and 10 s runs (no micro-benchmarks).
bench-quick:
	FEATURES="$(FEATURES)" BENCH_REQUESTS=$${BENCH_REQUESTS:-100000} BENCH_SECONDS=$${BENCH_SECONDS:-10} bench/run.sh

## Before/after: BENCH_BEFORE=/path/to/other/portcullis make bench-ab (see bench/ab.sh).
bench-ab:
	FEATURES="$(FEATURES)" bench/ab.sh

bench-micro:
	$(CARGO) bench -p portcullis-domain --bench domain $(FEATURES)
