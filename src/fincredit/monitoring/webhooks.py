"""Webhook endpoints of institutions and the delivery of messages to them (Standard Webhooks).

A message is queued per active endpoint as a ``WebhookDelivery`` (its body fixed, its
``webhook-id`` stable) plus an outbox job ``webhook.deliver``. Delivery is at least once: a 2xx
answer ends it; HTTP 410 disables the endpoint; 429 waits for its Retry-After; anything else
(including no answer) is retried on the schedule (``webhook_retry_schedule``, with jitter) and
given up after its last step. Receivers deduplicate on ``webhook-id``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from fincredit.crypto import sm4_decrypt, sm4_encrypt
from fincredit.db import as_utc, session_scope, utcnow
from fincredit.errors import Conflict, NotFound, Unprocessable
from fincredit.institutions.service import is_institution_active
from fincredit.logs import get_logger
from fincredit.monitoring import repository
from fincredit.monitoring.config import get_monitoring_settings
from fincredit.monitoring.models import WebhookDelivery, WebhookEndpoint
from fincredit.monitoring.webhook_transport import UnsafeUrl, check_url, headers_for, new_secret, post
from fincredit.settings import get_settings
from fincredit.worker import outbox
from fincredit.worker.registry import RetryLater, jittered

log = get_logger(__name__)

DELIVER_KIND = "webhook.deliver"
MAX_ENDPOINTS = 5


def _validated_url(url: str) -> str:
    try:
        check_url(url, allow_private=get_settings().allow_private_webhooks)
    except UnsafeUrl as exc:
        raise Unprocessable(f"推送地址不安全：{exc}", code="unsafe_webhook_url") from None
    return url.strip()


def create_endpoint(session: Session, institution_id: int, url: str) -> tuple[WebhookEndpoint, str]:
    url = _validated_url(url)
    if len(repository.endpoints_of(session, institution_id)) >= MAX_ENDPOINTS:
        raise Conflict(f"每个机构最多登记 {MAX_ENDPOINTS} 个推送地址", code="too_many_webhooks")
    secret = new_secret()
    now = utcnow()
    endpoint = WebhookEndpoint(institution_id=institution_id, url=url, secret_enc=sm4_encrypt(secret),
                               status="active", created_at=now, updated_at=now)
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def own_endpoint(session: Session, institution_id: int, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id) if 1 <= endpoint_id <= 2**31 - 1 else None
    if endpoint is None or endpoint.institution_id != institution_id or endpoint.status == "deleted":
        raise NotFound("推送地址不存在", code="webhook_not_found")
    return endpoint


def rotate_secret(session: Session, institution_id: int, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing (beside the new) for the grace period."""
    endpoint = own_endpoint(session, institution_id, endpoint_id)
    secret = new_secret()
    now = utcnow()
    endpoint.previous_secret_enc = endpoint.secret_enc
    endpoint.previous_secret_until = now + dt.timedelta(seconds=get_monitoring_settings().webhook_secret_grace_seconds)
    endpoint.secret_enc, endpoint.updated_at = sm4_encrypt(secret), now
    return endpoint, secret


def delete_endpoint(session: Session, institution_id: int, endpoint_id: int) -> None:
    endpoint = own_endpoint(session, institution_id, endpoint_id)
    endpoint.status, endpoint.status_reason, endpoint.updated_at = "deleted", "机构删除", utcnow()


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    secrets = [sm4_decrypt(endpoint.secret_enc)]
    if endpoint.previous_secret_enc and endpoint.previous_secret_until and as_utc(endpoint.previous_secret_until) > now:
        secrets.append(sm4_decrypt(endpoint.previous_secret_enc))
    return secrets


