"""Signing in through the portals' own forms with the test client (no browser)."""

from __future__ import annotations

import pyotp

from tests.web.conftest import csrf_of
from tests.web.world import OPERATOR_PASSWORD, PASSWORD, World


def form_token(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


def register(client, company, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = form_token(client, "/register")
    return client.post("/register", data={
        "csrf_token": token, "uscc": company.uscc, "legal_representative_name": company.rep_name,
        "legal_representative_id": company.rep_id, "password": password, "password2": password},
        follow_redirects=False)


def login_enterprise(client, uscc: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = form_token(client, "/login/enterprise")
    return client.post("/login/enterprise", data={"csrf_token": token, "uscc": uscc, "password": password},
                       follow_redirects=False)


def login_institution(client, api_token: str):  # type: ignore[no-untyped-def]
    token = form_token(client, "/login/institution")
    return client.post("/login/institution", data={"csrf_token": token, "token": api_token}, follow_redirects=False)


def login_operator(client, world: World, code: str | None = None, password: str = OPERATOR_PASSWORD):  # type: ignore[no-untyped-def]
    token = form_token(client, "/login/operator")
    return client.post("/login/operator", data={
        "csrf_token": token, "username": world.operator, "password": password,
        "totp": code or pyotp.TOTP(world.operator_secret).now()}, follow_redirects=False)


def registered_and_logged_in(client, world: World) -> None:  # type: ignore[no-untyped-def]
    assert register(client, world.main).status_code == 303
    assert login_enterprise(client, world.main.uscc).headers["location"] == "/enterprise"
