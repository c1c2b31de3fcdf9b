# Benchmarks: data generator, load benchmark, micro-benchmarks (see BENCHMARKS.md).

.PHONY: bench bench-micro

## The load benchmark on SQLite and PostgreSQL with 1,000,000 stored requests (see BENCHMARKS.md),
## then the domain's micro-benchmarks. BENCH_BACKENDS, BENCH_REQUESTS, BENCH_SECONDS narrow it.
bench:
	FEATURES="$(FEATURES)" bench/run.sh
	$(CARGO) bench -p portcullis-domain --bench domain $(FEATURES)

bench-micro:
	$(CARGO) bench -p portcullis-domain --bench domain $(FEATURES)
