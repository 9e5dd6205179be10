"""The authorization API: enterprises grant, list and revoke; institutions list what they were granted."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.authorization import service
from fincredit.authorization.letters import CURRENT_TEMPLATE_VERSION
from fincredit.authorization.rules import PURPOSES
from fincredit.authorization.schemas import (
    AuthorizationOut,
    GrantIn,
    LetterPreviewOut,
    PublicKeyOut,
    PurposeOut,
    aware,
)
from fincredit.db import utcnow
from fincredit.errors import DomainError
from fincredit.ledger.service import public_key_info
from fincredit.web.deps import EnterpriseDep, InstitutionDep, SessionDep, require_roles

router = APIRouter(tags=["授权"])
InstitutionOrAdminDep = Annotated[Principal, Depends(require_roles(Role.institution, Role.platform, Role.admin))]


def commit(session: SessionDep) -> None:
    """Make the event durable before answering (the session dependency commits only after sending)."""
    try:
        session.commit()
    except Exception as exc:
        session.rollback()
        raise DomainError("授权记录暂时无法保存，请稍后重试", code="storage_unavailable", status_code=503) from exc


def _request(body: GrantIn) -> service.GrantRequest:
    return service.GrantRequest(institution_id=body.institution_id, purpose=body.purpose,
                                categories=body.categories, expires_at=body.expires_at,
                                data_from=body.data_from, data_to=body.data_to)


@router.post("/me/authorizations", status_code=201, response_model=AuthorizationOut,
             summary="企业授权接入机构（生成已签名的授权书）")
def grant(body: GrantIn, session: SessionDep, me: EnterpriseDep) -> AuthorizationOut:
    auth = service.grant(session, me, _request(body))
    commit(session)
    return AuthorizationOut.of(auth, utcnow())


@router.get("/me/authorizations", response_model=list[AuthorizationOut], summary="本企业的全部授权")
def list_own(session: SessionDep, me: EnterpriseDep, limit: int = Query(200, ge=1, le=500),
             offset: int = Query(0, ge=0)) -> list[AuthorizationOut]:
    now = utcnow()
    return [AuthorizationOut.of(a, now) for a in service.list_own(session, me, limit, offset)]


@router.get("/me/authorizations/{authorization_id}", response_model=AuthorizationOut, summary="本企业的一项授权")
def read_own(authorization_id: str, session: SessionDep, me: EnterpriseDep) -> AuthorizationOut:
    return AuthorizationOut.of(service.get_own(session, me, authorization_id), utcnow())


@router.delete("/me/authorizations/{authorization_id}", response_model=AuthorizationOut,
               summary="撤销授权（即时生效）")
def revoke(authorization_id: str, session: SessionDep, me: EnterpriseDep) -> AuthorizationOut:
    auth = service.revoke(session, me, authorization_id)
    commit(session)
    return AuthorizationOut.of(auth, utcnow())


@router.get("/authorization-letter/preview", response_model=LetterPreviewOut, summary="授权前预览授权书全文")
def preview(session: SessionDep, me: EnterpriseDep, purpose: str = Query(max_length=32),
            expires_at: dt.datetime = Query(), institution_id: int | None = Query(None, ge=1, le=2**31 - 1),
            categories: list[str] = Query(default=[], max_length=64),
            data_from: dt.date | None = None, data_to: dt.date | None = None) -> LetterPreviewOut:
    codes = [c for item in categories for c in item.split(",") if c.strip()]
    body = GrantIn(institution_id=institution_id, purpose=purpose, categories=codes, expires_at=aware(expires_at),
                   data_from=data_from, data_to=data_to)
    d = service.draft(session, me, _request(body))
    return LetterPreviewOut(template_version=CURRENT_TEMPLATE_VERSION, letter_text=d.letter_text,
                            categories=[c.code for c in d.categories], expires_at=d.expires_at)


@router.get("/authorizations/purposes", response_model=list[PurposeOut], summary="授权用途及期限上限")
def purposes() -> list[PurposeOut]:
    return [PurposeOut(code=r.code, label=r.label, max_days=r.max_days, categories_required=r.categories_required,
                       institution_required=r.institution_required) for r in PURPOSES.values()]


@router.get("/authorizations/public-key", response_model=PublicKeyOut, summary="授权书签名公钥")
def public_key() -> dict[str, str]:
    return public_key_info()


@router.get("/authorizations", response_model=list[AuthorizationOut], summary="授予本机构的授权")
def list_granted(session: SessionDep, me: InstitutionDep, limit: int = Query(200, ge=1, le=500),
                 offset: int = Query(0, ge=0)) -> list[AuthorizationOut]:
    now = utcnow()
    return [AuthorizationOut.of(a, now) for a in service.list_granted(session, me, limit, offset)]


@router.get("/authorizations/{authorization_id}", response_model=AuthorizationOut,
            summary="一项授权（被授权机构或管理员）")
def read_granted(authorization_id: str, session: SessionDep, me: InstitutionOrAdminDep) -> AuthorizationOut:
    return AuthorizationOut.of(service.get_granted(session, me, authorization_id), utcnow())

