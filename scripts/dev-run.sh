#!/usr/bin/env bash
# Local development server: a SQLite file with demo data under .dev/, a generated signing secret
# (kept in .dev/ so the printed tokens stay valid across restarts), tokens for the demo users.
set -euo pipefail

binary=${1:?usage: dev-run.sh path/to/portcullis}
cd "$(dirname "$0")/.."
mkdir -p .dev
if [[ ! -s .dev/jwt-secret ]]; then
    (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n' > .dev/jwt-secret)
fi

export DATABASE_URL=${DATABASE_URL:-.dev/portcullis.db}
export PORTCULLIS_BIND=${PORTCULLIS_BIND:-127.0.0.1:8080}
export PORTCULLIS_JWT_SECRET
PORTCULLIS_JWT_SECRET=$(cat .dev/jwt-secret)

"$binary" --log-format pretty migrate > /dev/null
"$binary" --log-format pretty seed-demo
admin=$("$binary" --log-format pretty token --email admin@example.com --ttl 86400)
requester=$("$binary" --log-format pretty token --email requester@example.com --ttl 86400)
integration=$("$binary" --log-format pretty token --email hr-bot@example.com --ttl 86400)
manager=$("$binary" --log-format pretty token --email manager@example.com --ttl 86400)
owner=$("$binary" --log-format pretty token --email owner@example.com --ttl 86400)

cat <<INFO

  Portcullis is starting on http://${PORTCULLIS_BIND} (database: ${DATABASE_URL})

  Swagger UI:  http://${PORTCULLIS_BIND}/swagger-ui/
               click "Authorize" and paste one of these tokens (valid 24 h):

  admin      (admin@example.com):      ${admin}

  requester  (requester@example.com):  ${requester}

  integration (hr-bot@example.com):    ${integration}

  manager    (manager@example.com):    ${manager}

  App Admin  (owner@example.com):      ${owner}

  Seed 004's journey with the "Figma" flow: the requester asks, the manager approves, the admin
  completes the provisioning task, the App Admin the assignment (GET /v1/me/tasks lists each one's
  action; GET /v1/manage/requests the tickets they help manage).

  More tokens: DATABASE_URL=${DATABASE_URL} PORTCULLIS_JWT_SECRET=\$(cat .dev/jwt-secret) \\
               ${binary} token --email manager@example.com
  Stop with Ctrl-C.

INFO
exec "$binary" --log-format pretty serve
