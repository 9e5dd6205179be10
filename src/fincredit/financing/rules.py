"""Eligibility rules of products: a fixed, documented registry of indicators and a small rule
language ``{"indicator", "op", "value"}``. Pure module (no ORM, no web).

Indicators come from the enterprise's current evaluation (grade, score), its registration base
(size_class, region, industry, years_established) and the processed products (加工产品) the
disclosure capability defines (flags, streaks, counts). See ``INDICATORS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fincredit.errors import Unprocessable

GRADE_ORDER = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")
OPS_BY_TYPE = {
    "grade": {">=", "<=", "==", "!=", ">", "<"},
    "number": {">=", "<=", "==", "!=", ">", "<"},
    "bool": {"==", "!="},
    "text": {"==", "!=", "in", "not_in"},
    "code": {"==", "!=", "prefix", "in", "not_in"},
}
OP_LABELS = {">=": "不低于", "<=": "不高于", ">": "高于", "<": "低于", "==": "等于", "!=": "不等于",
             "in": "属于", "not_in": "不属于", "prefix": "以下列代码开头"}


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str  # Chinese, shown in match reasons
    type: str  # grade | number | bool | text | code
    source: str  # evaluation | registry | product:<category>/<product code>


INDICATORS: dict[str, Indicator] = {i.code: i for i in (
    Indicator("grade", "信用评价等级", "grade", "evaluation"),
    Indicator("score", "信用评价得分", "number", "evaluation"),
    Indicator("size_class", "企业规模", "text", "registry"),
    Indicator("region", "住所所在地行政区划代码", "code", "registry"),
    Indicator("industry", "行业代码", "code", "registry"),
    Indicator("years_established", "成立年限（年）", "number", "registry"),
    Indicator("tax.continuous_months", "连续正常缴税周期（月）", "number", "product:1/tax_streak"),
    Indicator("tax.abnormal", "是否为非正常纳税户", "bool", "product:3/abnormal_taxpayer"),
    Indicator("arrears.tax", "当前是否欠税", "bool", "product:2/tax_arrears"),
    Indicator("arrears.social_insurance", "当前是否欠缴社保费", "bool", "product:11/social_insurance_arrears"),
    Indicator("arrears.power", "当前是否欠电费", "bool", "product:14/power_arrears"),
    Indicator("arrears.water", "当前是否欠水费", "bool", "product:31/water_arrears"),
    Indicator("arrears.gas", "当前是否欠燃气费", "bool", "product:32/gas_arrears"),
    Indicator("social_insurance.continuous_months", "社保连续缴费月数", "number",
              "product:10/social_insurance_streak"),
    Indicator("guarantee.open_count", "尚未解除的对外担保笔数", "number", "product:35/guarantee_open"),
)}


def _bad(message: str, index: int) -> Unprocessable:
    return Unprocessable(f"第 {index + 1} 条准入规则不合规：{message}", code="bad_product_rule",
                         details={"rule": index})


def _check_value(ind: Indicator, op: str, value: Any, index: int) -> Any:
    if op in ("in", "not_in") or (op == "prefix" and isinstance(value, list)):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise _bad(f"运算符“{op}”的取值须为非空字符串列表", index)
        return value
    if ind.type == "grade":
        if value not in GRADE_ORDER:
            raise _bad(f"等级须为 {'、'.join(GRADE_ORDER)} 之一", index)
    elif ind.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(f"指标“{ind.label}”的取值须为数字", index)
    elif ind.type == "bool":
        if not isinstance(value, bool):
            raise _bad(f"指标“{ind.label}”的取值须为 true 或 false", index)
    elif not isinstance(value, str) or not value:
        raise _bad(f"指标“{ind.label}”的取值须为非空字符串", index)
    return value


def validate_rules(rules: list[Any]) -> list[dict[str, Any]]:
    """Checked, normalized rules; an unknown indicator or operator or a bad value → 422 bad_product_rule."""
    out = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict) or set(rule) != {"indicator", "op", "value"}:
            raise _bad("每条规则须恰好包含 indicator、op、value", index)
        ind = INDICATORS.get(rule["indicator"])
        if ind is None:
            raise _bad(f"未知指标“{rule['indicator']}”，可用指标：{'、'.join(INDICATORS)}", index)
        op = rule["op"]
        if op not in OPS_BY_TYPE[ind.type]:
            raise _bad(f"指标“{ind.label}”不支持运算符“{op}”，可用：{'、'.join(sorted(OPS_BY_TYPE[ind.type]))}",
                       index)
        out.append({"indicator": ind.code, "op": op, "value": _check_value(ind, op, rule["value"], index)})
    return out


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "in":
        return left in right
    if op == "not_in":
        return left not in right
    if op == "prefix":
        prefixes = right if isinstance(right, list) else [right]
        return any(str(left).startswith(p) for p in prefixes)
    return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right,
            "==": left == right, "!=": left != right}[op]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def check_rule(rule: dict[str, Any], actual: Any) -> dict[str, Any]:
    """Evaluate one rule on the enterprise's value; the reason explains the outcome in Chinese."""
    ind = INDICATORS[rule["indicator"]]
    op, expected = rule["op"], rule["value"]
    wanted = f"要求{ind.label}{OP_LABELS[op]}{_show(expected)}"
    if actual is None:
        return {**rule, "actual": None, "passed": False, "reason": f"{wanted}；暂无该项数据，不满足"}
    left, right = actual, expected
    if ind.type == "grade" and op not in ("in", "not_in"):  # better grades have smaller positions
        left, right = -GRADE_ORDER.index(actual) if actual in GRADE_ORDER else -99, -GRADE_ORDER.index(expected)
    passed = _compare(op, left, right)
    verdict = "满足" if passed else "不满足"
    return {**rule, "actual": actual, "passed": passed, "reason": f"{wanted}；实际为{_show(actual)}，{verdict}"}


def indicator_docs() -> list[dict[str, Any]]:
    return [{"code": i.code, "label": i.label, "type": i.type, "source": i.source,
             "ops": sorted(OPS_BY_TYPE[i.type])} for i in INDICATORS.values()]
