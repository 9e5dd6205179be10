"""Alert latency: from the commit of a batch with a negative record to the signed webhook at the bank.

    uv run python bench/alert_latency_bench.py [--watched 10000] [--rounds 20] [--batch-rows 1000]
        [--database-url URL] [--report docs/benchmarks.md]

Set-up: ``--watched`` enterprises watched by one bank on the basis of a loan; ``--rounds`` of them
also under a 贷后监测 authorization covering 欠税信息 (category 2); the bank's webhook is a real HTTP
server on 127.0.0.1; one real ``fincredit worker`` process. Each round ingests one 欠税信息 batch of
``--batch-rows`` rows through the collection service (watched enterprises, all paid up except one
now in arrears) and measures from just before the batch's commit until the receiver holds the
alert (signature verified). Without ``--database-url`` the database is a fresh SQLite file; a
PostgreSQL URL gets a fresh database ``<name>_alert_bench``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FINCREDIT = Path(sys.executable).parent / "fincredit"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fresh_db import fresh_database  # noqa: E402


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.bodies: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                now = time.perf_counter()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.event:
                    receiver.arrived.setdefault(headers["webhook-id"], now)
                    receiver.bodies[headers["webhook-id"]] = (body, headers)
                    receiver.event.notify_all()
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.event:
            return self.event.wait_for(lambda: len(self.arrived) >= count, timeout)


def _uscc(i: int) -> str:
    from fincredit.collection.identifiers import uscc_check_digit

    body = f"91320100{i:09d}"
    return body + uscc_check_digit(body)


def _setup(watched: int, rounds: int, receiver_url: str) -> tuple[list[str], str]:
    from sqlalchemy import insert

    from fincredit.auth.models import Role
    from fincredit.auth.service import Principal
    from fincredit.authorization import service as authorization
    from fincredit.catalog.service import get_catalog
    from fincredit.collection.provider_service import register_provider
    from fincredit.db import session_scope, utcnow
    from fincredit.institutions.models import Institution
    from fincredit.monitoring.models import WatchlistEntry
    from fincredit.monitoring.webhooks import create_endpoint
    from fincredit.registry.models import Enterprise

    usccs = [_uscc(i + 1) for i in range(watched)]
    now = utcnow()
    with session_scope() as s:
        s.execute(insert(Enterprise), [
            {"uscc": u, "name": f"江苏基准{i}号有限公司", "status": "存续", "industry_code": "C3911",
             "region_code": "320102", "legal_rep_key": f"{i:064x}", "updated_at": now} for i, u in enumerate(usccs)])
        bank = Institution(name="基准测试银行", kind="bank", status="active")
        s.add(bank)
        s.flush()
        s.execute(insert(WatchlistEntry), [
            {"institution_id": bank.id, "uscc": u, "basis": "loan", "loan_id": f"L{i}", "active": True,
             "created_at": now, "created_by": "bench"} for i, u in enumerate(usccs)])
        register_provider(s, code="tax", name="省税务局", categories=["2"])
        get_catalog(s)
        _, secret = create_endpoint(s, bank.id, receiver_url)
        for uscc in usccs[:rounds]:
            auth = authorization.grant(s, Principal(role=Role.enterprise, subject=uscc), authorization.GrantRequest(
                institution_id=bank.id, purpose="post_loan", categories=["2"],
                expires_at=now + dt.timedelta(days=300)))
            s.add(WatchlistEntry(institution_id=bank.id, uscc=uscc, basis="authorization", authorization_id=auth.id,
                                 active=True, created_at=now, created_by="bench"))
    return usccs, secret


def _batch_file(path: Path, usccs: list[str], owing: str, round_no: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["企业名称", "统一社会信用代码", "税种", "欠税金额(元)", "当前是否欠税"])
        for i, uscc in enumerate(usccs):
            arrears = uscc == owing
            writer.writerow([f"江苏基准{i}号有限公司", uscc, "增值税", f"{1000 + round_no}.00" if arrears else "0",
                             "是" if arrears else "否"])


def run(watched: int, rounds: int, batch_rows: int, url: str | None) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="alert-bench-"))
    os.environ.update({"FINCREDIT_DATA_DIR": str(data_dir), "FINCREDIT_ALLOW_PRIVATE_WEBHOOKS": "true",
                       "FINCREDIT_DATABASE_URL": fresh_database(url, data_dir, "alert_bench"), "FINCREDIT_LOG_LEVEL": "WARNING"})
    from sqlalchemy import select
    from standardwebhooks.webhooks import Webhook

    from fincredit import db
    from fincredit.bootstrap import initialize
    from fincredit.collection.service import ingest, uploaded_file
    from fincredit.logs import configure_logging
    from fincredit.worker.models import WorkerProcess

    configure_logging("WARNING")
    db.reset_caches()
    initialize()
    receiver = Receiver()
    usccs, secret = _setup(watched, rounds, receiver.url)
    log = (data_dir / "worker.log").open("wb")
    worker = subprocess.Popen([str(FINCREDIT), "worker"], env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            with db.session_scope() as s:
                if s.scalar(select(WorkerProcess.id)) is not None:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the worker did not start")
            time.sleep(0.2)
        time.sleep(2)  # let its threads settle
        latencies, commits = [], []
        for k in range(rounds):
            rows = usccs[rounds:rounds + batch_rows - 1] + [usccs[k]]
            path = data_dir / f"batch-{k}.csv"
            _batch_file(path, rows, usccs[k], k)
            session = db.get_sessionmaker()()
            try:
                result = ingest(session, provider_code="tax", category_code="2", upload=uploaded_file(path))
                assert result.batch.status == "accepted", result.batch.error_summary
                start = time.perf_counter()
                session.commit()  # the after-commit nudge hands the evaluation job to huey
                commits.append(time.perf_counter() - start)
            finally:
                session.close()
            if not receiver.wait_for(k + 1, 60):
                raise RuntimeError(f"round {k}: no alert within 60 s; see {data_dir / 'worker.log'}")
            message_id = max(receiver.arrived, key=receiver.arrived.__getitem__)
            body, headers = receiver.bodies[message_id]
            Webhook(secret).verify(body, headers)
            latencies.append(receiver.arrived[message_id] - start)
            time.sleep(0.3)
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        worker.wait(30)
        log.close()
    ordered = sorted(latencies)
    return {"database": "PostgreSQL" if url else "SQLite", "watched": watched, "rounds": rounds,
            "batch_rows": batch_rows, "median_s": statistics.median(latencies),
            "p90_s": ordered[max(0, int(round(0.9 * len(ordered))) - 1)], "max_s": ordered[-1],
            "min_s": ordered[0], "commit_median_s": statistics.median(commits)}


MONITORING_INTRO = """## Monitoring

