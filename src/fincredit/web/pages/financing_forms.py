"""Reading and showing the financing forms of the portals: numbers typed by people, a product's
eligibility rules as rows of (indicator, operator, value), and the rules explained in Chinese.

Only parsing and presentation live here; every rule of the business (ranges, known indicators and
operators, sharing ratios, loan checks) is the financing service's, and its errors are mapped back
to the field they concern.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import FormData

from fincredit.errors import DomainError
from fincredit.financing.rules import GRADE_ORDER, INDICATORS, OP_LABELS, OPS_BY_TYPE
from fincredit.financing.rules import _show as show_value
from fincredit.financing.service import COMPENSATION_FUNDS, PRODUCT_TYPES
from fincredit.web.pagekit import text_field as text

RULE_ROWS = 5
SIZE_CLASSES = ("大型", "中型", "小型", "微型")
TRUE_WORDS = {"是", "true", "1", "yes"}
FALSE_WORDS = {"否", "false", "0", "no"}
LIST_OPS = {"in", "not_in"}


def number(form: FormData, name: str, errors: dict[str, str], label: str, *, integer: bool = False,
           required: bool = True) -> Any:
    """The typed number (commas and full-width digits tolerated), or None with a message next to the field."""
    raw = text(form, name, 40).replace(",", "").replace("，", "")
    raw = raw.translate(str.maketrans("０１２３４５６７８９．", "0123456789."))
    if not raw:
        if required:
            errors[name] = f"请填写{label}"
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        errors[name] = f"{label}应为数字"
        return None
    if not value.is_finite():
        errors[name] = f"{label}应为数字"
        return None
    if integer:
        if value != value.to_integral_value():
            errors[name] = f"{label}应为整数"
            return None
        return int(value)
    return float(value)


def date_field(form: FormData, name: str, errors: dict[str, str], label: str) -> dt.date | None:
    raw = text(form, name, 20)
    if not raw:
        errors[name] = f"请填写{label}"
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = "日期格式应为 年-月-日"
        return None


def codes(value: str) -> list[str]:
    """``3201, 3202；3205`` → ["3201", "3202", "3205"]."""
    for sep in ("，", "、", ";", "；", " "):
        value = value.replace(sep, ",")
    return [v.strip() for v in value.split(",") if v.strip()]


# --- products --------------------------------------------------------------------------------------

def _rule_value(indicator: str, op: str, raw: str) -> Any:
    ind = INDICATORS[indicator]
    if op in LIST_OPS or (op == "prefix" and len(codes(raw)) > 1):
        return codes(raw)
    if ind.type == "number":
        try:
            return float(raw) if "." in raw else int(raw)
        except ValueError:
            return raw  # the service explains that a number is expected
    if ind.type == "bool":
        lowered = raw.lower()
        return True if lowered in TRUE_WORDS else False if lowered in FALSE_WORDS else raw
    if ind.type == "grade":
        return raw.upper()
    return raw


def parse_rules(form: FormData, errors: dict[str, str]) -> list[dict[str, Any]]:
    rules = []
    for i in range(RULE_ROWS):
        indicator, op, raw = text(form, f"rule_indicator_{i}", 64), text(form, f"rule_op_{i}", 8), \
            text(form, f"rule_value_{i}", 200)
        if not indicator and not raw:
            continue
        if indicator not in INDICATORS:
            errors[f"rule_indicator_{i}"] = "请选择指标"
            continue
        if not op:
            errors[f"rule_op_{i}"] = "请选择条件"
            continue
        if not raw:
            errors[f"rule_value_{i}"] = "请填写取值"
            continue
        rules.append({"indicator": indicator, "op": op, "value": _rule_value(indicator, op, raw), "_row": i})
    return rules


def parse_product(form: FormData) -> tuple[dict[str, Any], list[int], dict[str, str]]:
    """The product typed in the form (for ``financing.service.publish_product``), the form row of
    each rule, and the problems found before asking the service."""
    errors: dict[str, str] = {}
    name = text(form, "name", 200)
    if not name:
        errors["name"] = "请填写产品名称"
    kind = text(form, "type", 16)
    if not kind:
        errors["type"] = "请选择产品类型"
    data: dict[str, Any] = {"name": name, "type": kind}
    for field, label, integer in (("amount_min_wan", "最低金额", False), ("amount_max_wan", "最高金额", False),
                                  ("term_min_months", "最短期限", True), ("term_max_months", "最长期限", True),
                                  ("rate_min", "最低年利率", False), ("rate_max", "最高年利率", False)):
        data[field] = number(form, field, errors, label, integer=integer)
    data["size_classes"] = [v for v in form.getlist("size_classes") if isinstance(v, str) and v in SIZE_CLASSES]
    data["industries"] = codes(text(form, "industries", 500))
    data["regions"] = codes(text(form, "regions", 500))
    data["compensation_fund"] = text(form, "compensation_fund", 16) or None
    data["guarantee_scheme"] = text(form, "guarantee_scheme", 200) or None
    data["sharing_ratio"] = number(form, "sharing_ratio", errors, "分担比例", required=False)
    rules = parse_rules(form, errors)
    rows = [r.pop("_row") for r in rules]
    data["rules"] = rules
    return data, rows, errors


PRODUCT_ERROR_FIELDS = {"bad_product_type": "type", "bad_compensation_fund": "compensation_fund",
                        "bad_sharing_ratio": "sharing_ratio"}
RANGE_FIELDS = {"金额（万元）": "amount_min_wan", "期限（月）": "term_min_months", "年利率（%）": "rate_min"}


def product_error_field(exc: DomainError, rule_rows: list[int]) -> str:
    if exc.code == "bad_product_range" and isinstance(exc.details, dict):
        return RANGE_FIELDS.get(exc.details.get("field", ""), "_form")
    if exc.code == "bad_product_rule" and isinstance(exc.details, dict):
        index = exc.details.get("rule")
        if isinstance(index, int) and 0 <= index < len(rule_rows):
            return f"rule_value_{rule_rows[index]}"
    return PRODUCT_ERROR_FIELDS.get(exc.code, "_form")


def product_form_values(product: dict[str, Any]) -> dict[str, Any]:
    """A published product as the form's values (to publish a revised version)."""
    values: dict[str, Any] = {k: product[k] for k in ("name", "type")}
    for k in ("amount_min_wan", "amount_max_wan", "rate_min", "rate_max", "sharing_ratio"):
        values[k] = "" if product[k] is None else f"{product[k]:g}"
    values.update(term_min_months=str(product["term_min_months"]), term_max_months=str(product["term_max_months"]),
                  size_classes=list(product["size_classes"]), industries="，".join(product["industries"]),
                  regions="，".join(product["regions"]), compensation_fund=product["compensation_fund"] or "",
                  guarantee_scheme=product["guarantee_scheme"] or "")
    for i, rule in enumerate(product["rules"][:RULE_ROWS]):
        value = rule["value"]
        shown = "，".join(value) if isinstance(value, list) else ("是" if value is True else "否" if value is False
                                                                   else str(value))
        values.update({f"rule_indicator_{i}": rule["indicator"], f"rule_op_{i}": rule["op"], f"rule_value_{i}": shown})
    return values


