"""Ledger benchmark: durable batched appends, proof generation, and ``fincredit ledger verify``.

    uv run python bench/ledger_bench.py --entries 1000000 [--database-url URL] [--report docs/benchmarks.md]

Without ``--database-url`` it uses a fresh SQLite file in a temporary directory. A PostgreSQL URL gets
a fresh database ``<name>_ledger_bench`` on that server (dropped and re-created). Each batch is
committed (durable: SQLite WAL with synchronous=NORMAL as configured by fincredit.db; PostgreSQL with
fsync and synchronous_commit on).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh_db import fresh_database  # noqa: E402


def _payload(i: int) -> tuple[str, dict, list[str]]:
    uscc = f"91320000MA{i % 100000:05d}XX0A"
    return ("disclosure", {"category": str(i % 37 + 1), "authorization_id": i // 7, "fields": ["名称", "地址"],
                           "request_id": f"{i:012x}"}, [f"enterprise:{uscc}", f"institution:{i % 50 + 1}"])


def run(entries: int, batch: int, url: str | None, proofs: int) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    os.environ["FINCREDIT_DATA_DIR"] = str(data_dir)
    db_url = fresh_database(url, data_dir, "ledger_bench")
    os.environ["FINCREDIT_DATABASE_URL"] = db_url
    from fincredit import db
    from fincredit.crypto import ensure_keyring, get_keyring
    from fincredit.ledger import service
    from fincredit.ledger.audit import audit
    from fincredit.ledger.verifier import key_id, verify_document
    from fincredit.migrate import upgrade

    db.reset_caches()
    get_keyring.cache_clear()
    ensure_keyring(data_dir)
    with db.get_engine().begin() as conn:
        upgrade(connection=conn)
    out: dict[str, Any] = {"entries": entries, "batch": batch,
                              "database": db.get_engine().dialect.name, "load_before": os.getloadavg()}

    # 1. durable batched appends (one transaction and commit per batch), checkpoints as the worker would
    started, cpu = time.perf_counter(), time.process_time()
    done = 0
    while done < entries:
        n = min(batch, entries - done)
        with db.session_scope() as s:
            service.append_many(s, [_payload(i) for i in range(done, done + n)])
            service.issue_checkpoint_if_due(s)
        done += n
    elapsed = time.perf_counter() - started
    out["append_seconds"] = elapsed
    out["append_cpu_seconds"] = time.process_time() - cpu
    out["appends_per_second"] = entries / elapsed

    # 2. single appends, one commit each (the shape of an API request)
    singles = min(1000, entries)
    started = time.perf_counter()
    for i in range(singles):
        with db.session_scope() as s:
            service.append(s, *_payload(entries + i))
    out["single_appends_per_second"] = singles / (time.perf_counter() - started)
    total = entries + singles
    with db.session_scope() as s:
        service.issue_checkpoint(s)

    # 3. proofs: inclusion (with entry and checkpoint), consistency, receipt + offline verification
    rng = random.Random(7)
    times, ctimes = [], []
    with db.session_scope() as s:
        for _ in range(proofs):
            index = rng.randrange(total)
            t0 = time.perf_counter()
            service.inclusion_proof(s, index)
            times.append(time.perf_counter() - t0)
            first = rng.randrange(1, total)
            t0 = time.perf_counter()
            service.consistency_proof(s, first, total)
            ctimes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        receipt = service.receipt(s, total - 1)
        out["receipt_ms"] = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    assert verify_document(receipt, get_keyring().public_key_b64()).ok
    out["receipt_verify_ms"] = (time.perf_counter() - t0) * 1000
    out["inclusion_proof_ms_median"] = statistics.median(times) * 1000
    out["inclusion_proof_ms_p95"] = sorted(times)[int(len(times) * 0.95)] * 1000
    out["consistency_proof_ms_median"] = statistics.median(ctimes) * 1000

    # 4. full verification, as `fincredit ledger verify` (one process, then one worker per CPU)
    ring = get_keyring()
    keys = {key_id(ring.public_key.public_bytes_raw()): ring.public_key}
    workers = min(os.cpu_count() or 1, 8)
    for label, n in (("verify", 1), ("verify_parallel", workers)):
        cpu = time.process_time()
        with db.session_scope() as s:
            report = audit(s.connection(), keys, workers=n)
        assert report.ok, report.to_dict()
        out[f"{label}_seconds"] = report.seconds
        out[f"{label}_cpu_seconds"] = time.process_time() - cpu
    out["workers"] = workers
    out["verify_entries"] = report.size
    out["checkpoints"] = report.checkpoints
    out["load_after"] = os.getloadavg()
    db.reset_caches()
    return out


DATABASE_TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
LEDGER_INTRO = """## Ledger

