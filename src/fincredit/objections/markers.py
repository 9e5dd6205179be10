"""The two markers other capabilities ask about records: 异议中 (an open objection) and 已修复 (repaired).

Light on purpose (models and SQLAlchemy only), so that disclosure, evaluation and monitoring can
import it without import cycles. ``objections.service`` and ``objections.repair`` re-export these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from fincredit.db import as_utc
from fincredit.objections.models import OPEN_STATUSES, Objection, RepairApplication

UNDER_OBJECTION_LABEL = "异议中"
REPAIRED_LABEL = "已信用修复"
_CHUNK = 5000


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    unique = sorted({int(i) for i in ids if i is not None})
    for start in range(0, len(unique), _CHUNK):
        yield unique[start:start + _CHUNK]


def records_under_objection(session: Session, record_ids: Iterable[int]) -> set[int]:
    """Of ``record_ids``, those with an open objection (filed or forwarded, not yet resolved)."""
    out: set[int] = set()
    for chunk in _chunks(record_ids):
        out.update(session.scalars(select(Objection.record_id).where(
            Objection.record_id.in_(chunk), Objection.status.in_(OPEN_STATUSES))))
    return out


def is_under_objection(session: Session, record_id: int) -> bool:
    return bool(records_under_objection(session, [record_id]))


def open_objection_categories(session: Session, uscc: str) -> set[str]:
    """Categories of the enterprise's records that are under an open objection."""
    return set(session.scalars(select(Objection.category_code).where(
        Objection.enterprise_uscc == uscc, Objection.status.in_(OPEN_STATUSES)).distinct()))


# A condition on ``records`` for set-based readers (evaluation features): repaired records do not count.
NOT_REPAIRED_SQL = ("records.id NOT IN (SELECT repair_applications.record_id FROM repair_applications "
                    "WHERE repair_applications.status = 'approved')")


def repaired_records(session: Session, record_ids: Iterable[int] | None = None, *,
                     usccs: Iterable[str] | None = None, at: dt.datetime | None = None) -> dict[int, dt.datetime]:
    """Record id → repaired_at of approved repairs, among ``record_ids`` and/or enterprises ``usccs``
    (both None: all); with ``at``, only repairs in effect at that moment."""
    stmt = select(RepairApplication.record_id, RepairApplication.repaired_at).where(
        RepairApplication.status == "approved", RepairApplication.repaired_at.is_not(None))
    if usccs is not None:
        stmt = stmt.where(RepairApplication.enterprise_uscc.in_(sorted(set(usccs))))
    rows: list[tuple[int, dt.datetime]] = []
    if record_ids is None:
        rows = list(session.execute(stmt).tuples())
    else:
        for chunk in _chunks(record_ids):
            rows += list(session.execute(stmt.where(RepairApplication.record_id.in_(chunk))).tuples())
    out = {int(rid): as_utc(when) for rid, when in rows}
    if at is not None:
        moment = as_utc(at)
        out = {rid: when for rid, when in out.items() if when <= moment}
    return out


def repaired_record_ids(session: Session, record_ids: Iterable[int] | None = None, *,
                        usccs: Iterable[str] | None = None, at: dt.datetime | None = None) -> set[int]:
    """Ids of records repaired (信用修复 approved): they no longer count in evaluations or public views."""
    return set(repaired_records(session, record_ids, usccs=usccs, at=at))


def mark_reasons(reasons: dict, guideline: Any, disputed_categories: Iterable[str]) -> dict:
    """Evaluation reasons (``engine.explain``) with 异议中 on every indicator fed by a category whose
    record is under an open objection; ``reasons["under_objection"]`` lists all such indicators."""
    disputed = set(disputed_categories)
    if not disputed:
        return reasons
    fed = {ind.id: ind for ind in guideline.indicators if disputed & set(ind.source.categories())}
    out = dict(reasons)
    out["against"] = [_mark(item, fed) for item in reasons.get("against") or []]
    out["for"] = _mark(reasons["for"], fed) if reasons.get("for") else reasons.get("for")
    out["under_objection"] = [
        {"indicator": ind.id, "name": ind.name, "categories": sorted(disputed & set(ind.source.categories())),
         "text": f"{ind.name}：所依据的信用记录{UNDER_OBJECTION_LABEL}，评价结果可能随异议处理结果调整"}
        for ind in fed.values()]
    return out


