"""Recording disclosures: one function, ``disclose``, through which every response about an enterprise
to another party passes. Never commits.

``disclose`` writes the Disclosure row, the authorization uses and the ledger entries (the
disclosure, ``authorization.used`` per authorization relied on, ``authorization.expired`` for
artefacts found expired), and only then returns the response body. If anything cannot be written it
raises 503 ``disclosure_not_recorded`` and nothing is disclosed.

Where they are written: on PostgreSQL (``FINCREDIT_LEDGER_GROUP_COMMIT``, default on) by the process's
ledger group appender (``ledger/group.py``), in one transaction with the other disclosures queued
meanwhile, committed before ``disclose`` returns; the caller's own transaction only reads. On SQLite,
when the setting is off, or when the caller's transaction has already written (see ``_group_commit``),
in the caller's transaction, which the endpoint commits before it answers. A use is written only while
its artefact is still in force: a revocation committed after the PDP's read fails the disclosure.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.authorization import repository as authorization_repository
from fincredit.authorization import service as authorization_service
from fincredit.authorization.pdp import Decision, PartyContext, institution_id_of
from fincredit.authorization.rules import GENERAL_QUERY
from fincredit.crypto import sm3_hex
from fincredit.db import as_utc, utcnow
from fincredit.disclosure import repository
from fincredit.disclosure.config import get_disclosure_settings
from fincredit.disclosure.models import Disclosure, OperatorAlert
from fincredit.errors import DomainError, NotFound
from fincredit.ledger import group
from fincredit.ledger import service as ledger
from fincredit.ledger.merkle import canonical_json

# Other capabilities (financing) register (session, institution_id, uscc) -> bool: "has a loan".
RELATION_CHECKS: list[Callable[[Session, int, str], bool]] = []


@dataclass
class DisclosureDraft:
    """A response about an enterprise, built but not yet recorded (nothing may be sent before)."""

    party: Principal
    subject_uscc: str
    kind: str  # enterprise_view | verification
    purpose: str | None
    decisions: dict[str, Decision]
    content: dict
    fields: dict[str, list[str]] = field(default_factory=dict)
    # What the PDP read (institution, authorizations), so that recording reads nothing again.
    context: PartyContext | None = None


def party_ref(party: Principal) -> str:
    if party.role == Role.admin:
        return "admin"
    prefix = "institution" if party.role in (Role.institution, Role.platform) else party.role.value
    return f"{prefix}:{party.subject}"


def receipt_block(row: Disclosure) -> dict:
    index = row.ledger_index
    return {"id": row.id, "ledger_index": index, "leaf_hash": row.leaf_hash,
            "proof": f"/api/v1/ledger/entries/{index}/proof", "receipt": f"/api/v1/ledger/entries/{index}/receipt",
            "recorded_at": as_utc(row.created_at).isoformat()}


def _related(session: Session, party: Principal, uscc: str, now: dt.datetime,
             context: PartyContext | None = None) -> bool:
    inst = institution_id_of(party)
    if inst is None:
        return True
    auths = context.authorizations if context is not None else authorization_repository.between(session, uscc, inst)
    if any(a.effective_status(now) == "active" for a in auths):
        return True
    return any(check(session, inst, uscc) for check in RELATION_CHECKS)


def check_scraping(session: Session, party: Principal, now: dt.datetime,
                   about: str | None = None) -> OperatorAlert | None:
    """Alert the operator when an institution queries many enterprises it has no relation with;
    ``about`` is the enterprise of an unrelated disclosure being recorded (counted with the others)."""
    settings = get_disclosure_settings()
    since = now - dt.timedelta(hours=settings.scrape_alert_window_hours)
    count = repository.unrelated_subjects_since(session, party.role.value, party.subject, since, also=about)
    ref = party_ref(party)
    if count < settings.scrape_alert_threshold or repository.recent_alert(session, "possible_scraping", ref, since):
        return None
    alert = OperatorAlert(kind="possible_scraping", subject=ref, created_at=now, details={
        "distinct_enterprises": count, "window_hours": settings.scrape_alert_window_hours,
        "threshold": settings.scrape_alert_threshold},
        message=f"接入机构（{ref}）在 {settings.scrape_alert_window_hours} 小时内查询了 {count} 家"
                f"既无授权也无贷款关系的企业，疑似批量爬取")
    repository.add_alert(session, alert)
    return alert


_CLEAN = text("SELECT txid_current_if_assigned() IS NULL")


def _group_commit(session: Session) -> bool:
    """Whether this disclosure goes through the ledger's group appender: on PostgreSQL, when enabled,
    and only when the caller's transaction has written nothing (no pending ORM change, no transaction id
    assigned — a write or a row lock assigns one). The group commits in a transaction of its own, so a
    caller whose transaction already wrote would see its writes committed apart from its disclosure, or
    even hold a row lock the group waits on while it waits for the group: such a caller (a token's
    periodic last-use write, a CLI command) records directly, in its own transaction, as before."""
    if session.get_bind().dialect.name != "postgresql" or not get_disclosure_settings().ledger_group_commit:
        return False
    if session.new or session.dirty or session.deleted:
        return False
    return bool(session.execute(_CLEAN).scalar())


def _record(session: Session, draft: DisclosureDraft, request_id: str | None, now: dt.datetime) -> dict:
    """Plain statements, no unit of work. Everything that does not need a ledger index is read and
    built first (an unrelated query's scraping check too), then recorded in one of two ways:

    - through the ledger's group appender (PostgreSQL, ``_group_commit``): the uses, the expiry notes,
      the entries (serialized here) and the disclosure row travel as one job; the appender writes them
      with other requests' jobs in one transaction under one ledger lock, and this waits for that
      transaction's commit (bounded: ``FINCREDIT_LEDGER_GROUP_TIMEOUT_SECONDS``);
    - directly, in the caller's transaction (SQLite, or as ``_group_commit`` explains): the uses, then
      the ledger's index reservation, which takes the append lock and returns the tree's compact range,
      then the ledger entries and nodes with the disclosure row and its index. The lock is held from
      the reservation to the caller's commit, which must follow at once.

    Either way each use is guarded (``authorization_service.apply_uses``): an artefact revoked or
    expired since the PDP read it fails the disclosure, with nothing written for it."""
    decisions, context = draft.decisions, draft.context
    shown = [c for c, d in decisions.items() if d.allowed and d.form != "none"]
    auth_ids = sorted({d.authorization_id for d in decisions.values() if d.authorization_id})
    expired = sorted({i for d in decisions.values() for i in d.expired_authorization_ids})
    related = bool(auth_ids) or _related(session, draft.party, draft.subject_uscc, now, context)
    inst = institution_id_of(draft.party)
    party_name = (context.institution_name if context is not None and context.institution is not None
                  else repository.institution_name(session, inst))
    values = {
        "id": str(uuid.uuid4()), "kind": draft.kind, "party_role": draft.party.role.value,
        "party_subject": draft.party.subject, "party_name": party_name[:200], "subject_uscc": draft.subject_uscc,
        "categories": shown, "forms": {c: d.form for c, d in decisions.items()},
        "fields": {c: draft.fields.get(c, []) for c in shown}, "authorization_ids": auth_ids,
        "purpose": draft.purpose, "request_id": request_id, "content_sm3": sm3_hex(canonical_json(draft.content)),
        "related": related, "created_at": now}
    party = party_ref(draft.party)
    parties = sorted({f"enterprise:{draft.subject_uscc}", party})
    items: list[tuple] = [("disclosure", {
        "disclosure_id": values["id"], "kind": draft.kind, "party": party, "subject_uscc": draft.subject_uscc,
        "forms": values["forms"], "fields": values["fields"], "authorization_ids": auth_ids,
        "purpose": draft.purpose, "request_id": request_id, "content_sm3": values["content_sm3"]}, parties)]
    uses: list[authorization_service.UseWrite] = []
    for slot, auth_id in enumerate(auth_ids):
        used = sorted(c for c, d in decisions.items() if d.authorization_id == auth_id)
        use, item = authorization_service.use_statements(
            session, auth_id, party=draft.party, use=draft.purpose or GENERAL_QUERY, kind=draft.kind,
            categories=used, disclosure_id=values["id"], request_id=request_id, now=now,
            authorization=context.authorization(auth_id) if context is not None else None, slot=slot)
        uses.append(use)
        items.append(item)
    grouped = _group_commit(session)
    if grouped:  # the expiry notes travel with the job, not in this transaction
        expiry_writes, expiry_items = authorization_service.expiry_statements(session, expired, now)
    else:
        expiry_writes, expiry_items = [], authorization_service.note_expired(session, expired, now)
    items += expiry_items

    def disclosure_row(entries: list) -> list:  # sent with the ledger entries, complete with its index
        values.update(ledger_index=entries[0].index, leaf_hash=bytes(entries[0].leaf_hash).hex())
        return [repository.disclosure_insert(values)]

    if not related:  # before the ledger lock: its reads and the alert need no index
        check_scraping(session, draft.party, now, about=draft.subject_uscc)
        session.flush()
    if grouped:
        def own_writes(appender_session: Session) -> None:  # in the group's transaction
            authorization_service.apply_uses(appender_session, uses)
            for stmt, params in expiry_writes:
                appender_session.execute(stmt, params)

        locked = sorted({u.authorization_id for u in uses} | set(expired))  # what own_writes will lock
        job = group.Job(ledger.prepare(items), own_writes, disclosure_row,
                        locks=[(authorization_service.LOCK_FOR_USE, auth_id) for auth_id in locked])
        future = group.submit(session.get_bind().engine, job)
        try:
            future.result(timeout=get_disclosure_settings().ledger_group_timeout_seconds)
        except FutureTimeout:
            future.cancel()  # not started yet: it never will be (started: it may commit, unanswered)
            raise
    else:
        authorization_service.apply_uses(session, uses)
        ledger.append_many(session, items, insert_with=disclosure_row)
    return {**draft.content, "disclosure": {
        "id": values["id"], "ledger_index": values["ledger_index"], "leaf_hash": values["leaf_hash"],
        "proof": f"/api/v1/ledger/entries/{values['ledger_index']}/proof",
        "receipt": f"/api/v1/ledger/entries/{values['ledger_index']}/receipt", "recorded_at": now.isoformat()}}


def disclose(session: Session, draft: DisclosureDraft, *, request_id: str | None = None,
             now: dt.datetime | None = None) -> dict:
    """Record the disclosure (row + ledger, same transaction) and return the response body."""
    now = as_utc(now) if now else utcnow()
    try:
        return _record(session, draft, request_id, now)
    except Exception as exc:  # fail closed: whatever went wrong, nothing is disclosed
        raise DomainError("披露记录或防篡改账本无法写入，本次未提供任何数据，请稍后重试",
                          code="disclosure_not_recorded", status_code=503) from exc


def note_denied_expiry(session: Session, decision: Decision, now: dt.datetime) -> None:
    """An attempt refused because the artefact expired is itself an event (ledger, fail closed)."""
    items = authorization_service.note_expired(session, list(decision.expired_authorization_ids), now)
    if items:
        ledger.append_many(session, items)
        session.flush()


# --- reading ------------------------------------------------------------------------------------

def disclosure_out(row: Disclosure) -> dict:
    return {
        "id": row.id, "kind": row.kind,
        "party": {"role": row.party_role, "id": row.party_subject, "name": row.party_name},
        "subject_uscc": row.subject_uscc, "categories": row.categories, "forms": row.forms, "fields": row.fields,
        "authorization_ids": row.authorization_ids, "purpose": row.purpose, "request_id": row.request_id,
        "content_sm3": row.content_sm3, "created_at": as_utc(row.created_at).isoformat(),
        "receipt": receipt_block(row),
    }


def list_about(session: Session, uscc: str, limit: int, offset: int) -> list[dict]:
    return [disclosure_out(r) for r in repository.disclosures_about(session, uscc, limit, offset)]


def list_received(session: Session, party: Principal, limit: int, offset: int) -> list[dict]:
    if party.role == Role.admin:
        return [disclosure_out(r) for r in repository.disclosures_to(session, None, None, limit, offset)]
    return [disclosure_out(r) for r in repository.disclosures_to(session, party.role.value, party.subject,
                                                                 limit, offset)]


def get_received(session: Session, party: Principal, disclosure_id: str) -> dict:
    row = repository.get_disclosure(session, disclosure_id)
    if row is None or (party.role != Role.admin and (row.party_role, row.party_subject)
                       != (party.role.value, party.subject)):
        raise NotFound("披露记录不存在", code="disclosure_not_found")
    return disclosure_out(row)


def list_alerts(session: Session, limit: int, offset: int, open_only: bool) -> list[dict]:
    return [{"id": a.id, "kind": a.kind, "subject": a.subject, "message": a.message, "details": a.details,
             "created_at": as_utc(a.created_at).isoformat(),
             "acknowledged_at": as_utc(a.acknowledged_at).isoformat() if a.acknowledged_at else None,
             "acknowledged_by": a.acknowledged_by}
            for a in repository.alerts(session, limit, offset, open_only)]


def acknowledge_alert(session: Session, alert_id: int, by: str) -> None:
    alert = repository.get_alert(session, alert_id)
    if alert is None:
        raise NotFound("告警不存在", code="alert_not_found")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = by[:100]
