"""Financing through the portals: a bank publishes a product with eligibility rules, an enterprise posts
a need, sees the matched products with the reasons, applies (granting the pre-loan authorization the
letter shows); the bank approves, reports the loan, its repayments and notarizes evidence; the public
sees the listing. Bad input is explained next to the field and nothing typed is lost."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from fincredit.authorization.models import Authorization
from fincredit.db import session_scope
from fincredit.ledger.verifier import verify_document
from fincredit.web.app import create_app
from tests.web.clients import form_token, login_institution, registered_and_logged_in
from tests.web.financing_steps import apply, need_id, post_need, product_id, publish_product
from tests.web.pages import field_error, form_error, value_of
from tests.web.world import World


def test_bank_publishes_revises_and_withdraws_products(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_institution(client, world.bank_token)
    bad = publish_product(client, name="", amount_min_wan="800", rule_value_0="Z")
    assert bad.status_code == 422
    assert field_error(bad.text, "name") == "请填写产品名称"
    assert value_of(bad.text, "amount_min_wan") == "800" and value_of(bad.text, "rule_value_0") == "Z"
    bad = publish_product(client, amount_min_wan="800")
    assert "金额（万元）区间不合规" in field_error(bad.text, "amount_min_wan")
    bad = publish_product(client, rule_value_0="Z")
    assert "等级须为" in field_error(bad.text, "rule_value_0")
    assert value_of(bad.text, "name") == "苏信贷·科创信用贷" and value_of(bad.text, "rule_indicator_1") == \
        "tax.continuous_months"
    bad = publish_product(client, sharing_ratio="")
    assert "分担比例" in field_error(bad.text, "sharing_ratio")

    assert publish_product(client).status_code == 303
    listing = client.get("/institution/products").text
    assert "苏信贷·科创信用贷" in listing and "信用评价等级不低于C" in listing
    assert "连续正常缴税周期（月）不低于12" in listing and "企业规模：中型、小型、微型" in listing
    old = int(re.search(r"/institution/products/new\?revise=(\d+)", listing).group(1))
    form = client.get(f"/institution/products/new?revise={old}").text
    assert value_of(form, "rate_min") == "3.45" and value_of(form, "rule_value_1") == "12"
    revised = publish_product(client, rate_min="3.2", replaces=str(old))
    assert revised.status_code == 303
    listing = client.get("/institution/products").text
    assert "已下架产品（1）" in listing and "3.2%–4.5%" in listing

    public = client.get("/products").text
    assert public.count("苏信贷·科创信用贷") == 1 and world.bank_name in public and "3.2%–4.5%" in public
    assert "苏信贷·科创信用贷" not in client.get("/products?type=mortgage").text
    assert "苏信贷·科创信用贷" in client.get("/products?fund=suxin").text
    new = int(re.findall(r"/institution/products/(\d+)/withdraw", listing)[0])
    r = client.post(f"/institution/products/{new}/withdraw",
                    data={"csrf_token": form_token(client, "/institution/products")}, follow_redirects=False)
    assert r.status_code == 303
    with TestClient(create_app()) as visitor:
        assert "暂无符合条件的在售产品" in visitor.get("/products").text


def test_need_matches_apply_decide_loan_and_evidence(client, world: World) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app()) as bank:
        login_institution(bank, world.bank_token)
        assert publish_product(bank).status_code == 303
        assert publish_product(bank, name="苏科贷·大额", amount_min_wan="1000", amount_max_wan="3000",
                               compensation_fund="suke").status_code == 303

        registered_and_logged_in(client, world)
        bad = post_need(client, amount="三百", term="", purpose="采购原材料和支付工资")
        assert bad.status_code == 422
        assert field_error(bad.text, "amount_wan") == "融资金额应为数字"
        assert field_error(bad.text, "term_months") == "请填写融资期限"
        assert value_of(bad.text, "purpose") == "采购原材料和支付工资" and value_of(bad.text, "amount_wan") == "三百"
        created = post_need(client)
        assert created.status_code == 303
        need = need_id(created)
        matches = client.get(f"/enterprise/financing/needs/{need}").text
        assert "符合准入条件的产品（1 个）" in matches and "暂不符合准入条件的产品（1 个）" in matches
        assert "需求金额 300 万元，产品额度 50–500 万元" in matches
        assert "要求信用评价等级不低于C；实际为" in matches and "满足" in matches
        assert "需求金额 300 万元，产品额度 1000–3000 万元" in matches
        product = product_id(matches)

        letter = client.get(f"/enterprise/financing/needs/{need}/apply?product={product}").text
        assert "企业信用信息授权书" in letter and world.bank_name in letter and "贷前审查" in letter
        refused = apply(client, need, product, consent=False)
        assert refused.status_code == 422 and field_error(refused.text, "consent") == "请先阅读授权书并勾选同意"
        stale = client.post(f"/enterprise/financing/needs/{need}/apply",
                            data={"csrf_token": "stale", "product_id": str(product), "consent": "yes"})
        assert form_error(stale.text) == "页面已过期，请重新提交"
        assert apply(client, need, product).status_code == 303
        mine = client.get("/enterprise/financing").text
        assert "已提交，待机构审批" in mine and "苏信贷·科创信用贷" in mine
        with session_scope() as s:
            grant = s.scalars(select(Authorization).where(Authorization.enterprise_uscc == world.main.uscc)).one()
            assert grant.purpose == "pre_loan" and grant.institution_id == world.bank_id

        assert "待审批的融资申请" in bank.get("/institution").text
        apps = bank.get("/institution/applications").text
        assert world.main.name in apps and "300.00 万元 · 12 个月" in apps and "采购原材料" in apps
        application = int(re.search(r"/institution/applications/(\d+)/decision", apps).group(1))
        token = form_token(bank, "/institution/applications")
        no_reason = bank.post(f"/institution/applications/{application}/decision",
                              data={"csrf_token": token, "decision": "decline", "reason": ""})
        assert no_reason.status_code == 422
        assert "拒绝申请须说明理由" in field_error(no_reason.text, f"reason-{application}")
        approved = bank.post(f"/institution/applications/{application}/decision",
                             data={"csrf_token": token, "decision": "accept", "reason": "经审查符合条件"},
                             follow_redirects=False)
        assert approved.headers["location"] == f"/institution/loans?application={application}"
        assert "审批通过" in client.get("/enterprise/financing").text
        assert "经审查符合条件" in client.get(f"/enterprise/financing/needs/{need}").text

        loan_form = bank.get(approved.headers["location"]).text
        assert value_of(loan_form, "uscc") == world.main.uscc and value_of(loan_form, "amount") == "300"
        token = csrf_of_page(loan_form)
        data = {"csrf_token": token, "uscc": world.main.uscc, "amount": "300", "term_months": "12", "rate": "3.45",
                "credit_loan": "yes", "first_loan": "yes", "granted_on": value_of(loan_form, "granted_on"),
                "product_id": value_of(loan_form, "product_id")}
        wrong = bank.post("/institution/loans", data={**data, "uscc": world.main.uscc[:17] + "X", "rate": "40"})
        assert "校验" in field_error(wrong.text, "uscc") and value_of(wrong.text, "rate") == "40"
        too_high = bank.post("/institution/loans", data={**data, "rate": "40"})
        assert field_error(too_high.text, "rate") == "年利率须在 0 至 36% 之间"
        stranger = bank.post("/institution/loans", data={**data, "uscc": world.others[2].uscc, "product_id": ""})
        assert "未向本机构提出申请且未授权本机构" in field_error(stranger.text, "uscc")
        reported = bank.post("/institution/loans", data=data, follow_redirects=False)
        assert reported.status_code == 303
        loan_url = reported.headers["location"]
        detail = bank.get(loan_url).text
        assert "300.00" in detail and "信用贷款" in detail and "首贷" in detail
        assert world.main.uscc in bank.get("/institution/watchlist").text

        token = csrf_of_page(detail)
        today = value_of(detail, "on_date")
        too_much = bank.post(f"{loan_url}/events", data={"csrf_token": token, "kind": "repaid", "event_amount": "500",
                                                         "on_date": today})
        assert "还款金额超过未偿本金 300 万元" in field_error(too_much.text, "event_amount")
        assert value_of(too_much.text, "event_amount") == "500"
        repaid = bank.post(f"{loan_url}/events", data={"csrf_token": token, "kind": "repaid", "event_amount": "100",
                                                       "on_date": today}, follow_redirects=False)
        assert repaid.status_code == 303
        detail = bank.get(loan_url).text
        assert "还款" in detail and "200.00" in detail

        empty = bank.post(f"{loan_url}/evidence", data={"csrf_token": token, "note": "借款合同"},
                          files={"documents": ("", b"", "application/octet-stream")})
        assert field_error(empty.text, "documents") == "请选择要存证的贷款合同等文件"
        assert value_of(empty.text, "note") == "借款合同"
        stored = bank.post(f"{loan_url}/evidence", data={"csrf_token": token, "note": "借款合同"},
                           files={"documents": ("借款合同.pdf", b"%PDF-1.7 contract", "application/pdf")},
                           follow_redirects=False)
        assert stored.status_code == 303
        detail = bank.get(loan_url).text
        assert "借款合同.pdf" in detail
        bundle = bank.get(re.search(r'href="(/institution/loans/\d+/evidence/\d+\.json)"', detail).group(1))
        assert verify_document(bundle.json()).ok
        assert "贷款反馈" in bank.get("/institution/loans").text


def csrf_of_page(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_other_parties_cannot_see_or_decide(client, world: World) -> None:  # type: ignore[no-untyped-def]
    registered_and_logged_in(client, world)
    assert client.get("/enterprise/financing/needs/999").status_code == 404
    assert "融资需求不存在" in client.get("/enterprise/financing/needs/999").text
    assert client.get("/institution/applications", follow_redirects=False).status_code == 403
