"""Issuing, resolving and revoking bearer tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, and_, bindparam, cast, event, select, update
from sqlalchemy.orm import Session, SessionTransaction

from fincredit.auth.models import ApiToken, Role
from fincredit.crypto import new_token, token_hash
from fincredit.db import as_utc, utcnow
from fincredit.errors import BadRequest, NotFound, Unauthorized
from fincredit.institutions.models import Institution

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


_tokens = ApiToken.__table__
# The token and, for an institution's or a platform's token, its institution: one round trip for the
# authentication and the principal check that follows (``institutions.service.check_institution_principal``
# then finds the row in the session). Matched as text, as the token's subject is: the institutions table is
# small, and a subject that is not exactly an id simply finds no row here (the check then reads it itself).
_RESOLVE = (select(_tokens.c.id, _tokens.c.role, _tokens.c.subject, _tokens.c.name, _tokens.c.revoked_at,
                   _tokens.c.expires_at, _tokens.c.last_used_at, Institution)
            .select_from(_tokens)
            .outerjoin(Institution, and_(_tokens.c.role.in_((Role.institution.value, Role.platform.value)),
                                         cast(Institution.id, String) == _tokens.c.subject))
            .where(_tokens.c.token_hash == bindparam("token_hash")))
_TOUCH = update(_tokens).where(_tokens.c.id == bindparam("token_id")).values(
    last_used_at=bindparam("now", type_=_tokens.c.last_used_at.type))
# Session.info key holding the institution read with the token: the session's identity map keeps only
# weak references, and this row must stay there for the rest of the transaction (checks, the PDP).
SESSION_INSTITUTION = "fincredit.auth.institution"


@event.listens_for(Session, "after_transaction_end")
def _forget_institution(session: Session, transaction: SessionTransaction) -> None:
    """Held for one transaction only: a later transaction of the same session reads the row again."""
    if transaction.parent is None:
        session.info.pop(SESSION_INSTITUTION, None)


def resolve_token(session: Session, raw: str) -> Principal:
    """Who presents this token, read from the database on every request (a revoked token, or a suspended
    institution, is refused at its next request)."""
    if not raw or len(raw) > 200:
        raise Unauthorized("令牌无效", code="invalid_token")
    row = session.execute(_RESOLVE, {"token_hash": token_hash(raw)}).first()
    if row is None:
        raise Unauthorized("令牌无效", code="invalid_token")
    token_id, role, subject, name, revoked_at, expires_at, last_used_at, institution = row
    now = utcnow()
    if revoked_at is not None:
        raise Unauthorized("令牌已被吊销", code="token_revoked")
    if expires_at is not None and as_utc(expires_at) <= now:
        raise Unauthorized("令牌已过期", code="token_expired")
    # Record use, at most every few minutes so that reads do not each cost a write.
    if last_used_at is None or now - as_utc(last_used_at) > LAST_USED_RESOLUTION:
        session.execute(_TOUCH, {"token_id": token_id, "now": now})
    if institution is not None:
        session.info[SESSION_INSTITUTION] = institution
    return Principal(role=Role(role), subject=subject, token_id=token_id, name=name)


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
