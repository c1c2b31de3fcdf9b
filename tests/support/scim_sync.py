"""Times an identity provider's first push through SCIM, as BENCHMARKS.md reports it.

usage: scim_sync.py BASE_URL TOKEN [USERS [GROUPS [WORKERS]]]   (defaults: 10000 500 8)

Pushes USERS people (each block of 20: nineteen reports naming their manager by externalId, then the manager,
so most reports name a manager not there yet), then GROUPS groups of 20 members each (POST /Groups with
`members`), WORKERS requests at once, as provisioning workers would. Then counts the reports whose manager is
set, through SCIM. Prints one line per phase; exits 1 when a push failed or a manager is missing.
"""

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from httpx2 import Client

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BLOCK = 20


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    users = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    groups = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    workers = int(sys.argv[5]) if len(sys.argv) > 5 else 8
    local = threading.local()

    def client() -> Client:
        if not hasattr(local, "client"):
            local.client = Client(
                base_url=base_url,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
                timeout=60,
            )
        return local.client

    def person(i: int) -> dict:
        manager = i - i % BLOCK
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": f"person{i}@sync.example.org",
            "externalId": f"ext-{i}",
            "name": {"givenName": "Person", "familyName": str(i)},
            "emails": [{"value": f"person{i}@sync.example.org", "type": "work", "primary": True}],
            "active": True,
        }
        if i != manager:
            body[ENTERPRISE] = {"manager": {"value": f"ext-{manager}"}}
        return body

    # Each block's reports first, its manager last.
    order = [b + j for b in range(0, users, BLOCK) for j in list(range(1, BLOCK)) + [0] if b + j < users]
    ids: dict[int, str] = {}

    def push_user(i: int) -> None:
        answer = client().post("/Users", json=person(i))
        if answer.status_code != 201:
            raise RuntimeError(f"user {i}: {answer.status_code} {answer.text}")
        ids[i] = answer.json()["id"]

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(push_user, order))
    users_took = time.monotonic() - started

    def push_group(g: int) -> None:
        members = [{"value": ids[(g * BLOCK + k) % users]} for k in range(BLOCK)]
        body = {"displayName": f"Sync group {g}", "externalId": f"grp-{g}", "members": members}
        answer = client().post("/Groups", json=body)
        if answer.status_code != 201:
            raise RuntimeError(f"group {g}: {answer.status_code} {answer.text}")

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(push_group, range(groups)))
    groups_took = time.monotonic() - started

    by_id: dict[str, dict] = {}
    start = 1
    while True:
        page = client().get("/Users", params={"startIndex": start, "count": 1000}).json()
        for user in page["Resources"]:
            by_id[user["id"]] = user
        start += page["itemsPerPage"]
        if not page["Resources"] or start > page["totalResults"]:
            break
    reports = [i for i in range(users) if i % BLOCK]
    managed = sum(
        1
        for i in reports
        if by_id[ids[i]].get(ENTERPRISE, {}).get("manager", {}).get("value") == ids[i - i % BLOCK]
    )
    print(f"{users} users: {users_took:.1f} s")
    print(f"{groups} groups, {groups * BLOCK} memberships: {groups_took:.1f} s")
    print(f"in all: {users_took + groups_took:.1f} s")
    print(f"managers set: {managed} of {len(reports)}")
    return 0 if managed == len(reports) else 1


if __name__ == "__main__":
    sys.exit(main())
