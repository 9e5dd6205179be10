"""Issuing, resolving and revoking bearer tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.auth.models import ApiToken, Role
from fincredit.crypto import new_token, token_hash
from fincredit.db import as_utc, utcnow
from fincredit.errors import BadRequest, NotFound, Unauthorized

LAST_USED_RESOLUTION = dt.timedelta(minutes=5)
TOKEN_PREFIX = {Role.admin: "fca", Role.provider: "fcp", Role.institution: "fci",
                Role.enterprise: "fce", Role.platform: "fcl"}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the role and the party id (operator name, provider code, institution id, USCC)."""

    role: Role
    subject: str
    token_id: int | None = None
    name: str = ""


def issue_token(session: Session, *, role: Role | str, subject: str, name: str,
                expires_at: dt.datetime | None = None) -> tuple[str, ApiToken]:
    try:
        role = Role(role)
    except ValueError as exc:
        raise BadRequest(f"未知角色：{role}", code="unknown_role") from exc
    if not subject or not name:
        raise BadRequest("令牌必须指明主体和名称", code="token_subject_required")
    raw = new_token(TOKEN_PREFIX[role])
    row = ApiToken(token_hash=token_hash(raw), prefix=raw[:10], role=role.value, subject=subject,
                   name=name[:100], expires_at=expires_at)
    session.add(row)
    session.flush()
    return raw, row


def resolve_token(session: Session, raw: str) -> Principal:
    if not raw or len(raw) > 200:
        raise Unauthorized("令牌无效", code="invalid_token")
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(raw)))
    if row is None:
        raise Unauthorized("令牌无效", code="invalid_token")
    now = utcnow()
    if row.revoked_at is not None:
        raise Unauthorized("令牌已被吊销", code="token_revoked")
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        raise Unauthorized("令牌已过期", code="token_expired")
    # Record use, at most every few minutes so that reads do not each cost a write.
    if row.last_used_at is None or now - as_utc(row.last_used_at) > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return Principal(role=Role(row.role), subject=row.subject, token_id=row.id, name=row.name)


def list_tokens(session: Session, *, role: Role, subject: str) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.role == role.value,
                                                       ApiToken.subject == subject)
                                .order_by(ApiToken.id)))


def revoke_token(session: Session, *, token_id: int, role: Role, subject: str) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.role != role.value or row.subject != subject:
        raise NotFound("令牌不存在", code="token_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def revoke_all_for(session: Session, *, role: Role, subject: str) -> int:
    now = utcnow()
    rows = list_tokens(session, role=role, subject=subject)
    for row in rows:
        if row.revoked_at is None:
            row.revoked_at = now
    return len(rows)
