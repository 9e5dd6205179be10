"""Objections (异议申诉): filing, the §14 forwarding deadline, forwarding, escalation, reading. Never commits.

An enterprise objects to a record *about it*: a current or historical record whose subject is its
USCC (including court records where it is a party, categories 7 and 9), or a person-category record
about its current legal representative. Anything else — another enterprise's record, an unknown id —
is 404 ``record_not_found`` with the same message, so that existence is not revealed.

The platform must forward the objection to the provincial node within 2 working days
(``calendar_service.compute_forward_deadline``). Every step is a ledger entry in the same
transaction: ``objection_filed``, ``objection_forwarded``, ``objection_escalated`` and (in
``resolution``) ``objection_resolved``. Resolution lives in ``objections.resolution``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.catalog.service import get_catalog
from fincredit.collection.models import Record
from fincredit.crypto import sm3_hex
from fincredit.db import as_utc, utcnow
from fincredit.disclosure.models import OperatorAlert
from fincredit.errors import Conflict, NotFound, Unprocessable
from fincredit.ledger import service as ledger
from fincredit.logs import get_logger
from fincredit.objections import attachments, repository
from fincredit.objections.calendar import SHANGHAI, to_local
from fincredit.objections.calendar_service import compute_forward_deadline
from fincredit.objections.markers import (
    REPAIRED_LABEL,
    UNDER_OBJECTION_LABEL,
    is_under_objection,
    records_under_objection,
    repaired_record_ids,
)
from fincredit.objections.models import OPEN_STATUSES, Objection

__all__ = ["records_under_objection", "is_under_objection", "repaired_record_ids", "UNDER_OBJECTION_LABEL",
           "REPAIRED_LABEL", "file_objection", "forward", "escalate_overdue", "objection_dict"]

log = get_logger(__name__)

MAX_REASON = 5000
STATUS_LABELS = {"filed": "已受理，待转交省级节点", "forwarded": "已转交省级节点，处理中", "resolved": "已办结"}
OUTCOME_LABELS = {"corrected": "异议成立，已更正", "partly_corrected": "异议部分成立，已部分更正",
                  "upheld": "异议不成立，维持原记录"}


def record_not_found() -> NotFound:
    return NotFound("记录不存在或不属于本企业", code="record_not_found")


def objection_not_found() -> NotFound:
    return NotFound("异议申诉不存在", code="objection_not_found")


def record_about(session: Session, uscc: str, record_id: int) -> Record:
    """The record if it is about the enterprise ``uscc`` (see the module docstring), else 404."""
    record = repository.get_record(session, record_id)
    if record is None:
        raise record_not_found()
    if record.subject_key == uscc and record.subject_kind == "enterprise":
        return record
    category = get_catalog(session).categories.get(record.category_code)
    enterprise = repository.get_enterprise(session, uscc)
    if (category is not None and category.subject == "person" and enterprise is not None
            and record.subject_key == enterprise.legal_rep_key):
        return record
    raise record_not_found()


def parties(uscc: str, institutions: Sequence[int] = ()) -> list[str]:
    return sorted({f"enterprise:{uscc}", "admin", *(f"institution:{i}" for i in institutions)})


def _iso_local(value: dt.datetime | None) -> str | None:
    return as_utc(value).astimezone(SHANGHAI).isoformat() if value else None


def is_overdue(obj: Objection, now: dt.datetime) -> bool:
    """Not forwarded and the Shanghai date is after the deadline date."""
    return obj.status == "filed" and to_local(now).date() > obj.deadline_date


# -- filing ------------------------------------------------------------------------------------------

def file_objection(session: Session, me: Principal, *, category: str, record_id: int, reason: str,
                   files: Sequence[attachments.IncomingFile] = (), now: dt.datetime | None = None) -> Objection:
    """File an objection (with checked attachments); computes and stores the forwarding deadline."""
    now = as_utc(now) if now else utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise Unprocessable("请填写异议理由", code="reason_required")
    if len(reason) > MAX_REASON:
        raise Unprocessable(f"异议理由不能超过 {MAX_REASON} 字", code="reason_too_long")
    record = record_about(session, me.subject, record_id)
    category = (category or "").strip()
    if category != record.category_code:
        raise Unprocessable(f"记录 {record_id} 不属于信息类“{category[:32]}”（应为“{record.category_code}”）",
                            code="category_mismatch")
    checked = attachments.check_files(files)
    existing = repository.open_objection_for(session, record.id)
    if existing is not None:
        raise Conflict(f"该记录已有未办结的异议申诉（编号 {existing.id}）", code="objection_already_open",
                       details={"objection_id": existing.id})
    deadline = compute_forward_deadline(session, now)
    obj = Objection(enterprise_uscc=me.subject, category_code=record.category_code, record_id=record.id,
                    reason=reason, status="filed", filed_at=now, filed_by=(me.name or me.subject)[:100],
                    forward_deadline=as_utc(deadline.deadline), deadline_date=deadline.deadline_date,
                    calendar_basis=deadline.calendar_basis, warnings=list(deadline.warnings),
                    notified_institutions=[], ledger_indexes=[])
    session.add(obj)
    session.flush()
    stored = attachments.store(session, "objection", obj.id, checked)
    entry = ledger.append(session, "objection_filed", {
        "objection_id": obj.id, "uscc": obj.enterprise_uscc, "category": obj.category_code, "record_id": record.id,
        "record_content_hash": record.content_hash, "reason_sm3": sm3_hex(reason.encode()),
        "attachments": attachments.ledger_items(stored), "forward_deadline": deadline.deadline.isoformat(),
        "calendar_basis": deadline.calendar_basis}, parties(obj.enterprise_uscc))
    obj.ledger_indexes = [entry.index]
    session.flush()
    log.info("objection.filed", objection_id=obj.id, category=obj.category_code,
             deadline=deadline.deadline_date.isoformat(), basis=deadline.calendar_basis)
    return obj


# -- reading ------------------------------------------------------------------------------------------

def get_own(session: Session, me: Principal, objection_id: int) -> Objection:
    obj = repository.get_objection(session, objection_id)
    if obj is None or obj.enterprise_uscc != me.subject:
        raise objection_not_found()
    return obj


def get(session: Session, objection_id: int) -> Objection:
    obj = repository.get_objection(session, objection_id)
    if obj is None:
        raise objection_not_found()
    return obj


def list_own(session: Session, me: Principal, limit: int = 100, offset: int = 0) -> list[Objection]:
    return repository.objections_of(session, me.subject, limit, offset)


def queue(session: Session, status: str | None = None, limit: int = 100,
          offset: int = 0) -> tuple[list[Objection], int]:
    """The operator's queue ordered by deadline; ``status``: open (default), filed, forwarded, resolved, all."""
    choices = {"open": list(OPEN_STATUSES), "all": None, "filed": ["filed"], "forwarded": ["forwarded"],
               "resolved": ["resolved"]}
    key = status or "open"
    if key not in choices:
        raise Unprocessable(f"未知的状态筛选“{key[:20]}”（可选 open、filed、forwarded、resolved、all）",
                            code="bad_status_filter")
    return repository.queue(session, choices[key], limit, offset)


