"""Enterprise accounts: real-name registration, password log-in (OAuth2 password form), ``/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response
from pydantic import BaseModel, Field

from fincredit.errors import BadRequest, DomainError
from fincredit.registry import accounts
from fincredit.web.deps import EnterpriseDep, SessionDep, principal_checks

router = APIRouter(tags=["企业账户"])

if accounts.check_enterprise_principal not in principal_checks:
    principal_checks.append(accounts.check_enterprise_principal)


class RegistrationIn(BaseModel):
    uscc: str = Field(min_length=1, max_length=64, description="统一社会信用代码")
    legal_representative_name: str = Field(min_length=1, max_length=100, description="法定代表人姓名")
    legal_representative_id: str = Field(min_length=1, max_length=64, description="法定代表人证件号码")
    password: str = Field(min_length=1, max_length=128)


class RegistrationOut(BaseModel):
    uscc: str
    name: str
    status: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


@router.post("/accounts", status_code=201, response_model=RegistrationOut,
             summary="企业实名注册（以登记基础库核验法定代表人身份）")
def register(body: RegistrationIn, session: SessionDep) -> RegistrationOut:
    account, enterprise = accounts.register(
        session, uscc=body.uscc, legal_representative_name=body.legal_representative_name,
        legal_representative_id=body.legal_representative_id, password=body.password)
    return RegistrationOut(uscc=account.uscc, name=enterprise.name, status="registered")


@router.post("/auth/token", response_model=TokenOut, summary="企业登录（OAuth2 密码模式，username 为统一社会信用代码）")
def login(session: SessionDep, response: Response,
          username: Annotated[str, Form(min_length=1, max_length=64)],
          password: Annotated[str, Form(min_length=1, max_length=128)],
          grant_type: Annotated[str | None, Form()] = None) -> TokenOut:
    if grant_type not in (None, "", "password"):
        raise BadRequest("仅支持 grant_type=password", code="unsupported_grant_type")
    try:
        issued = accounts.authenticate(session, username=username, password=password)
    except DomainError:
        session.commit()  # keep the failure count and the lock
        raise
    response.headers["Cache-Control"] = "no-store"
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)


@router.get("/me", summary="本企业账户与企业概况")
def me(session: SessionDep, principal: EnterpriseDep) -> dict:
    account, enterprise = accounts.get_account(session, principal.subject)
    summary = None
    if enterprise is not None:
        summary = {
            "uscc": enterprise.uscc, "name": enterprise.name, "status": enterprise.status,
            "industry_code": enterprise.industry_code, "region_code": enterprise.region_code,
            "size_class": enterprise.size_class,
            "established_on": enterprise.established_on.isoformat() if enterprise.established_on else None,
            "registered_capital_wan": enterprise.registered_capital_wan,
            "legal_representative": accounts.legal_rep_masked_name(session, enterprise),
        }
    return {
        "account": {
            "uscc": account.uscc, "status": "registered",
            "created_at": accounts.local_iso(account.created_at),
            "last_login_at": accounts.local_iso(account.last_login_at),
        },
        "enterprise": summary,
    }