Alert latency (`bench/alert_latency_bench.py`): {watched} enterprises watched by one bank (loan basis;
the test enterprises also under a post_loan authorization covering category 2), its webhook a real
HTTP server on 127.0.0.1, one `fincredit worker` process. Each round ingests a 欠税信息 batch of
{batch_rows} rows through the collection service — one watched enterprise newly in arrears — and
measures from just before the batch's commit until the signed alert is received (transactional
outbox → after-commit nudge → huey → rule evaluation under the PDP → outbox → webhook delivery).
The maximum is the first round, whose batch is new in all its rows (later batches change one row).
Target: median ≤ 2 s.
"""


def section(r: dict[str, Any], command: str) -> str:
    return (f"### {r['database']}\n\n`{command}`\n\n"
            f"| rounds | median | p90 | min | max | commit (median) |\n|---|---|---|---|---|---|\n"
            f"| {r['rounds']} | {r['median_s']:.3f} s | {r['p90_s']:.3f} s | {r['min_s']:.3f} s | {r['max_s']:.3f} s "
            f"| {r['commit_median_s'] * 1000:.0f} ms |\n")


def write_section(path: Path, intro: str, subsection: str, database: str) -> None:
    """Put ``### <database>`` into the ``## Monitoring`` section, keeping everything else in the file."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else ["# Benchmarks"]
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "## Monitoring"), None)
    end = len(lines) if start is None else next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    others = _keep_other_subsections(lines[start:end] if start is not None else [], database)
    new = [*intro.rstrip().splitlines(), *others, "", *subsection.rstrip().splitlines(), ""]
    if start is None:
        lines += ["", *new]
    else:
        lines[start:end] = new
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def _keep_other_subsections(body: list[str], database: str) -> list[str]:
    out, keep = [], False
    for line in body:
        if line.startswith("### "):
            keep = line.strip() != f"### {database}"
            if keep:
                out.append("")
        if keep:
            out.append(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watched", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch-rows", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--report", type=Path, default=None, help="write the '## Monitoring' section here")
    args = parser.parse_args()
    result = run(args.watched, args.rounds, min(args.batch_rows, args.watched - args.rounds + 1), args.database_url)
    print(result)
    if args.report:
        command = "uv run python bench/alert_latency_bench.py --watched {} --rounds {}{}".format(
            args.watched, args.rounds, " --database-url $PG_URL" if args.database_url else "")
        intro = MONITORING_INTRO.format(watched=f"{args.watched:,}", batch_rows=result["batch_rows"])
        write_section(args.report, intro, section(result, command), result["database"])


if __name__ == "__main__":
    main()
