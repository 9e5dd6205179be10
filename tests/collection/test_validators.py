"""Validation of records against their category: every field type, the row API, hostile values."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from fincredit.collection.validators import (
    FIELD_TYPES,
    RowError,
    compile_fields,
    describe_value,
    iter_validated,
    validate_row,
)

from .test_identifiers import make_rid, make_uscc

TAX_FIELDS = [
    {"name": "企业名称", "type": "text", "required": True},
    {"name": "统一社会信用代码", "type": "uscc", "required": True, "identifies": True},
    {"name": "近一年增值税应纳税金额(元)", "type": "amount_yuan"},
    {"name": "连续正常缴税周期(月)", "type": "months"},
    {"name": "最近一次正常缴税日期", "type": "date"},
]
PERSON_FIELDS = [
    {"name": "姓名", "type": "text", "personal": True, "required": True},
    {"name": "证件类型", "type": "id_type", "required": True},
    {"name": "证件号码", "type": "id_number", "id_type_field": "证件类型", "personal": True, "required": True,
     "identifies": True},
    {"name": "是否取消", "type": "boolean"},
]
USCC = make_uscc("91320102MA1X2Y3W4")


def one(kind: str, value: object, **options: object) -> tuple[object, str | None]:
    """Validate a single-field row; (clean value or None, error code or None)."""
    clean, errors = validate_row([{"name": "f", "type": kind, **options}], {"f": value})
    if errors:
        assert clean is None and len(errors) == 1
        return None, errors[0].code
    assert clean is not None
    return clean.get("f"), None


def test_tax_row_clean() -> None:
    raw = {"企业名称": " 南京某某科技有限公司 ", "统一社会信用代码": USCC.lower(),
           "近一年增值税应纳税金额(元)": "￥1,234,567.80", "连续正常缴税周期(月)": "36",
           "最近一次正常缴税日期": "2024/3/5", "not a field": "ignored"}
    clean, errors = validate_row(TAX_FIELDS, raw, row=2)
    assert errors == []
    assert clean == {"企业名称": "南京某某科技有限公司", "统一社会信用代码": USCC,
                     "近一年增值税应纳税金额(元)": "1234567.8", "连续正常缴税周期(月)": 36,
                     "最近一次正常缴税日期": "2024-03-05"}


def test_row_errors_carry_row_field_code_and_chinese_message() -> None:
    raw = {"企业名称": "", "统一社会信用代码": USCC[:17] + ("0" if USCC[17] != "0" else "1"),
           "近一年增值税应纳税金额(元)": "-12.5", "最近一次正常缴税日期": "2023-02-30"}
    clean, errors = validate_row(TAX_FIELDS, raw, row=7)
    assert clean is None
    assert [(e.row, e.field, e.code) for e in errors] == [
        (7, "企业名称", "required"), (7, "统一社会信用代码", "bad_uscc_check_digit"),
        (7, "近一年增值税应纳税金额(元)", "negative_amount"), (7, "最近一次正常缴税日期", "impossible_date")]
    assert "校验位" in errors[1].message and USCC[:10] in errors[1].message
    assert errors[3].as_dict() == {"row": 7, "field": "最近一次正常缴税日期", "code": "impossible_date",
                                   "message": errors[3].message}


def test_missing_optional_values_are_omitted() -> None:
    clean, errors = validate_row(TAX_FIELDS, {"企业名称": "甲", "统一社会信用代码": USCC,
                                              "近一年增值税应纳税金额(元)": None, "连续正常缴税周期(月)": "  "})
    assert errors == [] and clean == {"企业名称": "甲", "统一社会信用代码": USCC}


def test_compiled_validator_is_reusable_and_accepts_field_objects() -> None:
    from fincredit.catalog.definitions import FieldDef

    validator = compile_fields([FieldDef(**f) for f in TAX_FIELDS])
    assert validate_row(validator, {"企业名称": "甲", "统一社会信用代码": USCC})[0] is not None
    assert validator({"企业名称": "甲"}, 3)[1][0].code == "required"
    assert {f.type for f in validator.fields} <= FIELD_TYPES


def test_unknown_field_type_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        compile_fields([{"name": "f", "type": "colour"}])


# -- text ----------------------------------------------------------------------------------------

def test_text() -> None:
    assert one("text", "  a\r\nb \t") == ("a\nb", None)
    assert one("text", "名称（全称）") == ("名称（全称）", None)
    assert one("text", "x" * 2000) == ("x" * 2000, None)
    assert one("text", "x" * 2001) == (None, "too_long")
    assert one("text", "x" * 11, max_length=10) == (None, "too_long")
    assert one("text", "\u3000\ufeff甲\u200b ") == ("甲", None)
    assert one("text", 12345) == ("12345", None)
    assert one("text", 12345.0) == ("12345", None)
    assert one("text", ["a"]) == (None, "bad_value")


@pytest.mark.parametrize("value", ["a\x00b", "a\x07b", "\x1b[31mred", "a\x7fb", "a\x85b", "abc\u202egpj.exe"])
def test_control_characters(value: str) -> None:
    assert one("text", value) == (None, "control_characters")


@pytest.mark.parametrize("value", [
    "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil\",\"点击\")", "@SUM(1+1)*cmd|' /C calc'!A0", "+cmd|'/C calc'!A0",
    "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1", "-SUM(A1:A2)", "@A1", "+A1", "=\"a\"",
])
def test_formula_injection(value: str) -> None:
    assert one("text", value) == (None, "formula_injection")


@pytest.mark.parametrize("value", ["-12.5", "-1年", "+86 138 1234 5678", "-", "--", "——", "- 无", "-张三",
                                   "@张三", "a=b", "1+1", "="])
def test_not_formulas(value: str) -> None:
    assert one("text", value)[1] is None


def test_numbers_with_sign_are_fine_in_numeric_fields() -> None:
    assert one("number", "-12.5", min=-100) == ("-12.5", None)
    assert one("amount_yuan", "-12.5") == (None, "negative_amount")


# -- amounts and numbers -----------------------------------------------------------------------

@pytest.mark.parametrize(("value", "clean"), [
    ("0", "0"), ("100", "100"), ("100.00", "100"), ("1,234.5", "1234.5"), ("¥1,234.56", "1234.56"),
    ("￥ 1,000", "1000"), ("１２３．４", "123.4"), ("12元", "12"), (" 7.10 ", "7.1"), (1234, "1234"),
    (1234.5, "1234.5"), (0.1 + 0.2, "0.3"), (Decimal("12.30"), "12.3"), ("1.2E+5", "120000"), (".5", "0.5"),
    ("007", "7"),
])
def test_amount_yuan(value: object, clean: str) -> None:
    assert one("amount_yuan", value) == (clean, None)


@pytest.mark.parametrize(("value", "code"), [
    ("-1", "negative_amount"), ("1.234", "too_many_decimals"), ("1,23", "bad_amount"), ("12万元", "bad_amount"),
    ("abc", "bad_amount"), ("1e999", "out_of_range"), ("1" * 16, "out_of_range"), (True, "bad_amount"),
    (float("nan"), "bad_amount"), ("12,345,67", "bad_amount"), ("1 234", "bad_amount"),
])
def test_amount_yuan_refused(value: object, code: str) -> None:
    assert one("amount_yuan", value) == (None, code)


def test_amount_wan() -> None:
    assert one("amount_wan", "123.456789") == ("123.456789", None)
    assert one("amount_wan", "500万元") == ("500", None)
    assert one("amount_wan", "500万") == ("500", None)
    assert one("amount_wan", "1.1234567") == (None, "too_many_decimals")
    assert one("amount_wan", "500元") == (None, "bad_amount")  # never converted


def test_number_percent_count_months() -> None:
    assert one("number", "12.345678901") == ("12.345678901", None)
    assert one("number", "-1") == (None, "out_of_range")
    assert one("number", "5", min=10) == (None, "out_of_range")
    assert one("number", "11", max=10) == (None, "out_of_range")
    assert one("percent", "12%") == ("12", None)
    assert one("percent", "12.5 ％") == ("12.5", None)
    assert one("percent", "100") == ("100", None)
    assert one("percent", "100.1") == (None, "out_of_range")
    assert one("percent", "12%%") == (None, "bad_number")
    assert one("count", "1,234") == (1234, None)
    assert one("count", 12.0) == (12, None)
    assert one("count", "12人") == (12, None)
    assert one("count", "12.5") == (None, "bad_integer")
    assert one("count", "-1") == (None, "out_of_range")
    assert one("months", "36个月") == (36, None)
    assert one("months", "1201") == (None, "out_of_range")
    assert one("months", "0") == (0, None)


# -- dates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["2024-03-05", "2024/3/5", "2024.03.05", "20240305", "2024年3月5日", "2024年03月05",
                                   "2024/3/5 0:00", "2024-03-05 00:00:00", "2024-03-05T08:30:00", "２０２４－０３－０５",
                                   date(2024, 3, 5), datetime(2024, 3, 5, 10, 0), 45356, 45356.75, "45356", 20240305])
def test_dates_accepted(value: object) -> None:
    assert one("date", value) == ("2024-03-05", None)


@pytest.mark.parametrize(("value", "code"), [
    ("2023-02-30", "impossible_date"), ("2024-13-01", "impossible_date"), ("2023/2/29", "impossible_date"),
    ("1899-12-31", "date_out_of_range"), ("2101-01-01", "date_out_of_range"), ("2024-03", "bad_date"),
    ("2024", "bad_date"), ("昨天", "bad_date"), ("2024-03/05", "bad_date"), (2024, "bad_date"),
    (0, "bad_date"), (True, "bad_date"), ("9999", "bad_date"), (99999, "bad_date"),
])
def test_dates_refused(value: object, code: str) -> None:
    assert one("date", value) == (None, code)


def test_year_month_year_datetime() -> None:
    for value in ["2024-03", "202403", "2024年3月", "2024/03", "2024.3", "2024-3", "2024/3/1", datetime(2024, 3, 9)]:
        assert one("year_month", value) == ("2024-03", None), value
    assert one("year_month", "2024-13") == (None, "impossible_date")
    assert one("year_month", "20243") == (None, "bad_year_month")
    assert one("year", "2023") == (2023, None)
    assert one("year", "2023年度") == (2023, None)
    assert one("year", 2023.0) == (2023, None)
    assert one("year", "1948") == (None, "date_out_of_range")
    assert one("year", "23") == (None, "bad_year")
    assert one("datetime", "2024-03-05 12:30") == ("2024-03-05T12:30:00+08:00", None)
    assert one("datetime", "2024-03-05T04:30:00Z") == ("2024-03-05T12:30:00+08:00", None)
    assert one("datetime", "20240305123000") == ("2024-03-05T12:30:00+08:00", None)
    assert one("datetime", datetime(2024, 3, 5, 12, 30, tzinfo=timezone(timedelta(hours=9)))) == \
        ("2024-03-05T11:30:00+08:00", None)
    assert one("datetime", "2024-03-05") == ("2024-03-05T00:00:00+08:00", None)
    assert one("datetime", "2024-03-05 25:00") == (None, "impossible_date")
    assert one("datetime", "2024-03-05 12:00+99:00") == (None, "bad_datetime")
    assert one("datetime", "soon") == (None, "bad_datetime")


# -- boolean, enum, range --------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "clean"), [
    ("是", True), ("否", False), ("Y", True), ("n", False), ("1", True), ("0", False), ("TRUE", True),
    ("false", False), (" 是 ", True), (True, True), (0, False), ("Yes", True)])
def test_boolean(value: object, clean: bool) -> None:
    assert one("boolean", value) == (clean, None)


@pytest.mark.parametrize("value", ["对", "2", "是的", "有", 2])
def test_boolean_refused(value: object) -> None:
    assert one("boolean", value) == (None, "bad_boolean")


def test_enum() -> None:
    values = ["A", "B", "M", "C", "D", "国家级专精特新“小巨人”企业"]
    assert one("enum", "A", values=values) == ("A", None)
    assert one("enum", " Ａ ", values=values) == ("A", None)
    assert one("enum", "b", values=values) == ("B", None)
    assert one("enum", "国家级 专精特新“小巨人”企业", values=values) == ("国家级专精特新“小巨人”企业", None)
    clean, errors = validate_row([{"name": "f", "type": "enum", "values": values}], {"f": "E"})
    assert errors[0].code == "not_in_enum" and "A、B" in errors[0].message


@pytest.mark.parametrize(("value", "clean"), [
    ("100-500", {"text": "100-500", "low": "100", "high": "500"}),
    ("0~100", {"text": "0-100", "low": "0", "high": "100"}),
    ("100～500万元", {"text": "100-500万元", "low": "100", "high": "500"}),
    ("100万元-500万元", {"text": "100-500万元", "low": "100", "high": "500"}),
    ("1,000至5,000", {"text": "1000-5000", "low": "1000", "high": "5000"}),
    ("≥1000", {"text": "≥1000", "low": "1000", "high": None}),
    (">=1000", {"text": "≥1000", "low": "1000", "high": None}),
    ("1000以上", {"text": "≥1000", "low": "1000", "high": None}),
    ("1000千瓦时及以上", {"text": "≥1000千瓦时", "low": "1000", "high": None}),
    ("＞1000", {"text": ">1000", "low": "1000", "high": None}),
    ("≤100", {"text": "≤100", "low": None, "high": "100"}),
    ("100以下", {"text": "≤100", "low": None, "high": "100"}),
    ("<50", {"text": "<50", "low": None, "high": "50"}),
    ("300", {"text": "300", "low": "300", "high": "300"}),
])
def test_range(value: str, clean: dict) -> None:
    assert one("range", value) == (clean, None)


@pytest.mark.parametrize("value", ["500-100", "abc", "-5", "100-500元-600", "100元-500万元", "以上", "100-", "1" * 70])
def test_range_refused(value: str) -> None:
    assert one("range", value) == (None, "bad_range")


# -- certificate numbers in rows ------------------------------------------------------------------

def test_id_number_follows_its_type_field() -> None:
    rid = make_rid("320103", "19640229")
    clean, errors = validate_row(PERSON_FIELDS, {"姓名": "王某", "证件类型": "身份证", "证件号码": rid.lower(),
                                                 "是否取消": "否"})
    assert errors == [] and clean == {"姓名": "王某", "证件类型": "居民身份证", "证件号码": rid, "是否取消": False}
    clean, errors = validate_row(PERSON_FIELDS, {"姓名": "王某", "证件类型": "营业执照", "证件号码": rid})
    assert [e.code for e in errors] == ["bad_uscc_check_digit"] or [e.code for e in errors] == ["bad_uscc_format"]


def test_bad_resident_id_in_row_is_masked_in_message() -> None:
    rid = make_rid("320102", "19650101")
    wrong = rid[:17] + ("0" if rid[17] != "0" else "1")
    _, errors = validate_row(PERSON_FIELDS, {"姓名": "王某", "证件类型": "居民身份证", "证件号码": wrong})
    assert errors[0].code == "bad_resident_id_check_digit"
    assert wrong not in errors[0].message and wrong[:4] in errors[0].message and "*" in errors[0].message


def test_id_type_inferred_when_absent() -> None:
    fields = [{"name": "证件类型", "type": "id_type"},
              {"name": "证件号码", "type": "id_number", "id_type_field": "证件类型", "required": True}]
    rid = make_rid("320107", "19620707")
    assert validate_row(fields, {"证件号码": rid}) == ({"证件号码": rid, "证件类型": "居民身份证"}, [])
    assert validate_row(fields, {"证件类型": "", "证件号码": USCC}) == (
        {"证件号码": USCC, "证件类型": "统一社会信用代码"}, [])
    _, errors = validate_row(fields, {"证件号码": "E12345678"})
    assert errors[0].code == "bad_id_number"
    _, errors = validate_row(fields, {"证件类型": "驾照", "证件号码": rid})
    assert [e.code for e in errors] == ["bad_id_type"]  # the number is not judged by an unknown type
    _, errors = validate_row(fields, {"证件类型": "护照"})
    assert [e.code for e in errors] == ["required"]


# -- helpers and iteration -------------------------------------------------------------------------

def test_describe_value() -> None:
    assert describe_value("x" * 50) == "x" * 20 + "…"
    assert describe_value("a\x00b") == "a\\x00b"
    assert describe_value("王小明", personal=True) == "王**"
    assert describe_value("320102196501011234", personal=True) == "3201************34"


def test_iter_validated_passes_parse_errors_through() -> None:
    validator = compile_fields(TAX_FIELDS)
    parse_error = RowError(3, "", "bad_json", "不是有效的 JSON")
    out = list(iter_validated([(2, {"企业名称": "甲", "统一社会信用代码": USCC}), (3, parse_error), (4, {})],
                              validator))
    assert out[0] == (2, {"企业名称": "甲", "统一社会信用代码": USCC}, [])
    assert out[1] == (3, None, [parse_error])
    assert out[2][1] is None and {e.code for e in out[2][2]} == {"required"}


# -- properties ------------------------------------------------------------------------------------

ALL_TYPES_FIELDS = [{"name": kind, "type": kind} for kind in sorted(FIELD_TYPES - {"enum", "id_number"})] + [
    {"name": "enum", "type": "enum", "values": ["是", "否"]},
    {"name": "id_number", "type": "id_number", "id_type_field": "id_type"},
]
ALL_TYPES = compile_fields(ALL_TYPES_FIELDS)
cell = st.one_of(st.text(max_size=40), st.none(), st.integers(), st.floats(), st.booleans(), st.dates(),
                 st.datetimes(), st.decimals(allow_nan=True), st.text(alphabet="0123456789-./年月日%,¥ Xx+=@", max_size=25))


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({}, optional={f["name"]: cell for f in ALL_TYPES_FIELDS}))
def test_validate_row_never_raises(raw: dict) -> None:
    clean, errors = ALL_TYPES.validate(raw, row=1)
    assert (clean is None) == bool(errors)
    assert all(isinstance(e, RowError) and e.code != "unparseable_value" and e.message for e in errors)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9),
       st.sampled_from("123456789"), st.sampled_from("123456789"), st.text(alphabet="0123456789", min_size=6, max_size=6),
       st.sampled_from(["", " ", "lower"]))
def test_valid_uscc_output_passes_stdnum(org: str, authority: str, kind: str, region: str, style: str) -> None:
    code = make_uscc(authority + kind + region + org[:9])
    value = code.lower() if style == "lower" else style + code + style
    clean, errors = validate_row([{"name": "u", "type": "uscc"}], {"u": value})
    assert errors == [] and stdnum_uscc.is_valid(clean["u"]) and clean["u"] == code
