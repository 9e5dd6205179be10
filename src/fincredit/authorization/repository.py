"""All queries of the authorization capability."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer

from fincredit.authorization.models import Authorization, AuthorizationUse


def get(session: Session, authorization_id: str) -> Authorization | None:
    if not authorization_id or len(authorization_id) > 36:
        return None
    return session.get(Authorization, authorization_id)


def for_enterprise(session: Session, uscc: str, *, limit: int = 200, offset: int = 0) -> list[Authorization]:
    return list(session.scalars(select(Authorization).where(Authorization.enterprise_uscc == uscc)
                                .order_by(Authorization.created_at.desc(), Authorization.id)
                                .limit(limit).offset(offset)))


def for_institution(session: Session, institution_id: int, *, limit: int = 200,
                    offset: int = 0) -> list[Authorization]:
    return list(session.scalars(select(Authorization).where(Authorization.institution_id == institution_id)
                                .order_by(Authorization.created_at.desc(), Authorization.id)
                                .limit(limit).offset(offset)))


# What the PDP, the products and the recording of a use do not read: the signed content and the letter
# (a few KB a row, and a JSON document to decode). Loaded on access if anything else asks for them.
DECISION_ONLY = (defer(Authorization.canonical), defer(Authorization.letter_text), defer(Authorization.signature))

_BETWEEN = (select(Authorization).options(*DECISION_ONLY).where(Authorization.enterprise_uscc == bindparam("uscc"),
                                        Authorization.institution_id == bindparam("institution_id"))
            .order_by(Authorization.created_at, Authorization.id))


def between(session: Session, uscc: str, institution_id: int) -> list[Authorization]:
    """Every artefact an enterprise granted to one institution (any status); read on every query of
    the PDP, so the statement is built once."""
    return list(session.scalars(_BETWEEN, {"uscc": uscc, "institution_id": institution_id}))


def add_use(session: Session, use: AuthorizationUse) -> None:
    session.add(use)


def uses_of(session: Session, authorization_id: str, limit: int = 200) -> list[AuthorizationUse]:
    return list(session.scalars(select(AuthorizationUse)
                                .where(AuthorizationUse.authorization_id == authorization_id)
                                .order_by(AuthorizationUse.used_at.desc()).limit(limit)))
