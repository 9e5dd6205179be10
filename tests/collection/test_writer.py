"""The bulk record writer: a first load looks up only keys it may have written, PostgreSQL keeps one
COPY open across chunks — and neither changes what a batch stores."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.collection import provider_service, service
from fincredit.collection.ingest import BackgroundWriter, ChunkWritten, KeyFilter, RecordWriter
from fincredit.collection.models import Batch, Record
from fincredit.collection.shaping import RecordShaper, Shaped
from fincredit.collection.validators import compile_fields
from fincredit.db import session_scope
from tests.collection import factories

MONTHS = "连续正常缴税周期(月)"


def _ingest(path, **kw) -> dict:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        provider_service.ensure_catalog_provider(s, "tax")
        result = service.ingest(s, provider_code="tax", category_code="1", upload=service.uploaded_file(path), **kw)
        return service.batch_dict(s, result.batch)


def test_key_filter_reports_every_key_it_was_given():
    rng = random.Random(5)
    key_filter = KeyFilter()
    given: list[str] = []
    for _ in range(20):
        chunk = [f"{rng.getrandbits(256):064x}" for _ in range(1000)]
        assert key_filter.seen(chunk) == []  # 20 000 random keys: no false "maybe" at this fill
        again = rng.sample(given, min(len(given), 300))
        assert sorted(key_filter.seen(again)) == sorted(again)
        given += chunk
    assert key_filter.seen([]) == []


def test_first_load_applies_keys_repeated_across_chunks_in_file_order(tmp_path, db, session):
    rows = factories.rows("1", 9)
    later = dict(rows[1], **{MONTHS: 77})
    latest = dict(rows[1], **{MONTHS: 78})
    # chunks of 3: rows[1] again in the third chunk (changed), identical, then changed once more.
    data = [*rows, later, dict(later), rows[5], latest]
    body = _ingest(factories.to_csv(data, tmp_path / "first.csv"), chunk_rows=3)
    assert (body["status"], body["accepted"], body["superseded"], body["unchanged"]) == ("accepted", 13, 2, 2)
    history = session.scalars(select(Record).where(Record.subject_key == rows[1]["统一社会信用代码"])
                              .order_by(Record.id)).all()
    assert [(r.data[MONTHS], r.is_current, r.row_no) for r in history] == [
        (rows[1][MONTHS], False, 3), (77, False, 11), (78, True, 14)]
    assert [r.superseded_by_id for r in history] == [history[1].id, history[2].id, None]
    current = session.scalars(select(Record).where(Record.is_current).order_by(Record.id)).all()
    assert len(current) == 9
    assert [r.row_no for r in current] == sorted(r.row_no for r in current)  # ids follow the file


def test_second_delivery_still_supersedes_what_the_first_stored(tmp_path, db, session):
    rows = factories.rows("1", 10)
    _ingest(factories.to_csv(rows, tmp_path / "v1.csv"), chunk_rows=4)
    changed = [dict(r) for r in rows]
    for r in changed[::3]:
        r[MONTHS] = 55
    body = _ingest(factories.to_csv(changed, tmp_path / "v2.csv"), chunk_rows=4)
    assert (body["accepted"], body["superseded"], body["unchanged"]) == (10, 4, 6)
    current = session.scalars(select(Record).where(Record.is_current)).all()
    assert len(current) == 10 and sum(r.data[MONTHS] == 55 for r in current) == 4


def test_a_file_failing_after_written_chunks_stores_nothing(tmp_path, db, session):
    good = _ingest(factories.to_csv(factories.rows("1", 4, start=500), tmp_path / "good.csv"))
    text = factories.to_csv(factories.rows("1", 40), tmp_path / "t.csv").read_bytes().decode()
    cut = tmp_path / "cut.csv"
    cut.write_bytes((text + '"未闭合的引号,').encode())  # the parser fails after every row was written
    body = _ingest(cut, chunk_rows=3)
    assert (body["status"], body["accepted"]) == ("rejected", 0)
    assert "truncated_file" in body["error_summary"]
    session.expire_all()
    assert session.scalars(select(Record).where(Record.batch_id == body["id"])).all() == []
    assert len(session.scalars(select(Record)).all()) == 4
    # The connection is usable again: the same rows, well formed, go in as a new batch.
    again = _ingest(factories.to_csv(factories.rows("1", 40), tmp_path / "fixed.csv"), chunk_rows=3)
    assert (again["status"], again["accepted"]) == ("accepted", 40)
    assert session.get(Batch, good["id"]).status == "accepted"
    assert len(session.scalars(select(Record).where(Record.is_current)).all()) == 44


# -- no statement on the connection can wait for ever behind an open COPY --------------------------

def _batch_and_records(session: Session, n: int) -> tuple[Batch, list[Shaped]]:
    provider_service.ensure_catalog_provider(session, "tax")
    snapshot = get_catalog(session)
    category = snapshot.category("1")
    batch = Batch(provider_code="tax", category_code="1", catalog_version_id=snapshot.id,
                  content_hash=uuid.uuid4().hex, filename="t.csv", file_format="csv", size_bytes=1,
                  status="rejected", received_at=dt.datetime.now(dt.UTC), uploaded_by="test")
    session.add(batch)
    session.flush()
    validator, shaper = compile_fields(category.fields), RecordShaper(category)
    shaped = []
    for number, row in enumerate(factories.rows("1", n), start=2):
        clean, errors = validator.validate({k: str(v) for k, v in row.items()}, number)
        assert clean is not None and not errors
        shaped.append(shaper.shape(clean, number))
    return batch, shaped


def _writer(session: Session, batch: Batch, **kw) -> RecordWriter:  # type: ignore[no-untyped-def]
    return RecordWriter(session, category_code="1", provider_code="tax", batch_id=batch.id,
                        now=dt.datetime.now(dt.UTC), chunk_rows=10, bulk=True, **kw)


def _stored(session: Session, batch: Batch) -> int:
    return session.scalar(select(func.count()).select_from(Record).where(Record.batch_id == batch.id))


def _within(session: Session, seconds: float, work: Callable[[], None]) -> None:
    """Run ``work`` in a thread: a regression that blocks fails here instead of hanging the run (the
    blocked connection is closed, so that the server ends its transaction and the next tests run)."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        session.connection().invalidate()
    assert not thread.is_alive(), f"blocked for more than {seconds} s (a statement behind an open COPY?)"
    if failure:
        raise failure[0]


