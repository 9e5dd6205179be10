"""Every category is ingestible: from the synthetic province, and from generated rows per field type."""

from __future__ import annotations

import json

from sqlalchemy import select

from fincredit.collection import provider_service, service
from fincredit.collection.models import Record
from fincredit.collection.shaping import reveal
from fincredit.collection.validators import compile_fields
from fincredit.crypto import blind_index
from fincredit.db import session_scope
from tests.collection import factories


def _ingest(provider_code: str, category: str, path, **kw) -> dict:
    with session_scope() as session:
        provider_service.ensure_catalog_provider(session, provider_code)
        result = service.ingest(session, provider_code=provider_code, category_code=category,
                                upload=service.uploaded_file(path), **kw)
        return service.batch_dict(session, result.batch)


def test_synthetic_province_every_category(db, synth_province, session):
    province = synth_province
    assert len(province.files) == 38
    first = {}
    for f in province.files:
        body = _ingest(f.provider, f.category, province.directory / f.path)
        assert body["status"] == "accepted", (f.category, body["error_summary"])
        assert (body["rows_total"], body["accepted"], body["rejected"]) == (f.rows, f.rows, 0), f.category
        assert body["file_format"] == f.format
        stored = session.scalars(select(Record).where(Record.category_code == f.category)).all()
        assert len(stored) == f.rows - body["unchanged"], f.category
        first[f.category] = body["id"]
    total = len(session.scalars(select(Record.id)).all())
    # Re-delivering the whole province stores nothing twice.
    for f in province.files:
        assert _ingest(f.provider, f.category, province.directory / f.path)["id"] == first[f.category]
    assert len(session.scalars(select(Record.id)).all()) == total


def test_every_category_from_generated_rows(tmp_path, db, session):
    for code in factories.CATEGORIES:
        _check_category(tmp_path, session, code)


def _check_category(tmp_path, session, code: str) -> None:  # type: ignore[no-untyped-def]
    cat = factories.CATEGORIES[code]
    rows = factories.rows(code, 6)
    path = factories.to_csv(rows, tmp_path / f"{code}.csv", encoding="gbk" if code != "base" else "utf-8")
    body = _ingest(cat.provider, code, path)
    assert (body["status"], body["accepted"], body["rejected"]) == ("accepted", 6, 0), body["error_summary"]
    stored = session.scalars(select(Record).where(Record.category_code == code).order_by(Record.row_no)).all()
    assert len(stored) == 6
    identifiers = [f.name for f in cat.fields if f.personal and f.type in ("id_number", "resident_id")]
    for rec, row in zip(stored, rows, strict=True):
        subject = str(row[cat.subject_field.name])
        if cat.subject_field.type == "uscc" or (cat.subject != "person" and not subject[:6].isdigit()) \
                or subject.startswith("9132"):
            assert (rec.subject_kind, rec.subject_key) == ("enterprise", subject)
        else:
            assert (rec.subject_kind, rec.subject_key) == ("person", blind_index(subject))
        text = json.dumps(rec.data, ensure_ascii=False)
        for name in identifiers:  # personal identifiers never stored in clear
            if not str(row[name]).startswith("9132"):
                assert str(row[name]) not in text
                assert blind_index(str(row[name])) in rec.person_keys
        for name in cat.verification_fields:
            assert rec.data[name].startswith("sm4gcm:")
        clean, errors = compile_fields(cat.fields).validate(row)
        assert not errors and reveal(cat, rec.data) == clean
