"""All queries of the objections capability (objections, attachments, repairs, recipients)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fincredit.collection.models import Record
from fincredit.disclosure.models import Disclosure, OperatorAlert
from fincredit.monitoring.models import Alert
from fincredit.objections.models import OPEN_STATUSES, Attachment, Objection, RepairApplication
from fincredit.registry.models import Enterprise

MAX_ID = 2**62


def get_record(session: Session, record_id: int) -> Record | None:
    return session.get(Record, record_id) if 0 < record_id < MAX_ID else None


def current_version(session: Session, category_code: str, natural_key_hash: str) -> Record | None:
    return session.scalar(select(Record).where(Record.category_code == category_code,
                                               Record.natural_key_hash == natural_key_hash, Record.is_current))


def get_enterprise(session: Session, uscc: str) -> Enterprise | None:
    return session.get(Enterprise, uscc) if uscc and len(uscc) <= 18 else None


# -- objections -----------------------------------------------------------------------------------

def get_objection(session: Session, objection_id: int) -> Objection | None:
    return session.get(Objection, objection_id) if 0 < objection_id < MAX_ID else None


def open_objection_for(session: Session, record_id: int) -> Objection | None:
    return session.scalar(select(Objection).where(Objection.record_id == record_id,
                                                  Objection.status.in_(OPEN_STATUSES)).limit(1))


def objections_of(session: Session, uscc: str, limit: int, offset: int) -> list[Objection]:
    return list(session.scalars(select(Objection).where(Objection.enterprise_uscc == uscc)
                                .order_by(Objection.filed_at.desc(), Objection.id.desc()).limit(limit).offset(offset)))


def queue(session: Session, statuses: list[str] | None, limit: int, offset: int) -> tuple[list[Objection], int]:
    conditions = [Objection.status.in_(statuses)] if statuses else []
    total = session.scalar(select(func.count()).select_from(Objection).where(*conditions)) or 0
    rows = session.scalars(select(Objection).where(*conditions)
                           .order_by(Objection.forward_deadline, Objection.id).limit(limit).offset(offset))
    return list(rows), int(total)


def overdue_unforwarded(session: Session, now: dt.datetime, limit: int = 500) -> list[Objection]:
    """Filed objections whose deadline has passed and that were not escalated yet."""
    return list(session.scalars(select(Objection).where(
        Objection.status == "filed", Objection.escalated.is_(False), Objection.forward_deadline < now)
        .order_by(Objection.forward_deadline, Objection.id).limit(limit).with_for_update(skip_locked=True)))


def add_operator_alert(session: Session, alert: OperatorAlert) -> None:
    session.add(alert)


# -- attachments ------------------------------------------------------------------------------------

def attachments_of(session: Session, owner_kind: str, owner_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.owner_kind == owner_kind,
                                                         Attachment.owner_id == owner_id).order_by(Attachment.id)))


# -- recipients of an old value ------------------------------------------------------------------------

def institutions_disclosed(session: Session, uscc: str, category_code: str, since: dt.datetime) -> set[int]:
    """Institutions (and docked platforms) that received a disclosure covering ``category_code`` about
    ``uscc`` at or after ``since``. The category list is JSON: filtered here, portably."""
    rows = session.execute(select(Disclosure.party_subject, Disclosure.categories).where(
        Disclosure.subject_uscc == uscc, Disclosure.party_role.in_(("institution", "platform")),
        Disclosure.created_at >= since))
    return {int(subject) for subject, categories in rows
            if subject.isdigit() and category_code in (categories or [])}


def institutions_alerted(session: Session, record_id: int) -> set[int]:
    """Institutions that received a risk alert derived from the record."""
    return set(session.scalars(select(Alert.institution_id).where(Alert.record_id == record_id).distinct()))


# -- repairs ---------------------------------------------------------------------------------------------

def get_repair(session: Session, repair_id: int) -> RepairApplication | None:
    return session.get(RepairApplication, repair_id) if 0 < repair_id < MAX_ID else None


def live_repair_for(session: Session, record_id: int) -> RepairApplication | None:
    """A pending or approved application for the record (a refused one may be followed by another)."""
    return session.scalar(select(RepairApplication).where(
        RepairApplication.record_id == record_id, RepairApplication.status.in_(("pending", "approved"))).limit(1))


def repairs_of(session: Session, uscc: str, limit: int, offset: int) -> list[RepairApplication]:
    return list(session.scalars(select(RepairApplication).where(RepairApplication.enterprise_uscc == uscc)
                                .order_by(RepairApplication.applied_at.desc(), RepairApplication.id.desc())
                                .limit(limit).offset(offset)))


def repair_queue(session: Session, status: str | None, limit: int, offset: int) -> list[RepairApplication]:
    stmt = select(RepairApplication)
    if status:
        stmt = stmt.where(RepairApplication.status == status)
    return list(session.scalars(stmt.order_by(RepairApplication.applied_at, RepairApplication.id)
                                .limit(limit).offset(offset)))
