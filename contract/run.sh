#!/usr/bin/env bash
# The contract checks against a live server: generates the TypeScript and Python clients from
# openapi.yaml, starts the built binary on a free port with a fresh SQLite file and the demo data,
# runs the request -> approve flow through both clients and Swagger UI in Chromium, and stops the server.
# Called by `make contract-test` (which installs the tools and builds the binary first).
set -euo pipefail

binary=$(realpath "${1:?usage: contract/run.sh path/to/portcullis}")
cd "$(dirname "$0")"
root=$(cd .. && pwd)
artifacts="$root/target/artifacts"
mkdir -p "$artifacts"

step() { printf '\n== %s\n' "$*"; }

step "TypeScript: types generated from openapi.yaml by openapi-typescript, checked by tsc --strict"
rm -rf ts/generated build
node_modules/.bin/openapi-typescript ../openapi.yaml --default-non-nullable false -o ts/generated/api.d.ts
node_modules/.bin/tsc -p tsconfig.json
echo "ok  tsc --strict: no errors"

step "Python: client generated from openapi.yaml by openapi-python-client"
rm -rf python/generated
PATH="$PWD/.venv/bin:$PATH" .venv/bin/openapi-python-client generate --path ../openapi.yaml \
    --output-path python/generated/portcullis_client --meta none --overwrite
test -f python/generated/portcullis_client/client.py

step "Server: $binary on a fresh SQLite file with the demo data"
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
PORTCULLIS_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
export PORTCULLIS_JWT_SECRET
"$binary" migrate > /dev/null
"$binary" seed-demo > /dev/null
token() { "$binary" token --email "$1" --ttl 900; }
export PORTCULLIS_URL="http://127.0.0.1:$port" ADMIN_EMAIL=admin@example.com
ADMIN_TOKEN=$(token admin@example.com)
REQUESTER_TOKEN=$(token requester@example.com)
APPROVER_TOKEN=$(token manager@example.com) # the demo requester's manager
export ADMIN_TOKEN REQUESTER_TOKEN APPROVER_TOKEN
"$binary" serve > "$workdir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fsS "$PORTCULLIS_URL/readyz" > /dev/null 2>&1 && break
    kill -0 "$server_pid" 2> /dev/null || { cat "$workdir/server.log"; echo "the server exited" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "$PORTCULLIS_URL/readyz" > /dev/null
echo "ok  serving on $PORTCULLIS_URL"

step "TypeScript client (openapi-fetch): create a flow, request access, approve"
node build/ts/flow.js

step "Python client: create a flow, request access, approve"
PYTHONPATH=python/generated .venv/bin/python python/flow.py

step "Swagger UI in Chromium (playwright-core): authorise, execute GET /v1/me"
SCREENSHOT="$artifacts/swagger-ui.png" node build/browser/swagger-ui.js
