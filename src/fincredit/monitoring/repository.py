"""All queries of the monitoring capability."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fincredit.collection.models import Record
from fincredit.monitoring.models import (
    Alert,
    MonitoringCursor,
    Subscription,
    SubscriptionDelivery,
    WatchlistEntry,
    WebhookDelivery,
    WebhookEndpoint,
)
from fincredit.registry.models import Enterprise

CHUNK = 500


def chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


# -- watchlist ------------------------------------------------------------------------------------

def active_entries_for(session: Session, usccs: Sequence[str]) -> list[WatchlistEntry]:
    out: list[WatchlistEntry] = []
    for part in chunks(sorted(set(usccs))):
        out += session.scalars(select(WatchlistEntry).where(WatchlistEntry.uscc.in_(list(part)),
                                                            WatchlistEntry.active.is_(True)))
    return out


def find_entry(session: Session, institution_id: int, uscc: str, *, authorization_id: str | None = None,
               loan_id: str | None = None) -> WatchlistEntry | None:
    query = select(WatchlistEntry).where(WatchlistEntry.institution_id == institution_id,
                                         WatchlistEntry.uscc == uscc, WatchlistEntry.active.is_(True))
    if authorization_id is not None:
        query = query.where(WatchlistEntry.authorization_id == authorization_id)
    if loan_id is not None:
        query = query.where(WatchlistEntry.loan_id == loan_id)
    return session.scalars(query.limit(1)).first()


def entries_of(session: Session, institution_id: int, *, active_only: bool, limit: int,
               offset: int) -> list[WatchlistEntry]:
    query = select(WatchlistEntry).where(WatchlistEntry.institution_id == institution_id)
    if active_only:
        query = query.where(WatchlistEntry.active.is_(True))
    return list(session.scalars(query.order_by(WatchlistEntry.id.desc()).limit(limit).offset(offset)))


def entries_by_authorization(session: Session, authorization_ids: Sequence[str]) -> list[WatchlistEntry]:
    out: list[WatchlistEntry] = []
    for part in chunks(list(authorization_ids)):
        out += session.scalars(select(WatchlistEntry).where(WatchlistEntry.authorization_id.in_(list(part)),
                                                            WatchlistEntry.active.is_(True)))
    return out


def end_entries(session: Session, entry_ids: Sequence[int], now: dt.datetime, reason: str) -> None:
    for part in chunks(list(entry_ids)):
        session.execute(update(WatchlistEntry).where(WatchlistEntry.id.in_(list(part)))
                        .values(active=False, ended_at=now, end_reason=reason[:200]),
                        execution_options={"synchronize_session": False})


def entries_for_institution(session: Session, institution_id: int) -> list[WatchlistEntry]:
    return list(session.scalars(select(WatchlistEntry).where(WatchlistEntry.institution_id == institution_id,
                                                             WatchlistEntry.active.is_(True))))


# -- enterprises and records ----------------------------------------------------------------------

def enterprises(session: Session, usccs: Sequence[str]) -> dict[str, Enterprise]:
    out: dict[str, Enterprise] = {}
    for part in chunks(sorted(set(usccs))):
        out.update((e.uscc, e) for e in session.scalars(select(Enterprise).where(Enterprise.uscc.in_(list(part)))))
    return out


def enterprises_by_legal_rep(session: Session, person_keys: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in chunks(sorted(set(person_keys))):
        rows = session.execute(select(Enterprise.legal_rep_key, Enterprise.uscc)
                               .where(Enterprise.legal_rep_key.in_(list(part))))
        for key, uscc in rows:
            out.setdefault(key, []).append(uscc)
    return out


def batch_records(session: Session, batch_id: int, after_id: int, limit: int) -> list[Record]:
    return list(session.scalars(select(Record).where(Record.batch_id == batch_id, Record.id > after_id)
                                .order_by(Record.id).limit(limit)))


def previous_versions(session: Session, record_ids: Sequence[int]) -> dict[int, Record]:
    """The record each new record superseded, keyed by the new record's id."""
    out: dict[int, Record] = {}
    for part in chunks(list(record_ids)):
        for old in session.scalars(select(Record).where(Record.superseded_by_id.in_(list(part)))):
            out[int(old.superseded_by_id or 0)] = old
    return out