def objection_dict(session: Session, obj: Objection, now: dt.datetime | None = None, *,
                   operator: bool = False) -> dict:
    now = as_utc(now) if now else utcnow()
    category = get_catalog(session).categories.get(obj.category_code)
    out = {
        "id": obj.id, "uscc": obj.enterprise_uscc, "category": obj.category_code,
        "category_name": category.name if category else None, "record_id": obj.record_id, "reason": obj.reason,
        "status": obj.status, "status_label": STATUS_LABELS.get(obj.status, obj.status),
        "filed_at": _iso_local(obj.filed_at), "forward_deadline": _iso_local(obj.forward_deadline),
        "deadline_date": obj.deadline_date.isoformat(), "calendar_basis": obj.calendar_basis,
        "warnings": list(obj.warnings or []), "overdue": is_overdue(obj, now),
        "forwarded_at": _iso_local(obj.forwarded_at), "forwarded_within_deadline": obj.forwarded_within_deadline,
        "escalated": obj.escalated, "escalated_at": _iso_local(obj.escalated_at),
        "resolved_at": _iso_local(obj.resolved_at), "outcome": obj.outcome,
        "outcome_label": OUTCOME_LABELS.get(obj.outcome or ""), "resolution_reason": obj.resolution_reason,
        "corrected_values": obj.corrected_values, "corrected_record_id": obj.corrected_record_id,
        "notified_institutions": len(obj.notified_institutions or []),
        "attachments": [attachments.attachment_dict(a)
                        for a in repository.attachments_of(session, "objection", obj.id)],
        "ledger_indexes": list(obj.ledger_indexes or []),
    }
    if operator:
        out.update(filed_by=obj.filed_by, forwarded_by=obj.forwarded_by, resolved_by=obj.resolved_by,
                   provider_confirmation=obj.provider_confirmation,
                   notified_institution_ids=list(obj.notified_institutions or []))
    return out


