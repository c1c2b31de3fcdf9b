"""Renders bench/results/*.jsonl (written by bench/run.sh) as the Markdown tables of BENCHMARKS.md.

    python3 report.py RESULTS_DIR
    python3 report.py --compare BEFORE_DIR[,BEFORE_DIR...] AFTER_DIR[,AFTER_DIR...]

Each operation is stated as a fraction of its same-run database ceiling (`portcullis-bench
ceilings`): writes (create, approve) of the single-row insert, reads of the read by primary key.
`GET /healthz` stays as the framework's reference. The comparison (an A/B, bench/ab.sh) shows each
side's median over its runs, in requests per second and as a fraction of the ceiling.
"""

import json
import pathlib
import statistics
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
    "create_cel": "create request, flow with CEL conditions (`auto_approve_if`, `required_if`)",
    "approve": "approve (the step that completes it)",
    "tasks": "`GET /v1/me/tasks`",
    "tasks_mixed": "`GET /v1/me/tasks`, mixed actions (approve, provision, assign)",
    "queue": "admin queue, default view",
    "queue_requester": "admin queue, filtered by requester",
    "get": "`GET /v1/access-requests/{id}`",
    "authzen": "AuthZEN `POST /access/v1/evaluation`, a member's permit",
}
# Which ceiling each operation is stated against.
CEILING_OF = {
    "create": "insert",
    "create_cel": "insert",
    "approve": "insert",
    "tasks": "read",
    "tasks_mixed": "read",
    "queue": "read",
    "queue_requester": "read",
    "get": "read",
    "authzen": "read",
}
CEILING_NAMES = {
    "insert": "insert one row in its own transaction",
    "read": "read one row by primary key",
    # SQLite only, for reference: not a ceiling the operations are stated against.
    "insert_group_commit": "for reference: the same insert through the server's group commit",
}


def ms(us):
    return f"{us / 1000:.1f}"


def fine_ms(us):
    """Milliseconds to the microsecond for in-process figures, many of which are far below 0.1 ms."""
    return f"{us / 1000:.3f}"


def cpu(run):
    """The server's CPU time per request in a closed-loop run (empty for runs that predate it)."""
    value = run.get("server_cpu_us")
    return "" if value is None else f"{value:,.1f}"


def errors(run):
    e = run["errors"]
    return sum(e.values()) if isinstance(e, dict) else e


