"""Applying the risk rules to a committed batch (job ``monitoring.evaluate_batch``).

For each new record of the batch: whose is it (the enterprise, or the enterprise whose legal
representative it names), is that enterprise watched, does a rule match (and, for ``transition``
rules, did the previous version not match), and may each watching institution be told — the policy
decision point (``authorization.pdp``) with the use ``post_loan``: public categories need an active
institution plus a live watch basis; non-public ones an active post_loan authorization covering the
category. Alerts are keyed ``rule:record`` (trends: ``rule:enterprise:period``), so a re-run of the
job creates nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.authorization import repository as authorizations
from fincredit.authorization.pdp import decide
from fincredit.catalog.definitions import CategoryDef
from fincredit.catalog.service import get_catalog
from fincredit.collection.models import Batch, Record
from fincredit.db import utcnow
from fincredit.monitoring import repository
from fincredit.monitoring.alerts import Basis, create_alert
from fincredit.monitoring.config import get_monitoring_settings
from fincredit.monitoring.models import WatchlistEntry
from fincredit.monitoring.rules import RULES_PATH, Rule, RuleSet, load_rules, record_matches, render_evidence
from fincredit.monitoring.trends import MEASURES, drop_percent, series
from fincredit.objections.markers import UNDER_OBJECTION_LABEL, is_under_objection
from fincredit.registry.models import Enterprise

EVALUATE_KIND = "monitoring.evaluate_batch"
POST_LOAN = "post_loan"
CHUNK = 2000


@lru_cache(maxsize=4)
def _rules_at(path: str) -> RuleSet:
    return load_rules(Path(path))


def active_rules() -> RuleSet:
    configured = get_monitoring_settings().monitoring_rules_file
    return _rules_at(str(configured or RULES_PATH))


class Context:
    """Per-job caches: enterprises, authorizations, and policy decisions per institution."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.now = utcnow()
        self._auth_status: dict[str, str] = {}
        self._decisions: dict[tuple[int, str, str], Any] = {}
        self._enterprises: dict[str, Enterprise | None] = {}

    def enterprise(self, uscc: str) -> Enterprise | None:
        if uscc not in self._enterprises:
            self._enterprises[uscc] = self.session.get(Enterprise, uscc)
        return self._enterprises[uscc]

    def authorization_active(self, authorization_id: str) -> bool:
        if authorization_id not in self._auth_status:
            auth = authorizations.get(self.session, authorization_id)
            self._auth_status[authorization_id] = auth.effective_status(self.now) if auth else "missing"
        return self._auth_status[authorization_id] == "active"

    def basis(self, institution_id: int, uscc: str, category: str, entries: list[WatchlistEntry]) -> Basis | None:
        """What allows telling this institution about this category of this enterprise, if anything."""
        live = [e for e in entries if e.basis == "loan"
                or (e.authorization_id is not None and self.authorization_active(e.authorization_id))]
        if not live:
            return None
        key = (institution_id, uscc, category)
        if key not in self._decisions:
            principal = Principal(role=Role.institution, subject=str(institution_id))
            self._decisions[key] = decide(self.session, principal, category, uscc, POST_LOAN, self.now)
        decision = self._decisions[key]
        if not decision.allowed:
            return None
        if decision.form == "masked_public":
            by_auth = next((e for e in live if e.basis == "authorization"), None)
            if by_auth is not None:
                return Basis("authorization", authorization_id=by_auth.authorization_id)
            return Basis("loan", loan_id=live[0].loan_id)
        if decision.form == "processed" and decision.authorization_id:
            return Basis("authorization", authorization_id=decision.authorization_id)
        return None


def _issue(ctx: Context, rule: Rule, category: CategoryDef | None, uscc: str, entries: list[WatchlistEntry],
           evidence: str, dedupe_key: str, record: Record | None) -> int:
    created = 0
    by_institution: dict[int, list[WatchlistEntry]] = defaultdict(list)
    for entry in entries:
        by_institution[entry.institution_id].append(entry)
    enterprise = ctx.enterprise(uscc)
    if record is not None and is_under_objection(ctx.session, record.id):  # the enterprise disputes it
        evidence = f"{evidence}（该记录{UNDER_OBJECTION_LABEL}）"
    for institution_id, group in sorted(by_institution.items()):
        basis = ctx.basis(institution_id, uscc, category.code if category else "base", group)
        if basis is None:
            continue
        alert = create_alert(ctx.session, institution_id=institution_id, kind="risk", dedupe_key=dedupe_key,
                             severity=rule.severity, title=rule.title, evidence=evidence, uscc=uscc,
                             enterprise_name=enterprise.name if enterprise else None, rule_id=rule.id,
                             rule_version=rule.version, category_code=category.code if category else None,
                             record_id=record.id if record else None, basis=basis,
                             occurred_at=record.received_at if record else None)
        created += alert is not None
    return created


