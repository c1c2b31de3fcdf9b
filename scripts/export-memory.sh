#!/usr/bin/env bash
# Build first: cargo build --bin portcullis. Needs python3 and curl.
# usage: measure.sh ROWS PORT — seeds a fresh SQLite file with ROWS requests, exports them as CSV and JSON,
# and prints the server's RSS before and at its peak during each export.
set -euo pipefail
rows=$1; port=$2; db=/tmp/export-$rows.db
rm -f $db*
export DATABASE_URL=$db PORTCULLIS_JWT_SECRET=$(printf 'x%.0s' {1..40}) PORTCULLIS_LOG_FORMAT=json RUST_LOG=warn
B="$(dirname "$0")/../target/debug/portcullis"
$B seed-demo > /dev/null
python3 "$(dirname "$0")/fill_requests.py" $db $rows > /dev/null
token=$($B token --email admin@example.com)
$B serve --bind 127.0.0.1:$port & pid=$!
sleep 1.5
rss() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
for format in csv json; do
  before=$(rss); peak=$before
  curl -s -o /tmp/export-$rows.$format -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/access-requests/export?format=$format&status=all&approval_type=all" & cpid=$!
  start=$(date +%s.%N)
  while kill -0 $cpid 2>/dev/null; do r=$(rss); (( r > peak )) && peak=$r; sleep 0.02; done
  end=$(date +%s.%N)
  lines=$(wc -l < /tmp/export-$rows.$format); bytes=$(stat -c %s /tmp/export-$rows.$format)
  printf '%7d rows %-4s: %9d bytes %7d lines in %5.2f s; server RSS before %6d KiB, peak %6d KiB\n' $rows $format $bytes $lines $(echo "$end - $start" | bc) $before $peak
done
kill $pid; wait $pid 2>/dev/null || true