def product_options() -> dict[str, Any]:
    return {"type_options": list(PRODUCT_TYPES.items()), "fund_options": list(COMPENSATION_FUNDS.items()),
            "indicator_options": [(i.code, i.label) for i in INDICATORS.values()],
            "op_options": list(OP_LABELS.items()), "size_options": SIZE_CLASSES, "rule_rows": RULE_ROWS,
            "indicator_help": [(i.label, "、".join(OP_LABELS[o] for o in sorted(OPS_BY_TYPE[i.type])),
                                _value_hint(i.type)) for i in INDICATORS.values()]}


def _value_hint(kind: str) -> str:
    return {"grade": "等级，如 " + "、".join(GRADE_ORDER[:4]), "number": "数字", "bool": "是 或 否",
            "text": "文字，多个用逗号分隔", "code": "代码，多个用逗号分隔"}[kind]


def rule_text(rule: dict[str, Any]) -> str:
    ind = INDICATORS.get(rule["indicator"])
    label = ind.label if ind else rule["indicator"]
    return f"{label}{OP_LABELS.get(rule['op'], rule['op'])}{show_value(rule['value'])}"


def product_view(product: dict[str, Any], institution_name: str = "") -> dict[str, Any]:
    """``financing.service.product_out`` plus what a person reads: the conditions in Chinese."""
    conditions = []
    if product["size_classes"]:
        conditions.append("企业规模：" + "、".join(product["size_classes"]))
    if product["industries"]:
        conditions.append("行业代码以 " + "、".join(product["industries"]) + " 开头")
    if product["regions"]:
        conditions.append("住所所在地行政区划代码以 " + "、".join(product["regions"]) + " 开头")
    conditions += [rule_text(r) for r in product["rules"]]
    return {**product, "institution_name": institution_name, "conditions": conditions}
