"""Credit repair (信用修复): applications, the operator's decision, and what a repair changes. Never commits.

An enterprise applies to repair an eligible negative record about it (``repair_rules``: category
and minimum publicity period) with a commitment letter (信用修复承诺书) and proof of correction
(attachments, checked like objection attachments). The operator approves or refuses with a reason.
An approved repair takes effect at ``repaired_at``: from then the record no longer counts in the
basic evaluation (``markers.NOT_REPAIRED_SQL`` in evaluation's feature reads) nor in the public
views institutions get (``disclosure.views``); the enterprise's own credit view and the history keep
it, with ``repaired_at``. Ledger kinds: ``repair_applied``, ``repair_decided``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.catalog.service import get_catalog
from fincredit.collection.shaping import reveal
from fincredit.crypto import sm3_hex
from fincredit.db import as_utc, utcnow
from fincredit.errors import Conflict, NotFound, Unprocessable
from fincredit.ledger import service as ledger
from fincredit.logs import get_logger
from fincredit.objections import attachments, repository
from fincredit.objections.calendar import SHANGHAI
from fincredit.objections.markers import repaired_record_ids, repaired_records
from fincredit.objections.models import RepairApplication
from fincredit.objections.repair_rules import NotEligible, check_eligible
from fincredit.objections.resolution import affected_enterprises, reevaluate
from fincredit.objections.service import parties, record_about

__all__ = ["apply", "decide", "repair_dict", "repaired_record_ids", "repaired_records"]

log = get_logger(__name__)

MAX_COMMITMENT = 10_000
MIN_COMMITMENT = 10
STATUS_LABELS = {"pending": "待审核", "approved": "已修复", "refused": "未通过"}


def _not_eligible(code: str, message: str, details: dict | None = None) -> Unprocessable:
    return Unprocessable(f"不符合信用修复条件：{message}", code=code, details=details)


def apply(session: Session, me: Principal, *, record_id: int, commitment: str, category: str | None = None,
          files: Sequence[attachments.IncomingFile] = (), now: dt.datetime | None = None) -> RepairApplication:
    """File a repair application; 422 with the reason when the record is not eligible."""
    now = as_utc(now) if now else utcnow()
    commitment = (commitment or "").strip()
    if len(commitment) < MIN_COMMITMENT or len(commitment) > MAX_COMMITMENT:
        raise Unprocessable(f"请填写信用修复承诺书（{MIN_COMMITMENT}～{MAX_COMMITMENT} 字）", code="commitment_required")
    try:
        record = record_about(session, me.subject, record_id)
    except NotFound as exc:
        raise _not_eligible("not_own_record", "记录不存在或不属于本企业") from exc
    if category and category.strip() != record.category_code:
        raise _not_eligible("category_mismatch", f"记录 {record_id} 不属于信息类“{category.strip()[:32]}”")
    if not record.is_current:
        raise _not_eligible("record_not_current", "该记录已被更新或更正，请针对当前记录申请")
    cat = get_catalog(session).category(record.category_code)
    try:
        rule = check_eligible(cat.code, reveal(cat, record.data), now.astimezone(SHANGHAI).date())
    except NotEligible as exc:
        raise _not_eligible(exc.code, exc.message, exc.details) from exc
    checked = attachments.check_files(files, required=True)
    existing = repository.live_repair_for(session, record.id)
    if existing is not None:
        state = "已修复" if existing.status == "approved" else "正在审核"
        raise Conflict(f"该记录的信用修复申请{state}（编号 {existing.id}）", code="repair_already_exists",
                       details={"repair_id": existing.id})
    row = RepairApplication(enterprise_uscc=me.subject, category_code=record.category_code, record_id=record.id,
                            commitment=commitment, rule=rule.rule_text[:300], eligible_from=rule.eligible_from,
                            status="pending", applied_at=now, ledger_indexes=[])
    session.add(row)
    session.flush()
    stored = attachments.store(session, "repair", row.id, checked)
    entry = ledger.append(session, "repair_applied", {
        "repair_id": row.id, "uscc": row.enterprise_uscc, "category": row.category_code, "record_id": record.id,
        "record_content_hash": record.content_hash, "commitment_sm3": sm3_hex(commitment.encode()),
        "attachments": attachments.ledger_items(stored), "eligible_from": rule.eligible_from.isoformat()},
        parties(row.enterprise_uscc))
    row.ledger_indexes = [entry.index]
    session.flush()
    return row


def decide(session: Session, repair_id: int, *, actor: str, approved: bool, reason: str,
           now: dt.datetime | None = None) -> RepairApplication:
    """The operator approves (the record stops counting from now) or refuses, with a reason."""
    now = as_utc(now) if now else utcnow()
    row = get(session, repair_id)
    if row.status != "pending":
        raise Conflict(f"该申请已审核（{STATUS_LABELS.get(row.status, row.status)}）", code="repair_already_decided")
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_COMMITMENT:
        raise Unprocessable("请填写审核意见，企业将看到该意见", code="reason_required")
    record = repository.get_record(session, row.record_id)
    if approved and (record is None or not record.is_current):
        raise Conflict("该记录已被更新或更正，原申请不能再批准，请退回并说明", code="record_not_current")
    row.status = "approved" if approved else "refused"
    row.decided_at, row.decided_by, row.decision_reason = now, (actor or "operator")[:100], reason
    row.repaired_at = now if approved else None
    session.flush()
    if approved and record is not None:
        reevaluate(session, affected_enterprises(session, row.enterprise_uscc, record), f"repair:{row.id}")
    entry = ledger.append(session, "repair_decided", {
        "repair_id": row.id, "approved": approved, "reason_sm3": sm3_hex(reason.encode()), "record_id": row.record_id,
        "decided_by": row.decided_by, "repaired_at": now.isoformat() if approved else None},
        parties(row.enterprise_uscc))
    row.ledger_indexes = [*(row.ledger_indexes or []), entry.index]
    session.flush()
    log.info("repair.decided", repair_id=row.id, approved=approved)
    return row


def get(session: Session, repair_id: int) -> RepairApplication:
    row = repository.get_repair(session, repair_id)
    if row is None:
        raise NotFound("信用修复申请不存在", code="repair_not_found")
    return row


def get_own(session: Session, me: Principal, repair_id: int) -> RepairApplication:
    row = repository.get_repair(session, repair_id)
    if row is None or row.enterprise_uscc != me.subject:
        raise NotFound("信用修复申请不存在", code="repair_not_found")
    return row


def list_own(session: Session, me: Principal, limit: int = 100, offset: int = 0) -> list[RepairApplication]:
    return repository.repairs_of(session, me.subject, limit, offset)


def queue(session: Session, status: str | None = "pending", limit: int = 100, offset: int = 0) -> list[RepairApplication]:
    if status not in (None, "pending", "approved", "refused"):
        raise Unprocessable("状态筛选可选 pending、approved、refused", code="bad_status_filter")
    return repository.repair_queue(session, status, limit, offset)


def _local(value: dt.datetime | None) -> str | None:
    return as_utc(value).astimezone(SHANGHAI).isoformat() if value else None


def repair_dict(session: Session, row: RepairApplication, *, operator: bool = False) -> dict:
    category = get_catalog(session).categories.get(row.category_code)
    out = {
        "id": row.id, "uscc": row.enterprise_uscc, "category": row.category_code,
        "category_name": category.name if category else None, "record_id": row.record_id,
        "commitment": row.commitment, "rule": row.rule, "eligible_from": row.eligible_from.isoformat(),
        "status": row.status, "status_label": STATUS_LABELS.get(row.status, row.status),
        "applied_at": _local(row.applied_at), "decided_at": _local(row.decided_at),
        "decision_reason": row.decision_reason, "repaired_at": _local(row.repaired_at),
        "attachments": [attachments.attachment_dict(a) for a in repository.attachments_of(session, "repair", row.id)],
        "ledger_indexes": list(row.ledger_indexes or []),
    }
    if operator:
        out["decided_by"] = row.decided_by
    return out
