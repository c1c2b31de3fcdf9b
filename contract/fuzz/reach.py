#!/usr/bin/env python3
"""Which operations of the contract a Schemathesis run reached, read from the server's access log.

    reach.py SPEC SERVER_LOG [--from-line N] [--allow OPERATION_ID ...]

SPEC is the OpenAPI document as JSON (the server serves it at /api-docs/openapi.json; a contract test keeps it
identical to the committed openapi.yaml). SERVER_LOG is the server's JSON log (PORTCULLIS_LOG_FORMAT=json): one
"request finished" line per request, with the method, path and status. Lines before --from-line (1-based) are
skipped, so the requests a script made before the run (fixtures) do not count.

An operation is reached when at least one of its requests got an answer other than 401 (not signed in) and 404
(nothing at that path, or no such object): the request went past authentication and named something that exists,
or was refused for what it said (400, 409, 422...), which only a request the operation handles can be. Prints one
line per operation (reached or not, and the answers it got) and exits 1 when an operation other than the --allow
ones was not reached. Python standard library only.
"""

import argparse
import json
import re
import sys
from collections import Counter

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
NOT_REACHED = {401, 404}


def operations(spec):
    """(method, path template, operationId, regex) for every operation, the most literal templates first."""
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            pattern = "".join(
                "[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}/]+\})", path)
            )
            found.append((method.upper(), path, operation.get("operationId", f"{method} {path}"), re.compile(pattern)))
    # `/v1/access-requests/counts` before `/v1/access-requests/{id}`: fewer parameters first.
    found.sort(key=lambda op: (op[1].count("{"), op[1]))
    return found


def requests(log, from_line):
    """(method, path, status) of every finished request in the log, from line `from_line` on."""
    with open(log, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if number < from_line or not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            fields = entry.get("fields", {})
            span = entry.get("span", {})
            if fields.get("message") != "request finished" or "status" not in fields:
                continue
            yield span.get("method", ""), span.get("path", ""), int(fields["status"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec")
    parser.add_argument("log")
    parser.add_argument("--from-line", type=int, default=1)
    parser.add_argument("--allow", action="append", default=[], metavar="OPERATION_ID")
    args = parser.parse_args()

    with open(args.spec, encoding="utf-8") as file:
        ops = operations(json.load(file))
    answers = {op[2]: Counter() for op in ops}
    unmatched = Counter()
    total = 0
    for method, path, status in requests(args.log, args.from_line):
        total += 1
        operation = next(
            (op for op in ops if op[0] == method and op[3].fullmatch(path)),
            None,
        )
        if operation is None:
            unmatched[f"{method} {status}"] += 1
        else:
            answers[operation[2]][status] += 1

    unreached = []
    width = max(len(f"{op[0]} {op[1]}") for op in ops)
    for method, path, operation_id, _ in sorted(ops, key=lambda op: (op[1], op[0])):
        statuses = answers[operation_id]
        reached = any(status not in NOT_REACHED for status in statuses)
        if not reached:
            unreached.append(operation_id)
        summary = " ".join(f"{status}x{count}" for status, count in sorted(statuses.items())) or "no request"
        mark = "reached  " if reached else ("allowed  " if operation_id in args.allow else "UNREACHED")
        print(f"{mark} {method + ' ' + path:<{width}}  {operation_id:<32} {summary}")
    if unmatched:
        print(f"requests matching no operation: {sum(unmatched.values())} ({dict(unmatched)})")
    failing = [operation_id for operation_id in unreached if operation_id not in args.allow]
    print(
        f"reach: {len(ops) - len(unreached)} of {len(ops)} operations reached, from {total} requests"
        + (f"; unreached: {', '.join(unreached)}" if unreached else "")
    )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
