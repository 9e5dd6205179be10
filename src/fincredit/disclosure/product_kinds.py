"""Evaluators of processed products (加工产品): bands, trends, streaks, flags, counts, grades.

Pure: no ORM, no web. Each evaluator turns a category's records into one label or count and never
returns a stored value itself: amounts become bands, dates become recency classes, enumerations
are mapped to groups.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

NO_DATA = "无记录"

# Band tables: (lower bound inclusive, label); a value takes the last band whose bound it reaches.
BANDS: dict[str, tuple[tuple[Decimal, str], ...]] = {
    "yuan": ((Decimal(0), "0元"), (Decimal("0.01"), "10万元以下"), (Decimal(100_000), "10万-50万元"),
             (Decimal(500_000), "50万-100万元"), (Decimal(1_000_000), "100万-500万元"),
             (Decimal(5_000_000), "500万-1000万元"), (Decimal(10_000_000), "1000万元以上")),
    "yuan_small": ((Decimal(0), "0元"), (Decimal("0.01"), "1000元以下"), (Decimal(1000), "1000-5000元"),
                   (Decimal(5000), "5000元-1万元"), (Decimal(10_000), "1万-5万元"), (Decimal(50_000), "5万-10万元"),
                   (Decimal(100_000), "10万元以上")),
    "people": ((Decimal(0), "0人"), (Decimal(1), "1-9人"), (Decimal(10), "10-49人"), (Decimal(50), "50-99人"),
               (Decimal(100), "100-299人"), (Decimal(300), "300-999人"), (Decimal(1000), "1000人以上")),
    "months": ((Decimal(0), "不足3个月"), (Decimal(3), "3-6个月"), (Decimal(6), "6-12个月"),
               (Decimal(12), "12-24个月"), (Decimal(24), "24-36个月"), (Decimal(36), "36个月以上")),
}
# 万元 amounts are banded on the 元 table.
UNIT_FACTOR = {"wan": Decimal(10_000)}


@dataclass(frozen=True)
class RecordView:
    """What an evaluator sees of one record (current or superseded)."""

    data: dict[str, Any]
    is_current: bool
    received_at: dt.datetime
    record_date: dt.date


@dataclass(frozen=True)
class ProductDef:
    code: str
    name: str
    kind: str  # band | trend | streak | flag | flag_unresolved | count | count_open | grade | recency | exists
    field: str | None = None
    bands: str | None = None  # key of BANDS, optionally "wan:<key>" for 万元 values
    aggregate: str = "latest"  # latest | sum | max (band)
    labels: dict[Any, str] = dataclasses.field(default_factory=dict)  # flag: {True, False}; grade: value → group
    where: tuple[str, Any] | None = None  # count: only records whose field equals the value
    window_days: int | None = None  # count: only records dated within this many days
    description: str = ""


def to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or isinstance(value, dict):
        return None
    try:
        return Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    return {"是": True, "true": True, "1": True, "y": True, "否": False, "false": False, "0": False,
            "n": False}.get(text)


def band_label(value: Decimal, bands: str) -> str:
    unit, _, table = bands.rpartition(":")
    value = value * UNIT_FACTOR.get(unit, Decimal(1))
    if value < 0:
        return "数据异常"
    label = BANDS[table][0][1]
    for bound, name in BANDS[table]:
        if value >= bound:
            label = name
    return label


def current_records(records: Sequence[RecordView]) -> list[RecordView]:
    return sorted((r for r in records if r.is_current), key=lambda r: (r.record_date, r.received_at))


def _series(records: Sequence[RecordView], field_name: str) -> list[Decimal]:
    """One value per record date (the latest received wins), oldest first."""
    by_date: dict[dt.date, RecordView] = {}
    for r in sorted(records, key=lambda r: (r.record_date, r.is_current, r.received_at)):
        if to_decimal(r.data.get(field_name)) is not None:
            by_date[r.record_date] = r
    return [to_decimal(by_date[d].data[field_name]) for d in sorted(by_date)]  # type: ignore[misc]


def trend_label(values: Sequence[Decimal], tolerance: Decimal = Decimal("0.10")) -> str:
    values = list(values)[-12:]
    if len(values) < 2:
        return "数据不足"
    half = len(values) // 2
    early = sum(values[:half]) / half
    late = sum(values[-half:]) / half
    if early == 0:
        return "上升" if late > 0 else "平稳"
    change = (late - early) / abs(early)
    return "上升" if change > tolerance else "下降" if change < -tolerance else "平稳"


def _month_index(value: Any) -> int | None:
    text = str(value or "")[:7]
    try:
        year, month = int(text[:4]), int(text[5:7])
    except ValueError:
        return None
    return year * 12 + month - 1 if 1 <= month <= 12 else None


def streak_months(records: Sequence[RecordView], field_name: str) -> int:
    months = {m for r in records if r.is_current and (m := _month_index(r.data.get(field_name))) is not None}
    if not months:
        return 0
    latest, run = max(months), 0
    while latest - run in months:
        run += 1
    return run


def _parse_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def recency_label(latest: dt.date | None, today: dt.date) -> str:
    if latest is None:
        return NO_DATA
    days = (today - latest).days
    return ("3个月内" if days <= 92 else "3-6个月" if days <= 183 else "6-12个月" if days <= 366
            else "1年以上")


def evaluate(p: ProductDef, records: Sequence[RecordView], today: dt.date,
             current: Sequence[RecordView] | None = None) -> str | int:
    """``current``: ``current_records(records)`` when the caller sorted them once for several products."""
    current = current_records(records) if current is None else current
    if p.kind == "exists":
        return "有记录" if current else NO_DATA
    if p.kind in ("count", "count_open"):
        rows = current
        if p.window_days is not None:
            rows = [r for r in rows if (today - r.record_date).days <= p.window_days]
        if p.where is not None:
            rows = [r for r in rows if r.data.get(p.where[0]) == p.where[1]]
        if p.kind == "count_open":
            rows = [r for r in rows if (d := _parse_date(r.data.get(p.field))) is None or d >= today]
        return len(rows)
    if not current or p.field is None:
        return NO_DATA
    if p.kind == "band":
        values = [v for r in current if (v := to_decimal(r.data.get(p.field))) is not None]
        if not values:
            return NO_DATA
        value = sum(values) if p.aggregate == "sum" else max(values) if p.aggregate == "max" else values[-1]
        return band_label(value, p.bands or "yuan")
    if p.kind == "trend":
        return trend_label(_series(records, p.field))
    if p.kind == "streak":
        return band_label(Decimal(streak_months(records, p.field)), "months")
    if p.kind == "flag":
        flags = [b for r in current if (b := to_bool(r.data.get(p.field))) is not None]
        return NO_DATA if not flags else p.labels[True] if any(flags) else p.labels[False]
    if p.kind == "flag_unresolved":  # any record whose field (e.g. 是否补缴) is false
        flags = [to_bool(r.data.get(p.field)) for r in current]
        return p.labels[True] if any(f is not True for f in flags) else p.labels[False]
    if p.kind == "grade":
        value = current[-1].data.get(p.field)
        return p.labels.get(value, "其他") if value is not None else NO_DATA
    if p.kind == "recency":
        dates = [d for r in current if (d := _parse_date(r.data.get(p.field))) is not None]
        return recency_label(max(dates) if dates else None, today)
    raise ValueError(f"unknown product kind {p.kind}")
