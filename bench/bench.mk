# Benchmarks: data generator, load benchmark, micro-benchmarks (see BENCHMARKS.md).
