"""Batches through the API: formats and encodings, idempotency, errors, visibility, lineage."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fincredit.collection.models import Batch, Record
from fincredit.crypto import sm3_hex
from fincredit.ledger.models import LedgerEntry
from tests.collection import factories
from tests.helpers import auth, error_code


def _records(session, category: str = "1", current: bool | None = True) -> list[Record]:
    q = select(Record).where(Record.category_code == category)
    if current is not None:
        q = q.where(Record.is_current == current)
    return list(session.scalars(q.order_by(Record.id)))


@pytest.mark.parametrize("fmt", ["utf-8", "utf-8-sig", "gbk", "gb18030", "xlsx", "jsonl"])
def test_every_format_and_encoding_is_ingested(tmp_path, provider, upload, session, fmt):
    token = provider()
    rows = factories.rows("1", 25)
    rows[3]["企业名称"] = "南京𠀀科技有限公司" if fmt == "gb18030" else "南京鑫淼科技有限公司"
    if fmt == "xlsx":
        path = factories.to_xlsx(rows, tmp_path / "纳税.xlsx")
    elif fmt == "jsonl":
        path = factories.to_jsonl(rows, tmp_path / "纳税.jsonl")
    else:
        path = factories.to_csv(rows, tmp_path / "纳税.csv", encoding=fmt)
    r = upload(token, "1", path)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status"], body["accepted"], body["rejected"], body["rows_total"]) == ("accepted", 25, 0, 25)
    assert body["content_hash"] == sm3_hex(path.read_bytes())
    assert body["catalog_version"] == 1
    stored = _records(session)
    assert len(stored) == 25
    assert {r.data["企业名称"] for r in stored} >= {rows[3]["企业名称"]}
    assert {r.subject_key for r in stored} == {row["统一社会信用代码"] for row in rows}


def test_declared_encoding_and_fullwidth_headers(tmp_path, provider, upload, session):
    token = provider()
    rows = factories.rows("1", 5)
    wide = [{k.replace("(", "（").replace(")", "）"): v for k, v in row.items()} for row in rows]
    path = factories.to_csv(wide, tmp_path / "tax.csv", encoding="gbk")
    r = upload(token, "1", path, encoding="gbk")
    assert r.status_code == 201, r.text
    assert r.json()["encoding"] == "gbk"
    assert "近一年增值税应纳税金额(元)" in _records(session)[0].data


def test_same_content_again_returns_the_first_batch_and_stores_nothing_twice(tmp_path, provider, upload, session,
                                                                              client, admin_token):
    token = provider()
    path = factories.to_csv(factories.rows("1", 10), tmp_path / "a.csv")
    first = upload(token, "1", path)
    assert first.status_code == 201
    again = upload(token, "1", path, filename="renamed.csv")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert len(_records(session, current=None)) == 10
    assert session.scalar(select(func.count()).select_from(Batch)) == 1
    assert session.scalar(select(func.count()).select_from(LedgerEntry).where(
        LedgerEntry.kind == "batch_accepted")) == 1


def test_lineage_and_ledger_entry(tmp_path, provider, upload, session, client, admin_token):
    token = provider()
    path = factories.to_csv(factories.rows("1", 3), tmp_path / "a.csv")
    body = upload(token, "1", path).json()
    for i, rec in enumerate(_records(session)):
        assert (rec.provider_code, rec.batch_id, rec.row_no) == ("tax", body["id"], i + 2)
        assert rec.received_at is not None and rec.fetched_via is None
    entry = session.get(LedgerEntry, body["ledger_index"])
    assert entry.kind == "batch_accepted"
    import json
    doc = json.loads(entry.body)
    assert doc["parties"] == ["admin", "provider:tax"]
    assert doc["payload"] == {"batch_id": body["id"], "provider": "tax", "category": "1",
                              "content_hash": body["content_hash"], "accepted": 3, "rejected": 0,
                              "catalog_version": 1}


def test_supersede_keeps_history_and_identical_rows_are_unchanged(tmp_path, provider, upload, session):
    token = provider()
    rows = factories.rows("1", 4)
    upload(token, "1", factories.to_csv(rows, tmp_path / "v1.csv"))
    changed = [dict(r) for r in rows]
    changed[0]["连续正常缴税周期(月)"] = 99
    changed.append(factories.rows("1", 1, start=10)[0])
    body = upload(token, "1", factories.to_csv(changed, tmp_path / "v2.csv")).json()
    assert (body["accepted"], body["superseded"], body["unchanged"]) == (5, 1, 3)
    current = _records(session)
    assert len(current) == 5
    old = _records(session, current=False)
    assert len(old) == 1
    new = next(r for r in current if r.subject_key == rows[0]["统一社会信用代码"])
    assert new.data["连续正常缴税周期(月)"] == 99
    assert old[0].superseded_by_id == new.id and old[0].superseded_at is not None
    assert old[0].natural_key_hash == new.natural_key_hash


def test_duplicate_key_inside_one_file_applies_rows_in_order(tmp_path, provider, upload, session):
    token = provider()
    rows = factories.rows("1", 2)
    later = dict(rows[0], **{"连续正常缴税周期(月)": 7})
    body = upload(token, "1", factories.to_csv([rows[0], rows[1], later, later], tmp_path / "d.csv")).json()
    assert (body["accepted"], body["superseded"], body["unchanged"]) == (4, 1, 1)
    current = {r.subject_key: r for r in _records(session)}
    assert current[rows[0]["统一社会信用代码"]].data["连续正常缴税周期(月)"] == 7


def test_row_errors_are_listed_and_paginated(tmp_path, provider, upload, client):
    token = provider()
    rows = factories.rows("1", 6)
    rows[1]["统一社会信用代码"] = "91320100000000001X"
    rows[2]["最近一次正常缴税日期"] = "2024-02-30"
    rows[4]["企业名称"] = "=cmd|' /C calc'!A0"
    r = upload(token, "1", factories.to_csv(rows, tmp_path / "e.csv"))
    assert r.status_code == 201
    body = r.json()
    assert (body["status"], body["accepted"], body["rejected"]) == ("partially_accepted", 3, 3)
    errs = client.get(f"/api/v1/batches/{body['id']}/errors", headers=auth(token))
    assert errs.status_code == 200 and errs.headers["X-Total-Count"] == "3"
    by_row = {e["row"]: e for e in errs.json()}
    assert by_row[3]["field"] == "统一社会信用代码" and by_row[3]["code"].startswith("bad_uscc")
    assert by_row[4]["code"] == "impossible_date"
    assert by_row[6] == {"row": 6, "field": "企业名称", "code": "formula_injection", "message": by_row[6]["message"]}
    page = client.get(f"/api/v1/batches/{body['id']}/errors?limit=1&offset=1", headers=auth(token)).json()
    assert page == [errs.json()[1]]


def test_all_or_nothing_rejects_the_whole_batch(tmp_path, provider, upload, session, client):
    token = provider()
    rows = factories.rows("1", 5)
    rows[4]["连续正常缴税周期(月)"] = "很多"
    path = factories.to_csv(rows, tmp_path / "x.csv")
    r = upload(token, "1", path, mode="all_or_nothing")
    assert r.status_code == 201
    assert (r.json()["status"], r.json()["accepted"], r.json()["rejected"]) == ("rejected", 0, 1)
    assert _records(session, current=None) == []
    # A rejected batch stored nothing: the same file may be sent again, e.g. keeping the valid rows.
    again = upload(token, "1", path)
    assert again.status_code == 201 and again.json()["id"] != r.json()["id"]
    assert again.json()["accepted"] == 4


def test_batches_are_visible_to_their_provider_and_admin_only(tmp_path, provider, upload, client, admin_token):
    tax = provider("tax", ("1",))
    amr = provider("amr", ("5",))
    body = upload(tax, "1", factories.to_csv(factories.rows("1", 2), tmp_path / "a.csv")).json()
    for path in (f"/api/v1/batches/{body['id']}", f"/api/v1/batches/{body['id']}/errors"):
        assert client.get(path, headers=auth(tax)).status_code == 200
        assert client.get(path, headers=auth(admin_token)).status_code == 200
        other = client.get(path, headers=auth(amr))
        assert other.status_code == 404 and error_code(other) == "batch_not_found"
    assert [b["id"] for b in client.get("/api/v1/batches", headers=auth(tax)).json()] == [body["id"]]
    assert client.get("/api/v1/batches", headers=auth(amr)).json() == []
    listed = client.get("/api/v1/batches?provider=tax&category=1", headers=auth(admin_token))
    assert [b["id"] for b in listed.json()] == [body["id"]] and listed.headers["X-Total-Count"] == "1"
    assert client.get("/api/v1/batches?category=5", headers=auth(admin_token)).json() == []


def test_provider_registration_rules(client, admin_token, provider):
    token = provider("tax", ("1", "2"))
    r = client.post("/api/v1/providers", json={"code": "x", "name": "X", "categories": ["1", "99"]},
                    headers=auth(admin_token))
    assert r.status_code == 422 and error_code(r) == "unknown_category"
    r = client.post("/api/v1/providers", json={"code": "tax", "name": "X", "categories": ["1"]},
                    headers=auth(admin_token))
    assert r.status_code == 409 and error_code(r) == "provider_exists"
    r = client.post("/api/v1/providers", json={"code": "y", "name": "Y", "categories": ["1"]}, headers=auth(token))
    assert r.status_code == 403
    listed = client.get("/api/v1/providers", headers=auth(admin_token)).json()
    assert [(p["code"], p["categories"]) for p in listed] == [("tax", ["1", "2"])]
    assert client.post("/api/v1/providers/nobody/tokens", headers=auth(admin_token)).status_code == 404


def test_worker_processes_give_the_same_batch(tmp_path, db, session):
    from fincredit.collection import provider_service, service
    from fincredit.db import session_scope

    rows = factories.rows("7", 3000)
    rows[10]["当事人证件号码"] = "123"
    path = factories.to_csv(rows, tmp_path / "court.csv")
    results = []
    for workers in (0, 1):
        with session_scope() as s:
            provider_service.ensure_catalog_provider(s, "court")
            batch = service.ingest(s, provider_code="court", category_code="7", upload=service.uploaded_file(path),
                                   workers=workers, chunk_rows=700).batch
            stored = s.scalars(select(Record).where(Record.batch_id == batch.id).order_by(Record.id)).all()
            results.append(([(r.row_no, r.subject_key, r.natural_key_hash, r.content_hash) for r in stored],
                            (batch.accepted, batch.rejected)))
            # clear for the second run: a new batch of the same content would be a duplicate
            s.query(Record).delete()
            s.execute(Batch.__table__.update().values(status="rejected"))
    assert results[0] == results[1]
    assert results[0][1] == (2999, 1)


def test_validation_follows_the_catalog_version_current_at_upload(tmp_path, provider, upload, client, admin_token):
    from fincredit.catalog.service import adjust_category, get_catalog
    from fincredit.db import session_scope

    token = provider("tax", ("2",))
    rows = factories.rows("2", 2)
    for row in rows:
        row["税种"] = "城市维护建设税"
    first = upload(token, "2", factories.to_csv(rows, tmp_path / "v1.csv")).json()
    assert (first["catalog_version"], first["status"]) == (1, "accepted")
    with session_scope() as s:
        definition = get_catalog(s).category("2").model_dump(mode="json", exclude_none=True)
        next(f for f in definition["fields"] if f["name"] == "税种")["max_length"] = 4
        adjust_category(s, definition, actor="operator", note="税种名称不超过 4 字")
    rows[0]["企业名称"] = "另一个名称"  # different content, so not a duplicate
    second = upload(token, "2", factories.to_csv(rows, tmp_path / "v2.csv")).json()
    assert (second["catalog_version"], second["status"], second["rejected"]) == (2, "rejected", 2)
    errors = client.get(f"/api/v1/batches/{second['id']}/errors", headers=auth(token)).json()
    assert {e["code"] for e in errors} == {"too_long"}
    assert client.get(f"/api/v1/batches/{first['id']}", headers=auth(token)).json()["catalog_version"] == 1


def test_provider_categories_can_be_reassigned(tmp_path, provider, upload, client, admin_token):
    token = provider("tax", ("1",))
    data = factories.to_csv(factories.rows("2", 2), tmp_path / "a.csv").read_bytes()
    assert error_code(upload(token, "2", data)) == "category_not_assigned"
    r = client.put("/api/v1/providers/tax/categories", json={"categories": ["1", "2"]}, headers=auth(admin_token))
    assert r.status_code == 200 and r.json()["categories"] == ["1", "2"]
    assert client.get("/api/v1/providers/tax", headers=auth(admin_token)).json()["categories"] == ["1", "2"]
    assert upload(token, "2", data).status_code == 201
