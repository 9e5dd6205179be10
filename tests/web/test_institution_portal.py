"""The institution portal: what a bank sees before and after an authorization, verification, alerts,
the watchlist, webhook settings and its tokens — all through the services the API uses."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.authorization import service as authorizations
from fincredit.db import session_scope, utcnow
from fincredit.disclosure.models import Disclosure
from fincredit.monitoring.alerts import create_alert
from tests.web.clients import form_token, login_institution
from tests.web.pages import field_error, text
from tests.web.world import World


def _grant(world: World, purpose: str, categories: list[str]) -> str:
    with session_scope() as s:
        auth = authorizations.grant(s, Principal(role=Role.enterprise, subject=world.main.uscc), authorizations.GrantRequest(
            institution_id=world.bank_id, purpose=purpose, categories=categories,
            expires_at=utcnow() + dt.timedelta(days=20)))
        return auth.id


def _lookup(client, uscc: str) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/institution/lookup", data={"csrf_token": form_token(client, "/institution/lookup"), "uscc": uscc})
    assert r.status_code == 200, r.text
    return r.text


def test_lookup_before_and_after_authorization_and_every_view_is_recorded(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_institution(client, world.bank_token)
    before = _lookup(client, world.main.uscc)
    assert "该企业尚未授权本机构查询其非公开信息" in before
    assert "不能查看该企业的信用评价" in before and "近一年增值税实际缴税金额区间" not in before
    assert "GR202332001234" in before  # public information (高新技术企业) is shown
    _grant(world, "post_loan", ["1", "10"])
    after = _lookup(client, world.main.uscc)
    assert "近一年增值税实际缴税金额区间" in after and "信用评分" in after
    assert "360000" not in after and "420000" not in after  # never the raw tax amounts
    assert "依据贷后监测授权加入监测名单" in after
    with session_scope() as s:
        kinds = sorted(d.kind for d in s.scalars(select(Disclosure)))
    assert kinds == ["enterprise_view", "enterprise_view", "evaluation"]


def test_verification_answers_only_match_or_not(client, world: World) -> None:  # type: ignore[no-untyped-def]
    _grant(world, "pre_loan", ["10"])
    login_institution(client, world.bank_token)
    page = _lookup(client, world.main.uscc)
    assert "10|本月实缴金额合计(元)" in page
    token = form_token(client, "/institution/lookup")
    r = client.post("/institution/verify", data={"csrf_token": token, "uscc": world.main.uscc,
                                                 "field": "10|本月实缴金额合计(元)", "value": "52000"})
    assert r.status_code == 200 and text(r.text, "grade") == "一致"
    r = client.post("/institution/verify", data={"csrf_token": token, "uscc": world.main.uscc,
                                                 "field": "10|本月实缴金额合计(元)", "value": "1"})
    assert text(r.text, "grade") == "不一致" and "52000" not in r.text
    r = client.post("/institution/verify", data={"csrf_token": token, "uscc": world.main.uscc,
                                                 "field": "10|本月实缴金额合计(元)", "value": ""})
    assert r.status_code == 422 and "请填写贵机构掌握的数值" in r.text


def test_alerts_can_be_acknowledged_and_borrowers_watched(client, world: World) -> None:  # type: ignore[no-untyped-def]
    auth_id = _grant(world, "post_loan", ["2"])
    with session_scope() as s:
        create_alert(s, institution_id=world.bank_id, kind="risk", dedupe_key="test-1", severity="high",
                     title="新增欠税记录", evidence="企业新增欠税记录（增值税）", uscc=world.main.uscc,
                     enterprise_name=world.main.name)
    login_institution(client, world.bank_token)
    page = client.get("/institution/alerts").text
    assert "新增欠税记录" in page and "确认收到" in page
    alert_id = re.search(r"/institution/alerts/([0-9a-f-]+)/ack", page).group(1)
    r = client.post(f"/institution/alerts/{alert_id}/ack", data={"csrf_token": form_token(client, "/institution/alerts")})
    assert "已确认收到该预警" in r.text and "已确认" in client.get("/institution/alerts").text
    token = form_token(client, "/institution/watchlist")
    r = client.post("/institution/watchlist", data={"csrf_token": token, "uscc": world.main.uscc,
                                                    "authorization_id": auth_id})
    assert "已加入监测名单" in r.text and world.main.name in r.text and "监测中" in r.text


def test_webhook_secret_is_shown_once_and_bad_urls_are_explained(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_institution(client, world.bank_token)
    token = form_token(client, "/institution/push")
    r = client.post("/institution/webhooks", data={"csrf_token": token, "url": "http://127.0.0.1/hook"})
    assert r.status_code == 422 and field_error(r.text, "url").startswith("推送地址不安全")
    r = client.post("/institution/webhooks", data={"csrf_token": token, "url": "https://8.8.8.8/hooks/credit"})
    assert r.status_code == 200 and "只显示这一次" in r.text and re.search(r"whsec_\S+", r.text)
    again = client.get("/institution/push").text
    assert "https://8.8.8.8/hooks/credit" in again and "whsec_" not in again
    r = client.post("/institution/subscriptions", data={"csrf_token": token, "schedule": "daily", "delivery": "file"})
    assert field_error(r.text, "regions") == "请至少选择一个地区"
    r = client.post("/institution/subscriptions", data={"csrf_token": token, "regions": ["320100"], "schedule": "weekly",
                                                        "delivery": "file", "industries": "C"})
    assert "订阅已创建" in r.text and "每周" in r.text


def test_revoking_the_token_in_use_ends_the_session(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_institution(client, world.bank_token)
    page = client.get("/institution/tokens").text
    assert "当前登录" in page
    token_id = re.search(r"/institution/tokens/(\d+)/revoke", page).group(1)
    r = client.post(f"/institution/tokens/{token_id}/revoke", data={"csrf_token": form_token(client, "/institution/tokens")})
    assert "当前登录所用的令牌已吊销" in r.text
    assert client.get("/institution", follow_redirects=False).status_code == 303
