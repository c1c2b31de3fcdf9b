#!/usr/bin/env bash
# The load benchmark (`make bench`): for each backend, generate the data set once (kept under
# bench/.data, keyed by its size and seed), copy it for the run, and measure each operation with wrk
# (1 thread, 16 connections, like the peer's published figures) against a release server with 2
# workers: closed-loop peak throughput, then a paced run at half that rate (open-loop latency).
# Every scenario gets a fresh server, so its peak RSS (VmHWM) is its own. Then, in the same run, the
# bare database ceilings of the stack (`portcullis-bench ceilings`: a single-row insert and a read by
# id through the server's pools, 16 callers), which the report states each operation against.
# Results: bench/results/ (or BENCH_RESULTS).
#
#   BENCH_BACKENDS="sqlite postgres" BENCH_REQUESTS=1000000 BENCH_SECONDS=15 bench/run.sh
#   BENCH_SERVER=/path/to/other/portcullis BENCH_RESULTS=bench/results/before bench/run.sh   # A/B
set -euo pipefail
cd "$(dirname "$0")/.."

backends=${BENCH_BACKENDS:-"sqlite postgres"}
requests=${BENCH_REQUESTS:-1000000}
seconds=${BENCH_SECONDS:-15}
seed=${BENCH_SEED:-42}
pg_admin=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
features=${FEATURES:-}
# The server binary measured; another build's (an A/B) is measured with this checkout's tools and data.
server=${BENCH_SERVER:-target/release/portcullis}
results=${BENCH_RESULTS:-bench/results}
secret="benchmark-secret-benchmark-secret-0123456789"
data=bench/.data
mkdir -p "$data" "$results"

if ! command -v wrk > /dev/null; then
    echo "installing wrk (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk > /dev/null
fi
# shellcheck disable=SC2086
if [[ -n "${BENCH_SERVER:-}" ]]; then
    cargo build --release --bin portcullis-bench $features
else
    cargo build --release --bin portcullis --bin portcullis-bench $features
fi
if [[ ! -x "$server" ]]; then
    echo "BENCH_SERVER: $server is not an executable" >&2
    exit 1
fi
# What was measured with what, for the report (an A/B compares two of these).
jq -n --arg server "$server" --arg server_sha256 "$(sha256sum "$server" | cut -c1-12)" \
    --arg tools "$(git rev-parse --short HEAD 2> /dev/null || echo unknown)$(git diff --quiet HEAD -- bench 2> /dev/null || echo '+changes')" \
    --arg date "$(date -u +%FT%TZ)" --argjson requests "$requests" --argjson seconds "$seconds" \
    --arg backends "$backends" \
    '{server: $server, server_sha256: $server_sha256, tools: $tools, date: $date, requests: $requests, seconds: $seconds, backends: $backends}' \
    > "$results/run.json"

server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2> /dev/null || true
        wait "$server_pid" 2> /dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

start_server() { # database_url
    DATABASE_URL="$1" PORTCULLIS_JWT_SECRET="$secret" PORTCULLIS_BIND=127.0.0.1:18080 \
        PORTCULLIS_WORKERS=2 PORTCULLIS_LOG_FORMAT=json RUST_LOG=warn PORTCULLIS_RATE_LIMIT_PER_MINUTE=0 \
        "$server" serve > "$data/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do
        curl -fs http://127.0.0.1:18080/readyz > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the server did not start; see $data/server.log" >&2
    exit 1
}

