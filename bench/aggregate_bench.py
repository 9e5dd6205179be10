"""What the statistics aggregate's hooks cost on the bulk paths: a batch of the registration base through the
real ingestion service, and a financing batch file of loan reports, each timed with the aggregate's hooks
(``statistics.aggregate``: ``track`` around the registry's bulk upsert, the Session flush hooks) and
without them (removed for the run — a measurement only, the tables are then out of step).

    uv run fincredit synth --enterprises 100000 --months 1 --seed 2022 --out /tmp/agg-synth
    uv run python bench/aggregate_bench.py --synth /tmp/agg-synth \\
        --pg-url "$(scripts/pg-start /tmp/agg-pg 54413)" [--no-sqlite] [--loans 2000] [--with-facts 0.1] \\
        [--report docs/benchmarks.md]

Per database and per mode (hooks on / off), on a fresh database:
1. the base file (``base-amr.csv`` of the synthetic province) ingested as one batch: every enterprise is new;
2. a share (``--with-facts``) of the enterprises given an account and a loan (bulk insert, then ``rebuild``);
3. the same base again with every enterprise's staff count and city changed (one batch of updates:
   re-attribution of the enterprises with an account or a loan);
4. a financing batch file of ``--loans`` loan reports (``financing.batch.ingest_batch``) spread over the
   enterprises with facts (the institution's basis for reporting — an application or an authorization —
   is granted by replacing ``has_basis``: it is the same in both modes and not what is measured).
With the hooks, ``statistics check`` must find nothing to correct at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh_db import fresh_database  # noqa: E402
from sections import replace_section  # noqa: E402

HEADING = "## Statistics aggregate: cost of its hooks on the bulk paths"


def _use(data_dir: Path, url: str) -> None:
    os.environ["FINCREDIT_DATA_DIR"] = str(data_dir)
    os.environ["FINCREDIT_DATABASE_URL"] = url
    from fincredit import db
    from fincredit.crypto import get_keyring

    db.reset_caches()
    get_keyring.cache_clear()


@contextlib.contextmanager
def hooks(enabled: bool):  # type: ignore[no-untyped-def]
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from fincredit.statistics import aggregate

    if enabled:
        yield
        return

    class _Untracked:
        def __init__(self, *_: Any) -> None:
            pass

        def __enter__(self) -> _Untracked:
            return self

        def __exit__(self, *_: Any) -> None:
            return None

    kept = aggregate.track
    aggregate.track = _Untracked  # type: ignore[assignment,misc]
    event.remove(Session, "before_flush", aggregate._before_flush)
    event.remove(Session, "after_flush", aggregate._after_flush)
    try:
        yield
    finally:
        aggregate.track = kept  # type: ignore[misc]
        event.listen(Session, "before_flush", aggregate._before_flush)
        event.listen(Session, "after_flush", aggregate._after_flush)


def changed_base(source: Path, target: Path) -> list[str]:
    """The base with every enterprise's staff count tripled and every tenth moved to another city."""
    usccs = []
    with source.open(encoding="utf-8", newline="") as fin, target.open("w", encoding="utf-8", newline="") as fout:
        reader, writer = csv.DictReader(fin), None
        for i, row in enumerate(reader):
            if writer is None:
                writer = csv.DictWriter(fout, fieldnames=reader.fieldnames or [])
                writer.writeheader()
            usccs.append(row["统一社会信用代码"])
            row["从业人数"] = str(int(float(row["从业人数"] or 0)) * 3 + 1)
            if i % 10 == 0:
                row["住所所在地行政区划代码"] = "320102" if not row["住所所在地行政区划代码"].startswith("3201") else "320211"
            writer.writerow(row)
    return usccs


def ingest_base(path: Path) -> float:
    from fincredit.collection import provider_service, service
    from fincredit.db import session_scope

    start = time.perf_counter()
    with session_scope() as s:
        provider_service.ensure_catalog_provider(s, "amr")
        result = service.ingest(s, provider_code="amr", category_code="base", upload=service.uploaded_file(path),
                                encoding="utf-8")
        summary = service.batch_dict(s, result.batch)
    assert summary["accepted"] == summary["rows_total"], summary
    return time.perf_counter() - start


def add_facts(usccs: list[str], institution_id: int) -> None:
    """An account and a loan for each of these enterprises, written in bulk (no hooks), then ``rebuild``."""
    from sqlalchemy import insert

    from fincredit.db import session_scope
    from fincredit.financing.models import Loan
    from fincredit.registry.models import Account
    from fincredit.statistics import aggregate

    rng = random.Random(5)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    with session_scope() as s:
        for i in range(0, len(usccs), 5000):
            part = usccs[i:i + 5000]
            s.execute(insert(Account), [{"uscc": u, "password_hash": "x", "legal_rep_key": "k",
                                         "created_at": now - dt.timedelta(days=rng.randint(0, 300))} for u in part])
            s.execute(insert(Loan), [{"institution_id": institution_id, "uscc": u, "amount_wan": Decimal(100),
                                      "term_months": 12, "rate": Decimal("4.2"), "credit_loan": rng.random() < 0.4,
                                      "first_loan": False, "granted_on": today - dt.timedelta(days=rng.randint(0, 300)),
                                      "flags": [], "reported_at": now} for u in part])
        aggregate.rebuild(s)


