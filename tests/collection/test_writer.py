"""The bulk record writer: a first load looks up only keys it may have written, PostgreSQL keeps one
COPY open across chunks — and neither changes what a batch stores."""

from __future__ import annotations

import random

from sqlalchemy import select

from fincredit.collection import provider_service, service
from fincredit.collection.ingest import KeyFilter
from fincredit.collection.models import Batch, Record
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