The tamper-evident log (`src/fincredit/ledger/`): durable batched appends, proof generation and the
full verification of `fincredit ledger verify`. Wall-clock figures depend on the machine's load
(the load average is recorded: this machine is shared); CPU seconds of the verifying process are
given as a load-independent measure of the single-process verification.
"""


def render(result: dict[str, Any], command: str) -> str:
    r = result
    load = "/".join(f"{x:.1f}" for x in (*r["load_before"][:1], *r["load_after"][:1]))
    return "\n".join([
        f"### {DATABASE_TITLES.get(r['database'], r['database'])}",
        "",
        f"Command: `{command}`",
        "",
        f"{r['verify_entries']:,} entries, {r['checkpoints']} signed checkpoints; {os.cpu_count()} CPU(s), "
        f"Python {sys.version.split()[0]}; load average before/after: {load}.",
        "",
        "| measure | result | goal |",
        "|---|---|---|",
        f"| durable appends, batches of {r['batch']:,} (commit per batch) | {r['appends_per_second']:,.0f} /s "
        f"(CPU {r['entries'] / r['append_cpu_seconds']:,.0f} /s) | ≥ 10,000 /s |",
        f"| single appends, one commit each | {r['single_appends_per_second']:,.0f} /s | |",
        f"| inclusion proof (entry + checkpoint + proof), median / p95 | {r['inclusion_proof_ms_median']:.2f} / "
        f"{r['inclusion_proof_ms_p95']:.2f} ms | O(log n) reads |",
        f"| consistency proof, median | {r['consistency_proof_ms_median']:.2f} ms | |",
        f"| receipt / its offline verification | {r['receipt_ms']:.2f} / {r['receipt_verify_ms']:.2f} ms | |",
        f"| `ledger verify`, 1 process: wall (CPU) | {r['verify_seconds']:.2f} s ({r['verify_cpu_seconds']:.2f} s) "
        f"| ≤ 10 s per 1 M |",
        f"| `ledger verify`, {r['workers']} worker processes (the command's default): wall "
        f"| {r['verify_parallel_seconds']:.2f} s | ≤ 10 s per 1 M |",
        "",
    ])


def write_section(path: Path, subsection: str) -> None:
    """Put ``subsection`` (``### <database>``) into the ``## Ledger`` section, keeping everything else."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.rstrip("\n").splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "## Ledger"), None)
    if start is None:
        lines += [""] + LEDGER_INTRO.rstrip("\n").splitlines()
        start = len(lines) - len(LEDGER_INTRO.rstrip("\n").splitlines())
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    section = lines[start:end]
    title = subsection.splitlines()[0]
    sub = next((i for i, ln in enumerate(section) if ln.strip() == title), None)
    new = subsection.rstrip("\n").splitlines()
    if sub is None:
        section = [*section, *([""] if section[-1].strip() else []), *new]
    else:
        sub_end = next((i for i in range(sub + 1, len(section)) if section[i].startswith("### ")), len(section))
        section = section[:sub] + new + ([""] if sub_end < len(section) else []) + section[sub_end:]
    lines = lines[:start] + section + ([""] if end < len(lines) else []) + lines[end:]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--proofs", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--report", type=Path, default=None, help="write the '## Ledger' section here")
    args = parser.parse_args()
    result = run(args.entries, args.batch, args.database_url, args.proofs)
    args_shown = ["$PG_URL" if "://" in a else a for a in sys.argv[1:]]  # no credentials in the docs
    command = "uv run python bench/ledger_bench.py " + " ".join(args_shown)
    section = render(result, command)
    print(section)
    if args.report:
        write_section(args.report, section)


if __name__ == "__main__":
    main()
