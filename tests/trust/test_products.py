"""Processed products (加工产品): every non-public category has them, and they never carry raw values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fincredit.catalog.definitions import load_annex
from fincredit.disclosure.product_kinds import RecordView, band_label, streak_months, trend_label
from fincredit.disclosure.products import PRODUCTS, check_definitions, evaluate_category, products_for

NOW = dt.datetime(2024, 6, 30, 4, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def cat(code: str):  # type: ignore[no-untyped-def]
    return next(c for c in load_annex().categories if c.code == code)


def view(data: dict, day: str, current: bool = True, received: dt.datetime = NOW) -> RecordView:
    return RecordView(data=data, is_current=current, received_at=received, record_date=dt.date.fromisoformat(day))


def test_every_non_public_category_of_the_annex_has_products_that_avoid_personal_and_verification_fields():
    categories = load_annex().categories
    assert check_definitions(categories) == []
    for c in categories:
        if c.disclosure_class == "non_public":
            assert PRODUCTS.get(c.code), c.code


def test_every_non_public_category_of_the_loaded_catalog_has_products(session):
    from fincredit.catalog.service import get_catalog

    snapshot = get_catalog(session)
    assert check_definitions(list(snapshot.categories.values())) == []


def test_category_10_products_never_use_the_four_verification_fields():
    c = cat("10")
    used = {p.field for p in PRODUCTS["10"]} | {p.where[0] for p in PRODUCTS["10"] if p.where}
    assert not used & set(c.verification_fields)
    assert len(c.verification_fields) == 4


def test_bands():
    assert band_label(Decimal("0"), "yuan") == "0元"
    assert band_label(Decimal("523456.78"), "yuan") == "50万-100万元"
    assert band_label(Decimal("99999.99"), "yuan") == "10万元以下"
    assert band_label(Decimal("12000000"), "yuan") == "1000万元以上"
    assert band_label(Decimal("60"), "wan:yuan") == "50万-100万元"
    assert band_label(Decimal("14"), "months") == "12-24个月"
    assert band_label(Decimal("55"), "people") == "50-99人"


def test_trend_and_streak():
    assert trend_label([Decimal(10), Decimal(10), Decimal(20), Decimal(20)]) == "上升"
    assert trend_label([Decimal(20), Decimal(19.5)]) == "平稳"
    assert trend_label([Decimal(20), Decimal(5)]) == "下降"
    assert trend_label([Decimal(1)]) == "数据不足"
    months = [view({"缴费年月": m}, f"{m}-01") for m in ("2024-01", "2024-03", "2024-04", "2024-05")]
    assert streak_months(months, "缴费年月") == 3


def test_tax_products_over_history_show_bands_not_amounts():
    c = cat("1")
    old = view({"近一年增值税实际缴税金额(元)": "300000.00", "最近一次正常缴税日期": "2023-12-15"}, "2023-12-15",
               current=False, received=NOW - dt.timedelta(days=180))
    new = view({"近一年增值税实际缴税金额(元)": "723456.12", "近一年企业所得税实际缴税金额(元)": "12.50",
                "连续正常缴税周期(月)": 26, "最近一次正常缴税日期": "2024-06-15"}, "2024-06-15")
    products = {p["code"]: p["value"] for p in evaluate_category(c, [old, new], TODAY)}
    assert products == {"vat_paid_band": "50万-100万元", "cit_paid_band": "10万元以下", "tax_streak": "24-36个月",
                        "last_tax_paid": "3个月内", "vat_trend": "上升"}
    assert "723456" not in repr(products)


def test_arrears_flags_and_counts_without_amounts():
    c = cat("2")
    rows = [view({"税种": "增值税", "欠税金额(元)": "5000.00", "当前是否欠税": True}, "2024-06-01"),
            view({"税种": "印花税", "欠税金额(元)": "0.00", "当前是否欠税": False}, "2024-06-01")]
    assert {p["code"]: p["value"] for p in evaluate_category(c, rows, TODAY)} == {
        "tax_arrears": "存在欠税", "tax_arrears_kinds": 1}
    assert {p["code"]: p["value"] for p in evaluate_category(c, [], TODAY)} == {
        "tax_arrears": "无记录", "tax_arrears_kinds": 0}


def test_data_period_of_an_authorization_limits_the_records_used():
    c = cat("33")
    rows = [view({"拖欠截止日期": "2024-03-01", "是否补缴": False}, "2024-03-01"),
            view({"拖欠截止日期": "2022-03-01", "是否补缴": True}, "2022-03-01")]
    full = {p["code"]: p["value"] for p in evaluate_category(c, rows, TODAY)}
    assert full == {"water_arrears_12m": 1, "water_arrears_unpaid": "存在未补缴的拖欠"}
    limited = {p["code"]: p["value"] for p in evaluate_category(c, rows, TODAY, None, dt.date(2023, 1, 1))}
    assert limited == {"water_arrears_12m": 0, "water_arrears_unpaid": "拖欠均已补缴"}


def test_a_category_added_at_run_time_gets_the_fallback_products():
    c = cat("1").model_copy(update={"code": "99"})
    assert [p.code for p in products_for(c)] == ["has_records", "record_count"]
    assert evaluate_category(c, [view({}, "2024-01-01")], TODAY)[0]["value"] == "有记录"