def _mark(item: dict, fed: dict[str, Any]) -> dict:
    if item.get("indicator") not in fed:
        return item
    return {**item, "under_objection": True, "text": f"{item.get('text', '')}（{UNDER_OBJECTION_LABEL}）"}


# -- marks for the views of disclosure (own credit view, institutions' view) ---------------------------

SHOWN_FORMS = ("raw", "masked_public", "processed")


@dataclass
class Marks:
    """Which of a view's records are under objection (异议中) or repaired (已信用修复)."""

    disputed: set[int] = field(default_factory=set)
    repaired: dict[int, dt.datetime] = field(default_factory=dict)

    def apply(self, section: dict, rows: Iterable[Any]) -> dict:
        """Flag a category section of a view: ``under_objection`` + label on the section and on its
        listed records, ``repaired_at`` on repaired records. Sections not shown (no authorization)
        get nothing, so that a dispute never reveals that a hidden record exists."""
        if section.get("form") not in SHOWN_FORMS:
            return section
        ids = {int(r.id) for r in rows}
        for item in section.get("records") or []:
            rid = item.get("id")
            if rid in self.disputed:
                item.update(under_objection=True, objection_label=UNDER_OBJECTION_LABEL)
            if rid in self.repaired:
                item.update(repaired_at=self.repaired[rid].isoformat(), repair_label=REPAIRED_LABEL)
        if ids & self.disputed:
            section.update(under_objection=True, objection_label=UNDER_OBJECTION_LABEL)
        return section


def _all_ids(records: dict[str, list[Any]]) -> list[int]:
    return [int(r.id) for rows in records.values() for r in rows]


def public_marks(session: Session, records: dict[str, list[Any]],
                 now: dt.datetime | None = None) -> tuple[dict[str, list[Any]], Marks]:
    """For what institutions see: repaired records (as of ``now``) drop out; the rest are marked."""
    ids = _all_ids(records)
    repaired = repaired_record_ids(session, ids, at=now)
    kept = {code: [r for r in rows if int(r.id) not in repaired] for code, rows in records.items()}
    return kept, Marks(records_under_objection(session, _all_ids(kept)))


def own_marks(session: Session, records: dict[str, list[Any]]) -> Marks:
    """For the enterprise's own view: everything stays, marked (异议中, 已信用修复 with repaired_at)."""
    ids = _all_ids(records)
    return Marks(records_under_objection(session, ids), repaired_records(session, ids))


def mark_columns(record_id: ColumnElement[int]) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    """Two columns to add to a query of records, so that records and their markers come in one round
    trip: ``first_repaired_at`` (earliest approved repair's repaired_at, or NULL) and
    ``under_objection`` (an open objection exists). Read them with ``public_marks_of_rows``."""
    repaired = (select(func.min(RepairApplication.repaired_at))
                .where(RepairApplication.record_id == record_id, RepairApplication.status == "approved",
                       RepairApplication.repaired_at.is_not(None))
                .scalar_subquery().label("first_repaired_at"))
    # ``or_`` of equalities rather than ``in_``: an IN list is rendered anew on every execution.
    disputed = exists().where(Objection.record_id == record_id,
                              or_(*(Objection.status == status for status in OPEN_STATUSES))).label("under_objection")
    return repaired, disputed


def public_marks_of_rows(records: dict[str, list[Any]],
                         now: dt.datetime) -> tuple[dict[str, list[Any]], Marks]:
    """``public_marks`` for rows read with ``mark_columns``: repaired records (as of ``now``) drop out;
    the rest are marked 异议中 where an objection is open."""
    moment = as_utc(now)
    kept = {code: [r for r in rows if r.first_repaired_at is None or as_utc(r.first_repaired_at) > moment]
            for code, rows in records.items()}
    return kept, Marks({int(r.id) for rows in kept.values() for r in rows if r.under_objection})
