"""Trend measures (趋势指标) over an enterprise's history of one category. Pure: no ORM, no web.

A measure turns stored records into a series of (period, value): monthly categories by their
period field (social insurance by 缴费年月, electricity by 计量开始日期), others by successive
versions of the same record (tax: each delivery supersedes the previous one). ``drop_percent``
compares the latest value with an earlier one (``lag``) or with the mean of earlier ones (``mean``).
Only the percentage leaves this module: alerts never carry the underlying amounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal


def number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(Decimal(str(value).strip().replace(",", "")))
    except (InvalidOperation, ValueError):
        return None


def range_midpoint(value: object) -> float | None:
    """A ``range`` value ``{"text", "low", "high"}`` → its midpoint (or its only bound)."""
    if isinstance(value, Mapping):
        low, high = number(value.get("low")), number(value.get("high"))
        if low is not None and high is not None:
            return (low + high) / 2
        return low if low is not None else high
    return number(value)


def month_of(value: object) -> str | None:
    text = str(value or "").strip()
    if len(text) >= 7 and text[4] == "-" and text[:4].isdigit() and text[5:7].isdigit():
        return text[:7]
    return None


def add_months(month: str, delta: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + (mon - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _headcount(data: Mapping[str, Any]) -> float | None:
    return number(data.get("参保人数"))


def _electricity(data: Mapping[str, Any]) -> float | None:
    return range_midpoint(data.get("使用量(区间)"))


def _tax_paid(data: Mapping[str, Any]) -> float | None:
    parts = [number(data.get("近一年增值税实际缴税金额(元)")), number(data.get("近一年企业所得税实际缴税金额(元)"))]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None


@dataclass(frozen=True)
class Measure:
    name: str
    category: str
    label: str
    value: Callable[[Mapping[str, Any]], float | None]
    period_field: str | None  # None: successive versions
    combine: Literal["max", "sum"] = "sum"  # several records in one period (insurance kinds, meters)


MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("social_insurance_headcount", "10", "参保人数", _headcount, "缴费年月", "max"),
    Measure("electricity_use", "14", "用电量", _electricity, "计量开始日期", "sum"),
    Measure("tax_paid", "1", "近一年实际缴税额", _tax_paid, None),
)}


def series(measure: Measure, rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, float]]:
    """``rows`` in chronological order of delivery → sorted ``(period, value)`` pairs."""
    if measure.period_field is None:
        values = [measure.value(row) for row in rows]
        return [(f"v{i:06d}", v) for i, v in enumerate(v for v in values if v is not None)]
    per_period: dict[str, float] = {}
    for row in rows:
        period, value = month_of(row.get(measure.period_field)), measure.value(row)
        if period is None or value is None:
            continue
        if period not in per_period:
            per_period[period] = value
        elif measure.combine == "max":
            per_period[period] = max(per_period[period], value)
        else:
            per_period[period] += value
    return sorted(per_period.items())


def drop_percent(measure: Measure, points: list[tuple[str, float]], compare: str,
                 periods: int) -> tuple[str, float] | None:
    """``(latest period, percent fallen)`` or None when there is no comparable baseline."""
    if len(points) < 2:
        return None
    latest_period, latest = points[-1]
    monthly = measure.period_field is not None
    if compare == "lag":
        if monthly:
            baseline = dict(points).get(add_months(latest_period, -periods))
        else:
            baseline = points[-1 - periods][1] if len(points) > periods else None
    else:
        if monthly:
            wanted = {add_months(latest_period, -k) for k in range(1, periods + 1)}
            earlier = [v for p, v in points[:-1] if p in wanted]
        else:
            earlier = [v for _, v in points[-1 - periods:-1]]
        baseline = sum(earlier) / len(earlier) if len(earlier) >= max(1, periods // 2) else None
    if baseline is None or baseline <= 0:
        return None
    return latest_period, (baseline - latest) / baseline * 100
