"""Portal sessions: cookies, server-side rows, log-out, lock-outs, the second factor, expiry, roles."""

from __future__ import annotations

import datetime as dt
import os

import pyotp
from sqlalchemy import select, update
from typer.testing import CliRunner

from fincredit.auth.models import ApiToken
from fincredit.db import session_scope, utcnow
from fincredit.institutions import service as institutions
from fincredit.web.config import get_web_settings
from fincredit.web.models import OperatorUser, WebSession
from tests.web.clients import (
    form_token,
    login_enterprise,
    login_institution,
    login_operator,
    register,
    registered_and_logged_in,
)
from tests.web.pages import form_error
from tests.web.world import World


def _set_cookie(response, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(name + "="))


def test_session_cookie_is_httponly_lax_and_only_its_hash_is_stored(client, world: World) -> None:  # type: ignore[no-untyped-def]
    register(client, world.main)
    r = login_enterprise(client, world.main.uscc)
    cookie = _set_cookie(r, "fc_session")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    raw = cookie.split(";", 1)[0].split("=", 1)[1]
    with session_scope() as s:
        row = s.scalar(select(WebSession))
        assert row.role == "enterprise" and row.subject == world.main.uscc
        assert raw not in (row.session_hash, row.csrf_token) and len(row.session_hash) == 64


def test_cookie_is_secure_over_https_and_when_configured(db, world: World) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from fincredit.web.app import create_app

    with TestClient(create_app(), base_url="https://testserver") as https:
        r = login_institution(https, world.bank_token)
        assert "Secure" in _set_cookie(r, "fc_session")  # the default "auto": https → Secure
    os.environ["FINCREDIT_WEB_COOKIE_SECURE"] = "always"  # e.g. behind a TLS-terminating proxy
    get_web_settings.cache_clear()
    try:
        with TestClient(create_app()) as plain:
            assert "Secure" in _set_cookie(plain.get("/login/institution"), "fc_csrf")
    finally:
        del os.environ["FINCREDIT_WEB_COOKIE_SECURE"]
        get_web_settings.cache_clear()


def test_pages_need_the_right_login(client, world: World) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/enterprise/credit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login/enterprise?next=/enterprise/credit"
    login_institution(client, world.bank_token)
    r = client.get("/operator")
    assert r.status_code == 403
    assert "此页面需要以省级节点运营人员身份登录；您当前以接入机构身份登录" in r.text


def test_logout_ends_the_session_and_revokes_the_login_token(client, world: World) -> None:  # type: ignore[no-untyped-def]
    registered_and_logged_in(client, world)
    token = form_token(client, "/enterprise")
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == "/"
    assert client.get("/enterprise", follow_redirects=False).status_code == 303
    with session_scope() as s:
        assert s.scalar(select(WebSession)) is None
        tokens = list(s.scalars(select(ApiToken).where(ApiToken.role == "enterprise")))
        assert tokens and all(t.revoked_at is not None for t in tokens)


def test_idle_session_expires(client, world: World) -> None:  # type: ignore[no-untyped-def]
    registered_and_logged_in(client, world)
    with session_scope() as s:
        s.execute(update(WebSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=31)))
    r = client.get("/enterprise", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/enterprise")


def test_suspending_an_institution_ends_its_portal_session(client, world: World) -> None:  # type: ignore[no-untyped-def]
    login_institution(client, world.bank_token)
    assert client.get("/institution").status_code == 200
    with session_scope() as s:
        institutions.change_status(s, world.bank_id, to_status="suspended", reason="安全检查", actor="测试")
    r = client.get("/institution/alerts")
    assert r.status_code == 200 and "/login/institution" in str(r.url)
    assert "暂停接入" in r.text  # the reason is shown on the log-in page


def test_operator_needs_password_and_totp_and_is_locked_after_five_failures(client, world: World) -> None:  # type: ignore[no-untyped-def]
    r = login_operator(client, world, code="000000")
    assert r.status_code == 401 and form_error(r.text) == "用户名、密码或动态口令错误"
    r = login_operator(client, world, password="Wrong-Password1")
    assert form_error(r.text) == "用户名、密码或动态口令错误"
    for _ in range(3):
        r = login_operator(client, world, code="000000")
    assert r.status_code == 429 and "账户已锁定" in form_error(r.text)
    r = login_operator(client, world)  # now even the right factors are refused until the lock ends
    assert r.status_code == 429
    with session_scope() as s:
        assert s.scalar(select(OperatorUser)).locked_until is not None


def test_a_totp_code_is_accepted_once(client, world: World) -> None:  # type: ignore[no-untyped-def]
    code = pyotp.TOTP(world.operator_secret).now()
    assert login_operator(client, world, code=code).headers["location"] == "/operator"
    client.post("/logout", data={"csrf_token": form_token(client, "/operator")})
    r = login_operator(client, world, code=code)
    assert r.status_code == 401 and form_error(r.text) == "该动态口令已使用过，请等待下一个口令"


def test_enterprise_is_locked_after_repeated_wrong_passwords(client, world: World) -> None:  # type: ignore[no-untyped-def]
    register(client, world.main)
    for _ in range(4):
        r = login_enterprise(client, world.main.uscc, "Wrong-Password1")
        assert form_error(r.text) == "统一社会信用代码或密码错误"
    r = login_enterprise(client, world.main.uscc, "Wrong-Password1")
    assert r.status_code == 429 and "账户已锁定" in form_error(r.text)


def test_cli_creates_an_operator_and_prints_the_totp_secret_once(db) -> None:  # type: ignore[no-untyped-def]
    from fincredit.cli import app

    result = CliRunner().invoke(app, ["operator", "create", "lisi"], env={"FINCREDIT_OPERATOR_PASSWORD": "Strong-Pass2025"})
    assert result.exit_code == 0, result.output
    uri = next(line for line in result.stdout.splitlines() if line.startswith("otpauth URI: "))
    assert uri.startswith("otpauth URI: otpauth://totp/") and "lisi" in uri
    secret = next(line for line in result.stdout.splitlines() if line.startswith("TOTP secret: ")).split(": ")[1]
    with session_scope() as s:
        row = s.scalar(select(OperatorUser).where(OperatorUser.username == "lisi"))
        assert secret not in row.totp_secret_enc and row.password_hash.startswith("$argon2id$")
    again = CliRunner().invoke(app, ["operator", "create", "lisi"], env={"FINCREDIT_OPERATOR_PASSWORD": "Strong-Pass2025"})
    assert again.exit_code == 1 and "已存在" in again.output


def test_expired_and_idle_sessions_are_purged(client, world: World) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from fincredit.web.app import create_app
    from fincredit.web.sessions import purge_expired

    registered_and_logged_in(client, world)
    with TestClient(create_app()) as bank:
        login_institution(bank, world.bank_token)  # a second browser, a second session
    with session_scope() as s:
        first, second = s.scalars(select(WebSession).order_by(WebSession.id)).all()
        first.last_seen_at = utcnow() - dt.timedelta(hours=1)
    with session_scope() as s:
        assert purge_expired(s) == 1
        assert [row.role for row in s.scalars(select(WebSession))] == ["institution"]
