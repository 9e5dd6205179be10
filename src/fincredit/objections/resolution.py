"""Resolving an objection at the node (异议处理): uphold, or correct the record. Never commits.

``resolve`` ends a forwarded objection with an outcome, the reason the enterprise will read and the
provider's confirmation (the 责任单位's written answer). ``corrected`` / ``partly_corrected`` write
a superseding record validated against its category with collection's validators; the old record
stays as history (``is_current = false``, ``superseded_by_id``). Lineage of the new record:
``fetched_via = "objection"``, ``provider_code`` = the category's provider, no batch; the objection
row names it (``corrected_record_id``) with the operator (``resolved_by``) and the confirmation.

A correction then re-evaluates the enterprises concerned (``evaluation.service.evaluate_enterprises``)
and notifies every institution that received the old value — those with a disclosure covering the
category about the enterprise since the old record was received, and those alerted from the record —
through monitoring's notices (``GET /api/v1/alerts``, webhook ``notice.record_corrected``). The
``objection_resolved`` ledger entry names the enterprise, the operator and those institutions.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.catalog.definitions import CategoryDef, normalize_name
from fincredit.catalog.service import get_catalog
from fincredit.collection.ingest import RecordWriter
from fincredit.collection.models import Record
from fincredit.collection.repository import lock_category
from fincredit.collection.shaping import RecordShaper, reveal
from fincredit.collection.validators import compile_fields
from fincredit.crypto import sm3_hex
from fincredit.db import as_utc, utcnow
from fincredit.errors import Conflict, Unprocessable
from fincredit.ledger import service as ledger
from fincredit.logs import get_logger
from fincredit.monitoring.alerts import create_alert
from fincredit.objections import repository
from fincredit.objections.calendar import SHANGHAI
from fincredit.objections.models import Objection
from fincredit.objections.service import OUTCOME_LABELS, get, parties
from fincredit.registry.models import Enterprise
from fincredit.registry.service import upsert_from_base_rows

log = get_logger(__name__)

OUTCOMES = ("corrected", "partly_corrected", "upheld")
CORRECTING = ("corrected", "partly_corrected")
NOTICE_KIND = "record_corrected"
NOTICE_TITLE = "信用信息已更正"
MAX_TEXT = 5000


def resolve(session: Session, objection_id: int, *, actor: str, outcome: str, reason: str,
            provider_confirmation: str, corrected_values: dict[str, Any] | None = None,
            now: dt.datetime | None = None) -> Objection:
    now = as_utc(now) if now else utcnow()
    obj = get(session, objection_id)
    if obj.status == "resolved":
        raise Conflict("该异议申诉已办结", code="objection_already_resolved")
    if obj.status != "forwarded":
        raise Conflict("异议申诉尚未转交省级节点，请先转交", code="objection_not_forwarded")
    if outcome not in OUTCOMES:
        raise Unprocessable(f"未知的处理结果“{str(outcome)[:20]}”（可选 corrected、partly_corrected、upheld）",
                            code="bad_outcome")
    reason, confirmation = (reason or "").strip(), (provider_confirmation or "").strip()
    if not reason or len(reason) > MAX_TEXT:
        raise Unprocessable(f"请填写处理理由（不超过 {MAX_TEXT} 字），企业将看到该理由", code="reason_required")
    if not confirmation or len(confirmation) > 500:
        raise Unprocessable("请填写数据提供单位的确认意见（如复核函文号，不超过 500 字）",
                            code="provider_confirmation_required")
    values = corrected_values or {}
    if outcome in CORRECTING and not values:
        raise Unprocessable("更正结论必须给出更正后的字段值 corrected_values", code="corrected_values_required")
    if outcome == "upheld" and values:
        raise Unprocessable("维持原记录时不能给出更正值", code="corrected_values_not_allowed")
    old = new = None
    notified: list[int] = []
    if outcome in CORRECTING:
        old, new = apply_correction(session, obj, values, now)
        obj.corrected_record_id = new.id
        obj.corrected_values = {k: _json_safe(v) for k, v in values.items()}
    obj.status, obj.outcome, obj.resolved_at = "resolved", outcome, now
    obj.resolved_by, obj.resolution_reason, obj.provider_confirmation = (actor or "operator")[:100], reason, confirmation
    session.flush()
    if old is not None and new is not None:
        reevaluate(session, affected_enterprises(session, obj.enterprise_uscc, new), f"objection:{obj.id}")
        notified = notify_recipients(session, obj, old, new, now)
        obj.notified_institutions = notified
    entry = ledger.append(session, "objection_resolved", {
        "objection_id": obj.id, "outcome": outcome, "reason_sm3": sm3_hex(reason.encode()),
        "provider_confirmation": confirmation, "resolved_by": obj.resolved_by, "record_id": obj.record_id,
        "superseded_record_id": old.id if old else None, "corrected_record_id": obj.corrected_record_id,
        "old_content_hash": old.content_hash if old else None, "new_content_hash": new.content_hash if new else None,
        "corrected_fields": sorted(values), "institutions_notified": notified}, parties(obj.enterprise_uscc, notified))
    obj.ledger_indexes = [*(obj.ledger_indexes or []), entry.index]
    session.flush()
    log.info("objection.resolved", objection_id=obj.id, outcome=outcome, notified=len(notified))
    return obj


def _json_safe(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None)) else json.loads(json.dumps(value, default=str))


def _editable_values(cat: CategoryDef, record: Record) -> dict[str, Any]:
    """The record's plain values in the form the validators accept (a range as its text)."""
    return {k: (v["text"] if isinstance(v, dict) and "text" in v else v) for k, v in reveal(cat, record.data).items()}


