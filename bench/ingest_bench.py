"""Collection benchmark: validated batch ingestion vs a raw COPY of the same rows.

    uv run python bench/ingest_bench.py --rows 1000000 --pg-url "$(scripts/pg-start /tmp/bench-pg 54340)" \\
        [--workers N] [--no-sqlite] [--report docs/benchmarks.md]

1. Writes ``--rows`` category-1 (纳税信息) rows as one GBK CSV (deterministic, valid USCCs).
2. Times the parser alone, then the parse → validate → shape pipeline alone (no database).
3. SQLite: a fresh embedded database, ``collection.service.ingest`` of the file as one batch.
4. PostgreSQL (``--pg-url``; a fresh database ``<name>_ingest_bench``): the same ingestion, then a raw
   ``COPY`` of the very rows it stored into ``records_baseline`` (``LIKE records INCLUDING ALL``: same
   columns, primary key, partial unique index and other indexes; ``LIKE`` copies no foreign key, so
   the baseline does without the records → batches check), sent by this client as ``COPY … FROM
   STDIN`` from a dump file in COPY format — the same protocol path the validated ingestion uses.
   The ratio validated / raw is the figure the issue asks for (goal ≥ 50 %).
5. A later delivery (both databases): a second file of the same shape and size into the now
   non-empty category, timed on its own — every key is looked up. Of its rows, 20 % carry a changed
   value (they supersede the stored record, which stays in history), 10 % are new enterprises and
   70 % are unchanged (same content hash → ``unchanged``, nothing stored) — a monthly re-delivery.
   Its ratio is against the same raw COPY (the rows of the first delivery).
The worker task modules are imported before the timed steps: a batch's commit queues a follow-up
job, and the first one in a process imports them (a start-up cost, not an ingestion cost).
Peak RSS is reported to show that memory stays bounded (the file is streamed).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh_db import fresh_database  # noqa: E402
from sections import replace_section  # noqa: E402

HEADERS = ["企业名称", "统一社会信用代码", "近一年增值税应纳税金额（元）", "近一年增值税实际缴税金额（元）",
           "近一年企业所得税应纳税金额（元）", "近一年企业所得税实际缴税金额（元）", "连续正常缴税周期（月）",
           "最近一次正常缴税日期"]
WORDS = ["苏宁", "金陵", "紫金", "秦淮", "太湖", "姑苏", "梁溪", "云龙", "海州", "瘦西湖", "盐都", "钟山"]
TRADES = ["科技", "贸易", "机械", "电子", "纺织", "物流", "建材", "食品", "软件", "环保"]


SECOND_CHANGED, SECOND_NEW = (0, 1), (2,)  # rows i with i % 10 in these: changed / new enterprise


def write_file(path: Path, rows: int, seed: int = 7, second: bool = False) -> int:
    """The first delivery, or (``second``) the later one: the same rows, with i % 10 in
    ``SECOND_CHANGED`` one more month of regular payment, in ``SECOND_NEW`` another enterprise."""
    from fincredit.collection.identifiers import uscc_check_digit

    rng = random.Random(seed)
    with path.open("w", encoding="gbk", newline="") as fh:
        fh.write(",".join(HEADERS) + "\r\n")
        for i in range(rows):
            area = rng.randrange(1, 14)
            serial = i + 900_000_000 if second and i % 10 in SECOND_NEW else i
            body = f"9132{area:02d}00{serial:09d}"
            vat = rng.randrange(1_000, 5_000_000) / 100
            cit = rng.randrange(0, 2_000_000) / 100
            months = rng.randrange(0, 120) + (1 if second and i % 10 in SECOND_CHANGED else 0)
            fh.write(f"江苏{WORDS[i % 12]}{TRADES[i % 10]}有限公司{serial},{body}{uscc_check_digit(body)},"
                     f"{vat:.2f},{vat * 0.97:.2f},{cit:.2f},{cit:.2f},{months},"
                     f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}\r\n")
    return path.stat().st_size


def expected_second(rows: int) -> tuple[int, int]:
    """(superseded, unchanged) that the later delivery must report."""
    changed = sum(1 for i in range(rows) if i % 10 in SECOND_CHANGED)
    new = sum(1 for i in range(rows) if i % 10 in SECOND_NEW)
    return changed, rows - changed - new


def _use(data_dir: Path, url: str | None) -> None:
    os.environ["FINCREDIT_DATA_DIR"] = str(data_dir)
    if url:
        os.environ["FINCREDIT_DATABASE_URL"] = url
    else:
        os.environ.pop("FINCREDIT_DATABASE_URL", None)
    from fincredit import db
    from fincredit.crypto import get_keyring

    db.reset_caches()
    get_keyring.cache_clear()


def parse_only(path: Path) -> int:
    from fincredit.catalog.definitions import load_annex
    from fincredit.collection.parsers import iter_records

    cat = next(c for c in load_annex().categories if c.code == "1")
    with iter_records(path, fields=cat.fields) as parsed:
        return sum(1 for _ in parsed)


def pipeline_only(path: Path, workers: int) -> float:
    from fincredit.catalog.definitions import load_annex
    from fincredit.collection.parsers import iter_records
    from fincredit.collection.pipeline import shaped_rows
    from fincredit.collection.validators import compile_fields

    cat = next(c for c in load_annex().categories if c.code == "1")
    start = time.perf_counter()
    n = 0
    with iter_records(path, fields=cat.fields) as parsed:
        for _row, shaped, errors in shaped_rows(parsed, cat, validator=compile_fields(cat.fields), workers=workers):
            assert shaped is not None and not errors
            n += 1
    return time.perf_counter() - start


def ingest(path: Path, workers: int | None, expect: tuple[int, int] | None = None) -> dict:
    from fincredit.collection import provider_service, service
    from fincredit.db import session_scope

    with session_scope() as s:
        provider_service.ensure_catalog_provider(s, "tax")
        result = service.ingest(s, provider_code="tax", category_code="1", upload=service.uploaded_file(path),
                                encoding="gbk", workers=workers)
        summary = service.batch_dict(s, result.batch)
    assert summary["accepted"] == summary["rows_total"], summary
    if expect is not None:
        assert (summary["superseded"], summary["unchanged"]) == expect, summary
    return summary


def _pid_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_copy(workdir: Path) -> tuple[float, int, float | None]:
    """COPY the stored records out to a file, then time COPY of that file into an equivalent table."""
    from fincredit.collection.ingest import COLUMNS
    from fincredit.db import get_engine

    dump = workdir / "records.copy"
    cols = ", ".join(COLUMNS)
    raw = get_engine().raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur, dump.open("wb") as fh:
            with cur.copy(f"COPY (SELECT {cols} FROM records) TO STDOUT") as copy:
                for block in copy:
                    fh.write(block)
            cur.execute("DROP TABLE IF EXISTS records_baseline")
            cur.execute("CREATE TABLE records_baseline (LIKE records INCLUDING ALL)")
            conn.commit()
            cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'records_baseline'")
            indexes = len(cur.fetchall())
        pid = conn.info.backend_pid
        before = _pid_cpu(pid)
        start = time.perf_counter()
        with conn.cursor() as cur, dump.open("rb") as fh:
            with cur.copy(f"COPY records_baseline ({cols}) FROM STDIN") as copy:
                while block := fh.read(1 << 20):
                    copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - start
        after = _pid_cpu(pid)
        return seconds, indexes, (after - before) if before is not None and after is not None else None
    finally:
        raw.close()


RAW_PAGE_ROWS = 50_000


def sqlite_raw_insert() -> tuple[float, float, int, int]:
    """The SQLite floor: the rows the validated ingestion stored, read back as tuples in id order,
    ``RAW_PAGE_ROWS`` at a time (not timed), ``executemany`` into ``records_baseline`` — the same columns and the same indexes
    (their SQL from ``sqlite_master``), the connection's own pragmas (WAL, synchronous=NORMAL) and the
    page cache the writer uses for a batch — in one transaction. Returns (wall s, CPU s, indexes, cache MiB);
    SQLite runs in this process, so the process CPU is the whole cost."""
    import re

    from fincredit.collection.ingest import SQLITE_BULK_CACHE_KIB
    from fincredit.db import get_engine

    raw = get_engine().raw_connection()
    try:
        conn = raw.driver_connection
        cur = conn.cursor()
        table_sql = cur.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'records'").fetchone()[0]
        index_sql = [r[0] for r in cur.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL")]
        columns = [r[1] for r in cur.execute("PRAGMA table_info(records)")]
        cur.execute("DROP TABLE IF EXISTS records_baseline")
        # The same table, its foreign key to ``batches`` included: the validated rows pay that check too.
        cur.execute(re.sub(r"^CREATE TABLE records\b", "CREATE TABLE records_baseline", table_sql))
        for sql in index_sql:
            name = re.search(r"INDEX\s+(?:IF NOT EXISTS\s+)?(\S+)\s+ON\s+(\S+)", sql)
            assert name is not None, sql
            cur.execute(sql.replace(name.group(1), name.group(1).strip('"') + "_baseline", 1)
                        .replace(f"ON {name.group(2)}", "ON records_baseline", 1))
        conn.commit()
        cur.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
        insert = f"INSERT INTO records_baseline ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        page = f"SELECT {', '.join(columns)} FROM records WHERE id > ? ORDER BY id LIMIT {RAW_PAGE_ROWS}"
        # Pages of rows read back (not timed) and inserted (timed), in one transaction: memory stays
        # bounded like the ingestion's, so the peak RSS reported stays the ingestion's.
        seconds = cpu = 0.0
        total, last = 0, 0
        cur.execute("BEGIN")
        reader = conn.cursor()
        while rows := reader.execute(page, (last,)).fetchall():
            last = rows[-1][columns.index("id")]
            total += len(rows)
            c0, t0 = cpu_seconds(), time.perf_counter()
            cur.executemany(insert, rows)
            seconds, cpu = seconds + time.perf_counter() - t0, cpu + cpu_seconds() - c0
        reader.close()
        c0, t0 = cpu_seconds(), time.perf_counter()
        conn.commit()
        seconds, cpu = seconds + time.perf_counter() - t0, cpu + cpu_seconds() - c0
        stored = cur.execute("SELECT COUNT(*) FROM records_baseline").fetchone()[0]
        assert stored == total, (stored, total)
        cur.execute("DROP TABLE records_baseline")  # the later delivery runs on the same database as before
        conn.commit()
        cur.close()
        return seconds, cpu, len(index_sql), SQLITE_BULK_CACHE_KIB // 1024
    finally:
        raw.close()


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the validation workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def backend_cpu_seconds() -> float | None:
    """CPU time of the PostgreSQL backends of this process's pooled connections (same host only)."""
    from sqlalchemy import text

    from fincredit.db import get_engine

    try:
        with get_engine().connect() as conn:
            pids = [r[0] for r in conn.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"))]
    except Exception:  # noqa: BLE001 - optional figure
        return None
    times = [_pid_cpu(pid) for pid in pids]
    return sum(t for t in times if t is not None) if times and None not in times else None


def timed(fn, *args):  # type: ignore[no-untyped-def]
    """(wall seconds, client CPU seconds, result)."""
    cpu, start = cpu_seconds(), time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, cpu_seconds() - cpu, result


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def run(rows: int, pg_url: str | None, sqlite: bool, workers: int | None) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    try:
        return _run(workdir, rows, pg_url, sqlite, workers)
    finally:
        from fincredit import db

        db.reset_caches()
        shutil.rmtree(workdir, ignore_errors=True)


def _run(workdir: Path, rows: int, pg_url: str | None, sqlite: bool, workers: int | None) -> dict[str, Any]:
    path = workdir / "tax.csv"
    t = time.perf_counter()
    out: dict[str, Any] = {"rows": rows, "bytes": write_file(path, rows), "cpus": os.cpu_count(),
                           "load": os.getloadavg()[0]}
    out["generate_seconds"] = time.perf_counter() - t
    second = workdir / "tax-later.csv"
    write_file(second, rows, second=True)
    expect = expected_second(rows)
    out["second_superseded"], out["second_unchanged"] = expect
    from fincredit.collection.pipeline import auto_workers

    out["workers"] = auto_workers(out["bytes"]) if workers is None else workers
    _use(workdir / "pipeline", None)
    out["parse_seconds"], out["parse_cpu"], _ = timed(parse_only, path)
    out["pipeline_seconds"], out["pipeline_cpu"], _ = timed(pipeline_only, path, out["workers"])
    print(f"pipeline only: {rows / out['pipeline_seconds']:,.0f} rows/s", file=sys.stderr)
    from fincredit.bootstrap import initialize
    from fincredit.worker.registry import load_task_modules

    # A batch's commit hands its follow-up job to the worker queue, which imports every task module
    # (FastAPI included) the first time: a one-off start-up cost of the process, not of ingestion.
    load_task_modules()
    if sqlite:
        _use(workdir / "sqlite", None)
        initialize()
        out["sqlite_seconds"], out["sqlite_cpu"], _ = timed(ingest, path, workers)
        print(f"SQLite: {rows / out['sqlite_seconds']:,.0f} rows/s", file=sys.stderr)
        (out["sqlite_raw_seconds"], out["sqlite_raw_cpu"], out["sqlite_indexes"],
         out["sqlite_cache_mib"]) = sqlite_raw_insert()
        print(f"SQLite raw executemany: {rows / out['sqlite_raw_seconds']:,.0f} rows/s", file=sys.stderr)
        out["sqlite2_seconds"], out["sqlite2_cpu"], _ = timed(ingest, second, workers, expect)
        print(f"SQLite later delivery: {rows / out['sqlite2_seconds']:,.0f} rows/s", file=sys.stderr)
    if pg_url:
        _use(workdir / "pg", fresh_database(pg_url, workdir, "ingest_bench"))
        initialize()
        server = backend_cpu_seconds()
        out["pg_seconds"], out["pg_cpu"], _ = timed(ingest, path, workers)
        after = backend_cpu_seconds()
        if server is not None and after is not None:
            out["pg_server_cpu"] = after - server
        print(f"PostgreSQL validated: {rows / out['pg_seconds']:,.0f} rows/s", file=sys.stderr)
        out["copy_seconds"], out["indexes"], out["copy_server_cpu"] = raw_copy(workdir)
        print(f"PostgreSQL raw COPY: {rows / out['copy_seconds']:,.0f} rows/s", file=sys.stderr)
        server = backend_cpu_seconds()
        out["pg2_seconds"], out["pg2_cpu"], _ = timed(ingest, second, workers, expect)
        after = backend_cpu_seconds()
        if server is not None and after is not None:
            out["pg2_server_cpu"] = after - server
        print(f"PostgreSQL later delivery: {rows / out['pg2_seconds']:,.0f} rows/s", file=sys.stderr)
    out["peak_rss_mb"] = peak_rss_mb()
    out["load_end"] = os.getloadavg()[0]
    return out


def section(r: dict[str, Any], command: str) -> str:
    rows = r["rows"]

    def line(label: str, key: str, cpu: str | None = None, server: str | None = None) -> str | None:
        if key not in r:
            return None
        client = f"{r[cpu]:.1f}" if cpu and cpu in r else "–"
        backend = f"{r[server]:.1f}" if server and r.get(server) is not None else "–"
        return f"| {label} | {r[key]:.1f} | {rows / r[key]:,.0f} | {client} | {backend} |"

    lines = [
        "## Collection", "",
        "Validated batch ingestion (`collection.service.ingest`: streaming parse, validation of every field, "
        "SM3/HMAC-SM3 hashes, supersede look-up, one transaction) of category 1 (纳税信息) as one GBK CSV, "
        "against a raw PostgreSQL `COPY` of the very rows it stored into an equivalent table "
        "(`LIKE records INCLUDING ALL`: same primary key, partial unique index and other indexes; no foreign key), "
        "sent by the client as `COPY … FROM STDIN` from a dump file.", "",
        f"Command: `{command}`", "",
        f"Rows: {rows:,} ({r['bytes'] / 1e6:.0f} MB GBK CSV); machine: {r['cpus']} CPUs, load average "
        f"{r['load']:.1f} at start and {r.get('load_end', r['load']):.1f} at the end (shared with other jobs); "
        f"validation worker processes: {r['workers']}.", "",
        "| step | wall seconds | rows/s | client CPU s | PostgreSQL CPU s |", "|---|---:|---:|---:|---:|",
        line("parse only (no database)", "parse_seconds", "parse_cpu"),
        line("parse + validate + shape only (no database)", "pipeline_seconds", "pipeline_cpu"),
        line("SQLite: validated ingestion, one batch", "sqlite_seconds", "sqlite_cpu"),
        line(f"SQLite: raw executemany of the same rows ({r.get('sqlite_indexes', '?')} secondary indexes)",
             "sqlite_raw_seconds", "sqlite_raw_cpu"),
        line("PostgreSQL: validated ingestion, one batch", "pg_seconds", "pg_cpu", "pg_server_cpu"),
        line(f"PostgreSQL: raw COPY of the same rows ({r.get('indexes', '?')} indexes)", "copy_seconds", None,
             "copy_server_cpu"),
        line("SQLite: later delivery into the non-empty category", "sqlite2_seconds", "sqlite2_cpu"),
        line("PostgreSQL: later delivery into the non-empty category", "pg2_seconds", "pg2_cpu", "pg2_server_cpu"),
    ]
    lines = [ln for ln in lines if ln is not None]
    if "pg_seconds" in r and "copy_seconds" in r:
        lines += ["", f"Validated PostgreSQL ingestion reaches **{r['copy_seconds'] / r['pg_seconds'] * 100:.0f} %** "
                      "of the raw COPY throughput (goal ≥ 50 %) for a category's first delivery"
                  + (f", and **{r['copy_seconds'] / r['pg2_seconds'] * 100:.0f} %** for a later delivery"
                     if "pg2_seconds" in r else "") + "."]
    if "second_superseded" in r and ("pg2_seconds" in r or "sqlite2_seconds" in r):
        lines += ["", f"The later delivery is a file of the same shape and size into the category the first one "
                      f"filled, so every natural key is looked up: {r['second_superseded']:,} rows (20 %) carry a "
                      f"changed value and supersede the stored record (kept in history), "
                      f"{rows - r['second_superseded'] - r['second_unchanged']:,} (10 %) are new enterprises, "
                      f"{r['second_unchanged']:,} (70 %) are unchanged and store nothing."]
    if "sqlite_seconds" in r:
        rate = rows / r["sqlite_seconds"]
        lines += ["", f"SQLite validated ingestion: {rate:,.0f} rows/s (goal ≥ 100 000 rows/s: "
                      f"{'met' if rate >= 100_000 else 'not met on this machine'})"
                  + (f"; a later delivery: {rows / r['sqlite2_seconds']:,.0f} rows/s" if "sqlite2_seconds" in r
                     else "") + "."]
    if "sqlite_raw_cpu" in r and "sqlite_cpu" in r:
        lines += ["", f"The SQLite floor: a plain `executemany` of the very rows the validated ingestion stored "
                      f"(read back in id order, not timed) into `records_baseline` — same columns, same "
                      f"{r['sqlite_indexes']} secondary indexes (their SQL from `sqlite_master`), WAL, the writer's "
                      f"{r['sqlite_cache_mib']} MiB page cache, one transaction — costs "
                      f"{r['sqlite_raw_cpu'] / rows * 1e6:.1f} µs of CPU a row ({rows / r['sqlite_raw_cpu']:,.0f} rows "
                      f"per CPU-second; {rows / r['sqlite_raw_seconds']:,.0f} rows/s wall): the ceiling of a single SQLite writer "
                      f"on this machine, with validation for free. Validated / raw: "
                      f"**{r['sqlite_raw_cpu'] / r['sqlite_cpu'] * 100:.0f} %** by CPU, "
                      f"{r['sqlite_raw_seconds'] / r['sqlite_seconds'] * 100:.0f} % by wall time."]
    if "pipeline_cpu" in r:
        us = {k: r[k] / rows * 1e6 for k in ("parse_cpu", "pipeline_cpu", "sqlite_cpu", "pg_cpu", "pg_server_cpu",
                                             "copy_server_cpu") if r.get(k) is not None}
        parts = [f"parsing {us['parse_cpu']:.1f} µs" if "parse_cpu" in us else None,
                 f"validation and shaping {us['pipeline_cpu'] - us.get('parse_cpu', 0):.1f} µs"]
        if "sqlite_cpu" in us:
            parts.append(f"SQLite writing {us['sqlite_cpu'] - us['pipeline_cpu']:.1f} µs "
                         f"(SQLite ingestion {us['sqlite_cpu']:.1f} µs in all)")
        if "pg_cpu" in us:
            parts.append(f"PostgreSQL writing {us['pg_cpu'] - us['pipeline_cpu']:.1f} µs in Python "
                         f"(ingestion {us['pg_cpu']:.1f} µs)"
                         + (f" plus {us['pg_server_cpu']:.1f} µs in the server, against "
                            f"{us['copy_server_cpu']:.1f} µs of server CPU for the raw COPY"
                            if "pg_server_cpu" in us and "copy_server_cpu" in us else ""))
        per_second = (f" One CPU-second ingests {rows / r['sqlite_cpu']:,.0f} rows into SQLite."
                      if "sqlite_cpu" in r else "")
        lines += ["", "CPU per row (CPU seconds of this process and its workers ÷ rows; wall-clock rates on a "
                      "shared machine are a fraction of idle rates, the CPU figures show the work itself): "
                  + "; ".join(p for p in parts if p) + "." + per_second]
    lines += ["", f"Peak resident memory of the benchmark process (and its workers): {r['peak_rss_mb']:.0f} MB "
                  "— the file is streamed, memory does not grow with its size.", ""]
    return "\n".join(ln for ln in lines if ln is not None) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server (a fresh database is created on it)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--workers", type=int, default=None, help="validation processes (default: by file size)")
    parser.add_argument("--report", type=Path, default=None, help="write the '## Collection' section here")
    args = parser.parse_args()
    result = run(args.rows, args.pg_url, not args.no_sqlite, args.workers)
    port = args.pg_url.rsplit(":", 1)[-1].split("/", 1)[0] if args.pg_url else ""
    command = f"uv run python bench/ingest_bench.py --rows {args.rows}" + (
        f' --pg-url "$(scripts/pg-start /tmp/bench-pg {port})"' if args.pg_url else "") + (
        f" --workers {args.workers}" if args.workers is not None else "") + (
        f" --report {args.report}" if args.report else "")
    text = section(result, command)
    print(text)
    if args.report:
        replace_section(args.report, "## Collection", text)


if __name__ == "__main__":
    main()
