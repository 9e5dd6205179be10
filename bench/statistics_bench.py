"""Statistics benchmark: every figure of ``GET /api/v1/statistics/...`` (every dimension), the overview with
its per-city target progress, and the monthly report (HTML and PDF), over a province-scale set of facts.

    uv run python bench/statistics_bench.py --enterprises 1500000 --database-url postgresql+psycopg://… \
        [--report docs/benchmarks.md]

``--enterprises`` is the number of registered enterprises (accounts, the notice's target); the
registration base has a third more. The database ``<name>_statistics_bench`` is dropped, re-created,
migrated and filled directly with COPY (generated with numpy and polars; setup is not timed):
enterprises over the 13 cities, accounts created over four years, authorizations (0.8 per account,
5 % revoked) and their uses, disclosures, loans (0.4 per account, 30 % credit loans, 25 % first loans)
with repayments, settlements, overdue and default events, objections, providers and batches. The
period timed is October 2026. Without ``--database-url`` it uses SQLite in a temporary directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluation_bench import _copy  # noqa: E402  (COPY of a polars frame)
from fresh_db import fresh_database  # noqa: E402
from sections import replace_section  # noqa: E402

PERIOD = "2026-10"
TODAY = dt.date(2026, 11, 20)
EPOCH = dt.datetime(2022, 9, 1, tzinfo=dt.UTC)
SPAN_DAYS = (dt.datetime(2026, 11, 15, tzinfo=dt.UTC) - EPOCH).days
CITY_WEIGHTS = [16, 12, 8, 9, 11, 9, 6, 5, 7, 8, 4, 4, 3]
INDUSTRIES = ["C3911", "C1310", "F5191", "F5261", "I6510", "L7212", "M7320", "E4710", "G5430", "A0111", "H6110"]
SIZES = ["微型", "小型", "中型"]


def _times(rng: np.random.Generator, n: int, skew: float = 0.8) -> np.ndarray:
    """Datetimes from EPOCH to mid-November 2026, denser toward the end (the platform grows)."""
    seconds = (rng.random(n) ** skew) * SPAN_DAYS * 86400
    return (np.datetime64(EPOCH.replace(tzinfo=None)) + seconds.astype("timedelta64[s]"))


def build(accounts: int, seed: int) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    base = int(accounts * 4 / 3)
    weights = np.array(CITY_WEIGHTS) / sum(CITY_WEIGHTS)
    city = rng.choice(13, base, p=weights)
    uscc = pl.Series([f"9132{i:013d}X" for i in range(base)])
    enterprises = pl.DataFrame({
        "uscc": uscc, "name": pl.Series([f"企业{i}" for i in range(base)]),
        "status": np.where(rng.random(base) < 0.06, "注销", "存续"),
        "industry_code": np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), base)],
        "region_code": [f"32{c + 1:02d}{d:02d}" for c, d in zip(city, rng.integers(2, 12, base), strict=True)],
        "size_class": np.array(SIZES)[rng.choice(3, base, p=[0.7, 0.23, 0.07])],
        "legal_rep_key": pl.Series([f"{i:064x}" for i in range(base)]),
    }).with_columns(pl.lit("2026-11-01T00:00:00+00:00").alias("updated_at"))
    who = rng.choice(base, accounts, replace=False)
    created = _times(rng, accounts)
    acc = pl.DataFrame({"id": np.arange(1, accounts + 1), "uscc": uscc.gather(who), "password_hash": "x",
                        "legal_rep_key": "x", "identity_valid": True, "failed_logins": 0,
                        "created_at": created}).with_columns(pl.col("created_at").dt.replace_time_zone("UTC"))

    n_inst = 60
    institutions = pl.DataFrame({"id": np.arange(1, n_inst + 1), "name": [f"江苏银行业金融机构{i}" for i in range(n_inst)],
                                 "kind": "bank", "status": "active", "created_at": "2022-08-01T00:00:00+00:00",
                                 "status_changed_at": "2022-08-01T00:00:00+00:00"})
    n_auth = int(accounts * 0.8)
    pick = rng.integers(0, accounts, n_auth)
    a_created = np.maximum(created[pick], _times(rng, n_auth, 0.7))
    revoked = rng.random(n_auth) < 0.05
    r_at = a_created + (rng.random(n_auth) * 200 * 86400).astype("timedelta64[s]")
    auth = pl.DataFrame({
        "id": [f"a{i:035d}" for i in range(n_auth)], "enterprise_uscc": acc["uscc"].gather(pick),
        "institution_id": rng.integers(1, n_inst + 1, n_auth), "purpose": "pre_loan", "categories": "[]",
        "starts_at": a_created, "expires_at": a_created + np.timedelta64(365, "D"), "catalog_version": 1,
        "letter_template_version": "v1", "letter_text": "x", "canonical": "x", "signature": "{}",
        "created_at": a_created, "status": np.where(revoked, "revoked", "active"),
        "revoked_at": pl.Series(r_at).set(pl.Series(~revoked), None), "use_count": 0,
    }).with_columns(pl.col(c).dt.replace_time_zone("UTC") for c in ("starts_at", "expires_at", "created_at",
                                                                     "revoked_at"))
    n_use = int(n_auth * 1.3)
    upick = rng.integers(0, n_auth, n_use)
    used_at = a_created[upick] + (rng.random(n_use) * 60 * 86400).astype("timedelta64[s]")
    uses = pl.DataFrame({"id": np.arange(1, n_use + 1), "authorization_id": auth["id"].gather(upick),
                         "used_at": used_at, "party": "institution:1", "use": "pre_loan", "kind": "disclosure",
                         "categories": "[]"}).with_columns(pl.col("used_at").dt.replace_time_zone("UTC"))
    disclosures = pl.DataFrame({
        "id": [f"d{i:035d}" for i in range(n_use)], "kind": "enterprise_view", "party_role": "institution",
        "party_subject": auth["institution_id"].gather(upick).cast(pl.String), "party_name": "",
        "subject_uscc": auth["enterprise_uscc"].gather(upick), "categories": "[]", "forms": "{}", "fields": "{}",
        "authorization_ids": "[]", "content_sm3": "0" * 64, "related": True, "created_at": used_at,
    }).with_columns(pl.col("created_at").dt.replace_time_zone("UTC"))

    n_loan = int(accounts * 0.4)
    lpick = rng.integers(0, accounts, n_loan)
    granted = (np.maximum(created[lpick], _times(rng, n_loan, 0.7))).astype("datetime64[D]")
    amount = np.round(rng.lognormal(4.5, 0.9, n_loan), 2)
    loans = pl.DataFrame({
        "id": np.arange(1, n_loan + 1), "institution_id": rng.integers(1, n_inst + 1, n_loan),
        "uscc": acc["uscc"].gather(lpick), "amount_wan": amount, "term_months": 12, "rate": 3.85,
        "credit_loan": rng.random(n_loan) < 0.3, "first_loan": rng.random(n_loan) < 0.25, "granted_on": granted,
        "status": "active", "flags": "[]", "source": "api", "reported_at": "2026-11-01T00:00:00+00:00"})
    u = rng.random(n_loan)
    repaid = u < 0.5
    settled = u < 0.3
    ev_ids = np.arange(1, n_loan + 1)
    frames = []
    for mask, kind, days, share in ((repaid, "repaid", 90, 0.4), (settled, "settled", 360, None),
                                    (rng.random(n_loan) < 0.03, "overdue", 200, None),
                                    (rng.random(n_loan) < 0.01, "defaulted", 300, None)):
        idx = np.flatnonzero(mask)
        on = granted[idx] + rng.integers(1, days, idx.size).astype("timedelta64[D]")
        frames.append(pl.DataFrame({"loan_id": ev_ids[idx], "kind": kind,
                                    "amount_wan": np.round(amount[idx] * share, 2) if share else None, "on_date": on},
                                   schema_overrides={"amount_wan": pl.Float64}))
    events = pl.concat(frames).filter(pl.col("on_date") <= pl.lit(TODAY))
    events = events.with_columns(pl.int_range(1, pl.len() + 1).alias("id"),
                                 pl.lit("2026-11-01T00:00:00+00:00").alias("recorded_at"))

    n_obj = max(10, accounts // 50)
    filed = _times(rng, n_obj)
    fwd = filed + (rng.random(n_obj) * 4 * 86400).astype("timedelta64[s]")
    deadline = filed + np.timedelta64(2, "D")
    outcome = np.array(["corrected", "upheld", "partly_corrected", None], dtype=object)[rng.integers(0, 4, n_obj)]
    objections = pl.DataFrame({
        "id": np.arange(1, n_obj + 1), "enterprise_uscc": acc["uscc"].gather(rng.integers(0, accounts, n_obj)),
        "category_code": "1", "record_id": np.arange(1, n_obj + 1), "reason": "数据有误",
        "status": np.where(outcome == None, "forwarded", "resolved"),  # noqa: E711
        "filed_at": filed, "filed_by": "", "forward_deadline": deadline,
        "deadline_date": deadline.astype("datetime64[D]"), "calendar_basis": "official", "warnings": "[]",
        "forwarded_at": fwd, "escalated": False, "resolved_at": fwd, "outcome": pl.Series(outcome.tolist(), dtype=pl.String),
        "notified_institutions": "[]", "ledger_indexes": "[]",
    }).with_columns(pl.col(c).dt.replace_time_zone("UTC") for c in ("filed_at", "forward_deadline", "forwarded_at",
                                                                     "resolved_at"))
    codes = [str(c) for c in range(1, 38)]
    providers = pl.DataFrame({"id": np.arange(1, 21), "code": [f"p{i:02d}" for i in range(20)],
                              "name": [f"数据提供单位{i}" for i in range(20)],
                              "categories": [f'["{codes[i]}", "{codes[i + 20] if i + 20 < 37 else codes[0]}"]'
                                             for i in range(20)],
                              "created_at": "2022-08-01T00:00:00+00:00"})
    n_batch = 20_000
    bp = rng.integers(0, 20, n_batch)
    rows_total = rng.integers(100, 50_000, n_batch)
    rejected = (rows_total * rng.random(n_batch) * 0.05).astype(np.int64)
    received = _times(rng, n_batch, 1.0)
    batches = pl.DataFrame({
        "id": np.arange(1, n_batch + 1), "provider_code": [f"p{i:02d}" for i in bp],
        "category_code": [codes[i] for i in bp], "catalog_version_id": 1,
        "content_hash": [f"{i:064x}" for i in range(n_batch)], "filename": "x.csv", "file_format": "csv",
        "size_bytes": 1, "mode": "store_valid", "status": "partially_accepted", "rows_total": rows_total,
        "accepted": rows_total - rejected, "rejected": rejected, "superseded": 0, "unchanged": 0,
        "received_at": received, "completed_at": received, "uploaded_by": "bench",
    }).with_columns(pl.col(c).dt.replace_time_zone("UTC") for c in ("received_at", "completed_at"))
    return {"enterprises": enterprises, "accounts": acc, "institutions": institutions, "authorizations": auth,
            "authorization_uses": uses, "disclosures": disclosures, "financing_loans": loans,
            "financing_loan_events": events, "objections": objections, "providers": providers, "batches": batches}


def _load_sqlite(connection: Any, table: str, frame: pl.DataFrame) -> None:
    raw = connection.connection.driver_connection
    frame = frame.with_columns([pl.col(c).cast(pl.Int8) for c, t in frame.schema.items() if t == pl.Boolean])
    frame = frame.with_columns([pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                                .dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
                                for c, t in frame.schema.items() if isinstance(t, pl.Datetime)])
    frame = frame.with_columns([pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t == pl.Date])
    cols = ", ".join(frame.columns)
    raw.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * frame.width)})", frame.iter_rows())


def _timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _reuse_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database or 'fincredit'}_statistics_bench").render_as_string(
        hide_password=False)


def _ensure_indexes() -> None:
    """On a reused database, create the statistics indexes and aggregate tables added since it was loaded."""
    from fincredit import db
    from fincredit.statistics.models import AGGREGATE_TABLES, STATISTICS_INDEXES

    with db.get_engine().begin() as conn:
        for model in AGGREGATE_TABLES:
            model.__table__.create(conn, checkfirst=True)
        for index in STATISTICS_INDEXES:
            index.create(conn, checkfirst=True)
    with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def _backfill(db: Any) -> tuple[float, dict[str, int]]:
    """Fill the statistics aggregate from the facts the COPY loaded (it bypasses the services' hooks), as
    ``fincredit statistics rebuild`` does; timed."""
    from fincredit.statistics import aggregate

    started = time.perf_counter()
    with db.session_scope() as session:
        rows = aggregate.rebuild(session)
    seconds = time.perf_counter() - started
    with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in ("statistics_loan_months", "statistics_loan_product_months", "statistics_registration_months",
                     "statistics_enterprise_counts"):
            conn.exec_driver_sql(f"ANALYZE {name}")
    return seconds, rows


def run(accounts: int, url: str | None, seed: int, pdf: bool, reuse: bool = False) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="statistics-bench-"))
    os.environ["FINCREDIT_DATA_DIR"] = str(data_dir)
    if reuse and url is None:
        raise SystemExit("--reuse needs --database-url (a PostgreSQL database loaded by an earlier run)")
    os.environ["FINCREDIT_DATABASE_URL"] = _reuse_url(url) if reuse and url else fresh_database(
        url, data_dir, "statistics_bench")
    from sqlalchemy import func, select, text

    from fincredit import db
    from fincredit.bootstrap import initialize
    from fincredit.statistics import figures as F
    from fincredit.statistics import report, service

    db.reset_caches()
    if reuse:
        _ensure_indexes()
        backfill = _backfill(db)
        tables = ("enterprises", "accounts", "institutions", "authorizations", "authorization_uses", "disclosures",
                  "financing_loans", "financing_loan_events", "objections", "providers", "batches")
        with db.get_engine().connect() as conn:
            sizes = {t: conn.scalar(select(func.count()).select_from(text(t))) or 0 for t in tables}
        return _measure(db, F, report, service, sizes, sizes["accounts"], 0.0, pdf, backfill)
    initialize()
    started = time.perf_counter()
    frames = build(accounts, seed)
    with db.get_engine().begin() as conn:
        load = _copy if conn.dialect.name == "postgresql" else _load_sqlite
        conn.execute(text("DELETE FROM providers"))
        for table, frame in frames.items():
            load(conn, table, frame)
        if conn.dialect.name == "postgresql":
            for table in ("accounts", "institutions", "authorization_uses", "financing_loans", "financing_loan_events",
                          "objections", "providers", "batches"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
    with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")
    setup = time.perf_counter() - started
    backfill = _backfill(db)
    return _measure(db, F, report, service, {t: f.height for t, f in frames.items()}, accounts, setup, pdf,
                    backfill)


def _measure(db: Any, F: Any, report: Any, service: Any, sizes: dict[str, int], accounts: int,
             setup: float, pdf: bool, backfill: tuple[float, dict[str, int]]) -> dict[str, Any]:
    period = service.parse_period(PERIOD, None, None, TODAY)
    timings = []
    with db.session_scope() as session:
        for name, dims in F.FIGURE_DIMENSIONS.items():
            for by in ("", *dims):
                cold, rows = _timed(lambda n=name, b=by: F.FIGURES[n](session, period, b, F.Filters()))
                warm, _ = _timed(lambda n=name, b=by: F.FIGURES[n](session, period, b, F.Filters()))
                timings.append({"figure": name, "by": by or "total", "cold": cold, "warm": warm, "rows": len(rows)})
        cold, _ = _timed(lambda: service.overview(session, TODAY))
        warm, _ = _timed(lambda: service.overview(session, TODAY))
        timings.append({"figure": "overview", "by": "total + 13 cities", "cold": cold, "warm": warm, "rows": 14})
        load_avg = os.getloadavg()[0]
        html_s, html = _timed(lambda: report.generate_html(session, PERIOD, TODAY))
    pdf_s = None
    if pdf:
        from fincredit.statistics.report_pdf import html_to_pdf

        pdf_s, _ = _timed(lambda: html_to_pdf(html))
    return {"database": db.get_engine().dialect.name, "accounts": accounts, "sizes": sizes, "setup_seconds": setup,
            "timings": timings, "report_html": html_s, "report_pdf": pdf_s, "load": load_avg,
            "load_start": os.getloadavg(), "backfill_seconds": backfill[0], "backfill_rows": backfill[1]}


def section(r: dict[str, Any], command: str) -> str:
    s = r["sizes"]
    rows = [f"| {t['figure']} | {t['by']} | {t['rows']:,} | {t['cold']:.2f} | {t['warm']:.2f} |" for t in r["timings"]]
    worst = max(r["timings"], key=lambda t: t["warm"])
    total = r["report_html"] + (r["report_pdf"] or 0)
    return "\n".join([
        "## Statistics", "",
        "Every figure of `GET /api/v1/statistics/{figure}` for one month (October 2026), with every breakdown it",
        "allows, the overview (headline figures plus the targets' progress and trends for the province and",
        "each of the 13 cities), and the monthly report (通报): HTML from the template, then PDF printed by",
        "headless Chromium. The registrations and loans figures, their month series and the targets are read",
        "from the statistics aggregate (monthly sums kept in the same transaction as the facts,",
        "`statistics/aggregate.py`); the other figures are SQL aggregates over the facts. The facts are",
        "generated and loaded with COPY (not timed), then the aggregate is filled from them (`rebuild`, timed",
        "below as the backfill).", "",
        f"`{command}`", "",
        f"{r['database']}: {s['enterprises']:,} enterprises in the base, {s['accounts']:,} registered (accounts), "
        f"{s['authorizations']:,} authorizations, {s['authorization_uses']:,} uses and {s['disclosures']:,} "
        f"disclosures, {s['financing_loans']:,} loans with {s['financing_loan_events']:,} events, "
        f"{s['objections']:,} objections, {s['batches']:,} batches; "
        + (f"setup {r['setup_seconds']:.0f} s. " if r["setup_seconds"] else "setup skipped (`--reuse`). ")
        + f"2-core machine shared with other sessions: load average {r['load']:.1f} during the figures.", "",
        f"Aggregate backfill from the facts (`fincredit statistics rebuild`): {r['backfill_seconds']:.1f} s ("
        + ", ".join(f"{n:,} rows in {t}" for t, n in r["backfill_rows"].items()) + ").", "",
        "| figure | by | rows | first call (s) | second call (s) |", "|---|---|---:|---:|---:|", *rows, "",
        f"Slowest figure (second call): {worst['figure']} by {worst['by']}, {worst['warm']:.2f} s. "
        f"Report: HTML {r['report_html']:.1f} s"
        + (f", PDF {r['report_pdf']:.1f} s, total {total:.1f} s." if r["report_pdf"] is not None else "."), "",
        *ANALYSIS,
    ])


ANALYSIS = """\
**The aggregate (docs/statistics.md, "The aggregate").** Four tables of monthly sums: loan contributions
(grant, repayments, write-off at settlement, first overdue, first default — each dated by the later of its
own date and the grant date) by month × the borrower's city × industry section × size class, and by month
× institution × product; accounts created by month × city × section × size class; live enterprises by
city × section × size class. Every write of a loan, loan event, account or base record recomputes the
contributions of the enterprises it touches before and after and adds the difference, in the same
transaction (ORM flush hooks; the registry's bulk upsert explicitly; on PostgreSQL one transaction-level
advisory lock serializes the writers of these facts, who already queue on the ledger's append lock); `fincredit statistics rebuild` recomputes the tables from the facts and `fincredit statistics
check` compares them. A figure for a period ending on a month's last day reads only stored months (a few
thousand rows); a period ending mid-month corrects that month from the facts dated in it (usually the
loans and accounts dated after the period's end in the same month: none when the period ends today). The
fact-based SQL stays as the reference (`figures.*_from_facts`, `series.*_from_facts`): the tests check that
after random writes through the services every registrations and loans figure, by every breakdown and
filter, and every month series equals it, on SQLite and PostgreSQL, and that a rebuild gives the same
tables.

The overview's headline flows are now the current month to date (`headline_period`; the stocks —
cumulative accounts, balances, rates — at today): "since the beginning" counted every authorization use
and disclosure ever made, and the distinct authorizations used and enterprises queried cannot be summed
from monthly counts (2–5 s at province scale under load). The authorizations total no longer joins the
authorizations to their uses.

Before the aggregate, same 1.5 M facts: at load average 3.2 (the previous run), loans by city, industry or
size class 2.2–2.6 s, loan total/institution/product 1.4–1.8 s, registrations by a dimension 1.2–1.6 s,
overview 17.0 s, report 19.1 s with the PDF; at load average 5.0 (this session's first run, the same code),
loans 2.1–6.9 s, overview 44.8 s, report 42.6 s. The authorizations and disclosures figures are unchanged
SQL over the facts (0.4–1.0 s a breakdown on the quieter run; under the shared machine's load they reach
about 2 s).
""".splitlines()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=100_000, help="registered enterprises (accounts)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-pdf", action="store_true", help="skip printing the report with Chromium")
    parser.add_argument("--report", type=Path, default=None, help="write the '## Statistics' section here")
    parser.add_argument("--reuse", action="store_true",
                        help="skip the setup: time the figures on the database an earlier run loaded "
                             "(PostgreSQL only; missing statistics indexes and aggregate tables are created "
                             "first, and the aggregate is backfilled from the facts, timed)")
    args = parser.parse_args(argv)
    result = run(args.enterprises, args.database_url, args.seed, not args.no_pdf, args.reuse)
    for t in result["timings"]:
        print(f"{t['figure']:>15} {t['by']:<18} rows {t['rows']:>6} cold {t['cold']:6.2f} s warm {t['warm']:6.2f} s",
              file=sys.stderr)
    print(f"report html {result['report_html']:.1f} s pdf {result['report_pdf']} s load {result['load']:.1f}",
          file=sys.stderr)
    print(f"aggregate backfill {result['backfill_seconds']:.1f} s {result['backfill_rows']}", file=sys.stderr)
    if args.report:
        url = "postgresql+psycopg://…" if result["database"] == "postgresql" else None
        command = "uv run python bench/statistics_bench.py" + \
            ("" if args.reuse else f" --enterprises {args.enterprises}") + \
            (f" --database-url {url}" if url else "") + (" --reuse" if args.reuse else "") + f" --report {args.report}"
        replace_section(args.report, "## Statistics", section(result, command))


if __name__ == "__main__":
    main()