def superseding_batches(session: Session, record_ids: Sequence[int | None]) -> dict[int, int | None]:
    """Record id → its batch id, for the records that superseded others."""
    out: dict[int, int | None] = {}
    for part in chunks([int(i) for i in record_ids if i]):
        out.update((int(rid), bid) for rid, bid in session.execute(select(Record.id, Record.batch_id)
                                                                   .where(Record.id.in_(list(part)))))
    return out


def history(session: Session, category: str, subject_key: str, *, current_only: bool) -> list[Record]:
    query = select(Record).where(Record.subject_key == subject_key, Record.category_code == category)
    if current_only:
        query = query.where(Record.is_current.is_(True))
    return list(session.scalars(query.order_by(Record.received_at, Record.id)))


def public_records_after(session: Session, categories: Sequence[str], after_id: int, limit: int) -> list[Record]:
    return list(session.scalars(select(Record).where(Record.id > after_id, Record.is_current.is_(True),
                                                     Record.category_code.in_(list(categories)))
                                .order_by(Record.id).limit(limit)))


def max_record_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(Record.id), 0))) or 0)


# -- alerts ---------------------------------------------------------------------------------------

def alert_exists(session: Session, institution_id: int, dedupe_key: str) -> bool:
    return session.scalar(select(Alert.id).where(Alert.institution_id == institution_id,
                                                 Alert.dedupe_key == dedupe_key)) is not None


def alerts_of(session: Session, institution_id: int, *, limit: int, offset: int, unacked: bool,
              kind: str | None) -> list[Alert]:
    query = select(Alert).where(Alert.institution_id == institution_id)
    if unacked:
        query = query.where(Alert.acked_at.is_(None))
    if kind:
        query = query.where(Alert.kind == kind)
    return list(session.scalars(query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit).offset(offset)))


def get_alert(session: Session, alert_id: str) -> Alert | None:
    return session.get(Alert, alert_id) if alert_id and len(alert_id) <= 36 else None


# -- webhooks -------------------------------------------------------------------------------------

def active_endpoints(session: Session, institution_id: int) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.institution_id == institution_id,
                                                              WebhookEndpoint.status == "active")
                                .order_by(WebhookEndpoint.id)))


def endpoints_of(session: Session, institution_id: int) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.institution_id == institution_id,
                                                              WebhookEndpoint.status != "deleted")
                                .order_by(WebhookEndpoint.id)))


def deliveries_of(session: Session, endpoint_id: int, limit: int) -> list[WebhookDelivery]:
    return list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
                                .order_by(WebhookDelivery.id.desc()).limit(limit)))


# -- subscriptions --------------------------------------------------------------------------------

def subscriptions_of(session: Session, institution_id: int) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(Subscription.institution_id == institution_id,
                                                           Subscription.status == "active")
                                .order_by(Subscription.id)))


def due_subscriptions(session: Session, now: dt.datetime, limit: int = 50) -> list[Subscription]:
    """Due active subscriptions, locked (PostgreSQL: SKIP LOCKED, so workers split them)."""
    return list(session.scalars(select(Subscription).where(Subscription.status == "active",
                                                           Subscription.next_due_at <= now)
                                .order_by(Subscription.next_due_at).limit(limit)
                                .with_for_update(skip_locked=True)))


def subscription_delivery(session: Session, subscription_id: int, number: int) -> SubscriptionDelivery | None:
    return session.scalar(select(SubscriptionDelivery).where(SubscriptionDelivery.subscription_id == subscription_id,
                                                             SubscriptionDelivery.number == number))


def subscription_deliveries(session: Session, subscription_id: int, limit: int = 100) -> list[SubscriptionDelivery]:
    return list(session.scalars(select(SubscriptionDelivery)
                                .where(SubscriptionDelivery.subscription_id == subscription_id)
                                .order_by(SubscriptionDelivery.number.desc()).limit(limit)))


# -- cursors --------------------------------------------------------------------------------------

def cursor(session: Session, name: str, default: str) -> str:
    row = session.get(MonitoringCursor, name)
    return row.value if row is not None else default


def set_cursor(session: Session, name: str, value: str, now: dt.datetime) -> None:
    row = session.get(MonitoringCursor, name, with_for_update=True)
    if row is None:
        session.add(MonitoringCursor(name=name, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
