#!/usr/bin/env bash
# A/B (`make bench-ab`): the same tools and the same data against two server builds, back to back,
# alternating before and after for BENCH_AB_ROUNDS rounds; then a before/after table of the medians,
# in requests per second and as fractions of each run's own database ceilings.
#
#   BENCH_BEFORE=/path/to/before/portcullis [BENCH_AFTER=target/release/portcullis] \
#       [BENCH_AB_ROUNDS=1] [BENCH_AB_RESULTS=bench/results/ab] bench/ab.sh
# BENCH_BACKENDS, BENCH_REQUESTS, BENCH_SECONDS, BENCH_SEED pass through to bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

before=${BENCH_BEFORE:?set BENCH_BEFORE to the server binary to compare against}
after=${BENCH_AFTER:-target/release/portcullis}
rounds=${BENCH_AB_ROUNDS:-1}
out=${BENCH_AB_RESULTS:-bench/results/ab}
features=${FEATURES:-}

if [[ -z "${BENCH_AFTER:-}" ]]; then
    # shellcheck disable=SC2086
    cargo build --release --bin portcullis $features
fi
for binary in "$before" "$after"; do
    [[ -x "$binary" ]] || { echo "$binary is not an executable" >&2; exit 1; }
done
rm -rf "$out"
befores=() afters=()
for round in $(seq 1 "$rounds"); do
    echo "round $round of $rounds: before ($before)" >&2
    BENCH_SERVER=$before BENCH_RESULTS=$out/before-$round bench/run.sh
    befores+=("$out/before-$round")
    echo "round $round of $rounds: after ($after)" >&2
    BENCH_SERVER=$after BENCH_RESULTS=$out/after-$round bench/run.sh
    afters+=("$out/after-$round")
done
(IFS=,; python3 bench/report.py --compare "${befores[*]}" "${afters[*]}") > "$out/compare.md"
cat "$out/compare.md"
echo "A/B: $out/compare.md"