def message_body(event_type: str, data: dict[str, Any], now: dt.datetime) -> str:
    """The Standard Webhooks payload: ``{"type", "timestamp", "data"}``."""
    return json.dumps({"type": event_type, "timestamp": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                       "data": data}, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def queue_event(session: Session, institution_id: int, event_type: str, data: dict[str, Any], *,
                message_id: str | None = None, alert_id: str | None = None) -> list[WebhookDelivery]:
    """Queue one message to every active endpoint of the institution (in the caller's transaction)."""
    now = utcnow()
    body = message_body(event_type, data, now)
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    deliveries = []
    for endpoint in repository.active_endpoints(session, institution_id):
        delivery = WebhookDelivery(endpoint_id=endpoint.id, message_id=message_id, event_type=event_type,
                                   alert_id=alert_id, body=body, status="pending", created_at=now)
        session.add(delivery)
        deliveries.append(delivery)
    if deliveries:
        session.flush()
        for delivery in deliveries:
            outbox.enqueue(session, DELIVER_KIND, {"delivery_id": delivery.id})
    return deliveries


def _record(delivery_id: int, **values: Any) -> None:
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is not None:
            for key, value in values.items():
                setattr(delivery, key, value)


def deliver(session: Session, payload: dict[str, Any]) -> None:
    """Job ``webhook.deliver``: one attempt; raises ``RetryLater`` for the next one."""
    settings = get_monitoring_settings()
    delivery = session.get(WebhookDelivery, int(payload["delivery_id"]))
    if delivery is None or delivery.status != "pending":
        return
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    now = utcnow()
    if endpoint is None or endpoint.status != "active":
        _record(delivery.id, status="failed", last_error="推送地址已停用或删除", next_attempt_at=None)
        return
    if not delivery.event_type.startswith("notice.") and not is_institution_active(session, endpoint.institution_id):
        _record(delivery.id, status="failed", last_error="机构未处于启用状态，推送已停止", next_attempt_at=None)
        return
    headers = headers_for(delivery.message_id, delivery.body, signing_secrets(endpoint, now), now)
    outcome = post(endpoint.url, delivery.body, headers, allow_private=get_settings().allow_private_webhooks,
                   timeout=settings.webhook_timeout_seconds, now=now)
    attempt = delivery.attempts + 1
    common = {"attempts": attempt, "last_attempt_at": now, "last_status_code": outcome.status_code,
              "last_error": outcome.error}
    if outcome.ok:
        _record(delivery.id, status="delivered", delivered_at=utcnow(), next_attempt_at=None, **common)
        return
    if outcome.status_code == 410:
        _record(delivery.id, status="failed", next_attempt_at=None, **common)
        with session_scope() as other:
            gone = other.get(WebhookEndpoint, endpoint.id)
            if gone is not None and gone.status == "active":
                gone.status, gone.status_reason, gone.updated_at = "disabled", "接收方返回 410 Gone，已停用", utcnow()
        log.warning("webhook_endpoint_gone", endpoint_id=endpoint.id)
        return
    schedule = settings.webhook_retry_schedule
    if attempt > len(schedule):
        _record(delivery.id, status="failed", next_attempt_at=None, **common)
        log.warning("webhook_delivery_given_up", delivery_id=delivery.id, attempts=attempt, error=outcome.error)
        return
    delay = jittered(schedule[attempt - 1], settings.webhook_retry_jitter)
    if outcome.status_code == 429 and outcome.retry_after is not None:  # the receiver says when
        delay = min(outcome.retry_after, settings.webhook_max_retry_after_seconds)
    _record(delivery.id, next_attempt_at=now + dt.timedelta(seconds=delay), **common)
    raise RetryLater(delay, f"推送失败（{outcome.error}），{delay:.1f} 秒后重试（第 {attempt} 次）")


def on_delivery_dead(session: Session, payload: dict[str, Any], error: str) -> None:
    delivery = session.get(WebhookDelivery, int(payload.get("delivery_id", 0)))
    if delivery is not None and delivery.status == "pending":
        delivery.status, delivery.last_error, delivery.next_attempt_at = "failed", error[:500], None
