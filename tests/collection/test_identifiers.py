"""USCC, resident ID (GB 11643), certificate types and numbers, phone, region and industry codes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from fincredit.collection.identifiers import (
    MISSING,
    parse_id_number,
    parse_id_type,
    parse_industry_code,
    parse_org_code,
    parse_phone,
    parse_region_code,
    parse_resident_id,
    parse_uscc,
    resident_id_check_digit,
    resident_id_to_18,
    uscc_check_digit,
)
from fincredit.collection.values import FieldError

WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # GB 11643 / ISO 7064 MOD 11-2, written out


def make_rid(area: str, birth: str, seq: str = "123") -> str:
    body = area + birth + seq
    value = (12 - sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return body + ("X" if value == 10 else str(value))


def make_uscc(body17: str) -> str:
    return body17 + stdnum_uscc.calc_check_digit(body17)


def error_code(func, value) -> str:
    with pytest.raises(FieldError) as info:
        func(value)
    return info.value.code


# -- USCC --------------------------------------------------------------------------------------

def test_uscc_valid_and_normalised() -> None:
    code = make_uscc("91320102MA1X2Y3W4")
    assert parse_uscc(code) == code
    assert parse_uscc(f"  {code.lower()} ") == code
    assert parse_uscc(code[:6] + " " + code[6:]) == code
    assert parse_uscc(code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))) == code
    assert parse_uscc("91110000600037341L") == "91110000600037341L"  # stdnum's documented example
    assert parse_uscc("   ") is MISSING


def test_uscc_check_digit_matches_stdnum() -> None:
    for body in ["91320100MA1MXXXX0", "12320000466000000", "52320000MJ5000000", "93321023MA00000AB"]:
        assert uscc_check_digit(body + "0") == stdnum_uscc.calc_check_digit(body)


def test_uscc_letter_authorities_accepted() -> None:
    # 农村集体经济组织 (N) and 其他 (Y): same check digit, refused by stdnum's format rule only.
    for body in ["N2320102MF0000001", "Y1320102MA0000001"]:
        assert parse_uscc(make_uscc(body)) == make_uscc(body)


@pytest.mark.parametrize(("value", "code"), [
    ("91320102MA1X2Y3W4", "bad_uscc_format"),        # 17 characters
    ("91320102MA1X2Y3W4QQ", "bad_uscc_format"),      # 19
    ("9132010IMA1X2Y3W4Q", "bad_uscc_format"),       # I in the region part
    ("91320102MA1X2Y3O4Q", "bad_uscc_format"),       # O is not in the alphabet
    ("01320102MA1X2Y3W4Q", "bad_uscc_format"),       # registration authority 0
    ("9132010３MA1X2Y3W4Q", "bad_uscc_check_digit"),  # full-width digit normalised, then checked
    ("91320102MA1X2Y3W4_", "bad_uscc_format"),
    ("＝cmd|' /C calc'!A0", "bad_uscc_format"),
])
def test_uscc_refused(value: str, code: str) -> None:
    assert error_code(parse_uscc, value) == code


def test_uscc_wrong_check_digit() -> None:
    code = make_uscc("91320102MA1X2Y3W4")
    wrong = code[:17] + ("1" if code[17] != "1" else "2")
    assert error_code(parse_uscc, wrong) == "bad_uscc_check_digit"


def test_uscc_from_excel_float_explains_precision_loss() -> None:
    with pytest.raises(FieldError) as info:
        parse_uscc(9.13201e17)
    assert info.value.code == "bad_uscc_format" and "文本" in info.value.reason


# -- resident ID --------------------------------------------------------------------------------

def test_check_digit_agrees_with_stdnum_and_written_out_weights() -> None:
    for body in ["32010219650101123", "32010319680229002", "11010519491231002", "44030419991231999"]:
        assert resident_id_check_digit(body) == stdnum_ric.calc_check_digit(body + "0") == make_rid(
            body[:6], body[6:14], body[14:])[-1]


@pytest.mark.parametrize("area", ["320102", "320106", "320103", "320107", "321023", "320404"])
@pytest.mark.parametrize("birth", ["19600101", "19640229", "19671231", "19691015"])
def test_legal_representatives_born_in_1960s_from_abolished_counties(area: str, birth: str) -> None:
    number = make_rid(area, birth)
    parsed = parse_resident_id(number)
    assert parsed.number == number
    assert parsed.birth_date == date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    assert not parsed.legacy_15


def test_area_codes_unknown_to_stdnum_are_still_valid() -> None:
    # 白下区 320103 and 下关区 320107 were abolished in 2013; stdnum's county table may refuse
    # some historical combinations, we never do.
    for area in ["320103", "320107", "320199", "329999"]:
        assert parse_resident_id(make_rid(area, "19650505")).number.startswith(area)


def test_x_check_digit_and_lower_case() -> None:
    number = next(make_rid("320102", f"1965{m:02d}{d:02d}") for m in range(1, 13) for d in range(1, 29)
                  if make_rid("320102", f"1965{m:02d}{d:02d}").endswith("X"))
    assert parse_resident_id(number).number == number
    assert parse_resident_id(number.lower()).number == number
    assert parse_resident_id(f" {number[:6]} {number[6:14]} {number[14:].lower()} ").number == number


def test_sex_from_sequence() -> None:
    assert parse_resident_id(make_rid("320102", "19650101", "123")).male
    assert not parse_resident_id(make_rid("320102", "19650101", "124")).male


@pytest.mark.parametrize(("number", "code"), [
    (make_rid("320102", "19650101")[:17] + "Y", "bad_resident_id_format"),
    ("32010219650101123", "bad_resident_id_format"),
    ("3201021965010112345", "bad_resident_id_format"),
    (make_rid("320102", "19230230"), "bad_resident_id_birth_date"),   # Feb 30
    (make_rid("320102", "19651301"), "bad_resident_id_birth_date"),   # month 13
    (make_rid("320102", "18991231"), "bad_resident_id_birth_date"),   # before 1900
    (make_rid("990102", "19650101"), "bad_resident_id_area_code"),    # province 99 never existed
    (make_rid("160102", "19650101"), "bad_resident_id_area_code"),
    (make_rid("000000", "19650101"), "bad_resident_id_area_code"),
])
def test_resident_id_refused(number: str, code: str) -> None:
    assert error_code(parse_resident_id, number) == code


def test_wrong_check_digit() -> None:
    number = make_rid("320102", "19650101")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert error_code(parse_resident_id, wrong) == "bad_resident_id_check_digit"


def test_future_birth_date_refused() -> None:
    tomorrow = date.today() + timedelta(days=2)
    assert error_code(parse_resident_id, make_rid("320102", tomorrow.strftime("%Y%m%d"))) == \
        "bad_resident_id_birth_date"


def test_residence_permit_provinces_accepted() -> None:
    for area in ["810000", "820000", "830000", "460100", "500101"]:
        assert parse_resident_id(make_rid(area, "19900101")).number[:6] == area


def test_fifteen_digit_legacy_form() -> None:
    parsed = parse_resident_id("320103650101123")
    assert parsed.legacy_15 and parsed.birth_date == date(1965, 1, 1) and parsed.male
    assert resident_id_to_18(parsed.number) == make_rid("320103", "19650101")
    assert error_code(parse_resident_id, "320103650230123") == "bad_resident_id_birth_date"
    assert error_code(parse_resident_id, "990103650101123") == "bad_resident_id_area_code"


# -- organization code, id types and numbers ---------------------------------------------------

def make_org(body8: str) -> str:
    total = sum(w * int(c, 36) for c, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    check = 11 - total % 11
    return body8 + {10: "X", 11: "0"}.get(check, str(check))


def test_org_code() -> None:
    for body in ["D2143569", "13778123", "MA1X2Y3W", "00000000"]:
        code = make_org(body)
        assert parse_org_code(f"{code[:8]}-{code[8]}") == code
        wrong = code[:8] + ("1" if code[8] != "1" else "2")
        assert error_code(parse_org_code, wrong) == "bad_org_code"
    assert error_code(parse_org_code, "1234") == "bad_org_code"


@pytest.mark.parametrize(("spelling", "canonical"), [
    ("身份证", "居民身份证"), ("居民身份证", "居民身份证"), ("10", "居民身份证"), ("111", "居民身份证"),
    (" 身份证 ", "居民身份证"), (111, "居民身份证"), (111.0, "居民身份证"),
    ("营业执照", "统一社会信用代码"), ("统一社会信用代码", "统一社会信用代码"), ("USCC", "统一社会信用代码"),
    ("护照", "护照"), ("Passport", "护照"), ("414", "护照"), ("回乡证", "港澳居民来往内地通行证"),
    ("台胞证", "台湾居民来往大陆通行证"), ("外国人永久居留证", "外国人永久居留身份证"),
    ("其它", "其他"), ("港澳台居民居住证", "港澳台居民居住证"),
])
def test_id_type_spellings(spelling: object, canonical: str) -> None:
    assert parse_id_type(spelling) == canonical


def test_id_type_unknown() -> None:
    assert error_code(parse_id_type, "驾驶证号") == "bad_id_type"
    assert parse_id_type("  ") is MISSING


def test_id_number_by_type() -> None:
    rid, uscc = make_rid("320107", "19631111"), make_uscc("91320102MA1X2Y3W4")
    assert parse_id_number(rid.lower(), "居民身份证") == (rid, "居民身份证")
    assert parse_id_number(uscc, "统一社会信用代码") == (uscc, "统一社会信用代码")
    assert parse_id_number("E12345678", "护照") == ("E12345678", "护照")
    with pytest.raises(FieldError) as info:
        parse_id_number(uscc, "居民身份证")
    assert info.value.code == "bad_resident_id_format"
    with pytest.raises(FieldError) as info:
        parse_id_number("X" * 65, "护照")
    assert info.value.code == "too_long"
    with pytest.raises(FieldError) as info:
        parse_id_number("=HYPERLINK(\"http://x\")", "其他")
    assert info.value.code == "formula_injection"
    with pytest.raises(FieldError) as info:
        parse_id_number(make_rid("320102", "19650101"), "港澳台居民居住证")
    assert info.value.code == "bad_id_number"


def test_id_number_inferred_without_type() -> None:
    rid, uscc = make_rid("321023", "19660606"), make_uscc("91321023MA1X2Y3W4")
    assert parse_id_number(rid, None) == (rid, "居民身份证")
    assert parse_id_number(uscc, MISSING) == (uscc, "统一社会信用代码")
    assert parse_id_number("320103650101123", "") == ("320103650101123", "居民身份证")
    with pytest.raises(FieldError) as info:
        parse_id_number("E12345678", None)
    assert info.value.code == "bad_id_number"


# -- phone, region, industry --------------------------------------------------------------------

@pytest.mark.parametrize(("value", "clean"), [
    ("13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"), ("138-1234-5678", "13812345678"),
    (13812345678, "13812345678"), ("025-83334444", "025-83334444"), ("(025)83334444", "025-83334444"),
    ("（025）8333 4444", "025-83334444"), ("02583334444", "025-83334444"), ("0512-6888888", "0512-6888888"),
    ("025-8333-4444", "025-83334444"), ("025-83334444-123", "025-83334444-123"),
    ("025-83334444转123", "025-83334444-123"), ("+86 25 8333 4444", "025-83334444"),
    ("400-810-8888", "400-810-8888"), ("0518-85551234", "0518-85551234"),
])
def test_phone_accepted(value: object, clean: str) -> None:
    assert parse_phone(value) == clean


@pytest.mark.parametrize("value", ["12345678901", "83334444", "1381234567", "010-12345678", "abc", "025-8333444a",
                                   "0000-12345678", "+1 415 555 0100"])
def test_phone_refused(value: str) -> None:
    assert error_code(parse_phone, value) == "bad_phone"


def test_region_code() -> None:
    assert parse_region_code("320102") == "320102"
    assert parse_region_code(321300) == "321300"
    assert parse_region_code(320100.0) == "320100"
    assert parse_region_code("320103") == "320103"  # abolished districts are plausible codes
    for bad in ["990000", "32010", "3201020", "abcdef", "160000", "830000"]:
        assert error_code(parse_region_code, bad) == "bad_region_code"


def test_industry_code() -> None:
    assert parse_industry_code("C3911") == "C3911"
    assert parse_industry_code("c 3911") == "C3911"
    assert parse_industry_code("3911") == "C3911"
    assert parse_industry_code("I65") == "I65"
    assert parse_industry_code("0111") == "A0111"
    assert parse_industry_code("K") == "K"
    assert parse_industry_code(7010) == "K7010"
    for bad in ["A3911", "Z11", "98", "C39111", "C3", "00"]:
        assert error_code(parse_industry_code, bad) == "bad_industry_code"
