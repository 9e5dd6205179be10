"""Subscriptions to batch pushes of public information by region and industry (批量推送, §8).

A push contains the records of public categories that arrived since the previous push, about
enterprises in the subscribed regions and industries (a person's record counts for the enterprises
he or she legally represents), masked as institutions see public information. Each push is a CSV
file under ``FINCREDIT_DATA_DIR/pushes/<institution>/``, downloadable through the API; with
``delivery: webhook`` the institution is also sent a ``subscription.delivery`` message.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.collection.models import Record
from fincredit.crypto import sm3_hex, sm4_decrypt
from fincredit.db import as_utc, utcnow
from fincredit.disclosure.masking import decrypt_values, mask_record
from fincredit.errors import NotFound, Unprocessable
from fincredit.institutions.service import is_institution_active
from fincredit.monitoring import repository
from fincredit.monitoring.config import get_monitoring_settings
from fincredit.monitoring.models import Subscription, SubscriptionDelivery
from fincredit.monitoring.regions import (
    industry_matches,
    jiangsu_regions,
    normalize_industry,
    normalize_region,
    region_matches,
)
from fincredit.monitoring.webhooks import queue_event
from fincredit.settings import get_settings

PERIOD_DAYS = {"daily": 1, "weekly": 7}
SCAN_CHUNK = 5000
WEBHOOK_INLINE_RECORDS = 1000
CSV_HEADER = ["信息类编码", "信息类名称", "统一社会信用代码", "企业名称", "行政区划代码", "行业代码", "入库时间", "内容"]


def _first_due(now: dt.datetime) -> dt.datetime:
    """The next push hour (Asia/Shanghai) after now."""
    tz = ZoneInfo(get_settings().timezone)
    local = now.astimezone(tz)
    due = local.replace(hour=get_monitoring_settings().subscription_push_hour, minute=0, second=0, microsecond=0)
    if due <= local:
        due += dt.timedelta(days=1)
    return due.astimezone(dt.UTC)


def create_subscription(session: Session, institution_id: int, *, regions: list[str], industries: list[str],
                        schedule: str, delivery: str) -> Subscription:
    wanted = list(dict.fromkeys(str(r).strip() for r in regions if str(r).strip()))
    if not wanted:
        raise Unprocessable("至少指定一个行政区划代码（如 320000 全省、320100 南京市）", code="regions_required")
    unknown = [r for r in wanted if normalize_region(r) is None]
    if unknown:
        raise Unprocessable(f"未知的江苏省行政区划代码：{'、'.join(unknown[:20])}", code="unknown_region",
                            details={"unknown": unknown})
    codes = [normalize_industry(i) for i in industries]
    bad = [i for i, c in zip(industries, codes, strict=True) if c is None]
    if bad:
        raise Unprocessable(f"不是有效的国民经济行业代码（GB/T 4754）：{'、'.join(map(str, bad[:20]))}",
                            code="unknown_industry", details={"unknown": bad})
    if schedule not in PERIOD_DAYS:
        raise Unprocessable("推送频率只能是 daily 或 weekly", code="bad_schedule")
    if delivery not in ("webhook", "file"):
        raise Unprocessable("推送方式只能是 webhook 或 file", code="bad_delivery")
    if delivery == "webhook" and not repository.active_endpoints(session, institution_id):
        raise Unprocessable("以 webhook 方式推送前，请先登记推送地址（POST /api/v1/webhooks）", code="webhook_required")
    now = utcnow()
    row = Subscription(institution_id=institution_id, regions=wanted,
                       industries=list(dict.fromkeys(c for c in codes if c)), schedule=schedule, delivery=delivery,
                       status="active", last_record_id=repository.max_record_id(session), deliveries_made=0,
                       next_due_at=_first_due(now), created_at=now)
    session.add(row)
    session.flush()
    return row


def own_subscription(session: Session, institution_id: int, subscription_id: int) -> Subscription:
    row = session.get(Subscription, subscription_id) if 1 <= subscription_id <= 2**31 - 1 else None
    if row is None or row.institution_id != institution_id or row.status != "active":
        raise NotFound("订阅不存在", code="subscription_not_found")
    return row


def cancel_subscription(session: Session, institution_id: int, subscription_id: int) -> None:
    own_subscription(session, institution_id, subscription_id).status = "cancelled"


def _rows(session: Session, sub: Subscription, records: list[Record]) -> list[list[str]]:
    catalog = get_catalog(session)
    reps = repository.enterprises_by_legal_rep(session, [r.subject_key for r in records if r.subject_kind == "person"])
    usccs = {r.subject_key for r in records if r.subject_kind == "enterprise"} | {u for v in reps.values() for u in v}
    firms = repository.enterprises(session, sorted(usccs))
    out = []
    for rec in records:
        owners = [rec.subject_key] if rec.subject_kind == "enterprise" else reps.get(rec.subject_key, [])
        cat = catalog.categories.get(rec.category_code)
        for uscc in owners:
            firm = firms.get(uscc)
            if cat is None or firm is None or not region_matches(firm.region_code, sub.regions) \
                    or not industry_matches(firm.industry_code, sub.industries):
                continue
            masked = mask_record(cat, decrypt_values(rec.data or {}, sm4_decrypt))
            out.append([cat.code, cat.name, firm.uscc, firm.name, firm.region_code or "", firm.industry_code or "",
                        as_utc(rec.received_at).isoformat(), json.dumps(masked, ensure_ascii=False, sort_keys=True)])
    return out


def push(session: Session, sub: Subscription, now: dt.datetime) -> SubscriptionDelivery | None:
    """Make the subscription's next push now (the caller's transaction)."""
    settings = get_monitoring_settings()
    period = dt.timedelta(days=PERIOD_DAYS[sub.schedule])
    next_due = as_utc(sub.next_due_at)
    while next_due <= now:
        next_due += period
    sub.next_due_at = next_due
    if not is_institution_active(session, sub.institution_id):
        return None
    catalog = get_catalog(session)
    public = sorted(c.code for c in catalog.categories.values() if c.disclosure_class == "public" and not c.retired)
    start, last, rows = sub.last_record_id, sub.last_record_id, []
    while len(rows) < settings.subscription_max_records:
        records = repository.public_records_after(session, public, last, SCAN_CHUNK)
        if not records:
            break
        last = records[-1].id
        rows += _rows(session, sub, records)
    number = sub.deliveries_made + 1
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    content = buffer.getvalue().encode("utf-8-sig")
    relative = Path("pushes") / str(sub.institution_id) / f"subscription-{sub.id}-{number:05d}.csv"
    path = get_settings().data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    delivery = SubscriptionDelivery(subscription_id=sub.id, number=number, record_count=len(rows),
                                    from_record_id=start, to_record_id=last, file_path=str(relative),
                                    sm3=sm3_hex(content), created_at=now)
    session.add(delivery)
    sub.last_record_id, sub.deliveries_made = last, number
    session.flush()
    if sub.delivery == "webhook":
        data: dict[str, Any] = {
            "subscription_id": sub.id, "number": number, "record_count": len(rows), "sm3": delivery.sm3,
            "download": f"/api/v1/subscriptions/{sub.id}/deliveries/{number}",
            "records": [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[:WEBHOOK_INLINE_RECORDS]],
            "truncated": len(rows) > WEBHOOK_INLINE_RECORDS,
        }
        queue_event(session, sub.institution_id, "subscription.delivery", data,
                    message_id=f"msg_sub_{sub.id}_{number}")
    return delivery


def push_due(session: Session, now: dt.datetime | None = None) -> int:
    """Periodic: push every due subscription (PostgreSQL workers split them with SKIP LOCKED)."""
    now = now or utcnow()
    made = 0
    for sub in repository.due_subscriptions(session, now):
        made += push(session, sub, now) is not None
    return made


def delivery_file(session: Session, institution_id: int, subscription_id: int, number: int) -> tuple[Path, str]:
    sub = session.get(Subscription, subscription_id) if 1 <= subscription_id <= 2**31 - 1 else None
    row = repository.subscription_delivery(session, subscription_id, number) if sub else None
    if sub is None or sub.institution_id != institution_id or row is None:
        raise NotFound("推送文件不存在", code="delivery_not_found")
    path = get_settings().data_dir / row.file_path
    if not path.is_file():
        raise NotFound("推送文件已不存在", code="delivery_file_missing")
    return path, f"subscription-{sub.id}-{number:05d}.csv"


def known_regions() -> dict[str, str]:
    return jiangsu_regions()
