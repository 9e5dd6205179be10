"""Which negative records may be repaired (信用修复), and from when. Pure: no ORM, no web.

Source: 《失信行为纠正后的信用信息修复管理办法（试行）》（国家发展和改革委员会令第58号，2023年）. It sets
a *minimum publicity period* (最短公示期) after which an entity that has corrected its conduct may
apply: for administrative-penalty information 3 months when the conduct is 一般失信 and 1 year when
it is 严重失信; for entries of a 严重失信主体名单 the list's own period — the 公示截止日期 when the
record carries one, else (this node's rule) 1 year after the date the entry was confirmed.

The table below is the node's reading of those rules for the catalog's categories (add a row to
make a category repairable):

* 23 行政强制信息 — treated like administrative-penalty information: 3 months after 执行时间, or
  1 year when the record's reason/basis text marks it 严重;
* 25 信用承诺履约践诺情况 — only records whose 承诺履行状态 is 未履行 or 部分履行: 3 months after
  履约践诺情况认定日期;
* 36 企业严重失信惩戒名单 and 37 自然人严重违法惩戒名单 (the legal representative) — the day after
  公示截止日期 when present, else 1 year after 确认严重违法失信日期.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SOURCE = "《失信行为纠正后的信用信息修复管理办法（试行）》（国家发展和改革委员会令第58号）"


@dataclass(frozen=True)
class RepairRule:
    category: str
    label: str
    date_field: str  # the date the minimum period counts from
    minor_months: int  # minimum period of an ordinary (一般) record
    serious_months: int  # minimum period when the record is marked serious
    serious_fields: tuple[str, ...] = ()  # text fields whose content marks the record serious
    serious_markers: tuple[str, ...] = ("严重",)
    publicity_end_field: str | None = None  # 公示截止日期: eligible the day after, when present
    always_serious: bool = False
    negative_field: str | None = None  # only records whose field has one of ``negative_values``
    negative_values: tuple[str, ...] = ()


RULES: dict[str, RepairRule] = {rule.category: rule for rule in (
    RepairRule("23", "行政强制信息", "执行时间", 3, 12,
               serious_fields=("行政强制执行理由", "行政强制执行依据", "行政强制决定书名称")),
    RepairRule("25", "信用承诺未履行信息", "履约践诺情况认定日期", 3, 12,
               negative_field="承诺履行状态", negative_values=("未履行", "部分履行")),
    RepairRule("36", "企业严重失信惩戒名单信息", "确认严重违法失信日期", 12, 12,
               publicity_end_field="公示截止日期", always_serious=True),
    RepairRule("37", "法定代表人严重违法惩戒名单信息", "确认严重违法失信日期", 12, 12,
               publicity_end_field="公示截止日期", always_serious=True),
)}


class NotEligible(Exception):  # noqa: N818 — a verdict, carried to a 422
    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


@dataclass(frozen=True)
class Eligibility:
    eligible_from: dt.date
    rule_text: str  # Chinese: which period applied and why


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError("unreachable")


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _period(months: int) -> str:
    return f"{months // 12}年" if months % 12 == 0 else f"{months}个月"


def eligibility(category: str, data: Mapping[str, Any]) -> Eligibility:
    """From when the record may be repaired; raises ``NotEligible`` for a category or record that cannot."""
    rule = RULES.get(category)
    if rule is None:
        names = "、".join(f"{r.category} {r.label}" for r in RULES.values())
        raise NotEligible("category_not_repairable", f"该信息类不属于可申请信用修复的失信信息（可申请：{names}）")
    if rule.negative_field and str(data.get(rule.negative_field) or "") not in rule.negative_values:
        raise NotEligible("record_not_negative", f"该记录不是失信记录（{rule.negative_field}："
                                                 f"{str(data.get(rule.negative_field) or '空')[:20]}），无需修复")
    end = _date(data.get(rule.publicity_end_field)) if rule.publicity_end_field else None
    if end is not None:
        return Eligibility(end + dt.timedelta(days=1),
                           f"{rule.label}：公示截止日期 {end.isoformat()} 届满后可申请修复（依据{SOURCE}）")
    start = _date(data.get(rule.date_field))
    if start is None:
        raise NotEligible("record_undated", f"记录缺少“{rule.date_field}”，无法计算最短公示期，请先提出异议更正")
    serious = rule.always_serious or any(marker in str(data.get(f) or "") for f in rule.serious_fields
                                         for marker in rule.serious_markers)
    months = rule.serious_months if serious else rule.minor_months
    kind = "严重失信" if serious else "一般失信"
    return Eligibility(add_months(start, months),
                       f"{rule.label}（{kind}）：自{rule.date_field} {start.isoformat()} 起最短公示期"
                       f"{_period(months)}届满后可申请修复（依据{SOURCE}）")


def check_eligible(category: str, data: Mapping[str, Any], today: dt.date) -> Eligibility:
    """``eligibility`` and the minimum period must have elapsed by ``today`` (Asia/Shanghai)."""
    result = eligibility(category, data)
    if today < result.eligible_from:
        raise NotEligible("repair_too_early",
                          f"尚未满最短公示期：{result.rule_text}；最早可于 {result.eligible_from.isoformat()} 申请",
                          {"eligible_from": result.eligible_from.isoformat()})
    return result
