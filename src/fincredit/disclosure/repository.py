"""All queries of the disclosure capability."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fincredit.collection.models import Record
from fincredit.disclosure.models import Disclosure, OperatorAlert
from fincredit.institutions.models import Institution
from fincredit.registry.models import Person


def records_of(session: Session, subject_keys: Sequence[str], *, current_only: bool = False,
               categories: Sequence[str] | None = None) -> list[Record]:
    keys = [k for k in subject_keys if k]
    if not keys:
        return []
    stmt = select(Record).where(Record.subject_key.in_(keys))
    if current_only:
        stmt = stmt.where(Record.is_current.is_(True))
    if categories is not None:
        stmt = stmt.where(Record.category_code.in_(list(categories)))
    return list(session.scalars(stmt.order_by(Record.id)))


def person(session: Session, key: str | None) -> Person | None:
    return session.get(Person, key) if key else None


def persons(session: Session, keys: Sequence[str]) -> list[Person]:
    if not keys:
        return []
    return list(session.scalars(select(Person).where(Person.key.in_(list(keys)))))


def institution_name(session: Session, institution_id: int | None) -> str:
    row = session.get(Institution, institution_id) if institution_id is not None else None
    return row.name if row else ""


def add_disclosure(session: Session, row: Disclosure) -> None:
    session.add(row)


def disclosures_about(session: Session, uscc: str, limit: int, offset: int) -> list[Disclosure]:
    return list(session.scalars(select(Disclosure).where(Disclosure.subject_uscc == uscc)
                                .order_by(Disclosure.created_at.desc(), Disclosure.id).limit(limit).offset(offset)))


def disclosures_to(session: Session, role: str | None, subject: str | None, limit: int,
                   offset: int) -> list[Disclosure]:
    stmt = select(Disclosure)
    if role is not None:
        stmt = stmt.where(Disclosure.party_role == role, Disclosure.party_subject == subject)
    return list(session.scalars(stmt.order_by(Disclosure.created_at.desc(), Disclosure.id)
                                .limit(limit).offset(offset)))


def get_disclosure(session: Session, disclosure_id: str) -> Disclosure | None:
    return session.get(Disclosure, disclosure_id) if disclosure_id and len(disclosure_id) <= 36 else None


def unrelated_subjects_since(session: Session, role: str, subject: str, since: dt.datetime) -> int:
    return int(session.scalar(select(func.count(func.distinct(Disclosure.subject_uscc))).where(
        Disclosure.party_role == role, Disclosure.party_subject == subject, Disclosure.related.is_(False),
        Disclosure.created_at >= since)) or 0)


def recent_alert(session: Session, kind: str, subject: str, since: dt.datetime) -> OperatorAlert | None:
    return session.scalar(select(OperatorAlert).where(OperatorAlert.kind == kind, OperatorAlert.subject == subject,
                                                      OperatorAlert.created_at >= since).limit(1))


def add_alert(session: Session, alert: OperatorAlert) -> None:
    session.add(alert)


def alerts(session: Session, limit: int, offset: int, open_only: bool) -> list[OperatorAlert]:
    stmt = select(OperatorAlert)
    if open_only:
        stmt = stmt.where(OperatorAlert.acknowledged_at.is_(None))
    return list(session.scalars(stmt.order_by(OperatorAlert.created_at.desc(), OperatorAlert.id.desc())
                                .limit(limit).offset(offset)))


def get_alert(session: Session, alert_id: int) -> OperatorAlert | None:
    return session.get(OperatorAlert, alert_id)