def test_statements_between_chunks_in_the_writers_thread_neither_block_nor_lose_rows(db, session):
    batch, shaped = _batch_and_records(session, 25)
    seen: list[int] = []

    def work() -> None:
        writer = _writer(session, batch)
        for number, record in enumerate(shaped, start=1):
            writer.add(record)
            if number % 10 == 0:  # a chunk was just written (PostgreSQL: into a COPY left open)
                batch.error_summary = f"after {number}"  # pending: the query below autoflushes it
                seen.append(_stored(session, batch))
        counts = writer.finish()
        assert counts.inserted == 25

    _within(session, 60, work)
    assert seen == [10, 20]
    session.expire_all()
    assert _stored(session, batch) == 25
    assert session.get(Batch, batch.id).error_summary == "after 20"
    rows = session.scalars(select(Record.row_no).where(Record.batch_id == batch.id).order_by(Record.id)).all()
    assert rows == list(range(2, 27))


def test_on_chunk_statements_in_the_background_writer_neither_block_nor_lose_rows(db, session):
    batch, shaped = _batch_and_records(session, 25)
    seen: list[tuple[int, int]] = []

    def on_chunk(written: ChunkWritten) -> None:
        batch.error_summary = f"chunk of {len(written.inserted)}"
        seen.append((len(written.inserted), _stored(session, batch)))

    def work() -> None:
        writer = BackgroundWriter(_writer(session, batch, on_chunk=on_chunk), batch_rows=7)
        try:
            for record in shaped:
                writer.add(record)
            assert writer.finish().inserted == 25
        finally:
            writer.abort()

    _within(session, 60, work)
    assert seen == [(10, 10), (10, 20), (5, 25)]
    session.expire_all()
    assert _stored(session, batch) == 25


def test_a_statement_from_another_thread_during_the_copy_fails_at_once_and_loses_nothing(db, session):
    batch, shaped = _batch_and_records(session, 25)
    outcome: list[object] = []

    def work() -> None:
        writer = BackgroundWriter(_writer(session, batch), batch_rows=10)
        try:
            for record in shaped[:10]:
                writer.add(record)  # the writer thread writes this chunk and keeps its COPY open
            deadline = time.monotonic() + 30
            while writer.writer.counts.chunks < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert writer.writer.counts.chunks == 1
            try:
                outcome.append(_stored(session, batch))
            except RuntimeError as exc:
                outcome.append(exc)
            for record in shaped[10:]:
                writer.add(record)
            assert writer.finish().inserted == 25
        finally:
            writer.abort()

    _within(session, 60, work)
    if session.get_bind().dialect.name == "postgresql":
        assert isinstance(outcome[0], RuntimeError) and "being copied" in str(outcome[0])
    else:  # no COPY: the statement simply runs
        assert outcome == [10]
    session.expire_all()
    assert _stored(session, batch) == 25

