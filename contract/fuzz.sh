#!/usr/bin/env bash
# Schema fuzzing: Schemathesis (PyPI, pinned in contract/fuzz/requirements.txt) against a live server and the
# committed openapi.yaml, authenticated as the demo admin, with every default check (no 5xx, status codes,
# content types, bodies and headers as the spec says, invalid input refused, valid input accepted, auth enforced,
# no use after delete) and every phase, the stateful one along the links between operations. Called by
# `make fuzz-api`. No `--checks` on the command line: it would override the per-operation exceptions of
# fuzz/schemathesis.toml (a deleted user that others refer to is deactivated and still readable).
# `make fuzz-reach` runs the stateful phase alone with FUZZ_REACH=1 (see below).
#
#   FUZZ_MAX_EXAMPLES   examples per operation and phase (default 25)
#   FUZZ_TIME_LIMIT     seconds before the run is stopped and fails (default 300)
#   FUZZ_SEED           Hypothesis seed (default: random; the report names the one used)
#   FUZZ_PHASES         the phases to run (default: all of them), e.g. `stateful`
#   FUZZ_MAX_TIME       seconds of testing: the fuzzing and stateful phases repeat, each time with a new seed derived
#                       from FUZZ_SEED, until they are spent (Schemathesis's --max-time; default: one pass)
#   FUZZ_REACH_ROUNDS   with FUZZ_REACH=1, how many passes may be run until every operation is reached (default 3)
#   FUZZ_REACH          1: after the run, fuzz/reach.py reads the server's log and fails unless every operation of the
#                       contract was reached (`make fuzz-reach`: the stateful phase alone, so the count is its own)
set -euo pipefail

binary=$(realpath "${1:?usage: contract/fuzz.sh path/to/portcullis}")
cd "$(dirname "$0")"
root=$(cd .. && pwd)
artifacts="$root/target/artifacts"
mkdir -p "$artifacts"

workdir=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2> /dev/null; then
        kill "$server_pid"
        wait "$server_pid" 2> /dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL="$workdir/portcullis.db" PORTCULLIS_BIND="127.0.0.1:$port" PORTCULLIS_LOG_FORMAT=json
# The fuzzer is one principal sending thousands of requests: not what the rate limit is for.
export PORTCULLIS_RATE_LIMIT_PER_MINUTE=0
# A channel's test ping (`POST …/test`) answers after its one attempt, which may wait the whole delivery timeout (10 s
# by default) for the made-up hosts the fuzzer's channels name: as long as Schemathesis waits for an answer.
export PORTCULLIS_DELIVERY_TIMEOUT_SECONDS=2
# No Slack: a connection the fuzzer sets is saved unverified (nothing listens on port 9).
export PORTCULLIS_SLACK_API_URL=http://127.0.0.1:9/api
PORTCULLIS_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export PORTCULLIS_JWT_SECRET
"$binary" migrate > /dev/null
"$binary" seed-demo > /dev/null
token=$("$binary" token --email admin@example.com --ttl 3600)
"$binary" serve > "$workdir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null