def corrected_row(cat: CategoryDef, record: Record, values: dict[str, Any]) -> dict[str, Any]:
    """The record's values with the corrections applied, validated (422 with per-field details)."""
    header_map = cat.header_map()
    unknown = [k for k in values if normalize_name(str(k)) not in header_map]
    if unknown:
        raise Unprocessable(f"信息类“{cat.name}”没有这些字段：{'、'.join(str(k)[:40] for k in unknown)}",
                            code="unknown_field", details={"fields": unknown})
    changes = {header_map[normalize_name(str(k))]: v for k, v in values.items()}
    raw = _editable_values(cat, record)
    subject = cat.subject_field.name
    if subject in changes and str(changes[subject]).strip().upper() != str(raw.get(subject, "")).strip().upper():
        raise Unprocessable(f"不能通过异议更正改变信用主体（字段“{subject}”）", code="subject_field_immutable")
    raw.update(changes)
    clean, errors = compile_fields(cat.fields).validate(raw)
    if errors or clean is None:
        raise Unprocessable("更正后的记录未通过校验：" + "；".join(e.message for e in errors[:5]),
                            code="invalid_correction", details=[e.as_dict() for e in errors])
    return clean


def apply_correction(session: Session, obj: Objection, values: dict[str, Any],
                     now: dt.datetime) -> tuple[Record, Record]:
    """Write the corrected record superseding the current version of the objected one."""
    cat = get_catalog(session).category(obj.category_code)
    record = repository.get_record(session, obj.record_id)
    if record is None:
        raise Conflict("被异议的记录已不存在", code="record_missing")
    lock_category(session, cat.code)
    target = record if record.is_current else repository.current_version(session, cat.code, record.natural_key_hash)
    if target is None:
        raise Conflict("被异议的记录已没有当前版本（已被删除或替代），请以维持原记录办结并说明",
                       code="record_not_current")
    clean = corrected_row(cat, target, values)
    shaped = RecordShaper(cat).shape(clean)
    if shaped.content_hash == target.content_hash:
        raise Unprocessable("更正后的内容与当前记录相同", code="correction_unchanged")
    if shaped.subject_key != target.subject_key:
        raise Unprocessable("不能通过异议更正改变信用主体", code="subject_field_immutable")
    if (shaped.natural_key_hash != target.natural_key_hash
            and repository.current_version(session, cat.code, shaped.natural_key_hash) is not None):
        raise Conflict("更正后的记录与另一条当前记录的关键字段相同", code="natural_key_conflict")
    if shaped.natural_key_hash != target.natural_key_hash:  # the writer supersedes by natural key only
        target.is_current = False
        target.superseded_at = now
        session.flush()
    # Written exactly as collection writes records (same JSON text, same id allocation).
    writer = RecordWriter(session, category_code=cat.code, provider_code=cat.provider, batch_id=None, now=now,
                          fetched_via="objection", keep_ids=True)
    writer.add(shaped)
    new_id = writer.finish().record_ids[0]
    session.expire(target)
    new = session.get(Record, new_id)
    assert new is not None
    target.superseded_by_id = new.id
    target.superseded_at = now
    if cat.code == "base":  # the registry follows corrections of the registration base
        upsert_from_base_rows(session, [(new.id, clean)])
    session.flush()
    return target, new


def affected_enterprises(session: Session, uscc: str, record: Record) -> list[str]:
    """The enterprise, and for a record about a person every enterprise that person represents."""
    usccs = {uscc}
    if record.subject_kind == "person":
        usccs.update(session.scalars(select(Enterprise.uscc).where(Enterprise.legal_rep_key == record.subject_key)))
    return sorted(usccs)


def reevaluate(session: Session, usccs: list[str], triggered_by: str) -> None:
    """Re-run the basic evaluation of these enterprises in the caller's transaction."""
    try:
        from fincredit.evaluation.service import evaluate_enterprises
    except ImportError:  # evaluation not installed in this build
        log.warning("objection.reevaluate_unavailable", usccs=usccs)
        return
    evaluate_enterprises(session, usccs, triggered_by=triggered_by)


def notify_recipients(session: Session, obj: Objection, old: Record, new: Record, now: dt.datetime) -> list[int]:
    """Tell every institution that received the old value that it was corrected (once each)."""
    since = as_utc(old.received_at)
    institutions = repository.institutions_disclosed(session, obj.enterprise_uscc, obj.category_code, since)
    institutions |= repository.institutions_alerted(session, old.id)
    if not institutions:
        return []
    enterprise = repository.get_enterprise(session, obj.enterprise_uscc)
    name = enterprise.name if enterprise else obj.enterprise_uscc
    category = get_catalog(session).categories.get(obj.category_code)
    label = category.name if category else obj.category_code
    evidence = (f"贵机构自 {since.astimezone(SHANGHAI):%Y-%m-%d} 起获取过的{name}“{label}”信息，经企业异议申诉和"
                f"数据提供单位确认已更正（{OUTCOME_LABELS[obj.outcome or 'corrected']}，异议编号 {obj.id}）。"
                f"请重新查询以使用更正后的信息，并据此复核相关授信或评价。")
    notified = []
    for institution_id in sorted(institutions):
        create_alert(session, institution_id=institution_id, kind=NOTICE_KIND, dedupe_key=f"objection:{obj.id}:corrected",
                     severity="info", title=NOTICE_TITLE, evidence=evidence, uscc=obj.enterprise_uscc,
                     enterprise_name=name, category_code=obj.category_code, record_id=new.id, occurred_at=now)
        notified.append(institution_id)
    return notified