def _targets(session: Session, rules: list[Rule], records: list[Record]) -> dict[int, dict[str, list[str]]]:
    """record id → {"enterprise": [uscc], "legal_representative": [uscc, …]}."""
    person_keys: set[str] = set()
    if any("legal_representative" in r.subjects for r in rules):
        for rec in records:
            if rec.subject_kind == "person":
                person_keys.add(rec.subject_key)
                person_keys.update(str(k) for k in rec.person_keys or [])
    by_rep = repository.enterprises_by_legal_rep(session, sorted(person_keys)) if person_keys else {}
    out: dict[int, dict[str, list[str]]] = {}
    for rec in records:
        own = [rec.subject_key] if rec.subject_kind == "enterprise" else []
        keys = {rec.subject_key, *(str(k) for k in rec.person_keys or [])} if rec.subject_kind == "person" else set()
        reps = sorted({u for k in keys for u in by_rep.get(k, [])})
        out[rec.id] = {"enterprise": own, "legal_representative": reps}
    return out


def _trend(ctx: Context, rule: Rule, uscc: str) -> tuple[str, float] | None:
    measure = MEASURES[rule.measure or ""]
    rows = repository.history(ctx.session, measure.category, uscc, current_only=measure.period_field is not None)
    points = series(measure, [r.data for r in rows])
    found = drop_percent(measure, points, rule.compare or "lag", rule.periods or 1)
    if found is None or found[1] < (rule.min_drop_percent or 100):
        return None
    return found


def evaluate_records(ctx: Context, rules: list[Rule], category: CategoryDef, records: list[Record]) -> int:
    # A record superseded since its batch still happened (the job may run late); one corrected by a
    # later row of the same file did not.
    replaced = repository.superseding_batches(ctx.session, [r.superseded_by_id for r in records
                                                            if not r.is_current and r.superseded_by_id])
    records = [r for r in records if r.is_current or replaced.get(int(r.superseded_by_id or 0)) != r.batch_id]
    targets = _targets(ctx.session, rules, records)
    watched: dict[str, list[WatchlistEntry]] = defaultdict(list)
    for entry in repository.active_entries_for(ctx.session, [u for t in targets.values() for us in t.values()
                                                             for u in us]):
        watched[entry.uscc].append(entry)
    if not watched:
        return 0
    candidates = [r for r in records if any(u in watched for us in targets[r.id].values() for u in us)]
    needs_previous = [r.id for r in candidates] if any(rule.transition for rule in rules) else []
    previous = repository.previous_versions(ctx.session, needs_previous) if needs_previous else {}
    created = 0
    for rec in candidates:
        for rule in rules:
            usccs = sorted({u for who in rule.subjects for u in targets[rec.id][who] if u in watched})
            if not usccs:
                continue
            if rule.type == "record":
                if not record_matches(rule, rec.data):
                    continue
                old = previous.get(rec.id)
                if rule.transition and old is not None and record_matches(rule, old.data):
                    continue
                evidence = render_evidence(rule, rec.data, category)
                for uscc in usccs:
                    created += _issue(ctx, rule, category, uscc, watched[uscc], evidence, f"{rule.id}:{rec.id}", rec)
            elif rule.type == "trend":
                for uscc in usccs:
                    found = _trend(ctx, rule, uscc)
                    if found is None:
                        continue
                    period, drop = found
                    evidence = render_evidence(rule, {"periods": rule.periods, "drop": int(drop)})
                    created += _issue(ctx, rule, category, uscc, watched[uscc], evidence,
                                      f"{rule.id}:{uscc}:{period}", rec)
    return created


def evaluate_batch(session: Session, payload: dict[str, Any]) -> None:
    """Job: evaluate the rules of the batch's category over its new records."""
    batch = session.get(Batch, int(payload["batch_id"]))
    if batch is None or batch.status == "rejected":
        return
    rules = [r for r in active_rules().for_category(batch.category_code) if r.type in ("record", "trend")]
    category = get_catalog(session).categories.get(batch.category_code)
    if not rules or category is None:
        return
    ctx = Context(session)
    after = 0
    while True:
        records = repository.batch_records(session, batch.id, after, CHUNK)
        if not records:
            return
        after = records[-1].id
        evaluate_records(ctx, rules, category, records)
