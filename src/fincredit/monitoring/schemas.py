"""Request and response bodies of the monitoring API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fincredit.db import as_utc
from fincredit.monitoring.models import (
    Subscription,
    SubscriptionDelivery,
    WatchlistEntry,
    WebhookDelivery,
    WebhookEndpoint,
)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return as_utc(value) if value else None


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=1, max_length=40)
    authorization_id: str = Field(min_length=1, max_length=64, description="贷后监测（post_loan）授权编号")


class WatchOut(BaseModel):
    id: int
    uscc: str
    basis: Literal["authorization", "loan"]
    authorization_id: str | None
    loan_id: str | None
    active: bool
    created_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str | None

    @classmethod
    def of(cls, row: WatchlistEntry) -> WatchOut:
        return cls(id=row.id, uscc=row.uscc, basis=row.basis, authorization_id=row.authorization_id,  # type: ignore[arg-type]
                   loan_id=row.loan_id, active=row.active, created_at=as_utc(row.created_at),
                   ended_at=_utc(row.ended_at), end_reason=row.end_reason)


class WatchList(BaseModel):
    items: list[WatchOut]


class RuleRef(BaseModel):
    id: str
    version: int


class BasisOut(BaseModel):
    kind: Literal["authorization", "loan"]
    authorization_id: str | None = None
    loan_id: str | None = None


class AlertOut(BaseModel):
    id: str
    kind: str = Field(description="risk（风险预警）或通知类型，如 authorization_revoked")
    uscc: str | None
    enterprise_name: str | None
    severity: Literal["high", "medium", "low", "info"]
    title: str
    evidence: str = Field(description="加工产品形式的证据说明，不含非公开原始数值")
    rule: RuleRef | None
    category: str | None
    basis: BasisOut | None
    occurred_at: dt.datetime | None
    created_at: dt.datetime | None
    acked_at: dt.datetime | None
    under_objection: bool = Field(default=False, description="据以预警的记录正处于异议中（异议申诉未办结）")


class AlertList(BaseModel):
    items: list[AlertOut]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)


class WebhookOut(BaseModel):
    id: int
    url: str
    status: Literal["active", "disabled", "deleted"]
    status_reason: str | None
    created_at: dt.datetime
    previous_secret_valid_until: dt.datetime | None

    @classmethod
    def of(cls, row: WebhookEndpoint) -> WebhookOut:
        return cls(id=row.id, url=row.url, status=row.status, status_reason=row.status_reason,  # type: ignore[arg-type]
                   created_at=as_utc(row.created_at), previous_secret_valid_until=_utc(row.previous_secret_until))


class WebhookSecretOut(WebhookOut):
    secret: str = Field(description="whsec_… 签名密钥，只显示这一次")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    id: int
    message_id: str = Field(description="webhook-id，重试时不变")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: WebhookDelivery) -> DeliveryOut:
        return cls(id=row.id, message_id=row.message_id, event_type=row.event_type, status=row.status,  # type: ignore[arg-type]
                   attempts=row.attempts, last_status_code=row.last_status_code, last_error=row.last_error,
                   next_attempt_at=_utc(row.next_attempt_at), delivered_at=_utc(row.delivered_at),
                   created_at=as_utc(row.created_at))


class DeliveryList(BaseModel):
    items: list[DeliveryOut]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regions: list[str] = Field(min_length=1, max_length=200, description="江苏省行政区划代码（GB/T 2260）")
    industries: list[str] = Field(default_factory=list, max_length=200,
                                  description="国民经济行业门类或代码（GB/T 4754），空表示全部行业")
    schedule: Literal["daily", "weekly"]
    delivery: Literal["webhook", "file"]


class SubscriptionOut(BaseModel):
    id: int
    regions: list[str]
    industries: list[str]
    schedule: str
    delivery: str
    status: str
    deliveries_made: int
    next_due_at: dt.datetime
    created_at: dt.datetime

    @classmethod
    def of(cls, row: Subscription) -> SubscriptionOut:
        return cls(id=row.id, regions=list(row.regions or []), industries=list(row.industries or []),
                   schedule=row.schedule, delivery=row.delivery, status=row.status,
                   deliveries_made=row.deliveries_made, next_due_at=as_utc(row.next_due_at),
                   created_at=as_utc(row.created_at))


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]


class PushOut(BaseModel):
    number: int
    record_count: int
    sm3: str
    created_at: dt.datetime
    download: str

    @classmethod
    def of(cls, row: SubscriptionDelivery) -> PushOut:
        return cls(number=row.number, record_count=row.record_count, sm3=row.sm3, created_at=as_utc(row.created_at),
                   download=f"/api/v1/subscriptions/{row.subscription_id}/deliveries/{row.number}")


class PushList(BaseModel):
    items: list[PushOut]
