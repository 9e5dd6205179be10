"""Renders the "## Load" section of docs/benchmarks.md from the JSON results of ``bench/load/run.py``.

    uv run python -m bench.load.report docs/benchmarks.md /tmp/fincredit-load
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.sections import replace_section

HEADING = "## Load"
GOAL_SHARE, GOAL_P99_MS = 0.25, 50.0
KINDS = {"profile": "institution profile query", "evaluation": "evaluation", "verification": "verification",
         "self": "enterprise self-query"}


ANALYSIS = [
    "What a profile query costs (`bench/load/profile_query.py`: per-request CPU time and SQL statements, in "
    "process, one request at a time, for the whole request, the request without the TestClient, and the "
    "handler alone): it is a write, not a read. The request's own transaction only reads: the API token with "
    "its institution (one query); the enterprise with its legal representative's name, the current catalog "
    "version and the authorizations the decision point decides from (one query; nothing about "
    "authorizations or tokens is cached across requests, so a revocation takes effect at the next request); "
    "the records with their objection markers (one query); only when the public records name other persons, "
    "their names; and whether it has written anything (`txid_current_if_assigned()`). It then hands its "
    "disclosure — the authorization uses, the ledger entries serialized but for their index and timestamp, "
    "the disclosure row — to its process's ledger appender (`ledger/group.py`, docs/scaling.md) and waits. "
    "The appender writes every disclosure queued while its previous group was committing in one "
    "transaction: each use guarded by its artefact still being in force (a revocation committed since the "
    "decision fails that request alone), one `ledger_head` reservation (the lock that orders appends across "
    "API processes), one statement for the entries, nodes and disclosure rows, and one durable commit "
    "(`synchronous_commit = on`); only then do the group's requests answer. The ceiling endpoint makes no "
    "database call at all; the floors make one or two.",
]


def floor_verdict(m: dict) -> str:
    """What the floors, measured in the same run as the ceiling, say about the goal (a quarter of it)."""
    ceiling, cpus = m["ceiling"]["rps"], m.get("cpus") or 2
    share = {name: m[name]["rps"] / ceiling for name in ("floor", "group_floor", "read_group_floor") if name in m}
    single = share["floor"]
    parts = [f"One durable transaction per request reaches {single:.1%} of the ceiling: "
             + ("below the goal before any of our work, so no design that commits each disclosure in its own "
                "transaction can meet it." if single < GOAL_SHARE else "room for the goal.")]
    if "group_floor" in share:
        parts.append(f"Group-committed, the same write reaches {share['group_floor']:.1%}.")
    if "read_group_floor" in share:
        budget = cpus * 1e6 / (GOAL_SHARE * ceiling)  # machine µs a request may take, at the goal
        spent = cpus * 1e6 / m["read_group_floor"]["rps"]
        parts.append(f"With one read of the current state from the database first, {share['read_group_floor']:.1%}. "
                     f"At the goal a request may take {budget:,.0f} µs of the machine's {cpus} CPUs (wrk and "
                     f"PostgreSQL included); that floor takes {spent:,.0f} µs"
                     + (f", which leaves {budget - spent:,.0f} µs for everything else a profile query does — the "
                        "token, the authorization decision, the records, masking, the ledger's hashing, the "
                        "framework (`bench/load/profile_query.py` measures what they cost now)."
                        if spent < budget else
                        ": a design that reads the current authorization, token and institution state on every "
                        "request (a revocation or suspension takes effect at once) and records each disclosure "
                        "durably before answering cannot meet the goal on this machine, even if all its own "
                        "work took no time."))
    return " ".join(parts)


def _ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def _row(name: str, r: dict) -> str:
    errors = sum(r["errors"].values())
    return (f"| {name} | {r['requests']:,} | {r['rps']:,.0f} | {_ms(r['p50_us'])} | {_ms(r['p99_us'])} | "
            f"{r['bytes'] / max(r['requests'], 1):,.0f} | {errors} |")


def _floor_line(m: dict, name: str, label: str) -> str:
    r, logged, transactions = m[name], m[f"{name}_logged"], m.get(f"{name}_transactions")
    groups = (f" in {transactions:,} transactions ({logged / max(transactions, 1):.1f} rows a commit)"
              if transactions else "")
    return (f"{label} reaches **{r['rps'] / m['ceiling']['rps']:.1%}** of the ceiling with p99 "
            f"**{r['p99_us'] / 1000:.1f} ms**; its log holds {logged:,} rows{groups} for {r['requests']:,} answers "
            "(at most 32 in flight when wrk stopped).")


def _disclosures(d: dict) -> str:
    ok = d["answered_not_recorded"] == 0 and d["duplicates_answered"] == 0
    return (f"{d['answered_200']:,} answers carried a disclosure, {d['recorded']:,} disclosures recorded; answered "
            f"but not recorded: **{d['answered_not_recorded']}**; recorded but the answer not received by wrk "
            f"(requests in flight when wrk stopped, at most one per connection = {d['in_flight_bound']}): "
            f"{d['recorded_not_received']} — {'every disclosure logged' if ok else 'NOT every disclosure logged'}"
            + (f"; recorded by {d['ledger_commits']:,} ledger appends ({d['recorded'] / d['ledger_commits']:.1f} "
               "disclosures a group)" if d.get("ledger_commits") else ""))


def render(data_dir: Path) -> str:
    lines = [HEADING, ""]
    main_path, soak_path = data_dir / "main.json", data_dir / "soak.json"
    lines += [
        "`bench/load/run.py` (wrk 4.1.0 with `bench/load/mix.lua`) against `fincredit serve --workers 2` "
        "(uvicorn, httptools, uvloop) and one `fincredit worker` on PostgreSQL 15 (a fresh cluster), c=32. "
        "The world: a synthetic province ingested and evaluated, four active banks, enterprises with "
        "accounts that authorized every bank (pre-loan; categories 1, 4, 10, 13, 14, 31, 27). The ceiling "
        "is `bench/load/ceiling.py`: a bare Starlette endpoint answering a body of the same size as the "
        "profile query, served by uvicorn with the same settings, measured in the same run. The "
        "per-institution rate limit is raised for the run (`FINCREDIT_INSTITUTION_RATE_PER_MINUTE`); "
        "everything else is the default configuration.",
        "",
        "Command: `apt-get install -y wrk` once, then "
        "`uv run python bench/load/run.py --pg-url \"$(scripts/pg-start /tmp/bench-load-pg 54375)\" "
        "--duration 30 --soak 600 --report docs/benchmarks.md`",
        "",
        "The machine has 2 CPUs, shared with the wrk processes and PostgreSQL; the load average is recorded "
        "with each phase (a figure taken while other work ran is what the machine gave under that load; the "
        "ceiling suffers the same load).",
        "",
        "The floor is `bench/load/floor.py`: the same body, served the same way, after one single-statement "
        "transaction in autocommit (read the subject by primary key, insert a log row; one round trip, one "
        "durable commit) — the least any design that records each disclosure in its own database "
        "transaction must pay per request, with no token, authorization, records, masking or ledger. The "
        "group floor is the same endpoint with group commit (`FINCREDIT_FLOOR_MODE=group`): one appender "
        "per process takes every request queued while its previous transaction committed, writes their "
        "rows in one statement and commits; each request still answers only after its own row is durable. "
        "The read-then-group floor first reads the subject by primary key in a statement of its own: the "
        "least a design pays that reads the current state (authorizations, tokens, institutions, records) "
        "from the database on every request, so that a revocation or a suspension takes effect at once.",
        "",
    ]
    if main_path.exists():
        m = json.loads(main_path.read_text())
        ceiling, profile = m["ceiling"], m["profile"]
        share = profile["rps"] / ceiling["rps"]
        p99 = profile["p99_us"] / 1000
        met = share >= GOAL_SHARE and p99 <= GOAL_P99_MS
        lines += [
            f"Province: {m['enterprises']:,} enterprises, {m['subjects']} of them with accounts and "
            f"authorizations ({m['subjects'] * 4:,} authorizations); {m['api_workers']} API processes; "
            f"{m['duration']} s per phase; profile response {m['response_bytes']:,} bytes.",
            "",
            "| phase (c=32) | requests | req/s | p50 ms | p99 ms | bytes/response | errors | load average |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
            _row("ceiling: bare Starlette, same body size", ceiling) + f" {m['load_ceiling']} |",
            *([_row("floor: one durable single-statement transaction a request", m["floor"])
               + f" {m['load_floor']} |"] if "floor" in m else []),
            *([_row("group floor: the same, group-committed", m["group_floor"])
               + f" {m['load_group_floor']} |"] if "group_floor" in m else []),
            *([_row("read-then-group floor: one read statement, then group-committed", m["read_group_floor"])
               + f" {m['load_read_group_floor']} |"] if "read_group_floor" in m else []),
            _row("institution profile queries alone", profile) + f" {m['load_profile']} |",
            "",
            f"Profile queries reach **{share:.1%}** of the ceiling with p99 **{p99:.1f} ms** "
            f"(goal ≥ 25 % with p99 ≤ 50 ms: {'met' if met else 'not met'}). Disclosures: "
            + _disclosures(m["profile_disclosures"]) + ".",
            "",
            *([_floor_line(m, name, label) for name, label in (
                ("floor", "The floor"), ("group_floor", "The group floor"),
                ("read_group_floor", "The read-then-group floor")) if name in m]),
            *([f"Profile queries reach {profile['rps'] / m['floor']['rps']:.0%} of the floor.", ""]
              if "floor" in m else []),
            "The realistic mix, all at once (one wrk process per kind; connections: "
            + ", ".join(f"{KINDS[k]} {c}" for k, c in
                        {"profile": 16, "evaluation": 6, "verification": 4, "self": 6}.items())
            + f"), with batch uploads in the background (one 20-row 欠税 batch a second: {m['uploads']['ok']} of "
              f"{m['uploads']['sent']} accepted, each evaluated by the worker for alerts); load average "
              f"{m['load_mix']} at the start, {m['load_end']} at the end:",
            "",
            "| kind | requests | req/s | p50 ms | p99 ms | bytes/response | errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *[_row(KINDS[k], r) for k, r in m["mix"].items()],
            "",
            "Disclosures in the mix: " + _disclosures(m["mix_disclosures"]) + ".",
            "",
            *ANALYSIS,
            "",
            *([floor_verdict(m), ""] if "floor" in m else []),
        ]
    if soak_path.exists():
        s = json.loads(soak_path.read_text())
        samples = s["samples"]
        api_total = [sum(x["api_kb"].values()) / 1024 for x in samples]
        first_min = [v for x, v in zip(samples, api_total, strict=True) if 60 <= x["t"] < 120] or api_total[:1]
        last_min = [v for x, v in zip(samples, api_total, strict=True) if x["t"] >= s["seconds"] - 60] or api_total[-1:]
        errors = sum(sum(r["errors"].values()) for r in s["wrk"].values())
        requests = sum(r["requests"] for r in s["wrk"].values())
        lines += [
            f"### Soak ({s['seconds'] // 60} minutes)",
            "",
            f"The same mix for {s['seconds']} s (load average {s['load_start']} → {s['load_end']}), batch uploads "
            f"every 2 s ({s['uploads']['ok']} of {s['uploads']['sent']} accepted): {requests:,} requests, "
            f"**{errors} errors** (non-2xx answers, socket errors and time-outs). Disclosures: "
            + _disclosures(s["disclosures"]) + ".",
            "",
            "| kind | requests | req/s | p50 ms | p99 ms | bytes/response | errors |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *[_row(KINDS[k], r) for k, r in s["wrk"].items()],
            "",
            f"Resident memory of the API processes (the uvicorn supervisor and its workers), sampled every 10 s: "
            f"mean {sum(first_min) / len(first_min):,.0f} MiB in the second minute, "
            f"{sum(last_min) / len(last_min):,.0f} MiB in the last minute, "
            f"max {max(api_total):,.0f} MiB; the worker {samples[0]['worker_kb'] / 1024:,.0f} → "
            f"{samples[-1]['worker_kb'] / 1024:,.0f} MiB. Every minute:",
            "",
            "| t (s) | API processes RSS (MiB) | per process (MiB) | worker RSS (MiB) | load average |",
            "|---:|---:|---|---:|---|",
            *[f"| {x['t']} | {sum(x['api_kb'].values()) / 1024:,.0f} | "
              f"{', '.join(f'{v / 1024:.0f}' for v in x['api_kb'].values())} | {x['worker_kb'] / 1024:,.0f} | "
              f"{x['load']} |" for i, x in enumerate(samples) if i % 6 == 0 or i == len(samples) - 1],
            "",
        ]
    return "\n".join(lines)


def write_report(report: Path, data_dir: Path) -> None:
    """Replace the "## Load" section of ``report`` (up to the next "## " heading), or append it."""
    replace_section(report, HEADING, render(data_dir))

if __name__ == "__main__":
    write_report(Path(sys.argv[1]), Path(sys.argv[2]))
