"""The grade-downgrade rule (信用评价等级下调), read from the evaluation history.

A periodic scan reads evaluations newer than its cursor; for a watched enterprise whose grade fell
by at least ``min_steps`` against its previous evaluation, each institution watching it under an
active post_loan authorization is alerted (an evaluation is a processed product of non-public
information, so a loan basis alone does not suffice). The evaluation capability is optional: when
its history table is absent the scan does nothing.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from fincredit.db import as_utc, utcnow
from fincredit.institutions.service import is_institution_active
from fincredit.monitoring import repository
from fincredit.monitoring.alerts import Basis, create_alert
from fincredit.monitoring.evaluate import Context, active_rules
from fincredit.monitoring.models import WatchlistEntry
from fincredit.monitoring.rules import render_evidence

CURSOR = "evaluation_seen_at"
FALLBACK_ORDER = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")


@lru_cache
def grade_order() -> tuple[str, ...]:
    """Grades from best to worst, as the published guideline lists them."""
    try:
        module = importlib.import_module("fincredit.evaluation")
        path = Path(module.__file__ or "").parent / "guideline.yaml"
        grades = [g["grade"] for g in yaml.safe_load(path.read_text(encoding="utf-8"))["grades"]]
        return tuple(grades) or FALLBACK_ORDER
    except (OSError, KeyError, TypeError, ImportError, yaml.YAMLError):
        return FALLBACK_ORDER


def evaluation_model() -> Any | None:
    """The evaluation history model (``uscc``, ``grade`` and a time column), if the capability has one."""
    try:
        module = importlib.import_module("fincredit.evaluation.models")
    except ModuleNotFoundError:
        return None
    model = getattr(module, "Evaluation", None)
    if model is None or not all(hasattr(model, a) for a in ("uscc", "grade")) or _time_column(model) is None:
        return None
    return model


def _time_column(model: Any) -> Any | None:
    for name in ("evaluated_at", "created_at"):
        if hasattr(model, name):
            return getattr(model, name)
    return None


def downgrade_steps(old: str | None, new: str | None) -> int:
    order = grade_order()
    if old not in order or new not in order:
        return 0
    return order.index(new) - order.index(old)


def _after(model: Any, when: Any, cursor: str) -> Any:
    """Rows after the cursor ``<ISO time>|<id>`` in (time, id) order."""
    stamp, _, last_id = cursor.partition("|")
    since = dt.datetime.fromisoformat(stamp)
    return or_(when > since, and_(when == since, model.id > int(last_id or 0)))


def scan(session: Session) -> int:
    """Periodic: alert downgrades among evaluations made since the last scan (watched enterprises only)."""
    model = evaluation_model()
    rules = active_rules().grade_rules
    if model is None or not rules:
        return 0
    when = _time_column(model)
    now = utcnow()
    cursor = repository.cursor(session, CURSOR, "")
    if not cursor:  # the first scan starts now: history before monitoring existed is not news
        repository.set_cursor(session, CURSOR, f"{now.isoformat()}|0", now)
        return 0
    watched_usccs = select(WatchlistEntry.uscc).where(WatchlistEntry.active.is_(True),
                                                      WatchlistEntry.basis == "authorization")
    rows = list(session.scalars(select(model).where(_after(model, when, cursor), model.uscc.in_(watched_usccs))
                                .order_by(when, model.id).limit(5000)))
    if not rows:
        return 0
    watched: dict[str, list] = defaultdict(list)
    for entry in repository.active_entries_for(session, [r.uscc for r in rows]):
        if entry.basis == "authorization":
            watched[entry.uscc].append(entry)
    ctx = Context(session)
    created = 0
    for row in rows:
        stamp = getattr(row, when.key)
        previous = session.scalars(select(model).where(model.uscc == row.uscc, model.id != row.id,
                                                       or_(when < stamp, and_(when == stamp, model.id < row.id)))
                                   .order_by(when.desc(), model.id.desc()).limit(1)).first()
        steps = downgrade_steps(previous.grade if previous else None, row.grade)
        for rule in rules:
            if previous is None or steps < (rule.min_steps or 1):
                continue
            evidence = render_evidence(rule, {"from_grade": previous.grade, "to_grade": row.grade})
            for entry in watched[row.uscc]:
                if not is_institution_active(session, entry.institution_id) or entry.authorization_id is None \
                        or not ctx.authorization_active(entry.authorization_id):
                    continue
                enterprise = ctx.enterprise(row.uscc)
                created += create_alert(
                    session, institution_id=entry.institution_id, kind="risk", severity=rule.severity,
                    dedupe_key=f"{rule.id}:{row.uscc}:{row.id}", title=rule.title, evidence=evidence, uscc=row.uscc,
                    enterprise_name=enterprise.name if enterprise else None, rule_id=rule.id,
                    rule_version=rule.version, basis=Basis("authorization", authorization_id=entry.authorization_id),
                    occurred_at=stamp) is not None
    last = rows[-1]
    repository.set_cursor(session, CURSOR, f"{as_utc(getattr(last, when.key)).isoformat()}|{last.id}", now)
    return created
