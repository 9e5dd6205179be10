"""Issuing and verifying 苏信码 (§8 of 苏政办发〔2022〕59号). Never commits.

The enterprise shows its evaluation through the platform with an authorization of purpose
``sucode`` (苏信码展示): an artefact granted to no institution (``institution_id`` null) — the
audience is the public. ``issue`` signs a token (``sucode.token``) stating the current evaluation's
grade, valid until the earlier of the authorization's expiry and ``validity_days``; the QR code
encodes ``{base}/sucode/{token}``.

``verify_online`` is what the public page and ``GET /api/v1/sucode/verify`` answer: the signature
and expiry (as offline), then the authorization's status *now* — a revoked authorization makes
every code issued under it fail at once — and whether the grade is still the current one.
Statuses: ``valid``, ``outdated`` (genuine, but the current grade differs), ``revoked``,
``expired``, ``invalid`` (malformed, altered, or not signed by the platform).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import segno
from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.authorization import repository as authorizations
from fincredit.authorization.models import Authorization
from fincredit.crypto import get_keyring, sign
from fincredit.db import as_utc, utcnow
from fincredit.errors import Conflict, Forbidden, NotFound
from fincredit.registry.models import Enterprise
from fincredit.sucode import token as sucode_token
from fincredit.sucode.config import get_sucode_settings

PURPOSE = "sucode"
SHANGHAI = ZoneInfo("Asia/Shanghai")
STATUS_LABELS = {
    "valid": "真实有效",
    "outdated": "真实，但评价结果已更新",
    "revoked": "已撤销",
    "expired": "已过期",
    "invalid": "无效",
}
OFFLINE_NOTE = "离线核验只能检查签名和有效期；授权是否已被企业撤销须在线查询平台。"


@dataclass(frozen=True)
class Issued:
    token: str
    claims: sucode_token.Claims
    authorization: Authorization


def active_authorization(session: Session, uscc: str, now: dt.datetime) -> Authorization | None:
    """The enterprise's active ``sucode`` authorization lasting longest, if any."""
    rows = [a for a in authorizations.for_enterprise(session, uscc, limit=500)
            if a.purpose == PURPOSE and a.effective_status(now) == "active"]
    return max(rows, key=lambda a: (as_utc(a.expires_at), a.id)) if rows else None


def _current_evaluation(session: Session, uscc: str) -> Any:
    from fincredit.evaluation.service import current_evaluation

    return current_evaluation(session, uscc)


def _sign(data: bytes) -> bytes:
    return base64.b64decode(sign(data)["sig"])


def issue(session: Session, me: Principal, now: dt.datetime | None = None) -> Issued:
    """A signed token of the enterprise's current evaluation under its active sucode authorization."""
    now = (as_utc(now) if now else utcnow()).replace(microsecond=0)
    enterprise = session.get(Enterprise, me.subject)
    if enterprise is None:
        raise NotFound("企业不在登记注册基础信息中", code="enterprise_not_found")
    auth = active_authorization(session, enterprise.uscc, now)
    if auth is None:
        raise Forbidden("尚未授权苏信码展示：请先创建用途为 sucode（苏信码展示）的授权", code="sucode_not_authorized")
    evaluation = _current_evaluation(session, enterprise.uscc)
    if evaluation is None:
        raise Conflict("本企业尚无信用评价结果，暂不能生成苏信码", code="no_evaluation")
    validity = dt.timedelta(days=get_sucode_settings().validity_days)
    expires = min(as_utc(auth.expires_at), now + validity).replace(microsecond=0)
    claims = sucode_token.Claims(
        uscc=enterprise.uscc, name=enterprise.name, grade=evaluation.grade, score=int(evaluation.score),
        evaluated_at=as_utc(evaluation.evaluated_at).replace(microsecond=0), issued_at=now, expires_at=expires,
        authorization_id=auth.id, key_id=get_keyring().key_id)
    return Issued(sucode_token.encode(claims, _sign), claims, auth)


def code_url(token: str, request_base: str) -> str:
    base = (get_sucode_settings().base_url or request_base).rstrip("/")
    return f"{base}/sucode/{token}"


def qr_png(url: str, scale: int | None = None) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=scale or get_sucode_settings().qr_scale,
                                                 border=4)
    return buffer.getvalue()


def qr_svg(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="svg", scale=4, border=4,
                                                 title="苏信码", xmldecl=True)
    return buffer.getvalue()


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat()


def verify_online(session: Session, raw: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Is the code genuine, current, revoked or expired? (see the module docstring)"""
    now = as_utc(now) if now else utcnow()
    result: dict[str, Any] = {"checked_at": _local(now), "genuine": False, "current": False}
    try:
        verified = sucode_token.verify(raw, get_keyring().public_key, now)
    except sucode_token.TokenError as exc:
        return {**result, "status": "invalid", "status_label": STATUS_LABELS["invalid"], "reason_code": exc.code,
                "message": exc.message}
    claims = verified.claims
    result.update(genuine=True, enterprise={"uscc": claims.uscc, "name": claims.name}, grade=claims.grade,
                  score=claims.score, evaluated_at=_local(claims.evaluated_at), issued_at=_local(claims.issued_at),
                  expires_at=_local(claims.expires_at), authorization_id=claims.authorization_id,
                  key_id=claims.key_id)
    auth = authorizations.get(session, claims.authorization_id)
    auth_status = auth.effective_status(now) if auth is not None else "revoked"
    if auth is None or auth.enterprise_uscc != claims.uscc or auth.purpose != PURPOSE or auth_status == "revoked":
        status, code, message = "revoked", "authorization_revoked", "企业已撤销苏信码展示授权，该苏信码不再有效"
    elif verified.expired:
        status, code, message = "expired", "expired", "该苏信码已超过有效期，请企业重新生成"
    elif auth_status != "active":
        status, code, message = "expired", "authorization_expired", "企业的苏信码展示授权已到期，该苏信码不再有效"
    else:
        evaluation = _current_evaluation(session, claims.uscc)
        if evaluation is None or evaluation.grade != claims.grade:
            status, code = "outdated", "evaluation_changed"
            message = "苏信码真实，但企业的信用评价结果已更新，码上等级不再是当前等级"
            result["current_grade"] = evaluation.grade if evaluation is not None else None
        else:
            status, code, message = "valid", "valid", "苏信码真实有效，显示的是企业当前的信用评价等级"
    result.update(status=status, status_label=STATUS_LABELS[status], reason_code=code, message=message,
                  current=status == "valid")
    return result


def issued_dict(issued: Issued, url: str) -> dict[str, Any]:
    ring = get_keyring()
    return {"token": issued.token, "url": url, **issued.claims.as_dict(),
            "public_key": {"alg": "Ed25519", "kid": ring.key_id, "key": ring.public_key_b64()},
            "offline_note": OFFLINE_NOTE}
