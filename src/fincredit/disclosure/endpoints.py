"""The disclosure API: the institution's view of an enterprise, verification, the enterprise's own
credit and its disclosure history, and the operator's alerts."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from fincredit.authorization.rules import GENERAL_QUERY, PURPOSES
from fincredit.db import utcnow
from fincredit.disclosure import service, verification, views
from fincredit.disclosure.ratelimit import RateLimitedInstitutionDep
from fincredit.disclosure.schemas import VerificationIn, VerificationOut
from fincredit.errors import DomainError, Forbidden, Unprocessable
from fincredit.web.deps import AdminDep, EnterpriseDep, InstitutionDep, SessionDep

router = APIRouter(tags=["信息披露"])


def _purpose(purpose: str | None) -> str | None:
    if purpose is not None and purpose not in PURPOSES and purpose != GENERAL_QUERY:
        raise Unprocessable(f"未知的查询用途“{purpose}”", code="unknown_purpose")
    return purpose


def _commit(session: SessionDep) -> None:
    """The disclosure must be durable before the response leaves (the session dependency would
    commit only after sending)."""
    try:
        session.commit()
    except Exception as exc:
        session.rollback()
        raise DomainError("披露记录无法保存，本次未提供任何数据，请稍后重试", code="disclosure_not_recorded",
                          status_code=503) from exc


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.get("/enterprises/{uscc}", summary="企业信用信息（公开信息脱敏；已授权信息类的加工产品）")
def read_enterprise(uscc: str, request: Request, session: SessionDep, me: RateLimitedInstitutionDep,
                    purpose: str | None = Query(None, max_length=32)) -> dict:
    draft = views.enterprise_view(session, me, uscc.strip().upper(), _purpose(purpose))
    body = service.disclose(session, draft, request_id=_request_id(request))
    _commit(session)
    # The body is plain JSON already (its canonical form was hashed into the ledger): skip FastAPI's
    # jsonable_encoder walk over ~10 KB of nested dicts; the bytes are those FastAPI would send.
    return JSONResponse(body)  # type: ignore[return-value]


@router.post("/verifications", response_model=VerificationOut, summary="数据核验（只回答一致与否）")
def verify(body: VerificationIn, request: Request, session: SessionDep, me: RateLimitedInstitutionDep) -> dict:
    now = utcnow()
    outcome = verification.verify(session, me, body.uscc, body.category, body.claims, _purpose(body.purpose), now)
    if outcome.denied is not None or outcome.draft is None:
        denied = outcome.denied
        if denied is not None:
            service.note_denied_expiry(session, denied, now)
            _commit(session)
        raise Forbidden(denied.reason if denied else "不能核验", code=(denied.code if denied else "") or "not_authorized")
    result = service.disclose(session, outcome.draft, request_id=_request_id(request), now=now)
    _commit(session)
    return result


@router.get("/me/credit", summary="本企业自身的全部信用信息（原始数据，免费）")
def my_credit(session: SessionDep, me: EnterpriseDep, include_history: bool = False) -> dict:
    return views.own_credit(session, me, include_history)


@router.get("/me/disclosures", summary="谁在何时依据哪项授权获取了本企业的哪些信息")
def my_disclosures(session: SessionDep, me: EnterpriseDep, limit: int = Query(100, ge=1, le=500),
                   offset: int = Query(0, ge=0)) -> list[dict]:
    return service.list_about(session, me.subject, limit, offset)


@router.get("/disclosures", summary="本机构获得的信息披露记录")
def received(session: SessionDep, me: InstitutionDep, limit: int = Query(100, ge=1, le=500),
             offset: int = Query(0, ge=0)) -> list[dict]:
    return service.list_received(session, me, limit, offset)


@router.get("/disclosures/{disclosure_id}", summary="一条信息披露记录（接收机构）")
def received_one(disclosure_id: str, session: SessionDep, me: InstitutionDep) -> dict:
    return service.get_received(session, me, disclosure_id)


@router.get("/operator-alerts", summary="运营告警（如疑似批量爬取）")
def operator_alerts(session: SessionDep, _admin: AdminDep, open_only: bool = False,
                    limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> list[dict]:
    return service.list_alerts(session, limit, offset, open_only)


@router.post("/operator-alerts/{alert_id}/ack", status_code=204, summary="确认运营告警")
def ack_alert(alert_id: int, session: SessionDep, admin: AdminDep) -> None:
    service.acknowledge_alert(session, alert_id, admin.name or admin.subject)
