"""Exactly once: a killed ``fincredit ingest`` leaves nothing; re-running equals one clean ingestion;
concurrent batches of one category do not corrupt the current records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import func, select

from fincredit.collection import provider_service, service
from fincredit.collection.models import Batch, Record
from fincredit.db import session_scope
from fincredit.ledger.models import LedgerEntry
from tests.collection import factories

ROWS = 10_000
CHUNK = 250


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("fincredit")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from fincredit.cli import app; app()"]


def _run_and_kill(path: Path, after_chunks: int) -> int:
    """Start ``fincredit ingest``; SIGKILL it once it has written ``after_chunks`` chunks."""
    env = {**os.environ, "FINCREDIT_LOG_LEVEL": "INFO", "FINCREDIT_LOG_JSON": "false"}
    proc = subprocess.Popen([*_cli(), "ingest", "--provider", "tax", "--category", "1", str(path),
                             "--chunk-rows", str(CHUNK)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    seen = 0
    assert proc.stderr is not None
    for line in proc.stderr:
        if "ingest_chunk_written" in line:
            seen += 1
            if seen >= after_chunks:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, f"finished before the kill ({seen} chunks)"
    return seen


def _state(session) -> dict:  # type: ignore[no-untyped-def]
    session.expire_all()
    return {
        "batches": session.scalar(select(func.count()).select_from(Batch)),
        "records": session.scalar(select(func.count()).select_from(Record)),
        "current_keys": session.scalar(select(func.count(func.distinct(Record.natural_key_hash)))
                                       .where(Record.is_current)),
        "ledger": session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "batch_accepted")),
        "subjects": set(session.scalars(select(Record.subject_key).where(Record.is_current))),
    }


def test_killed_ingest_leaves_nothing_and_a_rerun_equals_one_clean_ingestion(tmp_path, db, session):
    rows = factories.rows("1", ROWS)
    path = factories.to_csv(rows, tmp_path / "tax.csv", encoding="gbk")
    for after in (2, ROWS // CHUNK * 3 // 4):
        written = _run_and_kill(path, after)
        assert written >= after
        state = _state(session)
        assert (state["batches"], state["records"], state["ledger"]) == (0, 0, 0), state
    done = subprocess.run([*_cli(), "ingest", "--provider", "tax", "--category", "1", str(path), "--json",
                           "--chunk-rows", str(CHUNK)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    state = _state(session)
    assert state["batches"] == 1 and state["ledger"] == 1
    assert state["records"] == state["current_keys"] == ROWS
    assert state["subjects"] == {r["统一社会信用代码"] for r in rows}


def test_concurrent_batches_of_one_category_do_not_corrupt(tmp_path, db, session):
    with session_scope() as s:
        provider_service.register_provider(s, code="tax", name="省税务局", categories=["1"])
        provider_service.register_provider(s, code="tax2", name="另一单位", categories=["1"])
    files = []
    for i in range(4):  # overlapping subjects, different content per file
        rows = factories.rows("1", 600, start=i * 300, subjects=900)
        for row in rows:
            row["连续正常缴税周期(月)"] = i + 1
        files.append(factories.to_csv(rows, tmp_path / f"c{i}.csv"))
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with session_scope() as s:
                service.ingest(s, provider_code="tax" if i % 2 else "tax2", category_code="1",
                               upload=service.uploaded_file(files[i]), chunk_rows=100)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    state = _state(session)
    assert state["current_keys"] == 900
    assert session.scalar(select(func.count()).select_from(Record).where(Record.is_current)) == 900
    superseded = session.scalars(select(Record).where(Record.is_current.is_(False))).all()
    current_ids = set(session.scalars(select(Record.id).where(Record.is_current)))
    all_ids = set(session.scalars(select(Record.id)))
    assert all(r.superseded_by_id in all_ids and r.superseded_at is not None for r in superseded)
    assert len(superseded) + len(current_ids) == state["records"]
