"""Watchlists (监测名单): who watches whom, on which basis, and when watching must stop.

An institution watches an enterprise only with a basis: a loan it reported (``add_borrower``) or
a 贷后监测 (post_loan) authorization the enterprise granted it (``add_under_authorization``).
When the basis ends the entry becomes inactive and the institution is told: revocation
(``on_authorization_revoked``, called by the authorization capability), expiry and institution
suspension or exit (``scan``, a periodic job that also catches anything a hook missed).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fincredit.authorization import repository as authorizations
from fincredit.authorization.models import Authorization
from fincredit.authorization.rules import PURPOSES
from fincredit.collection.identifiers import parse_uscc
from fincredit.collection.values import FieldError
from fincredit.db import utcnow
from fincredit.errors import Forbidden, NotFound, Unprocessable
from fincredit.institutions.models import Institution, InstitutionStatusChange
from fincredit.monitoring import repository
from fincredit.monitoring.alerts import Basis, notify
from fincredit.monitoring.models import WatchlistEntry
from fincredit.registry.models import Enterprise

POST_LOAN = "post_loan"
EXPIRY_CURSOR = "authorization_expiry_scanned_to"
STATUS_CURSOR = "institution_status_change_id"
FIRST_EXPIRY_LOOKBACK = dt.timedelta(days=7)


def _enterprise(session: Session, uscc: str) -> Enterprise:
    try:
        code = parse_uscc(str(uscc or "").strip().upper())
    except FieldError as exc:
        raise Unprocessable(f"统一社会信用代码不正确：{exc.reason}", code="bad_uscc") from None
    enterprise = session.get(Enterprise, code) if isinstance(code, str) else None
    if enterprise is None:
        raise NotFound("该企业不在企业登记注册基础信息中", code="enterprise_not_found")
    return enterprise


def add_under_authorization(session: Session, institution_id: int, uscc: str, authorization_id: str,
                            actor: str = "") -> tuple[WatchlistEntry, bool]:
    """Watch under a post_loan authorization; returns ``(entry, created)``."""
    enterprise = _enterprise(session, uscc)
    auth = authorizations.get(session, str(authorization_id or "").strip())
    if auth is None or auth.institution_id != institution_id:
        raise Forbidden("该授权不存在或未授予本机构", code="authorization_not_granted")
    if auth.enterprise_uscc != enterprise.uscc:
        raise Unprocessable("该授权不是此企业出具的", code="authorization_enterprise_mismatch")
    if auth.purpose != POST_LOAN:
        label = PURPOSES[auth.purpose].label if auth.purpose in PURPOSES else auth.purpose
        raise Unprocessable(f"该授权的用途是“{label}”，监测需要“贷后监测”授权", code="authorization_wrong_purpose")
    status = auth.effective_status(utcnow())
    if status != "active":
        codes = {"revoked": ("authorization_revoked", "该授权已被企业撤销"),
                 "expired": ("authorization_expired", "该授权已过期"),
                 "pending": ("authorization_not_active", "该授权尚未生效")}
        code, message = codes.get(status, ("authorization_not_active", "该授权不在有效期内"))
        raise Forbidden(message, code=code)
    existing = repository.find_entry(session, institution_id, enterprise.uscc, authorization_id=auth.id)
    if existing is not None:
        return existing, False
    entry = WatchlistEntry(institution_id=institution_id, uscc=enterprise.uscc, basis="authorization",
                           authorization_id=auth.id, active=True, created_at=utcnow(), created_by=actor[:100])
    session.add(entry)
    session.flush()
    return entry, True


def add_borrower(session: Session, institution_id: int, uscc: str, loan_id: str | int) -> WatchlistEntry:
    """Watch a borrower (获贷企业) on the basis of a loan the institution reported (loan feedback)."""
    enterprise = _enterprise(session, uscc)
    loan_ref = str(loan_id)[:64]
    existing = repository.find_entry(session, institution_id, enterprise.uscc, loan_id=loan_ref)
    if existing is not None:
        return existing
    entry = WatchlistEntry(institution_id=institution_id, uscc=enterprise.uscc, basis="loan", loan_id=loan_ref,
                           active=True, created_at=utcnow(), created_by="loan")
    session.add(entry)
    session.flush()
    return entry


def end_borrower(session: Session, institution_id: int, loan_id: str | int, reason: str = "贷款已结清") -> int:
    """Stop watching on the basis of a loan (settled, written off)."""
    rows = [e for e in repository.entries_for_institution(session, institution_id) if e.loan_id == str(loan_id)]
    repository.end_entries(session, [e.id for e in rows], utcnow(), reason)
    return len(rows)


def list_entries(session: Session, institution_id: int, *, active_only: bool = True, limit: int = 100,
                 offset: int = 0) -> list[WatchlistEntry]:
    return repository.entries_of(session, institution_id, active_only=active_only, limit=limit, offset=offset)


def remove_entry(session: Session, institution_id: int, entry_id: int) -> WatchlistEntry:
    entry = session.get(WatchlistEntry, entry_id) if 1 <= entry_id < 2**63 else None
    if entry is None or entry.institution_id != institution_id:
        raise NotFound("监测记录不存在", code="watchlist_entry_not_found")
    if entry.active:
        repository.end_entries(session, [entry.id], utcnow(), "机构取消监测")
        session.refresh(entry)
    return entry


def _end_authorization(session: Session, auth: Authorization, kind: str, reason: str) -> None:
    entries = repository.entries_by_authorization(session, [auth.id])
    repository.end_entries(session, [e.id for e in entries], utcnow(), reason)
    if auth.institution_id is None:
        return
    enterprise = session.get(Enterprise, auth.enterprise_uscc)
    label = PURPOSES[auth.purpose].label if auth.purpose in PURPOSES else auth.purpose
    stopped = "，依据该授权的贷后监测已停止" if entries else ""
    notify(session, institution_id=auth.institution_id, kind=kind, dedupe_key=f"{kind}:{auth.id}",
           evidence=f"企业“{enterprise.name if enterprise else auth.enterprise_uscc}”的{label}授权{reason}{stopped}",
           uscc=auth.enterprise_uscc, enterprise_name=enterprise.name if enterprise else None,
           basis=Basis("authorization", authorization_id=auth.id))


def on_authorization_revoked(session: Session, authorization_id: str) -> None:
    """Hook for the authorization capability, in its revoking transaction: stop and notify."""
    auth = authorizations.get(session, authorization_id)
    if auth is not None:
        _end_authorization(session, auth, "authorization_revoked", "已被撤销")


def _scan_expiries(session: Session, now: dt.datetime) -> None:
    start = repository.cursor(session, EXPIRY_CURSOR, "")
    since = dt.datetime.fromisoformat(start) if start else now - FIRST_EXPIRY_LOOKBACK
    expired = session.scalars(select(Authorization).where(Authorization.expires_at > since,
                                                          Authorization.expires_at <= now,
                                                          Authorization.revoked_at.is_(None)))
    for auth in expired:
        _end_authorization(session, auth, "authorization_expired", "已到期")
    # Entries whose basis ended while no hook ran (a revocation from elsewhere, a late scan).
    stale = session.scalars(select(Authorization).join(WatchlistEntry, WatchlistEntry.authorization_id == Authorization.id)
                            .where(WatchlistEntry.active.is_(True),
                                   or_(Authorization.status != "active", Authorization.revoked_at.is_not(None),
                                       Authorization.expires_at <= now)).distinct())
    for auth in stale:
        status = auth.effective_status(now)
        if status == "revoked":
            _end_authorization(session, auth, "authorization_revoked", "已被撤销")
        elif status == "expired":
            _end_authorization(session, auth, "authorization_expired", "已到期")
    repository.set_cursor(session, EXPIRY_CURSOR, now.isoformat(), now)


def _scan_institution_changes(session: Session, now: dt.datetime) -> None:
    last = int(repository.cursor(session, STATUS_CURSOR, "0"))
    changes = list(session.scalars(select(InstitutionStatusChange).where(InstitutionStatusChange.id > last)
                                   .order_by(InstitutionStatusChange.id).limit(1000)))
    for change in changes:
        if change.to_status in ("suspended", "exited"):
            institution = session.get(Institution, change.institution_id)
            kind = "institution_suspended" if change.to_status == "suspended" else "institution_exited"
            if change.to_status == "exited":
                entries = repository.entries_for_institution(session, change.institution_id)
                repository.end_entries(session, [e.id for e in entries], now, "机构已退出")
            what = "暂停接入" if change.to_status == "suspended" else "退出"
            notify(session, institution_id=change.institution_id, kind=kind, dedupe_key=f"{kind}:{change.id}",
                   evidence=f"机构“{institution.name if institution else change.institution_id}”已{what}"
                            f"（{change.reason or '未说明原因'}），贷后监测与推送{'暂停' if what == '暂停接入' else '终止'}")
    if changes:
        repository.set_cursor(session, STATUS_CURSOR, str(changes[-1].id), now)


def scan(session: Session) -> None:
    """Periodic: authorization expiries, stale bases, institution suspensions and exits."""
    now = utcnow()
    _scan_expiries(session, now)
    _scan_institution_changes(session, now)
