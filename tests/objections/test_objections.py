"""Objections (异议申诉): deadlines across 2026 holidays, ownership, attachments, forwarding, escalation,
resolution, and the end-to-end path objection → forwarded → corrected → evaluation changes → notice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.collection.models import Record
from fincredit.disclosure.models import OperatorAlert
from fincredit.ledger.models import LedgerEntry
from fincredit.objections import resolution, service
from fincredit.objections.calendar_service import compute_forward_deadline
from fincredit.objections.models import Objection
from fincredit.worker.registry import PERIODIC, load_task_modules
from tests.helpers import auth, error_code
from tests.objections.conftest import PDF, jpeg_bytes, local, plant, png_bytes, tax_arrears
from tests.trust import factories as f


def me(ent: f.EnterpriseInfo) -> Principal:
    return Principal(role=Role.enterprise, subject=ent.uscc, name=ent.name)


def ledger_docs(session, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e.document for e in session.scalars(select(LedgerEntry).where(LedgerEntry.kind == kind)
                                                .order_by(LedgerEntry.index))]


# -- the §14 deadline --------------------------------------------------------------------------------

@pytest.mark.parametrize(("filed", "deadline", "basis"), [
    (local(2026, 9, 30, 10, 0), "2026-10-09T23:59:59+08:00", "official"),  # National Day 1–7 Oct
    (local(2026, 9, 30, 17, 0), "2026-10-10T23:59:59+08:00", "official"),  # after hours; make-up Sat 10 Oct
    (local(2026, 10, 10, 9, 30), "2026-10-13T23:59:59+08:00", "official"),  # filed on the make-up Saturday
    (local(2026, 2, 13, 16, 59), "2026-02-24T23:59:59+08:00", "official"),  # Spring Festival
    (local(2026, 3, 6, 18, 15), "2026-03-11T23:59:59+08:00", "official"),  # Friday after hours
    (local(2026, 12, 31, 10, 0), "2027-01-04T23:59:59+08:00", "weekends_only"),  # no 2027 data
])
def test_forward_deadline_across_2026_holidays(session, world, filed, deadline, basis):
    record = plant(session, "2", tax_arrears(world.ent))
    obj = service.file_objection(session, me(world.ent), category="2", record_id=record.id,
                                 reason="该笔欠税已于上月缴清", now=filed)
    view = service.objection_dict(session, obj, filed)
    assert view["forward_deadline"] == deadline
    assert view["calendar_basis"] == basis
    assert view["status"] == "filed" and not view["overdue"]
    if basis == "weekends_only":
        assert any("2027" in w for w in view["warnings"])
    else:
        assert view["warnings"] == []
    entry = ledger_docs(session, "objection_filed")[-1]
    assert entry["payload"]["objection_id"] == obj.id
    assert entry["payload"]["forward_deadline"].startswith(deadline[:10])
    assert entry["parties"] == sorted(["admin", f"enterprise:{world.ent.uscc}"])


def test_filing_through_the_api_answers_the_deadline(client, session, world):
    record = plant(session, "2", tax_arrears(world.ent))
    session.commit()
    r = client.post("/api/v1/me/objections", headers=auth(world.ent_token),
                    json={"category": "2", "record_id": record.id, "reason": "欠税金额有误，已缴清"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert {"id", "status", "forward_deadline", "calendar_basis", "warnings"} <= set(body)
    assert body["status"] == "filed"
    expected = compute_forward_deadline(session, dt.datetime.now(dt.UTC))
    assert body["forward_deadline"] == expected.deadline.isoformat()
    mine = client.get(f"/api/v1/me/objections/{body['id']}", headers=auth(world.ent_token)).json()
    assert mine["record_id"] == record.id and mine["status_label"]
    # The same record cannot be objected to twice while the first objection is open.
    again = client.post("/api/v1/me/objections", headers=auth(world.ent_token),
                        json={"category": "2", "record_id": record.id, "reason": "再次提出"})
    assert again.status_code == 409 and error_code(again) == "objection_already_open"


# -- what "about it" means -------------------------------------------------------------------------------

def test_records_of_another_enterprise_are_not_found_without_revealing_existence(client, session, world):
    theirs = plant(session, "2", tax_arrears(world.other))
    session.commit()
    r = client.post("/api/v1/me/objections", headers=auth(world.ent_token),
                    json={"category": "2", "record_id": theirs.id, "reason": "不是我的"})
    missing = client.post("/api/v1/me/objections", headers=auth(world.ent_token),
                          json={"category": "2", "record_id": theirs.id + 10_000, "reason": "不存在"})
    assert r.status_code == missing.status_code == 404
    assert error_code(r) == error_code(missing) == "record_not_found"
    assert r.json()["error"]["message"] == missing.json()["error"]["message"]
    # An institution or the operator cannot file through the enterprise path.
    bank = client.post("/api/v1/me/objections", headers=auth(world.bank_token),
                       json={"category": "2", "record_id": theirs.id, "reason": "x"})
    assert bank.status_code == 403


def test_party_records_legal_representative_records_and_history_are_about_it(session, world):
    hearing = plant(session, "7", {"案号": "（2026）苏0102民初1号", "当事人名称": world.ent.name,
                                   "当事人证件类型": "统一社会信用代码", "当事人证件号码": world.ent.uscc,
                                   "诉讼地位": "被告", "案由": "买卖合同纠纷", "开庭日期": "2026-05-06",
                                   "受理法院": "南京市玄武区人民法院"})
    listing = plant(session, "37", {"姓名": world.ent.rep.name, "证件类型": "居民身份证",
                                    "证件号码": world.ent.rep.resident_id, "失信名单类别": "失信被执行人",
                                    "确认严重违法失信日期": "2025-01-10", "认定部门": "江苏省高级人民法院"})
    old = f.store_record(session, f.category(session, "2"),
                         {"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "税种": "印花税",
                          "欠税金额(元)": "10.00", "当前是否欠税": True}, is_current=False)
    for record in (hearing, listing, old):
        assert service.record_about(session, world.ent.uscc, record.id).id == record.id
    with pytest.raises(Exception) as caught:
        service.record_about(session, world.other.uscc, listing.id)
    assert getattr(caught.value, "code", "") == "record_not_found"


def test_category_must_match_the_record(client, session, world):
    record = plant(session, "2", tax_arrears(world.ent))
    session.commit()
    r = client.post("/api/v1/me/objections", headers=auth(world.ent_token),
                    json={"category": "3", "record_id": record.id, "reason": "x"})
    assert r.status_code == 422 and error_code(r) == "category_mismatch"
    r = client.post("/api/v1/me/objections", headers=auth(world.ent_token),
                    json={"category": "2", "record_id": record.id})
    assert r.status_code == 422 and error_code(r) == "validation_failed"


# -- attachments -----------------------------------------------------------------------------------------

def _multipart(client, token, record_id, files):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/me/objections", headers=auth(token),
                       data={"category": "2", "record_id": str(record_id), "reason": "附证明材料"}, files=files)


def test_attachments_are_checked_by_content_and_stored_with_their_sm3(client, session, world, data_dir):
    record = plant(session, "2", tax_arrears(world.ent))
    session.commit()
    files = [("files", ("完税证明.pdf", PDF, "application/pdf")),
             ("files", ("../../回执.png", png_bytes(), "image/png")),
             ("files", ("照片.JPG", jpeg_bytes(), "application/octet-stream"))]
    r = _multipart(client, world.ent_token, record.id, files)
    assert r.status_code == 201, r.text
    stored = r.json()["attachments"]
    assert [a["content_type"] for a in stored] == ["application/pdf", "image/png", "image/jpeg"]
    assert stored[1]["filename"] == "回执.png"
    from fincredit.crypto import sm3_hex
    from fincredit.objections.models import Attachment

    rows = session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert rows[0].sm3 == sm3_hex(PDF)
    path = Path(data_dir) / rows[0].stored_path
    assert path.read_bytes() == PDF and "objections" in path.parts
    assert ledger_docs(session, "objection_filed")[-1]["payload"]["attachments"][0]["sm3"] == sm3_hex(PDF)
    oid, aid = r.json()["id"], stored[0]["id"]
    got = client.get(f"/api/v1/me/objections/{oid}/attachments/{aid}", headers=auth(world.ent_token))
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment") and got.headers["x-content-type-options"] == "nosniff"
    assert client.get(f"/api/v1/objections/{oid}/attachments/{aid}", headers=auth(world.admin_token)).content == PDF
    assert client.get(f"/api/v1/me/objections/{oid}/attachments/{aid}",
                      headers=auth(world.other_token)).status_code == 404
    assert client.get(f"/api/v1/objections/{oid}/attachments/{aid + 99}",
                      headers=auth(world.admin_token)).status_code == 404


@pytest.mark.parametrize(("name", "content", "declared"), [
    ("证明.pdf", b"<html><script>alert(1)</script></html>", "application/pdf"),  # not a PDF at all
    ("证明.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "application/pdf"),  # a PNG called .pdf
    ("证明.png", PDF, "image/png"),  # a PDF declared as PNG
    ("证明.jpg", PDF, "application/octet-stream"),  # extension says JPEG, content is PDF
    ("run.exe", b"MZ\x90\x00", "application/octet-stream"),
    ("空.pdf", b"", "application/pdf"),
])
def test_attachments_that_are_not_what_they_say_are_refused(client, session, world, name, content, declared):
    record = plant(session, "2", tax_arrears(world.ent))
    session.commit()
    r = _multipart(client, world.ent_token, record.id, [("files", (name, content, declared))])
    assert r.status_code == 422, r.text
    assert error_code(r) == "bad_attachment"
    assert session.scalar(select(Objection).where(Objection.record_id == record.id)) is None


def test_too_many_or_too_large_attachments(client, session, world):
    record = plant(session, "2", tax_arrears(world.ent))
    session.commit()
    six = [("files", (f"{i}.pdf", PDF, "application/pdf")) for i in range(6)]
    r = _multipart(client, world.ent_token, record.id, six)
    assert r.status_code == 422 and error_code(r) == "too_many_attachments"
    big = PDF + b"0" * (10 * 1024 * 1024)
    r = _multipart(client, world.ent_token, record.id, [("files", ("大.pdf", big, "application/pdf"))])
    assert r.status_code == 413 and error_code(r) == "attachment_too_large"


# -- forwarding, the queue and escalation -------------------------------------------------------------

def test_queue_orders_by_deadline_flags_overdue_and_forwarding_records_timeliness(client, session, world):
    late = service.file_objection(session, me(world.ent), category="2",
                                  record_id=plant(session, "2", tax_arrears(world.ent, kind="增值税")).id,
                                  reason="早提出的", now=local(2026, 3, 2, 10, 0))
    recent = service.file_objection(session, me(world.ent), category="2",
                                    record_id=plant(session, "2", tax_arrears(world.ent, kind="消费税")).id,
                                    reason="刚提出的")
    session.commit()
    q = client.get("/api/v1/objections", headers=auth(world.admin_token))
    assert q.status_code == 200
    items = q.json()["items"]
    assert [i["id"] for i in items] == [late.id, recent.id]
    assert items[0]["overdue"] is True and items[1]["overdue"] is False
    assert q.json()["overdue"] == 1
    assert client.get("/api/v1/objections", headers=auth(world.ent_token)).status_code == 403
    r = client.post(f"/api/v1/objections/{late.id}/forward", headers=auth(world.admin_token))
    assert r.status_code == 200 and r.json()["forwarded_within_deadline"] is False
    r = client.post(f"/api/v1/objections/{recent.id}/forward", headers=auth(world.admin_token))
    assert r.json()["status"] == "forwarded" and r.json()["forwarded_within_deadline"] is True
    again = client.post(f"/api/v1/objections/{recent.id}/forward", headers=auth(world.admin_token))
    assert again.status_code == 409 and error_code(again) == "objection_not_filed"
    assert len(ledger_docs(session, "objection_forwarded")) == 2


def test_an_objection_not_forwarded_in_time_is_escalated_once(session, world):
    load_task_modules()
    assert "objections.escalate" in PERIODIC
    record = plant(session, "2", tax_arrears(world.ent))
    obj = service.file_objection(session, me(world.ent), category="2", record_id=record.id, reason="有误",
                                 now=local(2026, 3, 2, 10, 0))  # Monday: forward by Wednesday 4 March
    assert obj.deadline_date == dt.date(2026, 3, 4)
    assert service.escalate_overdue(session, now=local(2026, 3, 4, 23, 0)) == []
    assert service.escalate_overdue(session, now=local(2026, 3, 5, 9, 0)) == [obj.id]
    assert service.escalate_overdue(session, now=local(2026, 3, 6, 9, 0)) == []  # once
    session.commit()
    assert obj.escalated and obj.status == "filed"
    alerts = session.scalars(select(OperatorAlert).where(OperatorAlert.kind == "objection_overdue")).all()
    assert len(alerts) == 1 and str(obj.id) in alerts[0].message
    assert [d["payload"]["objection_id"] for d in ledger_docs(session, "objection_escalated")] == [obj.id]
    # The periodic job itself (as the worker runs it) finds nothing more to do.
    assert PERIODIC["objections.escalate"].func(session) == []


# -- resolution ------------------------------------------------------------------------------------------

def _forwarded(session, world, values=None):  # type: ignore[no-untyped-def]
    record = plant(session, "2", values or tax_arrears(world.ent))
    obj = service.file_objection(session, me(world.ent), category="2", record_id=record.id, reason="已缴清")
    service.forward(session, obj.id, "运营人员甲")
    session.commit()
    return obj, record


def test_resolution_checks_its_input(client, session, world):
    record = plant(session, "2", tax_arrears(world.ent))
    filed = service.file_objection(session, me(world.ent), category="2", record_id=record.id, reason="x")
    session.commit()
    url = f"/api/v1/objections/{filed.id}/resolve"
    body = {"outcome": "upheld", "reason": "经核实无误", "provider_confirmation": "苏税函〔2026〕1号"}
    r = client.post(url, headers=auth(world.admin_token), json=body)
    assert r.status_code == 409 and error_code(r) == "objection_not_forwarded"
    obj, _ = _forwarded(session, world, tax_arrears(world.ent, kind="房产税"))
    url = f"/api/v1/objections/{obj.id}/resolve"
    cases = [
        ({**body, "corrected_values": {"当前是否欠税": "否"}}, "corrected_values_not_allowed"),
        ({**body, "outcome": "corrected"}, "corrected_values_required"),
        ({**body, "outcome": "corrected", "corrected_values": {"当前是否欠税": "也许"}}, "invalid_correction"),
        ({**body, "outcome": "corrected", "corrected_values": {"不存在的字段": "1"}}, "unknown_field"),
        ({**body, "outcome": "corrected", "corrected_values": {"统一社会信用代码": world.other.uscc}},
         "subject_field_immutable"),
        ({**body, "outcome": "corrected", "corrected_values": {"当前是否欠税": "是"}}, "correction_unchanged"),
        ({**body, "outcome": "ignored"}, "validation_failed"),
        ({k: v for k, v in body.items() if k != "provider_confirmation"}, "validation_failed"),
    ]
    for payload, code in cases:
        r = client.post(url, headers=auth(world.admin_token), json=payload)
        assert r.status_code == 422, (payload, r.text)
        assert error_code(r) == code, payload
    r = client.post(url, headers=auth(world.ent_token), json=body)
    assert r.status_code == 403


def test_upheld_keeps_the_record_and_ends_the_dispute(client, session, world):
    obj, record = _forwarded(session, world)
    assert service.is_under_objection(session, record.id)
    r = client.post(f"/api/v1/objections/{obj.id}/resolve", headers=auth(world.admin_token),
                    json={"outcome": "upheld", "reason": "经税务部门核实，欠税属实", "provider_confirmation": "苏税复〔2026〕8号"})
    assert r.status_code == 200, r.text
    session.expire_all()
    assert not service.is_under_objection(session, record.id)
    assert session.get(Record, record.id).is_current
    mine = client.get(f"/api/v1/me/objections/{obj.id}", headers=auth(world.ent_token)).json()
    assert mine["outcome"] == "upheld" and mine["resolution_reason"] == "经税务部门核实，欠税属实"
    again = client.post(f"/api/v1/objections/{obj.id}/resolve", headers=auth(world.admin_token),
                        json={"outcome": "upheld", "reason": "再", "provider_confirmation": "x"})
    assert again.status_code == 409 and error_code(again) == "objection_already_resolved"


def test_end_to_end_correction_reevaluates_and_notifies_the_institution_that_saw_the_old_value(
        client, session, world):
    from fincredit.evaluation.service import current_evaluation, evaluate_enterprises

    record = plant(session, "2", tax_arrears(world.ent))
    plant(session, "4", {"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "评级年度": 2025,
                         "纳税信用等级": "A"})
    evaluate_enterprises(session, [world.ent.uscc])
    f.grant(session, world.ent, world.bank, ["2", "4"])
    session.commit()
    before = current_evaluation(session, world.ent.uscc)
    before_score, before_id = before.score, before.id

    # The bank sees the old value (a processed product: 存在欠税).
    seen = client.get(f"/api/v1/enterprises/{world.ent.uscc}", headers=auth(world.bank_token))
    assert seen.status_code == 200, seen.text
    section = next(c for c in seen.json()["categories"] if c["code"] == "2")
    assert section["products"][0]["value"] == "存在欠税" and "under_objection" not in section

    # The enterprise objects; the record is 异议中 wherever it is shown or used.
    r = client.post("/api/v1/me/objections", headers=auth(world.ent_token),
                    json={"category": "2", "record_id": record.id, "reason": "该笔增值税已于2026年1月缴清"})
    assert r.status_code == 201, r.text
    objection_id = r.json()["id"]
    view = client.get(f"/api/v1/enterprises/{world.ent.uscc}", headers=auth(world.bank_token)).json()
    section = next(c for c in view["categories"] if c["code"] == "2")
    assert section["under_objection"] is True and section["objection_label"] == "异议中"
    assert "under_objection" not in next(c for c in view["categories"] if c["code"] == "4")
    own = client.get("/api/v1/me/credit", headers=auth(world.ent_token)).json()
    own_record = next(x for c in own["categories"] if c["code"] == "2" for x in c["records"])
    assert own_record["under_objection"] is True and own_record["objection_label"] == "异议中"
    evaluation = client.get("/api/v1/me/evaluation", headers=auth(world.ent_token)).json()
    assert any(i["indicator"] == "tax_arrears" for i in evaluation["reasons"]["under_objection"])
    against = evaluation["reasons"]["against"]
    assert any(r["indicator"] == "tax_arrears" and r["text"].endswith("（异议中）") for r in against)
    for reason in against:  # only reasons fed by the disputed record say so
        assert ("异议中" in reason["text"]) == (reason["indicator"] == "tax_arrears"), reason

    # The platform forwards it; the node corrects it with the provider's confirmation.
    assert client.post(f"/api/v1/objections/{objection_id}/forward",
                       headers=auth(world.admin_token)).status_code == 200
    r = client.post(f"/api/v1/objections/{objection_id}/resolve", headers=auth(world.admin_token),
                    json={"outcome": "corrected", "reason": "经省税务局核实，该笔欠税已缴清，予以更正",
                          "corrected_values": {"当前是否欠税": "否", "欠税金额(元)": "0"},
                          "provider_confirmation": "国家税务总局江苏省税务局复核函〔2026〕12号"})
    assert r.status_code == 200, r.text
    resolved = r.json()
    assert resolved["status"] == "resolved" and resolved["notified_institution_ids"] == [world.bank.id]

    session.expire_all()
    old = session.get(Record, record.id)
    new = session.get(Record, resolved["corrected_record_id"])
    assert not old.is_current and old.superseded_by_id == new.id
    assert new.is_current and new.fetched_via == "objection" and new.provider_code == "tax"
    assert new.data["当前是否欠税"] is False and new.natural_key_hash == old.natural_key_hash
    assert not service.is_under_objection(session, record.id)

    # The evaluation changed.
    after = current_evaluation(session, world.ent.uscc)
    assert after.id != before_id and after.score > before_score

    # The bank that saw the old value is notified; the other bank is not.
    alerts = client.get("/api/v1/alerts", headers=auth(world.bank_token), params={"kind": "record_corrected"}).json()
    assert len(alerts["items"]) == 1
    notice = alerts["items"][0]
    assert notice["uscc"] == world.ent.uscc and "已更正" in notice["evidence"]
    assert "12000" not in notice["evidence"]  # no raw non-public value in the notice
    other = client.get("/api/v1/alerts", headers=auth(world.bank_b_token), params={"kind": "record_corrected"}).json()
    assert other["items"] == []

    # The enterprise reads the reason; the history keeps both versions.
    mine = client.get("/api/v1/me/objections", headers=auth(world.ent_token)).json()
    assert mine[0]["outcome"] == "corrected" and "已缴清" in mine[0]["resolution_reason"]
    history = client.get("/api/v1/me/credit", headers=auth(world.ent_token), params={"include_history": True}).json()
    versions = [x for c in history["categories"] if c["code"] == "2" for x in c["records"]]
    assert {x["id"] for x in versions} == {old.id, new.id}

    # The ledger has the whole life of the objection, with the notified institution as a party.
    kinds = [e.kind for e in session.scalars(select(LedgerEntry).where(LedgerEntry.kind.like("objection_%"))
                                             .order_by(LedgerEntry.index))]
    assert kinds == ["objection_filed", "objection_forwarded", "objection_resolved"]
    resolved_entry = ledger_docs(session, "objection_resolved")[-1]
    assert f"institution:{world.bank.id}" in resolved_entry["parties"]
    assert resolved_entry["payload"]["corrected_record_id"] == new.id


def test_correction_service_with_an_injected_time(session, world):
    obj, record = _forwarded(session, world)
    when = local(2026, 10, 9, 15, 0)
    resolution.resolve(session, obj.id, actor="运营人员甲", outcome="partly_corrected", reason="部分更正",
                       provider_confirmation="苏税函〔2026〕3号", corrected_values={"欠税金额(元)": "6000"}, now=when)
    session.commit()
    assert obj.outcome == "partly_corrected" and obj.resolved_at is not None
    new = session.get(Record, obj.corrected_record_id)
    assert new.data["欠税金额(元)"] == "6000" and new.data["当前是否欠税"] is True


def test_the_operator_cli_lists_forwards_and_escalates(session, world):
    import json

    from typer.testing import CliRunner

    from fincredit.cli import app

    runner = CliRunner()
    record = plant(session, "2", tax_arrears(world.ent))
    obj = service.file_objection(session, me(world.ent), category="2", record_id=record.id, reason="有误",
                                 now=local(2026, 9, 30, 10, 0))
    session.commit()
    listed = runner.invoke(app, ["objection", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    item = json.loads(listed.stdout)["items"][0]
    assert item["id"] == obj.id and item["overdue"] is True and item["deadline_date"] == "2026-10-09"
    escalated = runner.invoke(app, ["objection", "escalate"])
    assert escalated.exit_code == 0 and str(obj.id) in escalated.stdout
    forwarded = runner.invoke(app, ["objection", "forward", str(obj.id)])
    assert forwarded.exit_code == 0 and "已超过转交期限" in forwarded.stdout
    again = runner.invoke(app, ["objection", "forward", str(obj.id)])
    assert again.exit_code == 1


def test_alerts_derived_from_a_disputed_record_are_flagged(client, session, world):
    from fincredit.monitoring.alerts import create_alert

    record = plant(session, "2", tax_arrears(world.ent))
    create_alert(session, institution_id=world.bank.id, kind="risk", dedupe_key=f"tax_arrears:{record.id}",
                 severity="high", title="新增欠税", evidence="新增欠税记录", uscc=world.ent.uscc,
                 category_code="2", record_id=record.id)
    session.commit()

    def flags() -> list[bool]:
        r = client.get("/api/v1/alerts", headers=auth(world.bank_token))
        assert r.status_code == 200, r.text
        return [a["under_objection"] for a in r.json()["items"]]

    assert flags() == [False]
    client.post("/api/v1/me/objections", headers=auth(world.ent_token),
                json={"category": "2", "record_id": record.id, "reason": "已缴清"})
    assert flags() == [True]