# Objects for the stateful phase to act on, so it follows a request's whole lifecycle with real ids: the demo admin
# may request the demo flows (they join the group that sees them, get the demo manager and the demo laptop), and the
# demo requester holds a grant and a running device-admin session (made on their behalf and approved by override)
base="http://127.0.0.1:$port/v1"
call() {
    local who=$1
    shift
    curl -fsS -H "Authorization: Bearer $who" -H 'Content-Type: application/json' "$@"
}
field() { python3 -c "import json, sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
id_of() {
    call "$token" "$base/$1" |
        python3 -c "import json, sys; print(next(i['id'] for i in json.load(sys.stdin)['items'] if i[sys.argv[1]] == sys.argv[2]))" "$2" "$3"
}
admin_id=$(call "$token" "$base/me" | field id)
# fuzz/hooks.py: the fuzzer sends no request that would delete, deactivate or demote its own user.
export SCHEMATHESIS_HOOKS="$PWD/fuzz/hooks.py" FUZZ_SELF_ID="$admin_id"
requester_id=$(id_of users email requester@example.com)
device_id=$(call "$token" "$base/devices" | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
call "$token" -X PATCH -d "{\"manager_id\": \"$(id_of users email manager@example.com)\"}" "$base/users/$admin_id" > /dev/null
call "$token" -X POST -d "{\"user_id\": \"$admin_id\"}" "$base/groups/$(id_of groups name Engineering)/members" > /dev/null
call "$token" -X PATCH -d "{\"assigned_user_ids\": [\"$requester_id\", \"$admin_id\"]}" "$base/devices/$device_id" > /dev/null
approved() {
    local request
    request=$(call "$token" -X POST -d "$1" "$base/access-requests" | field id)
    call "$token" -X POST -d '{"override": true, "internal_note": "fuzzing fixture"}' "$base/access-requests/$request/approve" > /dev/null
    echo "$request"
}
approved "{\"flow_id\": \"$(id_of approval-flows name 'GitHub Admin')\", \"reason\": \"Review the release branch\", \"duration_seconds\": 3600, \"requester_id\": \"$requester_id\"}" > /dev/null
session_request=$(approved "{\"flow_id\": \"$(id_of approval-flows name 'Laptop admin')\", \"reason\": \"Install the release tooling\", \"duration_seconds\": 900, \"device_id\": \"$device_id\", \"requester_id\": \"$requester_id\"}")
call "$("$binary" token --email requester@example.com --ttl 3600)" -X POST "$base/access-requests/$session_request/start-session" > /dev/null
# The demo admin holds a grant too (GitHub Read is approved automatically), so that their own grants lead to one.
call "$token" -X POST -d "{\"flow_id\": \"$(id_of approval-flows name 'GitHub Read')\", \"reason\": \"Read the release notes\"}" "$base/access-requests" > /dev/null
# ...and pending requests: the requester's, first in the admin's queue, and the admin's own.
github_admin=$(id_of approval-flows name 'GitHub Admin')
call "$token" -X POST -d "{\"flow_id\": \"$github_admin\", \"reason\": \"Tag the release\", \"duration_seconds\": 3600, \"requester_id\": \"$requester_id\"}" "$base/access-requests" > /dev/null
call "$token" -X POST -d "{\"flow_id\": \"$github_admin\", \"reason\": \"Rotate the deploy keys\", \"duration_seconds\": 3600}" "$base/access-requests" > /dev/null
# ...and an open help request, so that the help requests' list leads to one.
call "$token" -X POST -d '{"message": "Which GitHub team owns the release branch?"}' "$base/catalog/$github_admin/help" > /dev/null

run_args=()
[[ -n ${FUZZ_SEED:-} ]] && run_args=(--seed "$FUZZ_SEED")
[[ -n ${FUZZ_PHASES:-} ]] && run_args+=(--phases "$FUZZ_PHASES")
[[ -n ${FUZZ_MAX_TIME:-} ]] && run_args+=(--max-time "$FUZZ_MAX_TIME")
# The requests above are fixtures: the reach count starts at the first line Schemathesis causes.
curl -fsS "http://127.0.0.1:$port/api-docs/openapi.json" > "$workdir/openapi.json"
first_line=$(($(wc -l < "$workdir/server.log") + 1))
reach() {
    # Only Slack can sign an interaction (the signing secret is Slack's and the admin's): every fuzzed call is a 401.
    # An AuthZEN task exists only after a submission bound by a binding_token that only the server signs (in a
    # requestable denial), which the fuzzer cannot forge: its task calls are all 404s (tests/api/authzen covers them).
    python3 fuzz/reach.py "$workdir/openapi.json" "$workdir/server.log" --from-line "$first_line" \
        --allow receive_slack_interaction --allow get_access_request_task --allow cancel_access_request_task
}
# The stateful phase walks the links at random: a pass may miss an operation that the next one reaches. With
# FUZZ_REACH=1 it runs again (new seeds, the same server and log) until every operation was reached, at most
# FUZZ_REACH_ROUNDS times (default 3); every pass's findings count.
rounds=1
[[ ${FUZZ_REACH:-} == 1 ]] && rounds=${FUZZ_REACH_ROUNDS:-3}
status=0
for round in $(seq 1 "$rounds"); do
    pass=0
    timeout --signal=INT "${FUZZ_TIME_LIMIT:-300}" fuzz/.venv/bin/schemathesis --config-file fuzz/schemathesis.toml run ../openapi.yaml \
        --url "http://127.0.0.1:$port" \
        --header "Authorization: Bearer $token" \
        --max-examples "${FUZZ_MAX_EXAMPLES:-25}" \
        --report junit --report-dir "$artifacts/schemathesis" \
        "${run_args[@]}" || pass=$?
    (( pass != 0 )) && status=$pass
    if [[ ${FUZZ_REACH:-} != 1 ]] || reach > /dev/null; then
        break
    fi
    echo "pass $round of $rounds left operations unreached; walking the links again" >&2
done
if grep -q '"status":5[0-9][0-9]' "$workdir/server.log"; then
    echo "the server answered 5xx:" >&2
    grep '"status":5[0-9][0-9]' "$workdir/server.log" | head -20 >&2
    status=1
fi
if [[ ${FUZZ_REACH:-} == 1 ]]; then
    cp "$workdir/server.log" "$artifacts/fuzz-reach-server.log"
    reach || status=1
fi
exit "$status"
