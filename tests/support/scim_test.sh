#!/usr/bin/env bash
# SCIM conformance: scim2-tester (the python-scim project's RFC 7643/7644 checker, pinned in requirements-dev.txt)
# against a live server. Called by `make scim-test`; fails when the checker reports an error or a critical, or
# when the server answered a 5xx.
#
#   usage: tests/support/scim_test.sh path/to/portcullis [postgres://…/any-database]
#
# It starts the built binary on a free port with a fresh database: a SQLite file in a temporary directory, or,
# given a PostgreSQL URL, a new database on that server (made through its `postgres` database, dropped at the
# end). An admin is made with the binary; the admin makes a SCIM token with `POST /v1/scim-tokens`, as an
# identity provider's administrator would; the checker runs with that token. The server's log is kept in
# target/artifacts/scim-test-<backend>.log.
set -euo pipefail

binary=$(realpath "${1:?usage: tests/support/scim_test.sh path/to/portcullis [postgres-url]}")
postgres=${2:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${SCIM_TEST_PYTHON:-$root/.venv/bin/python}
artifacts="$root/target/artifacts"
mkdir -p "$artifacts"

workdir=$(mktemp -d)
server_pid=
database=
admin_url=
cleanup() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2> /dev/null; then
        kill "$server_pid"
        wait "$server_pid" 2> /dev/null || true
    fi
    if [[ -n $database ]]; then
        psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $database" > /dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

if [[ -n $postgres ]]; then
    backend=postgres
    # The URL's server and options, with our database in place of the one it names.
    without_query=${postgres%%\?*}
    query=${postgres#"$without_query"}
    server=${without_query%/*}
    database="scim_check_$(date +%s)_$$"
    admin_url="$server/postgres$query"
    psql -q "$admin_url" -c "CREATE DATABASE $database" > /dev/null
    export DATABASE_URL="$server/$database$query"
else
    backend=sqlite
    export DATABASE_URL="$workdir/portcullis.db"
fi
log="$artifacts/scim-test-$backend.log"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORTCULLIS_BIND="127.0.0.1:$port" PORTCULLIS_LOG_FORMAT=json
PORTCULLIS_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export PORTCULLIS_JWT_SECRET
"$binary" migrate > /dev/null
"$binary" create-admin --email scim-admin@example.com --name "SCIM admin" > /dev/null
admin=$("$binary" token --email scim-admin@example.com --ttl 3600)
"$binary" serve > "$log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
    sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null

token=$(curl -fsS -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"name": "scim2-tester"}' "http://127.0.0.1:$port/v1/scim-tokens" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')

echo "scim2-tester against $backend (http://127.0.0.1:$port/scim/v2)"
status=0
"$python" "$root/tests/support/scim_check.py" "http://127.0.0.1:$port/scim/v2" "$token" || status=$?
if grep -q '"status":5[0-9][0-9]' "$log"; then
    echo "the server answered 5xx (see $log):" >&2
    grep '"status":5[0-9][0-9]' "$log" | head -20 >&2
    status=1
fi
exit "$status"
