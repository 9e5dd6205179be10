"""Risk monitoring (风险研判): watchlists, alerts and notices, webhook endpoints and deliveries,
subscriptions to batch pushes of public information (批量推送)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, BigIntPK, utcnow


class WatchlistEntry(Base):
    """An enterprise an institution watches, and the basis that allows it (监测依据).

    basis ``authorization``: a 贷后监测 (post_loan) authorization of the enterprise to the institution;
    basis ``loan``: a loan the institution reported granting (获贷企业). Without a basis nothing is
    watched; an entry becomes inactive when its basis ends (revoked, expired, loan settled).
    """

    __tablename__ = "watchlist_entries"
    __table_args__ = (
        Index("ix_watchlist_entries_uscc_active", "uscc", "active"),
        Index("ix_watchlist_entries_institution", "institution_id", "active"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    uscc: Mapped[str] = mapped_column(String(18))
    basis: Mapped[str] = mapped_column(String(16))  # authorization | loan
    authorization_id: Mapped[str | None] = mapped_column(String(36), index=True)
    loan_id: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    ended_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))


class Alert(Base):
    """A risk alert (预警) or a notice (通知) to one institution; pushed by webhook and pullable.

    ``evidence`` is a processed product in Chinese ("新增欠税记录", "参保人数近3个月下降35%"),
    never a raw non-public value. ``dedupe_key`` makes evaluation idempotent.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("institution_id", "dedupe_key"),
        Index("ix_alerts_institution_created", "institution_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    kind: Mapped[str] = mapped_column(String(32))  # risk | authorization_revoked | authorization_expired | …
    uscc: Mapped[str | None] = mapped_column(String(18))
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    rule_version: Mapped[int | None]
    severity: Mapped[str] = mapped_column(String(8))  # high | medium | low | info
    title: Mapped[str] = mapped_column(String(200))
    evidence: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str | None] = mapped_column(String(32))
    record_id: Mapped[int | None] = mapped_column(BigInteger)  # internal lineage, never exposed
    basis: Mapped[str | None] = mapped_column(String(16))  # authorization | loan
    authorization_id: Mapped[str | None] = mapped_column(String(36))
    loan_id: Mapped[str | None] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acked_at: Mapped[dt.datetime | None]
    acked_by: Mapped[str | None] = mapped_column(String(100))


class WebhookEndpoint(Base):
    """An institution's receiver of alerts, signed per the Standard Webhooks specification.

    Secrets are SM4-encrypted; after a rotation the previous secret still signs until its grace ends.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret_enc: Mapped[str] = mapped_column(String(500))
    previous_secret_enc: Mapped[str | None] = mapped_column(String(500))
    previous_secret_until: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | disabled | deleted
    status_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One message to one endpoint; ``message_id`` (webhook-id) stays the same across retries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "message_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[str | None] = mapped_column(String(36), index=True)
    body: Mapped[str] = mapped_column(Text)  # the exact JSON sent, identical on every attempt
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[dt.datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Subscription(Base):
    """A subscription to scheduled pushes of public information by region and industry (§8)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    regions: Mapped[list] = mapped_column(default=list)  # GB/T 2260 codes (Jiangsu)
    industries: Mapped[list] = mapped_column(default=list)  # GB/T 4754 sections or codes
    schedule: Mapped[str] = mapped_column(String(8))  # daily | weekly
    delivery: Mapped[str] = mapped_column(String(8))  # webhook | file
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | cancelled
    last_record_id: Mapped[int] = mapped_column(BigInteger, default=0)  # pushed up to this record
    deliveries_made: Mapped[int] = mapped_column(default=0)
    next_due_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SubscriptionDelivery(Base):
    """The n-th push of a subscription: a CSV file under the data directory (and a webhook, if chosen)."""

    __tablename__ = "subscription_deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "number"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    number: Mapped[int]
    record_count: Mapped[int] = mapped_column(default=0)
    from_record_id: Mapped[int] = mapped_column(BigInteger)
    to_record_id: Mapped[int] = mapped_column(BigInteger)
    file_path: Mapped[str] = mapped_column(String(500))
    sm3: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MonitoringCursor(Base):
    """How far a periodic scan has read a growing table (status changes, evaluations, expiries)."""

    __tablename__ = "monitoring_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