def load(directory):
    """{backend: rows} from a results directory."""
    out = {}
    for path in sorted(pathlib.Path(directory).glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if rows:
            out[rows[0]["backend"]] = rows
    return out


def ceilings(rows):
    """{"insert": rps, "read": rps, ...} of the run's ceilings line, if any."""
    line = next((r for r in rows if r["scenario"] == "ceilings"), None)
    return {} if line is None else {k: line[k]["rps"] for k in CEILING_NAMES if k in line}


def of_ceiling(scenario, rps, ceiling):
    which = CEILING_OF.get(scenario)
    if which is None or not ceiling.get(which):
        return ""
    return f"{rps / ceiling[which]:.1%} of {which}"


def describe(directory):
    """What a results directory measured (bench/run.sh's run.json), as one sentence."""
    run = pathlib.Path(directory) / "run.json"
    if not run.exists():
        return ""
    meta = json.loads(run.read_text())
    return (
        f"server `{meta['server']}` (sha256 {meta['server_sha256']}), tools at {meta['tools']}, "
        f"{meta['requests']:,} requests stored, {meta['seconds']} s per run, {meta['date']}"
    )


def report(directory):
    about = describe(directory)
    if about:
        print(f"Measured: {about}.\n")
    for backend, rows in load(directory).items():
        ceiling = ceilings(rows)
        line = next((r for r in rows if r["scenario"] == "ceilings"), None)
        healthz = next((r for r in rows if r["scenario"] == "healthz"), None)
        print(f"### {backend}\n")
        if line is not None:
            writer = "the writer connection" if line["writer_connections"] == 1 else "the shared pool"
            print(
                f"Same-run ceilings ({line['callers']} callers, pool of {line['pool_size']}, "
                f"inserts through {writer}, {line['seconds']} s each):\n"
            )
            print("| ceiling | ops/s | p50 / p90 / p99 ms | errors |")
            print("| --- | ---: | --- | ---: |")
            for which in (w for w in CEILING_NAMES if w in line):
                c = line[which]
                print(
                    f"| {CEILING_NAMES[which]} | {c['rps']:,.0f} | {fine_ms(c['p50_us'])} / {fine_ms(c['p90_us'])} / "
                    f"{fine_ms(c['p99_us'])} | {c['errors']} |"
                )
            if healthz is not None:
                c = healthz["closed"]
                print(
                    f"| framework reference: `GET /healthz` through wrk (no database) | {c['rps']:,.0f} | "
                    f"{ms(c['p50_us'])} / {ms(c['p90_us'])} / {ms(c['p99_us'])} | {errors(c)} |"
                )
            print()
        print("| operation | peak req/s (closed) | p50 / p90 / p99 / max ms | errors | of ceiling | × peer | target "
              "| paced at ½ peak: achieved req/s | p50 / p90 / p99 / max ms | peak RSS MiB | server CPU µs/request |")
        print("| --- | ---: | --- | ---: | ---: | ---: | --- | ---: | --- | ---: | ---: |")
        for r in rows:
            if r["scenario"] in ("export", "ceilings"):
                continue
            c, p = r["closed"], r["paced"]
            peer = PEER.get(r["scenario"])
            target = TARGET.get(backend, {}).get(r["scenario"])
            met = "" if target is None else ("met" if c["rps"] >= target else "**not met**") + f" (≥ {target:,.0f})"
            times_peer = "" if peer is None else f"{c['rps'] / peer:,.0f}×"
            paced_by = f" ({p['connections']} connections)" if "connections" in p else ""
            print(
                f"| {NAMES[r['scenario']]} | {c['rps']:,.0f} | {ms(c['p50_us'])} / {ms(c['p90_us'])} / {ms(c['p99_us'])} / {ms(c['max_us'])} "
                f"| {errors(c) + errors(p)} | {of_ceiling(r['scenario'], c['rps'], ceiling)} | {times_peer} | {met} "
                f"| {p['rps']:,.0f} of {p['offered_rps']:,}{paced_by} "
                f"| {ms(p['p50_us'])} / {ms(p['p90_us'])} / {ms(p['p99_us'])} / {ms(p['max_us'])} | {r['peak_rss_kib'] / 1024:.0f} "
                f"| {cpu(c)} |"
            )
        for r in rows:
            if r["scenario"] == "export":
                print(
                    f"\nExport: {r['rows']:,} rows of CSV ({r['bytes'] / 1e6:.1f} MB) in {r['seconds']:.2f} s "
                    f"({r['rows'] / r['seconds']:,.0f} rows/s), server peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB.\n"
                )


def server_cpu(directories):
    """{backend: {scenario: [server CPU µs per request, ...]}} over several runs (those that measured it)."""
    out = {}
    for directory in directories:
        for backend, rows in load(directory).items():
            for r in rows:
                value = r.get("closed", {}).get("server_cpu_us")
                if value is not None:
                    out.setdefault(backend, {}).setdefault(r["scenario"], []).append(value)
    return out


def figures(directories):
    """{backend: {name: [(rps, fraction of ceiling or None), ...]}} over several runs."""
    out = {}
    for directory in directories:
        for backend, rows in load(directory).items():
            ceiling = ceilings(rows)
            into = out.setdefault(backend, {})
            for which, rps in ceiling.items():
                into.setdefault(f"ceiling: {which}", []).append((rps, None))
            for r in rows:
                if r["scenario"] in ("export", "ceilings"):
                    continue
                rps = r["closed"]["rps"]
                which = CEILING_OF.get(r["scenario"])
                fraction = rps / ceiling[which] if which and ceiling.get(which) else None
                into.setdefault(r["scenario"], []).append((rps, fraction))
    return out


def compare(before_dirs, after_dirs):
    for label, dirs in (("before", before_dirs), ("after", after_dirs)):
        for d in dirs:
            print(f"- {label}: `{d}`: {describe(d) or 'no run.json'}")
    print()
    before, after = figures(before_dirs), figures(after_dirs)
    order = [f"ceiling: {which}" for which in CEILING_NAMES] + list(NAMES)
    for backend in sorted(set(before) | set(after)):
        print(f"### {backend}: before → after (medians over the runs)\n")
        print("| operation | before req/s (runs) | after req/s (runs) | Δ req/s | before of ceiling "
              "| after of ceiling | Δ of ceiling |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        b, a = before.get(backend, {}), after.get(backend, {})
        for name in order:
            if name not in b and name not in a:
                continue
            bs, as_ = b.get(name, []), a.get(name, [])
            runs = lambda xs: ", ".join(f"{x:,.0f}" for x, _ in xs)  # noqa: E731
            med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
            b_rps, a_rps = med([x for x, _ in bs]), med([x for x, _ in as_])
            b_f = med([f for _, f in bs if f is not None])
            a_f = med([f for _, f in as_ if f is not None])
            delta = f"{a_rps / b_rps - 1:+.0%}" if b_rps and a_rps else ""
            delta_f = f"{a_f / b_f - 1:+.0%}" if b_f and a_f else ""
            title = NAMES.get(name) or f"ceiling: {CEILING_NAMES[name.removeprefix('ceiling: ')]}"
            print(
                f"| {title} | {runs(bs)} | {runs(as_)} | {delta} | {'' if b_f is None else f'{b_f:.1%}'} "
                f"| {'' if a_f is None else f'{a_f:.1%}'} | {delta_f} |"
            )
        print()
        b_cpu, a_cpu = server_cpu(before_dirs).get(backend, {}), server_cpu(after_dirs).get(backend, {})
        if b_cpu or a_cpu:
            print("Server CPU time per request in the closed-loop runs (µs; less sensitive than req/s to what "
                  "else the host runs):\n")
            print("| operation | before (runs) | after (runs) | Δ |")
            print("| --- | ---: | ---: | ---: |")
            for name in NAMES:
                bs, as_ = b_cpu.get(name, []), a_cpu.get(name, [])
                if not bs and not as_:
                    continue
                b_m = statistics.median(bs) if bs else None
                a_m = statistics.median(as_) if as_ else None
                delta = f"{a_m / b_m - 1:+.0%}" if b_m and a_m else ""
                runs = lambda xs: ", ".join(f"{x:,.1f}" for x in xs)  # noqa: E731
                print(f"| {NAMES[name]} | {runs(bs)} | {runs(as_)} | {delta} |")
            print()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        compare(sys.argv[2].split(","), sys.argv[3].split(","))
    elif len(sys.argv) == 2:
        report(sys.argv[1])
    else:
        sys.exit(__doc__)
