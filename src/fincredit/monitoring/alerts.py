"""Alerts (预警) and notices (通知) to institutions: creation (once per dedupe key), push, pull, ack."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fincredit.db import as_utc, utcnow
from fincredit.errors import NotFound
from fincredit.monitoring import repository
from fincredit.monitoring.models import Alert
from fincredit.monitoring.webhooks import queue_event

NOTICE_KINDS = {
    "authorization_revoked": "授权已撤销",
    "authorization_expired": "授权已到期",
    "institution_suspended": "机构已暂停接入",
    "institution_exited": "机构已退出",
}


@dataclass(frozen=True)
class Basis:
    """What an alert was issued under: a post_loan authorization, or a reported loan."""

    kind: str  # authorization | loan
    authorization_id: str | None = None
    loan_id: str | None = None


def _iso(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat().replace("+00:00", "Z") if value else None


def alert_dict(alert: Alert) -> dict[str, Any]:
    """An alert as the API and the webhook show it (no record ids, no raw values)."""
    return {
        "id": alert.id, "kind": alert.kind, "uscc": alert.uscc, "enterprise_name": alert.enterprise_name,
        "severity": alert.severity, "title": alert.title, "evidence": alert.evidence,
        "rule": {"id": alert.rule_id, "version": alert.rule_version} if alert.rule_id else None,
        "category": alert.category_code,
        "basis": {"kind": alert.basis, "authorization_id": alert.authorization_id, "loan_id": alert.loan_id}
        if alert.basis else None,
        "occurred_at": _iso(alert.occurred_at), "created_at": _iso(alert.created_at), "acked_at": _iso(alert.acked_at),
    }


def event_type(alert: Alert) -> str:
    return "alert.created" if alert.kind == "risk" else f"notice.{alert.kind}"


def create_alert(session: Session, *, institution_id: int, kind: str, dedupe_key: str, severity: str, title: str,
                 evidence: str, uscc: str | None = None, enterprise_name: str | None = None,
                 rule_id: str | None = None, rule_version: int | None = None, category_code: str | None = None,
                 record_id: int | None = None, basis: Basis | None = None,
                 occurred_at: dt.datetime | None = None) -> Alert | None:
    """Create the alert and queue its push; None when this institution already has it (idempotent)."""
    dedupe_key = dedupe_key[:200]
    if repository.alert_exists(session, institution_id, dedupe_key):
        return None
    now = utcnow()
    alert = Alert(id=str(uuid.uuid4()), institution_id=institution_id, kind=kind, uscc=uscc,
                  enterprise_name=enterprise_name, rule_id=rule_id, rule_version=rule_version, severity=severity,
                  title=title[:200], evidence=evidence, category_code=category_code, record_id=record_id,
                  basis=basis.kind if basis else None, authorization_id=basis.authorization_id if basis else None,
                  loan_id=basis.loan_id if basis else None, dedupe_key=dedupe_key,
                  occurred_at=occurred_at or now, created_at=now)
    # A concurrent run creating the same alert makes this flush fail: the job is retried, finds it, skips.
    session.add(alert)
    session.flush()
    queue_event(session, institution_id, event_type(alert), alert_dict(alert), message_id=f"msg_{alert.id}",
                alert_id=alert.id)
    return alert


def notify(session: Session, *, institution_id: int, kind: str, dedupe_key: str, evidence: str,
           uscc: str | None = None, enterprise_name: str | None = None, basis: Basis | None = None) -> Alert | None:
    """A notice (authorization revoked or expired, institution suspended …)."""
    return create_alert(session, institution_id=institution_id, kind=kind, dedupe_key=dedupe_key, severity="info",
                        title=NOTICE_KINDS.get(kind, kind), evidence=evidence, uscc=uscc,
                        enterprise_name=enterprise_name, basis=basis)


def list_alerts(session: Session, institution_id: int, *, limit: int = 100, offset: int = 0, unacked: bool = False,
                kind: str | None = None) -> list[Alert]:
    return repository.alerts_of(session, institution_id, limit=limit, offset=offset, unacked=unacked, kind=kind)


def acknowledge(session: Session, institution_id: int, alert_id: str, actor: str) -> Alert:
    alert = repository.get_alert(session, alert_id)
    if alert is None or alert.institution_id != institution_id:
        raise NotFound("预警不存在", code="alert_not_found")
    if alert.acked_at is None:
        alert.acked_at, alert.acked_by = utcnow(), actor[:100]
    return alert
