"""Rules over committed batches, within the limits of each institution's basis (jobs run in-process)."""

from __future__ import annotations

import json

import pytest

from fincredit.db import session_scope
from fincredit.institutions.models import Institution
from fincredit.monitoring.service import add_borrower
from tests.helpers import auth
from tests.monitoring.world import (
    World,
    grant_post_loan,
    ingest_rows,
    make_world,
    month,
    run_jobs,
    tax_arrears_row,
)


@pytest.fixture
def world(fast_settings) -> World:
    return make_world()


def watch(client, world: World, authorization_id: str, token: str | None = None, uscc: str | None = None):
    return client.post("/api/v1/watchlist", json={"uscc": uscc or world.ent.uscc, "authorization_id": authorization_id},
                       headers=auth(token or world.bank_token))


def alerts(client, token: str) -> list[dict]:
    r = client.get("/api/v1/alerts", headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_new_tax_arrears_alert_the_watching_bank_with_a_processed_product(client, world):
    authorization = grant_post_loan(world, ["2"])
    assert watch(client, world, authorization).status_code == 201
    ingest_rows("2", [tax_arrears_row(world.ent, amount="987654.32", kind="城镇土地使用税")])
    run_jobs()

    [alert] = alerts(client, world.bank_token)
    assert alert["kind"] == "risk" and alert["severity"] == "high"
    assert alert["rule"] == {"id": "tax_arrears", "version": 1}
    assert alert["evidence"] == "新增欠税记录"
    assert alert["basis"] == {"kind": "authorization", "authorization_id": authorization, "loan_id": None}
    assert alert["uscc"] == world.ent.uscc and alert["enterprise_name"] == world.ent.name
    body = json.dumps(alert, ensure_ascii=False)
    assert "987654" not in body and "城镇土地使用税" not in body
    assert alerts(client, world.other_bank_token) == []

    r = client.post(f"/api/v1/alerts/{alert['id']}/ack", headers=auth(world.bank_token))
    assert r.status_code == 200 and r.json()["acked_at"]
    assert client.post(f"/api/v1/alerts/{alert['id']}/ack", headers=auth(world.other_bank_token)).status_code == 404
    r = client.get("/api/v1/alerts", params={"unacked": True}, headers=auth(world.bank_token))
    assert r.json()["items"] == []


def test_non_public_rules_need_a_post_loan_authorization_covering_the_category(client, world):
    authorization = grant_post_loan(world, ["11"])  # social insurance arrears only
    assert watch(client, world, authorization).status_code == 201
    add_loan(world.bank_id, world.other.uscc, "L-9")  # a loan basis alone does not open tax data
    ingest_rows("2", [tax_arrears_row(world.ent), tax_arrears_row(world.other)])
    run_jobs()
    assert alerts(client, world.bank_token) == []

    ingest_rows("11", [{"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "当前是否欠费": True}])
    run_jobs()
    assert [a["rule"]["id"] for a in alerts(client, world.bank_token)] == ["social_insurance_arrears"]


def test_only_new_arrears_alert_not_arrears_that_continue(client, world):
    assert watch(client, world, grant_post_loan(world, ["2"])).status_code == 201
    ingest_rows("2", [tax_arrears_row(world.ent, amount="1000")])
    ingest_rows("2", [tax_arrears_row(world.ent, amount="2000")])  # still owing: supersedes, no new alert
    ingest_rows("2", [tax_arrears_row(world.ent, owing=False, amount="0")])
    ingest_rows("2", [tax_arrears_row(world.ent, amount="500")])  # owing again
    run_jobs()
    assert [a["rule"]["id"] for a in alerts(client, world.bank_token)] == ["tax_arrears", "tax_arrears"]
    run_jobs()  # a second run of the same jobs creates nothing twice
    assert len(alerts(client, world.bank_token)) == 2


def add_loan(bank_id: int, uscc: str, loan_id: str) -> None:
    with session_scope() as s:
        add_borrower(s, bank_id, uscc, loan_id)


def test_public_rules_need_only_an_active_institution_and_a_loan_basis(client, world):
    add_loan(world.bank_id, world.ent.uscc, "L-1")
    ingest_rows("36", [{"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "失信名单类别": "重大税收违法失信主体",
                        "认定文号": "苏税稽〔2024〕12号", "确认严重违法失信日期": "2024-06-01"}])
    hearing = {"当事人名称": world.ent.name, "当事人证件类型": "统一社会信用代码", "当事人证件号码": world.ent.uscc,
               "案由": "买卖合同纠纷", "开庭日期": "2024-07-08", "受理法院": "南京市玄武区人民法院"}
    ingest_rows("7", [{"案号": "（2024）苏0102民初1号", **hearing, "诉讼地位": "被告"},
                      {"案号": "（2024）苏0102民初2号", **hearing, "诉讼地位": "原告"}])
    run_jobs()
    found = alerts(client, world.bank_token)
    assert sorted(a["rule"]["id"] for a in found) == ["court_hearing_defendant", "enterprise_dishonesty"]
    assert all(a["basis"] == {"kind": "loan", "authorization_id": None, "loan_id": "L-1"} for a in found)
    court = next(a for a in found if a["rule"]["id"] == "court_hearing_defendant")
    assert "2024-07-08" in court["evidence"]


def test_the_legal_representative_is_watched_through_the_enterprise(client, world):
    add_loan(world.bank_id, world.ent.uscc, "L-2")
    rep = world.ent.rep
    ingest_rows("8", [{"姓名": rep.name, "证件类型": "居民身份证", "证件号码": rep.resident_id, "列入日期": "2024-03-02",
                       "执行法院": "南京市中级人民法院", "是否取消": False}])
    run_jobs()
    [alert] = alerts(client, world.bank_token)
    assert alert["rule"]["id"] == "legal_rep_consumption_restriction" and alert["uscc"] == world.ent.uscc
    body = json.dumps(alert, ensure_ascii=False)
    assert rep.name not in body and rep.resident_id not in body


def test_a_sharp_fall_in_insured_headcount_is_a_trend_alert(client, world):
    assert watch(client, world, grant_post_loan(world, ["10"])).status_code == 201
    rows = [{"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "缴费年月": month(k),
             "险种类别": "企业职工基本养老保险", "参保人数": n} for k, n in [(-4, 100), (-3, 100), (-2, 96), (-1, 90)]]
    ingest_rows("10", rows)
    run_jobs()
    assert alerts(client, world.bank_token) == []
    ingest_rows("10", [{**rows[0], "缴费年月": month(0), "参保人数": 65}])
    run_jobs()
    [alert] = alerts(client, world.bank_token)
    assert alert["rule"]["id"] == "social_insurance_headcount_drop"
    assert alert["evidence"] == "参保人数近3个月下降35%"


def test_a_suspended_institution_is_told_but_gets_no_risk_alerts(client, world):
    add_loan(world.bank_id, world.ent.uscc, "L-3")
    with session_scope() as s:
        from fincredit.institutions.models import InstitutionStatusChange

        s.get(Institution, world.bank_id).status = "suspended"
        s.add(InstitutionStatusChange(institution_id=world.bank_id, from_status="active", to_status="suspended",
                                      reason="安全检查", changed_by="operator"))
    ingest_rows("36", [{"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "失信名单类别": "失信被执行人",
                        "认定文号": "（2024）苏01执1号", "确认严重违法失信日期": "2024-06-01"}])
    run_jobs()
    from fincredit.monitoring import watchlist
    from fincredit.monitoring.models import Alert

    with session_scope() as s:
        watchlist.scan(s)
    with session_scope() as s:
        kinds = [a.kind for a in s.query(Alert).filter(Alert.institution_id == world.bank_id)]
    assert kinds == ["institution_suspended"]


def test_a_grade_downgrade_is_alerted_only_under_a_post_loan_authorization(client, world):
    import datetime as dt

    from fincredit.db import utcnow
    from fincredit.evaluation.models import Evaluation
    from fincredit.monitoring import grades

    assert watch(client, world, grant_post_loan(world, ["1"])).status_code == 201
    add_loan(world.bank_id, world.other.uscc, "L-5")  # a loan basis does not open evaluations
    with session_scope() as s:
        grades.scan(s)  # the first scan starts from now
    now = utcnow()

    def evaluation(uscc: str, grade: str, at: dt.datetime, current: bool) -> Evaluation:
        return Evaluation(run_id=1, uscc=uscc, guideline_version="1", score=700, grade=grade, thin_file=False,
                          bins="0", reasons={}, coverage=[], evaluated_at=at, is_current=current)

    with session_scope() as s:
        for uscc in (world.ent.uscc, world.other.uscc):
            s.add(evaluation(uscc, "A", now - dt.timedelta(days=30), False))
            s.add(evaluation(uscc, "BB", now + dt.timedelta(seconds=1), True))
    for _ in range(2):
        with session_scope() as s:
            grades.scan(s)
    [alert] = alerts(client, world.bank_token)
    assert alert["rule"]["id"] == "grade_downgrade" and alert["uscc"] == world.ent.uscc
    assert alert["evidence"] == "信用评价等级由A下调至BB"