# -- forwarding and escalation ------------------------------------------------------------------------------

def forward(session: Session, objection_id: int, actor: str, now: dt.datetime | None = None) -> Objection:
    """The platform forwards the objection to the provincial node (转交省级节点)."""
    now = as_utc(now) if now else utcnow()
    obj = get(session, objection_id)
    if obj.status != "filed":
        raise Conflict(f"异议申诉当前状态为“{STATUS_LABELS.get(obj.status, obj.status)}”，不能再次转交",
                       code="objection_not_filed")
    obj.forwarded_within_deadline = not is_overdue(obj, now)
    obj.status = "forwarded"
    obj.forwarded_at = now
    obj.forwarded_by = (actor or "operator")[:100]
    entry = ledger.append(session, "objection_forwarded", {
        "objection_id": obj.id, "forwarded_at": now.isoformat(), "within_deadline": obj.forwarded_within_deadline,
        "forward_deadline": as_utc(obj.forward_deadline).isoformat()}, parties(obj.enterprise_uscc))
    obj.ledger_indexes = [*(obj.ledger_indexes or []), entry.index]
    session.flush()
    log.info("objection.forwarded", objection_id=obj.id, within_deadline=obj.forwarded_within_deadline)
    return obj


def escalate_overdue(session: Session, now: dt.datetime | None = None) -> list[int]:
    """Periodic job: flag every objection not forwarded in time and alert the operator, once each."""
    now = as_utc(now) if now else utcnow()
    escalated = []
    for obj in repository.overdue_unforwarded(session, now):
        if not is_overdue(obj, now):
            continue
        obj.escalated = True
        obj.escalated_at = now
        message = (f"异议申诉 {obj.id}（企业 {obj.enterprise_uscc}，信息类 {obj.category_code}）未在转交期限"
                   f"（{obj.deadline_date.isoformat()}）内转交省级节点，已升级处理")
        repository.add_operator_alert(session, OperatorAlert(
            kind="objection_overdue", subject=f"objection:{obj.id}", message=message[:500], created_at=now,
            details={"objection_id": obj.id, "uscc": obj.enterprise_uscc,
                     "forward_deadline": _iso_local(obj.forward_deadline)}))
        entry = ledger.append(session, "objection_escalated", {
            "objection_id": obj.id, "escalated_at": now.isoformat(),
            "forward_deadline": as_utc(obj.forward_deadline).isoformat()}, parties(obj.enterprise_uscc))
        obj.ledger_indexes = [*(obj.ledger_indexes or []), entry.index]
        escalated.append(obj.id)
    session.flush()
    if escalated:
        log.warning("objection.escalated", objections=escalated)
    return escalated
