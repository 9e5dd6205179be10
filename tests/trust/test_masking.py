"""Masking (脱敏) is pure: names, resident IDs, phones, addresses and free text."""

from __future__ import annotations

from fincredit.catalog.definitions import load_annex
from fincredit.disclosure import masking


def cat(code: str):  # type: ignore[no-untyped-def]
    return next(c for c in load_annex().categories if c.code == code)


def test_names_keep_the_first_character_and_hide_the_length():
    assert masking.mask_name("张三") == "张**"
    assert masking.mask_name("张三丰") == "张**"
    assert masking.mask_name("欧阳瑾瑜") == "欧**"
    assert masking.mask_name(" ") == ""


def test_resident_ids_keep_first_six_and_last_four():
    assert masking.mask_resident_id("320103199001011234") == "320103********1234"
    assert masking.mask_resident_id("320103900101123") == "320103*****1123"
    assert masking.mask_id_number("32010319900101123X", "居民身份证") == "320103********123X"
    assert masking.mask_id_number("32010319900101123X") == "320103********123X"


def test_uscc_is_public_and_other_certificates_keep_two_and_two():
    assert masking.mask_id_number("91320100MA1XXXXX0A", "统一社会信用代码") == "91320100MA1XXXXX0A"
    assert masking.mask_id_number("91320100MA1XXXXX0A") == "91320100MA1XXXXX0A"
    assert masking.mask_id_number("E12345678", "护照") == "E1*****78"


def test_phones():
    assert masking.mask_phone("13812345678") == "138****5678"
    assert masking.mask_phone("+86 138-1234-5678") == "138****5678"
    assert masking.mask_phone("025-83451234") == "025****34"


def test_free_text_masks_ids_mobiles_and_known_names_anywhere():
    text = "原告张三丰（身份证320103199001011234，旧证320103900101123，电话13812345678）诉被告张三丰的合同纠纷"
    out = masking.mask_text(text, ["张三丰"])
    assert "张三丰" not in out and out.count("张**") == 2
    assert "320103199001011234" not in out and "320103********1234" in out
    assert "320103900101123" not in out
    assert "13812345678" not in out and "138****5678" in out
    assert masking.mask_text("案号（2023）苏0102民初1234号", []) == "案号（2023）苏0102民初1234号"


def test_record_masking_of_a_court_record_with_a_person_party():
    c = cat("7")
    data = {"案号": "（2023）苏01民初1号", "当事人名称": "李四光", "当事人证件类型": "居民身份证",
            "当事人证件号码": "320103199001011234", "诉讼地位": "被告", "案由": "李四光借款纠纷，联系13900001111",
            "开庭日期": "2023-05-01"}
    out = masking.mask_record(c, data)
    assert out["当事人名称"] == "李**"
    assert out["当事人证件号码"] == "320103********1234"
    assert out["案由"] == "李**借款纠纷，联系139****1111"
    assert out["开庭日期"] == "2023-05-01" and out["诉讼地位"] == "被告"


def test_enterprise_party_name_is_not_masked():
    c = cat("7")
    data = {"案号": "x", "当事人名称": "江苏某某科技有限公司", "当事人证件类型": "统一社会信用代码",
            "当事人证件号码": "91320100MA1XXXXX0A", "诉讼地位": "原告", "开庭日期": "2023-05-01"}
    out = masking.mask_record(c, data)
    assert out["当事人名称"] == "江苏某某科技有限公司"
    assert out["当事人证件号码"] == "91320100MA1XXXXX0A"


def test_contact_phone_and_project_leader_are_masked():
    c = cat("21")
    data = {"企业名称": "甲公司", "项目负责人姓名": "王五", "项目负责人证件号码": "320103199001011234",
            "联系人": "赵六", "联系电话": "13812345678", "项目名称": "赵六负责的项目"}
    out = masking.mask_record(c, data, extra_names=["钱七"])
    assert out["项目负责人姓名"] == "王**" and out["联系人"] == "赵**"
    assert out["联系电话"] == "138****5678"
    assert out["项目名称"] == "赵**负责的项目"


def test_undecryptable_values_are_hidden():
    out = masking.decrypt_values({"a": "sm4gcm:broken", "b": "x"}, lambda v: (_ for _ in ()).throw(ValueError()))
    assert out == {"a": "***", "b": "x"}


def test_paired_id_fields_follow_the_catalog():
    assert masking.paired_id_field(cat("7"), "当事人名称") == "当事人证件号码"
    assert masking.paired_id_field(cat("8"), "姓名") == "证件号码"
    assert masking.paired_id_field(cat("36"), "法定代表人") == "法定代表人证件号码"
    assert masking.paired_id_field(cat("21"), "联系人") is None
