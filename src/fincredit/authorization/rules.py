"""Purposes (用途) and their rules, as a table: add a purpose by adding a row.

Pure module (no ORM, no web). Each purpose says how long an authorization for it may last at most
(the cap), whether it must name categories and an institution, and which requested uses it serves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fincredit.errors import Unprocessable

# The use an institution's query is made for when it names none: a general credit query for
# financing support. Only the financing purposes below serve it; the sucode purpose does not.
GENERAL_QUERY = "credit_query"


@dataclass(frozen=True)
class PurposeRule:
    code: str
    label: str  # Chinese label shown in the letter and the UI
    max_days: int  # the longest validity an enterprise may grant for this purpose
    cap_reason: str  # why the cap is what it is (shown in the 422 message)
    categories_required: bool = True
    institution_required: bool = True
    # Requested uses this purpose serves (its own code is always included).
    serves: frozenset[str] = frozenset({GENERAL_QUERY})

    def allows_use(self, use: str | None) -> bool:
        return (use or GENERAL_QUERY) in self.serves | {self.code}


PURPOSES: dict[str, PurposeRule] = {rule.code: rule for rule in (
    PurposeRule("pre_loan", "贷前审查", 30, "贷前审查授权最长 30 天"),
    PurposeRule("loan_approval", "贷中审批", 90, "贷中审批授权最长 90 天"),
    PurposeRule("post_loan", "贷后监测", 3 * 365 + 1,
                "贷后监测授权随贷款期限，最长 3 年（贷款期限更长时需在到期前重新授权）"),
    PurposeRule("sucode", "苏信码展示", 366, "苏信码展示授权最长 1 年", categories_required=False,
                institution_required=False, serves=frozenset()),
)}

MAX_CATEGORIES = 64


def purpose_rule(code: str) -> PurposeRule:
    try:
        return PURPOSES[code]
    except KeyError:
        known = "、".join(f"{r.code}（{r.label}）" for r in PURPOSES.values())
        raise Unprocessable(f"未知的授权用途“{code}”，可选：{known}", code="unknown_purpose") from None


def check_period(rule: PurposeRule, starts_at: dt.datetime, expires_at: dt.datetime) -> None:
    """Expiry must lie in the future and within the purpose's cap."""
    if expires_at <= starts_at:
        raise Unprocessable("授权到期时间必须晚于当前时间", code="expiry_in_past")
    if expires_at - starts_at > dt.timedelta(days=rule.max_days):
        raise Unprocessable(f"授权期限超过上限：{rule.cap_reason}", code="authorization_exceeds_cap",
                            details={"purpose": rule.code, "max_days": rule.max_days})


def check_data_range(data_from: dt.date | None, data_to: dt.date | None) -> None:
    if data_from and data_to and data_from > data_to:
        raise Unprocessable("数据期间的起始日期不能晚于截止日期", code="invalid_data_range")


def normalize_categories(rule: PurposeRule, categories: list[str]) -> list[str]:
    """Trimmed, de-duplicated, in catalog order later; checks count and presence."""
    cleaned = list(dict.fromkeys(c.strip() for c in categories if c and c.strip()))
    if rule.categories_required and not cleaned:
        raise Unprocessable(f"用途“{rule.label}”的授权必须列出至少一个信息类", code="categories_required")
    if len(cleaned) > MAX_CATEGORIES:
        raise Unprocessable(f"一次授权最多 {MAX_CATEGORIES} 个信息类", code="too_many_categories")
    return cleaned
