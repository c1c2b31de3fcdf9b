#!/usr/bin/env bash
# Tail latency at one offered rate for two scenarios side by side (by default GET /healthz and the AuthZEN
# evaluation), each against a fresh release server on a copy of the SQLite data set `bench/run.sh` generated.
# 64 connections, so that wrk's whole-millisecond delay between a connection's requests paces them closely
# (with 16, a delay under 1 ms is dropped and the "paced" run is closed-loop).
#   bench/paced_probe.sh [RATE] [SECONDS] [SCENARIOS...]      e.g. bench/paced_probe.sh 9000 15 healthz authzen
# BENCH_SERVER measures another build, PROBE_CONNECTIONS another number of connections (the tail grows with
# it at the same rate); each scenario runs twice, interleaved.
set -euo pipefail
cd "$(dirname "$0")/.."

rate=${1:-9000}
seconds=${2:-15}
shift $(( $# > 2 ? 2 : $# ))
if (( $# )); then scenarios=("$@"); else scenarios=(healthz authzen); fi
connections=${PROBE_CONNECTIONS:-64}
server=${BENCH_SERVER:-target/release/portcullis}
secret="benchmark-secret-benchmark-secret-0123456789"
data=$(ls bench/.data/sqlite-*.db.ok 2> /dev/null | head -n 1)
if [[ -z "$data" ]]; then
    echo "no SQLite data set under bench/.data: run make bench or make bench-quick first" >&2
    exit 1
fi
db=${data%.ok}
file=${db%.db}.txt
copy=$(mktemp --suffix=.db)
trap 'rm -f "$copy" "$copy-wal" "$copy-shm"' EXIT

for round in 1 2; do
    for scenario in "${scenarios[@]}"; do
        cp "$db" "$copy"
        DATABASE_URL="$copy" PORTCULLIS_JWT_SECRET="$secret" PORTCULLIS_BIND=127.0.0.1:18080 \
            PORTCULLIS_WORKERS=2 PORTCULLIS_LOG_FORMAT=json RUST_LOG=warn PORTCULLIS_RATE_LIMIT_PER_MINUTE=0 \
            "$server" serve > /dev/null 2>&1 &
        pid=$!
        for _ in $(seq 1 200); do curl -fs http://127.0.0.1:18080/readyz > /dev/null 2>&1 && break; sleep 0.1; done
        line=$(wrk -t1 -c"$connections" -d"${seconds}s" --timeout 10s -s bench/wrk/portcullis.lua \
            http://127.0.0.1:18080 -- "$file" "$scenario" 0 "$rate" "$connections" | tail -n 1)
        kill "$pid"; wait "$pid" 2> /dev/null || true
        jq -c --arg scenario "$scenario" --argjson offered "$rate" --argjson round "$round" \
            '{scenario: $scenario, round: $round, offered_rps: $offered, rps: (.rps | floor), p50_ms: (.p50_us / 1000),
              p90_ms: (.p90_us / 1000), p99_ms: (.p99_us / 1000), max_ms: (.max_us / 1000), errors: .errors}' <<< "$line"
    done
done