peak_rss_kib() { awk '/VmHWM/ { print $2 }' "/proc/$server_pid/status"; }
# The server's CPU time so far (user + system), in clock ticks: the closed-loop run's share per request is a
# figure that a busy or throttled host changes far less than the throughput (it does not count the time the
# host gives to others).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# A data set is generated again when its size, its seed, its backend's schema or the generator changes.
schema() { cat migrations/"$1"/*/up.sql bench/src/main.rs bench/src/generator/*.rs | sha256sum | cut -c1-10; }

holds_data() { # database_url data_file → whether the database holds the data file's first request
    local id
    id=$(awk '$1 == "get" { print $2; exit }' "$2")
    [[ -n "$id" ]] && [[ $(psql "$1" -qAtc "SELECT count(*) FROM access_requests WHERE id = '$id'" 2> /dev/null) == 1 ]]
}

prepare() { # backend → prints the database URL of a fresh copy of the generated data
    local backend=$1 schema
    schema=$(schema "$backend")
    local key="${requests}-${seed}-${schema}"
    if [[ $backend == sqlite ]]; then
        local pristine="$data/sqlite-$key.db"
        if [[ ! -f "$pristine.ok" ]]; then
            rm -f "$data"/sqlite-* # older data sets
            echo "generating $requests requests on SQLite" >&2
            target/release/portcullis-bench generate --database-url "$pristine" --requests "$requests" \
                --seed "$seed" --jwt-secret "$secret" --out "$data/sqlite-$key.txt" >&2
            touch "$pristine.ok"
        fi
        rm -f "$data/run.db" "$data/run.db-wal" "$data/run.db-shm"
        cp "$pristine" "$data/run.db"
        cp "$data/sqlite-$key.txt" "$data/run.txt"
        echo "$data/run.db"
    else
        local pristine="portcullis_bench_${requests}_${seed}_${schema}"
        # The PostgreSQL server is shared: another checkout may have generated this database again,
        # with other ids (they carry the generation's time). Reuse it only if it holds this data
        # file's requests.
        if [[ -f "$data/postgres-$key.ok" ]] && ! holds_data "$pg_admin/$pristine" "$data/postgres-$key.txt"; then
            echo "the PostgreSQL data set does not match $data/postgres-$key.txt (generated again elsewhere?)" >&2
            rm -f "$data/postgres-$key.ok"
        fi
        if [[ ! -f "$data/postgres-$key.ok" ]]; then
            # Older data sets go first (a million requests take a few GB).
            psql "$pg_admin/postgres" -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'portcullis\_bench\_%'" |
                while read -r old; do psql "$pg_admin/postgres" -qc "DROP DATABASE \"$old\"" >&2; done
            rm -f "$data"/postgres-*
            psql "$pg_admin/postgres" -qc "CREATE DATABASE $pristine" >&2
            echo "generating $requests requests on PostgreSQL" >&2
            target/release/portcullis-bench generate --database-url "$pg_admin/$pristine" --requests "$requests" \
                --seed "$seed" --jwt-secret "$secret" --out "$data/postgres-$key.txt" >&2
            psql "$pg_admin/$pristine" -qc "VACUUM ANALYZE" >&2
            touch "$data/postgres-$key.ok"
        fi
        psql "$pg_admin/postgres" -qc "DROP DATABASE IF EXISTS portcullis_bench_run" \
            -c "CREATE DATABASE portcullis_bench_run TEMPLATE $pristine" >&2
        cp "$data/postgres-$key.txt" "$data/run.txt"
        echo "$pg_admin/portcullis_bench_run"
    fi
}

supply() { awk -v kind="$1" '$1 == kind { n++ } END { print n + 0 }' "$data/run.txt"; }

# A paced run: wrk waits a whole number of milliseconds between a connection's requests, so each
# connection pauses a mean of `pause` ms (at least 5; the wrk script draws each pause around it, so that the
# connections do not fall into step), and as many connections as it takes (at least 16) offer the rate. The
# pause follows each answer, so a short calibration run first measures what those connections achieve and
# their number is scaled to reach the rate.
pacing() { # scenario offset rate → "connections pause used"
    local pause=$(( ($3 + 15999) / $3 )) connections line achieved
    (( pause < 5 )) && pause=5
    connections=$(( ($3 * pause + 999) / 1000 ))
    (( connections < 16 )) && connections=16
    line=$(wrk_run "$1" "$2" "$(( connections * 1000 / pause ))" "$connections" 3)
    achieved=$(jq -r '.rps | floor' <<< "$line")
    (( achieved > 0 )) && connections=$(( (connections * $3 + achieved / 2) / achieved ))
    (( connections < 16 )) && connections=16
    echo "$connections $pause $(jq -r .requests <<< "$line")"
}

wrk_run() { # scenario offset [rate connections [seconds]] → one JSON line
    wrk -t1 -c"${4:-16}" -d"${5:-$seconds}s" --timeout 10s -s bench/wrk/portcullis.lua http://127.0.0.1:18080 \
        -- "$data/run.txt" "$1" "$2" ${3:-} ${4:-} | tail -n 1
}

for backend in $backends; do
    out="$results/$backend.jsonl"
    : > "$out"
    url=$(prepare "$backend")
    sync # the copy's writeback would compete with the first runs
    # Offsets into the data file: creates and approvals are used up by the runs that make them.
    declare -A offset=([create]=0 [create_cel]=0 [approve]=0)
    for scenario in ${BENCH_SCENARIOS:-healthz create create_cel approve tasks tasks_mixed queue queue_requester get authzen}; do
        start_server "$url"
        ticks=$(cpu_ticks)
        closed=$(wrk_run "$scenario" "${offset[$scenario]:-0}")
        closed=$(jq -c --argjson ticks "$(( $(cpu_ticks) - ticks ))" --argjson hz "$ticks_per_second" \
            '. + {server_cpu_us: (if .requests > 0 then $ticks / $hz * 1e6 / .requests else null end)}' <<< "$closed")
        used=$(jq -r .requests <<< "$closed")
        [[ -n "${offset[$scenario]+x}" ]] && offset[$scenario]=$(( offset[$scenario] + used + 100 ))
        rps=$(jq -r '.rps | floor' <<< "$closed")
        half=$(( rps / 2 > 0 ? rps / 2 : 1 ))
        read -r connections pause used <<< "$(pacing "$scenario" "${offset[$scenario]:-0}" "$half")"
        [[ -n "${offset[$scenario]+x}" ]] && offset[$scenario]=$(( offset[$scenario] + used + 100 ))
        paced=$(wrk_run "$scenario" "${offset[$scenario]:-0}" "$(( connections * 1000 / pause ))" "$connections")
        used=$(jq -r .requests <<< "$paced")
        [[ -n "${offset[$scenario]+x}" ]] && offset[$scenario]=$(( offset[$scenario] + used + 100 ))
        rss=$(peak_rss_kib)
        stop_server
        if [[ -n "${offset[$scenario]+x}" ]] && (( offset[$scenario] > $(supply "$scenario") )); then
            echo "warning: the $scenario runs used more items than the data set holds ($(supply "$scenario")):" \
                "the last ones were answered with errors; use shorter runs or a larger data set" >&2
        fi
        jq -cn --arg backend "$backend" --arg scenario "$scenario" --argjson closed "$closed" \
            --argjson paced "$paced" --argjson offered "$half" --argjson rss "$rss" \
            --argjson connections "$connections" --argjson pause "$pause" \
            '{backend: $backend, scenario: $scenario, closed: $closed, paced: ($paced + {offered_rps: $offered, connections: $connections, pause_ms: $pause}), peak_rss_kib: $rss}' \
            | tee -a "$out"
    done
    # Export: 100,000 rows (the newest, whatever their status), streamed once.
    start_server "$url"
    admin_token=$(awk '$1 == "token" && $2 == "0" { print $3 }' "$data/run.txt")
    since=$(python3 bench/export_since.py http://127.0.0.1:18080 "$admin_token" 100000)
    timing=$(curl -fsS -o /dev/null -w '%{time_total} %{size_download}' \
        -H "Authorization: Bearer $admin_token" \
        "http://127.0.0.1:18080/v1/access-requests/export?format=csv&status=all&approval_type=all&created_after=$since")
    rows=$(curl -fsS -H "Authorization: Bearer $admin_token" \
        "http://127.0.0.1:18080/v1/access-requests/counts?status=all&approval_type=all&created_after=$since" | jq '[.statuses[].count] | add')
    rss=$(peak_rss_kib)
    stop_server
    read -r seconds_total bytes <<< "$timing"
    jq -cn --arg backend "$backend" --argjson rows "$rows" --argjson s "$seconds_total" --argjson bytes "$bytes" \
        --argjson rss "$rss" '{backend: $backend, scenario: "export", rows: $rows, seconds: $s, bytes: $bytes, peak_rss_kib: $rss}' \
        | tee -a "$out"
    # The bare database ceilings, on the same database and machine, with no server running.
    target/release/portcullis-bench ceilings --database-url "$url" --seconds "$seconds" --callers 16 \
        | tee -a "$out"
done
python3 bench/report.py "$results" > "$results/results.md"
echo "results: $results/results.md"
