"""Credit repair (信用修复): the eligibility table, applications, decisions, and what a repair changes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from fincredit.ledger.models import LedgerEntry
from fincredit.objections.markers import repaired_record_ids
from fincredit.objections.repair_rules import NotEligible, add_months, check_eligible, eligibility
from tests.helpers import auth, error_code
from tests.objections.conftest import PDF, plant, png_bytes, tax_arrears
from tests.trust import factories as f

TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


def days_ago(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def dishonesty(ent: f.EnterpriseInfo, confirmed: str, until: str | None = None) -> dict:
    row = {"企业名称": ent.name, "统一社会信用代码": ent.uscc, "失信名单类别": "拖欠农民工工资失信联合惩戒对象",
           "认定文号": f"苏人社认〔{confirmed[:4]}〕7号", "认定依据": "《拖欠农民工工资失信联合惩戒对象名单管理暂行办法》",
           "违法失信行为事实": "拖欠农民工工资", "确认严重违法失信日期": confirmed, "认定部门": "江苏省人力资源和社会保障厅"}
    if until:
        row["公示截止日期"] = until
    return row


def enforcement(ent: f.EnterpriseInfo, executed: str, reason: str = "逾期未履行行政处罚决定") -> dict:
    return {"企业名称": ent.name, "统一社会信用代码": ent.uscc, "行政强制决定书名称": "行政强制执行决定书",
            "行政强制文书号": f"宁市监强〔{executed}〕1号", "行政强制执行理由": reason,
            "行政强制执行依据": "《中华人民共和国行政强制法》", "行政强制执行方式": "划拨存款",
            "执行时间": executed, "行政机关名称": "南京市市场监督管理局"}


# -- the rule table (pure) -----------------------------------------------------------------------------

def test_minimum_publicity_periods_of_the_rule_table():
    minor = eligibility("23", {"执行时间": "2026-01-31", "行政强制执行理由": "逾期未缴纳罚款"})
    assert minor.eligible_from == dt.date(2026, 4, 30) and "一般失信" in minor.rule_text and "3个月" in minor.rule_text
    serious = eligibility("23", {"执行时间": "2026-01-31", "行政强制执行理由": "严重违法经营"})
    assert serious.eligible_from == dt.date(2027, 1, 31) and "严重失信" in serious.rule_text
    listed = eligibility("36", {"确认严重违法失信日期": "2025-03-01"})
    assert listed.eligible_from == dt.date(2026, 3, 1) and "第58号" in listed.rule_text
    published = eligibility("36", {"确认严重违法失信日期": "2025-03-01", "公示截止日期": "2025-09-30"})
    assert published.eligible_from == dt.date(2025, 10, 1)
    assert eligibility("25", {"承诺履行状态": "未履行", "履约践诺情况认定日期": "2026-01-15"}).eligible_from \
        == dt.date(2026, 4, 15)
    assert add_months(dt.date(2024, 11, 30), 3) == dt.date(2025, 2, 28)
    for category, data, code in [("2", {}, "category_not_repairable"),
                                 ("25", {"承诺履行状态": "已履行"}, "record_not_negative"),
                                 ("23", {}, "record_undated")]:
        with pytest.raises(NotEligible) as caught:
            eligibility(category, data)
        assert caught.value.code == code
    with pytest.raises(NotEligible) as caught:
        check_eligible("23", {"执行时间": "2026-01-31"}, dt.date(2026, 4, 29))
    assert caught.value.code == "repair_too_early" and caught.value.details == {"eligible_from": "2026-04-30"}
    assert check_eligible("23", {"执行时间": "2026-01-31"}, dt.date(2026, 4, 30)).eligible_from == dt.date(2026, 4, 30)


# -- applications -----------------------------------------------------------------------------------------

def _apply(client, token, record_id, files=None, commitment="本企业已纠正失信行为，承诺今后依法诚信经营。"):  # type: ignore[no-untyped-def]
    files = [("files", ("整改证明.pdf", PDF, "application/pdf"))] if files is None else files
    return client.post("/api/v1/me/repairs", headers=auth(token),
                       data={"record_id": str(record_id), "commitment": commitment}, files=files or None)


def test_ineligible_applications_are_refused_with_the_reason(client, session, world):
    early = plant(session, "23", enforcement(world.ent, days_ago(30)))
    serious = plant(session, "23", enforcement(world.ent, days_ago(200), reason="严重违法，拒不履行"))
    arrears = plant(session, "2", tax_arrears(world.ent))
    theirs = plant(session, "36", dishonesty(world.other, days_ago(800)))
    eligible = plant(session, "36", dishonesty(world.ent, days_ago(800)))
    session.commit()
    r = _apply(client, world.ent_token, early.id)
    assert r.status_code == 422 and error_code(r) == "repair_too_early"
    assert r.json()["error"]["details"]["eligible_from"] == add_months(TODAY - dt.timedelta(days=30), 3).isoformat()
    assert "最短公示期" in r.json()["error"]["message"]
    r = _apply(client, world.ent_token, serious.id)
    assert r.status_code == 422 and error_code(r) == "repair_too_early" and "严重失信" in r.json()["error"]["message"]
    r = _apply(client, world.ent_token, arrears.id)
    assert r.status_code == 422 and error_code(r) == "category_not_repairable"
    r = _apply(client, world.ent_token, theirs.id)
    missing = _apply(client, world.ent_token, theirs.id + 10_000)
    assert r.status_code == missing.status_code == 422
    assert error_code(r) == error_code(missing) == "not_own_record"
    assert r.json()["error"]["message"] == missing.json()["error"]["message"]
    r = _apply(client, world.ent_token, eligible.id, files=[])
    assert r.status_code == 422 and error_code(r) == "proof_required"
    r = _apply(client, world.ent_token, eligible.id, files=[("files", ("证明.pdf", png_bytes(), "application/pdf"))])
    assert r.status_code == 422 and error_code(r) == "bad_attachment"
    r = _apply(client, world.ent_token, eligible.id, commitment="短")
    assert r.status_code == 422 and error_code(r) == "commitment_required"
    assert client.get("/api/v1/me/repairs", headers=auth(world.ent_token)).json() == []


def test_an_approved_repair_stops_counting_in_evaluations_and_public_views_and_history_keeps_it(
        client, session, world):
    from fincredit.evaluation.service import current_evaluation, evaluate_enterprises

    listing = plant(session, "36", dishonesty(world.ent, days_ago(800)))
    evaluate_enterprises(session, [world.ent.uscc])
    session.commit()
    before = current_evaluation(session, world.ent.uscc)
    assert before.grade in ("CC", "C")  # the serious-dishonesty cap

    def public_36() -> list[int]:
        view = client.get(f"/api/v1/enterprises/{world.ent.uscc}", headers=auth(world.bank_token))
        assert view.status_code == 200, view.text
        return [r["id"] for c in view.json()["categories"] if c["code"] == "36" for r in c["records"]]

    assert public_36() == [listing.id]
    r = _apply(client, world.ent_token, listing.id)
    assert r.status_code == 201, r.text
    repair_id = r.json()["id"]
    assert r.json()["status"] == "pending" and r.json()["attachments"][0]["content_type"] == "application/pdf"
    dup = _apply(client, world.ent_token, listing.id)
    assert dup.status_code == 409 and error_code(dup) == "repair_already_exists"

    queue = client.get("/api/v1/repairs", headers=auth(world.admin_token)).json()
    assert [q["id"] for q in queue] == [repair_id]
    assert client.get("/api/v1/repairs", headers=auth(world.ent_token)).status_code == 403
    r = client.post(f"/api/v1/repairs/{repair_id}/decide", headers=auth(world.admin_token),
                    json={"approved": True, "reason": "已足额支付拖欠工资，公示期满，准予修复"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["repaired_at"]
    again = client.post(f"/api/v1/repairs/{repair_id}/decide", headers=auth(world.admin_token),
                        json={"approved": False, "reason": "x"})
    assert again.status_code == 409 and error_code(again) == "repair_already_decided"

    session.expire_all()
    assert repaired_record_ids(session, [listing.id]) == {listing.id}
    assert public_36() == []  # gone from what institutions see
    after = current_evaluation(session, world.ent.uscc)
    assert after.id != before.id and after.score > before.score and after.grade not in ("CC", "C")
    own = client.get("/api/v1/me/credit", headers=auth(world.ent_token)).json()
    kept = next(x for c in own["categories"] if c["code"] == "36" for x in c["records"])
    assert kept["id"] == listing.id and kept["repaired_at"] and kept["repair_label"] == "已信用修复"
    mine = client.get(f"/api/v1/me/repairs/{repair_id}", headers=auth(world.ent_token)).json()
    assert mine["decision_reason"].startswith("已足额支付") and "第58号" in mine["rule"]
    kinds = [e.kind for e in session.scalars(select(LedgerEntry).where(LedgerEntry.kind.like("repair_%"))
                                             .order_by(LedgerEntry.index))]
    assert kinds == ["repair_applied", "repair_decided"]


def test_a_refused_repair_tells_the_reason_and_allows_a_new_application(client, session, world):
    listing = plant(session, "36", dishonesty(world.ent, days_ago(500)))
    session.commit()
    repair_id = _apply(client, world.ent_token, listing.id).json()["id"]
    r = client.post(f"/api/v1/repairs/{repair_id}/decide", headers=auth(world.admin_token),
                    json={"approved": False, "reason": "证明材料不足，请补充工资支付凭证"})
    assert r.status_code == 200 and r.json()["status"] == "refused" and r.json()["repaired_at"] is None
    mine = client.get("/api/v1/me/repairs", headers=auth(world.ent_token)).json()
    assert mine[0]["status_label"] == "未通过" and "工资支付凭证" in mine[0]["decision_reason"]
    session.expire_all()
    assert repaired_record_ids(session, [listing.id]) == set()
    assert _apply(client, world.ent_token, listing.id).status_code == 201
    assert client.get(f"/api/v1/me/repairs/{repair_id}", headers=auth(world.other_token)).status_code == 404
