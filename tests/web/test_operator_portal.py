"""The management portal: catalog versions, providers, quality, ledger verification, jobs, and the
objection queue worked end to end with the enterprise portal."""

from __future__ import annotations

import re

from tests.web.clients import form_token, login_operator, registered_and_logged_in
from tests.web.pages import field_error
from tests.web.world import World


def test_catalog_with_fields_and_version_history(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_operator(client, world)
    page = client.get("/operator/catalog").text
    assert "纳税信息" in page and "接口调用（经企业授权）" in page and "第 1 版" in page
    page = client.get("/operator/catalog/1").text
    assert "近一年增值税实际缴税金额(元)" in page and "金额（元）" in page and "新增" in page


def test_provider_registration_explains_problems_and_issues_a_token_once(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_operator(client, world)
    token = form_token(client, "/operator/providers")
    r = client.post("/operator/providers", data={"csrf_token": token, "code": "nj water", "name": "南京水务集团"})
    assert r.status_code == 422
    assert field_error(r.text, "categories") == "请至少勾选一个负责的信息类"
    r = client.post("/operator/providers", data={"csrf_token": token, "code": "nj water", "name": "南京水务集团",
                                                 "categories": ["31", "33"]})
    assert "单位编码只能包含字母" in field_error(r.text, "code")
    r = client.post("/operator/providers", data={"csrf_token": token, "code": "nj_water", "name": "南京水务集团",
                                                 "categories": ["31", "33"]})
    assert "已登记数据提供单位：南京水务集团" in r.text
    r = client.post("/operator/providers/nj_water/tokens", data={"csrf_token": token})
    assert re.search(r"fcp_[\w-]+", r.text) and "只显示这一次" in r.text


def test_quality_ledger_and_jobs_pages(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_operator(client, world)
    quality = client.get("/operator/quality").text
    assert "省税务局" in quality and "入库合格率" in quality and "及时" in quality
    r = client.post("/operator/ledger/verify", data={"csrf_token": form_token(client, "/operator/ledger")})
    assert "账本完整" in r.text
    assert "后台任务" in client.get("/operator/jobs").text
    dashboard = client.get("/operator").text
    assert dashboard.count('role="img"') >= 4 and "信用评价等级分布" in dashboard


def test_objection_from_the_credit_page_to_the_resolution(client, world: World) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from fincredit.web.app import create_app

    registered_and_logged_in(client, world)
    credit = client.get("/enterprise/credit").text
    category, record = re.findall(r"category=(\w+)&amp;record=(\d+)", credit)[1]
    form = client.get(f"/enterprise/objections?category={category}&record={record}").text
    assert f'value="{record}"' in form
    r = client.post("/enterprise/objections", data={"csrf_token": form_token(client, "/enterprise/objections"),
                                                    "category": category, "record_id": record, "reason": "缴税金额有误"},
                    files={"files": ("证明.pdf", b"%PDF-1.4 proof", "application/pdf")})
    assert "异议已受理" in r.text and "转交省级节点" in r.text
    with TestClient(create_app()) as operator:
        login_operator(operator, world)
        queue = operator.get("/operator/objections").text
        objection_id = re.search(r"/operator/objections/(\d+)", queue).group(1)
        token = form_token(operator, f"/operator/objections/{objection_id}")
        r = operator.post(f"/operator/objections/{objection_id}/forward", data={"csrf_token": token})
        assert "已转交省级节点" in r.text
        r = operator.post(f"/operator/objections/{objection_id}/resolve", data={
            "csrf_token": token, "outcome": "upheld", "reason": "经核实记录无误", "provider_confirmation": ""})
        assert r.status_code == 422 and field_error(r.text, "provider_confirmation") == "请填写数据提供单位的确认意见"
        r = operator.post(f"/operator/objections/{objection_id}/resolve", data={
            "csrf_token": token, "outcome": "upheld", "reason": "经核实记录无误", "provider_confirmation": "苏税函〔2025〕8号"})
        assert "异议申诉已办结" in r.text
    mine = client.get("/enterprise/objections").text
    assert "异议不成立，维持原记录" in mine and "经核实记录无误" in mine
