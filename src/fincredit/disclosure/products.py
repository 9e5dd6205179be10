"""Processed products (加工产品) per non-public category, as a declarative table. Pure module.

Institutions never receive raw rows of a non-public category (苏政办发〔2022〕59号 §14 and the annex
note); under an authorization they receive these products: bands (区间), trends over the stored
history (趋势), months of continuous payment (连续月数), flags (标志) and counts (计数).
Products never read a personal field, nor a verification-only field (category 10's four 数据核验
fields): ``check_definitions`` enforces both against the catalog. A category added at run time
without an entry here gets ``FALLBACK`` (whether records exist, and how many).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from fincredit.catalog.definitions import CategoryDef
from fincredit.disclosure.product_kinds import ProductDef, RecordView, current_records, evaluate

P = ProductDef
ARREARS_12M = dict(kind="count", window_days=365)

PRODUCTS: dict[str, list[ProductDef]] = {
    "1": [P("vat_paid_band", "近一年增值税实际缴税金额区间", "band", "近一年增值税实际缴税金额(元)", "yuan"),
          P("cit_paid_band", "近一年企业所得税实际缴税金额区间", "band", "近一年企业所得税实际缴税金额(元)", "yuan"),
          P("tax_streak", "连续正常缴税周期", "band", "连续正常缴税周期(月)", "months"),
          P("last_tax_paid", "最近一次正常缴税距今", "recency", "最近一次正常缴税日期"),
          P("vat_trend", "增值税实际缴税金额趋势", "trend", "近一年增值税实际缴税金额(元)")],
    "2": [P("tax_arrears", "当前是否欠税", "flag", "当前是否欠税", labels={True: "存在欠税", False: "无欠税"}),
          P("tax_arrears_kinds", "当前欠税的税种数", "count", where=("当前是否欠税", True))],
    "3": [P("abnormal_taxpayer", "是否为非正常纳税户", "flag", "是否非正常纳税户",
            labels={True: "已被认定为非正常纳税户", False: "非非正常纳税户"})],
    "4": [P("tax_credit_grade", "最近年度纳税信用等级分档", "grade", "纳税信用等级",
            labels={"A": "良好（A级或B级）", "B": "良好（A级或B级）", "M": "一般（M级）",
                    "C": "较差（C级或D级）", "D": "较差（C级或D级）"})],
    "10": [P("insured_band", "参保人数区间（最近月份）", "band", "参保人数", "people"),
           P("pension_avg_band", "企业职工基本养老保险近一年月均参保人数区间", "band",
             "企业职工基本养老保险近一年月均参保人数", "people"),
           P("insured_trend", "参保人数趋势", "trend", "参保人数"),
           P("social_insurance_streak", "社保连续缴费月数", "streak", "缴费年月")],
    "11": [P("social_insurance_arrears", "当前是否欠缴社保费", "flag", "当前是否欠费",
             labels={True: "存在社保欠费", False: "无社保欠费"})],
    "12": [P("labour_review_result", "最近一次劳动保障书面审查结果", "grade", "审查结果",
             labels={"合格": "审查合格", "基本合格": "审查基本合格", "不合格": "审查不合格", "其他": "其他"}),
           P("staff_band", "年末从业人员总数区间", "band", "年末从业人员总数", "people")],
    "13": [P("fund_people_band", "近一年月均公积金缴存人数区间", "band", "近一年月均缴存人数(人)", "people"),
           P("fund_total_band", "近一年住房公积金缴存总额区间", "band", "近一年住房公积金缴存总额(元)", "yuan"),
           P("fund_streak", "近一年连续正常缴纳周期", "band", "近一年连续正常缴纳周期(月)", "months"),
           P("fund_last_paid", "最近一次正常缴费距今", "recency", "最近一次正常缴费日期"),
           P("fund_people_trend", "公积金缴存人数趋势", "trend", "缴存人数")],
    "14": [P("power_arrears", "当前是否欠电费", "flag", "当前是否欠费", labels={True: "存在电费欠费", False: "无电费欠费"}),
           P("power_avg6_band", "近6个月月均电费区间", "band", "近6个月月均用电量(元)", "yuan_small"),
           P("power_payment_trend", "电费缴纳金额趋势", "trend", "交费金额(元)"),
           P("power_streak", "连续有用电记录的月数", "streak", "计量开始日期")],
    "15": [P("power_arrears_12m", "近一年用电拖欠次数", **ARREARS_12M),
           P("power_arrears_unpaid", "是否存在未补缴的用电拖欠", "flag_unresolved", "是否补缴",
             labels={True: "存在未补缴的拖欠", False: "拖欠均已补缴"})],
    "31": [P("water_arrears", "当前是否欠水费", "flag", "当前是否欠费", labels={True: "存在水费欠费", False: "无水费欠费"}),
           P("water_usage_trend", "用水量趋势", "trend", "用水量"),
           P("water_streak", "连续有用水记录的月数", "streak", "计量开始日期")],
    "32": [P("gas_arrears", "当前是否欠燃气费", "flag", "当前是否欠费", labels={True: "存在燃气费欠费", False: "无燃气费欠费"}),
           P("gas_usage_trend", "用气量趋势", "trend", "用气量"),
           P("gas_streak", "连续有用气记录的月数", "streak", "计量开始日期")],
    "33": [P("water_arrears_12m", "近一年用水拖欠次数", **ARREARS_12M),
           P("water_arrears_unpaid", "是否存在未补缴的用水拖欠", "flag_unresolved", "是否补缴",
             labels={True: "存在未补缴的拖欠", False: "拖欠均已补缴"})],
    "34": [P("gas_arrears_12m", "近一年用气拖欠次数", **ARREARS_12M),
           P("gas_arrears_unpaid", "是否存在未补缴的用气拖欠", "flag_unresolved", "是否补缴",
             labels={True: "存在未补缴的拖欠", False: "拖欠均已补缴"})],
    "35": [P("guarantee_count", "对外担保笔数", "count"),
           P("guarantee_open", "尚未解除的担保笔数", "count_open", "担保责任解除时间"),
           P("guarantee_total_band", "新增担保额合计区间", "band", "新增担保额(万元)", "wan:yuan", aggregate="sum"),
           P("related_guarantee", "是否存在关联担保", "flag", "是否关联担保",
             labels={True: "存在关联担保", False: "无关联担保"})],
}

FALLBACK = [P("has_records", "是否有记录", "exists"), P("record_count", "记录条数", "count")]

# The date a record is about (for windows, trends and an authorization's data period).
DATE_FIELDS: dict[str, str] = {
    "1": "最近一次正常缴税日期", "4": "评级年度", "10": "缴费年月", "12": "审查年度", "13": "缴存年月至",
    "14": "计量开始日期", "15": "拖欠缴开始日期", "31": "计量开始日期", "32": "计量开始日期",
    "33": "拖欠截止日期", "34": "拖欠截止日期", "35": "担保责任发生时间",
}


def products_for(cat: CategoryDef) -> list[ProductDef]:
    return PRODUCTS.get(cat.code, FALLBACK)


def _as_date(value: object) -> dt.date | None:
    text = str(value or "").strip()
    try:
        if len(text) == 4 and text.isdigit():
            return dt.date(int(text), 12, 31)
        if len(text) == 7:
            return dt.date(int(text[:4]), int(text[5:7]), 1)
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def date_fields(cat: CategoryDef) -> list[str]:
    """Where ``record_date`` looks, in order: the category's date field, its dated key fields, its
    other dated fields (the same for every record of the category: worked out once per category)."""
    names = [DATE_FIELDS[cat.code]] if cat.code in DATE_FIELDS else []
    names += [f.name for f in cat.fields if f.type in ("date", "year_month", "year") and f.name in cat.natural_key]
    names += [f.name for f in cat.fields if f.type in ("date", "year_month", "year")]
    return names


def record_date(cat: CategoryDef, data: dict, received_at: dt.datetime, names: Sequence[str] | None = None) -> dt.date:
    """The date a record is about: the category's date field, else the first dated key field.
    ``names``: ``date_fields(cat)``, when the caller worked them out once for several records."""
    for name in date_fields(cat) if names is None else names:
        day = _as_date(data.get(name))
        if day is not None:
            return day
    return received_at.date()


def within(day: dt.date, data_from: dt.date | None, data_to: dt.date | None) -> bool:
    return (data_from is None or day >= data_from) and (data_to is None or day <= data_to)


def evaluate_category(cat: CategoryDef, records: Sequence[RecordView], today: dt.date,
                      data_from: dt.date | None = None, data_to: dt.date | None = None) -> list[dict]:
    """The category's products over the records inside the authorized data period."""
    rows = (list(records) if data_from is None and data_to is None  # no data period: every record
            else [r for r in records if within(r.record_date, data_from, data_to)])
    current = current_records(rows)  # once for all the category's products
    return [{"code": p.code, "name": p.name, "kind": p.kind, "value": evaluate(p, rows, today, current)}
            for p in products_for(cat)]


def check_definitions(categories: Sequence[CategoryDef]) -> list[str]:
    """Problems of the product table against a catalog (empty when sound)."""
    problems = []
    by_code = {c.code: c for c in categories}
    for cat in categories:
        if cat.disclosure_class == "non_public" and cat.code not in PRODUCTS:
            problems.append(f"{cat.code}: non-public category without products")
    for code, defs in PRODUCTS.items():
        cat = by_code.get(code)
        if cat is None:
            continue
        forbidden = set(cat.verification_fields) | set(cat.personal_fields)
        for p in defs:
            used = {n for n in (p.field, p.where[0] if p.where else None) if n}
            missing = used - {f.name for f in cat.fields}
            if missing:
                problems.append(f"{code}/{p.code}: unknown fields {sorted(missing)}")
            if used & forbidden:
                problems.append(f"{code}/{p.code}: uses personal or verification-only fields {sorted(used & forbidden)}")
    return problems