def loan_file(usccs: list[str], rows: int) -> bytes:
    rng = random.Random(11)
    today = dt.date.today()
    lines = ["统一社会信用代码,贷款金额(万元),期限(月),年利率(%),是否信用贷款,是否首贷,放款日期"]
    for _ in range(rows):
        lines.append(f"{rng.choice(usccs)},{rng.randint(10, 900)},12,4.2,{'是' if rng.random() < 0.4 else '否'},否,"
                     f"{(today - dt.timedelta(days=rng.randint(0, 20))).isoformat()}")
    return ("\n".join(lines) + "\n").encode()


def loan_batch(content: bytes, institution_id: int) -> tuple[float, int]:
    from fincredit.auth.models import Role
    from fincredit.auth.service import Principal
    from fincredit.db import session_scope
    from fincredit.financing import batch, loans

    kept = loans.has_basis
    loans.has_basis = lambda *_a, **_k: True  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        with session_scope() as s:
            out = batch.ingest_batch(s, Principal(role=Role.institution, subject=str(institution_id)), content)
        return time.perf_counter() - start, out["accepted"]
    finally:
        loans.has_basis = kept  # type: ignore[assignment]


def one(base: Path, workdir: Path, url: str, enabled: bool, share: float, loans: int) -> dict[str, Any]:
    from fincredit.bootstrap import initialize
    from fincredit.db import session_scope
    from fincredit.institutions.models import Institution
    from fincredit.statistics import aggregate

    data_dir = workdir / ("on" if enabled else "off")
    data_dir.mkdir(exist_ok=True)
    _use(data_dir, url)
    initialize()
    changed = workdir / "base-changed.csv"
    usccs = changed_base(base, changed)
    with session_scope() as s:
        bank = Institution(name="测试银行南京分行", kind="bank", status="active")
        s.add(bank)
        s.flush()
        bank_id = bank.id
    out: dict[str, Any] = {}
    with hooks(enabled):
        out["base_new"] = ingest_base(base)
        with_facts = usccs[:: max(1, round(1 / share))] if share else []
        add_facts(with_facts, bank_id)
        out["with_facts"] = len(with_facts)
        out["base_update"] = ingest_base(changed)
        out["loans"], out["accepted"] = loan_batch(loan_file(with_facts or usccs, loans), bank_id)
    if enabled:
        with session_scope() as s:
            out["check"] = aggregate.check(s)
    return out


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def render(results: dict[str, dict[bool, dict[str, Any]]], rows: int, share: float, loans: int, load: str,
           command: str) -> str:
    lines = [HEADING, "",
             f"`{command}` — {rows:,} enterprises of the base, {share:.0%} of them with an account and a loan, "
             f"a financing batch file of {loans:,} loan reports. Seconds, with the aggregate's hooks / without "
             f"(the difference is their cost). Load: {load}.", "",
             "| database | step | with hooks | without | cost |", "|---|---|---|---|---|"]
    for name, by_mode in results.items():
        on, off = by_mode[True], by_mode[False]
        for key, label in (("base_new", "base batch, every enterprise new"),
                           ("base_update", "base batch, every enterprise updated"),
                           ("loans", f"financing batch file ({on['accepted']:,} loans)")):
            cost = (on[key] - off[key]) / off[key] if off[key] else 0.0
            lines.append(f"| {name} | {label} | {on[key]:.1f} | {off[key]:.1f} | {cost:+.0%} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", type=Path, required=True, help="output directory of `fincredit synth`")
    parser.add_argument("--pg-url")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--loans", type=int, default=2000)
    parser.add_argument("--with-facts", type=float, default=0.1)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    base = args.synth / "base-amr.csv"
    rows = sum(1 for _ in base.open(encoding="utf-8")) - 1
    workdir = Path(tempfile.mkdtemp(prefix="aggregate-bench-"))
    results: dict[str, dict[bool, dict[str, Any]]] = {}
    load_before = uptime()
    try:
        targets = ([] if args.no_sqlite else [("SQLite", None)]) + ([("PostgreSQL", args.pg_url)] if args.pg_url else [])
        warm = workdir / "warm" / "base-amr.csv"  # the first run in a process pays its imports and compiles:
        warm.parent.mkdir()                        # both modes run once on a small slice first
        with base.open(encoding="utf-8") as fin:
            warm.write_text("".join(line for _, line in zip(range(301), fin, strict=False)), encoding="utf-8")
        for name, url in targets:
            results[name] = {}
            for enabled in (True, False):
                mode_dir = workdir / f"warm-{name}-{enabled}"
                mode_dir.mkdir()
                one(warm, mode_dir, fresh_database(url, mode_dir, "aggregate_bench"), enabled, args.with_facts, 20)
            for enabled in (True, False):
                mode_dir = workdir / f"{name}-{enabled}"
                mode_dir.mkdir()
                db_url = fresh_database(url, mode_dir, "aggregate_bench")
                r = one(base, mode_dir, db_url, enabled, args.with_facts, args.loans)
                print(name, "hooks" if enabled else "no hooks", {k: v for k, v in r.items() if k != "check"},
                      flush=True)
                if enabled:
                    assert r["check"] == {}, "statistics check found differences"
                results[name][enabled] = r
    finally:
        from fincredit import db

        db.reset_caches()
        shutil.rmtree(workdir, ignore_errors=True)
    load = f"before `{load_before.split('load average:')[-1].strip()}`, after `{uptime().split('load average:')[-1].strip()}`"
    command = "uv run python bench/aggregate_bench.py " + " ".join(
        "$PG_URL" if a.startswith("postgresql") else a for a in sys.argv[1:])
    text = render(results, rows, args.with_facts, args.loans, load, command)
    print(text)
    if args.report:
        replace_section(args.report, HEADING, text)


if __name__ == "__main__":
    main()
