"""Prints the `created_after` instant from which the admin queue (every status and approval type) holds
about ROWS requests, found by bisection over the counts endpoint.

    python3 export_since.py BASE_URL TOKEN ROWS
"""

import datetime
import json
import sys
import urllib.parse
import urllib.request


def count(base, token, since):
    query = urllib.parse.urlencode(
        {"status": "all", "approval_type": "all", "created_after": since.strftime("%Y-%m-%dT%H:%M:%SZ")}
    )
    request = urllib.request.Request(
        f"{base}/v1/access-requests/counts?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request) as response:
        return sum(s["count"] for s in json.load(response)["statuses"])


def main(base, token, rows):
    now = datetime.datetime.now(datetime.timezone.utc)
    low, high = 0.0, 4 * 365.0  # days back: too few rows at `low`, enough at `high`
    for _ in range(30):
        middle = (low + high) / 2
        if count(base, token, now - datetime.timedelta(days=middle)) < rows:
            low = middle
        else:
            high = middle
    print((now - datetime.timedelta(days=high)).strftime("%Y-%m-%dT%H:%M:%SZ"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
