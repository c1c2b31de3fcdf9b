"""Runs scim2-tester (the python-scim project's RFC 7643/7644 checker) against a live SCIM server.

usage: scim_check.py BASE_URL TOKEN

Prints every check with its status; exits 1 when any check is an error or critical (a MUST of the
RFCs broken), 0 otherwise. Checks of features the server declares unsupported are skipped by the
tester itself, from the ServiceProviderConfig.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILING = {Status.ERROR, Status.CRITICAL}


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    http = Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    failures = 0
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status.name] = counts.get(result.status.name, 0) + 1
        where = f"[{result.resource_type}] " if result.resource_type else ""
        line = f"{result.status.name:10} {where}{result.title}"
        if result.status in FAILING:
            failures += 1
            line += f"\n           {result.reason}"
        print(line)
    print("summary:", ", ".join(f"{name} {n}" for name, n in sorted(counts.items())))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
