"""The institution view reads its records on the session's connection, not through the ORM: it still
sees what the session holds but has not yet sent (records an interface call just fetched, say)."""

from __future__ import annotations

import json
import uuid

from fincredit.collection.models import Record
from fincredit.collection.shaping import RecordShaper
from fincredit.db import utcnow
from fincredit.disclosure import repository
from tests.trust import factories as f


def test_records_read_for_the_view_include_records_the_session_has_not_flushed(session):
    ent = f.make_enterprise(session)
    cat = f.category(session, "1")
    stored = f.store_record(session, cat, {"企业名称": ent.name, "统一社会信用代码": ent.uscc,
                                           "近一年增值税实际缴税金额(元)": "1000", "最近一次正常缴税日期": "2024-06-15"})
    shaped = RecordShaper(cat).shape({"企业名称": ent.name, "统一社会信用代码": ent.uscc,
                                      "近一年增值税实际缴税金额(元)": "2000", "最近一次正常缴税日期": "2024-07-15"})
    pending = Record(category_code=cat.code, subject_kind=shaped.subject_kind, subject_key=shaped.subject_key,
                     natural_key_hash=uuid.uuid4().hex, content_hash=shaped.content_hash,
                     data=json.loads(shaped.data_json), provider_code="test", received_at=utcnow(), is_current=True)
    session.add(pending)  # not flushed

    rows = repository.records_with_marks(session, ent.uscc, ent.rep.key)

    assert [r.data["近一年增值税实际缴税金额(元)"] for r in rows] == ["1000", "2000"]
    assert [r.id for r in rows] == [stored.id, pending.id]
    assert [(r.first_repaired_at, bool(r.under_objection)) for r in rows] == [(None, False), (None, False)]
