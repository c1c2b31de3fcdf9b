"""Renders bench/results/*.jsonl (written by bench/run.sh) as the Markdown tables of BENCHMARKS.md.

    python3 report.py RESULTS_DIR
"""

import json
import pathlib
import sys

# The comparable open-source tool on this kind of machine (issue 7): requests per second.
PEER = {"create": 46, "approve": 15.5, "tasks": 32.5, "queue": 32.5, "queue_requester": 32.5}
TARGET = {
    "sqlite": {"create": 2300, "approve": 1500, "tasks": 3000, "queue": 3000},
    "postgres": {"create": 25 * 46, "approve": 25 * 15.5, "tasks": 25 * 32.5, "queue": 25 * 32.5},
}
NAMES = {
    "healthz": "reference: `GET /healthz` (static JSON)",
    "create": "create request (manual two-step flow)",
    "approve": "approve (the step that completes it)",
    "tasks": "`GET /v1/me/tasks`",
    "queue": "admin queue, default view",
    "queue_requester": "admin queue, filtered by requester",
    "get": "`GET /v1/access-requests/{id}`",
}


def ms(us):
    return f"{us / 1000:.1f}"


def errors(run):
    return sum(run["errors"].values())


def main(directory):
    for path in sorted(pathlib.Path(directory).glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if not rows:
            continue
        backend = rows[0]["backend"]
        ceiling = next((r["closed"]["rps"] for r in rows if r["scenario"] == "healthz"), None)
        print(f"### {backend}\n")
        print("| operation | peak req/s (closed) | p50 / p90 / p99 ms | errors | × peer | target | of ceiling "
              "| paced at ½ peak: achieved req/s | p50 / p90 / p99 ms | peak RSS MiB |")
        print("| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | --- | ---: |")
        for r in rows:
            if r["scenario"] == "export":
                continue
            c, p = r["closed"], r["paced"]
            peer = PEER.get(r["scenario"])
            target = TARGET.get(backend, {}).get(r["scenario"])
            met = "" if target is None else ("met" if c["rps"] >= target else "**not met**") + f" (≥ {target:,.0f})"
            times_peer = "" if peer is None else f"{c['rps'] / peer:,.0f}×"
            of_ceiling = "" if not ceiling else f"{c['rps'] / ceiling:.1%}"
            print(
                f"| {NAMES[r['scenario']]} | {c['rps']:,.0f} | {ms(c['p50_us'])} / {ms(c['p90_us'])} / {ms(c['p99_us'])} "
                f"| {errors(c) + errors(p)} | {times_peer} | {met} | {of_ceiling} | {p['rps']:,.0f} of {p['offered_rps']:,} "
                f"| {ms(p['p50_us'])} / {ms(p['p90_us'])} / {ms(p['p99_us'])} | {r['peak_rss_kib'] / 1024:.0f} |"
            )
        for r in rows:
            if r["scenario"] == "export":
                print(
                    f"\nExport: {r['rows']:,} rows of CSV ({r['bytes'] / 1e6:.1f} MB) in {r['seconds']:.2f} s "
                    f"({r['rows'] / r['seconds']:,.0f} rows/s), server peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB.\n"
                )


if __name__ == "__main__":
    main(sys.argv[1])
