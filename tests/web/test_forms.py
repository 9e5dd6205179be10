"""Bad input in the portals' forms: a clear message next to the field, and nothing typed is lost."""

from __future__ import annotations

import datetime as dt

from tests.web.clients import form_token, login_institution, login_operator, registered_and_logged_in
from tests.web.pages import field_error, form_error, parse, value_of
from tests.web.world import PASSWORD, World


def test_empty_registration_names_every_missing_field(client, db) -> None:  # type: ignore[no-untyped-def]
    token = form_token(client, "/register")
    r = client.post("/register", data={"csrf_token": token, "uscc": "", "legal_representative_name": "",
                                       "legal_representative_id": "", "password": "", "password2": ""})
    assert r.status_code == 422
    assert field_error(r.text, "uscc") == "请填写统一社会信用代码"
    assert field_error(r.text, "legal_representative_name") == "请填写法定代表人姓名"
    assert field_error(r.text, "legal_representative_id") == "请填写法定代表人身份证号码"
    assert field_error(r.text, "password") == "请填写密码"


def test_wrong_uscc_check_digit_is_explained_and_typed_values_kept(client, world: World) -> None:  # type: ignore[no-untyped-def]
    wrong = world.main.uscc[:17] + ("0" if world.main.uscc[17] != "0" else "1")
    token = form_token(client, "/register")
    r = client.post("/register", data={"csrf_token": token, "uscc": wrong, "legal_representative_name": "李建华",
                                       "legal_representative_id": world.main.rep_id, "password": PASSWORD,
                                       "password2": PASSWORD})
    assert r.status_code == 422
    assert "校验位错误" in field_error(r.text, "uscc")
    assert value_of(r.text, "uscc") == wrong
    assert value_of(r.text, "legal_representative_name") == "李建华"
    assert value_of(r.text, "legal_representative_id") == world.main.rep_id
    assert value_of(r.text, "password") == ""  # secrets are never sent back


def test_identity_mismatch_does_not_say_which_part_was_wrong(client, world: World) -> None:  # type: ignore[no-untyped-def]
    token = form_token(client, "/register")
    r = client.post("/register", data={"csrf_token": token, "uscc": world.main.uscc, "legal_representative_name": "王五",
                                       "legal_representative_id": world.main.rep_id, "password": PASSWORD,
                                       "password2": PASSWORD})
    assert r.status_code == 422
    assert form_error(r.text) == "身份核验未通过：法定代表人信息与登记基础库不一致"
    assert value_of(r.text, "legal_representative_name") == "王五"


def test_stale_csrf_token_shows_the_form_again_with_the_values(client, world: World) -> None:  # type: ignore[no-untyped-def]
    form_token(client, "/register")
    r = client.post("/register", data={"csrf_token": "stale-token", "uscc": world.main.uscc,
                                       "legal_representative_name": world.main.rep_name,
                                       "legal_representative_id": world.main.rep_id, "password": PASSWORD,
                                       "password2": PASSWORD})
    assert r.status_code == 422
    assert form_error(r.text) == "页面已过期，请重新提交"
    assert value_of(r.text, "uscc") == world.main.uscc
    assert value_of(r.text, "legal_representative_name") == world.main.rep_name
    fresh = parse(r.text).named["csrf_token"][0]["value"]
    r = client.post("/register", data={"csrf_token": fresh, "uscc": world.main.uscc,
                                       "legal_representative_name": world.main.rep_name,
                                       "legal_representative_id": world.main.rep_id, "password": PASSWORD,
                                       "password2": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303  # resubmitting the page shown again works


def test_stale_csrf_in_a_logged_in_form_keeps_the_choices(client, world: World) -> None:  # type: ignore[no-untyped-def]
    registered_and_logged_in(client, world)
    r = client.post("/enterprise/authorizations/preview", data={
        "csrf_token": "forged", "institution_id": str(world.bank_id), "purpose": "pre_loan", "categories": ["1", "10"],
        "expires_on": (dt.date.today() + dt.timedelta(days=10)).isoformat()})
    assert r.status_code == 422
    assert form_error(r.text) == "页面已过期，请重新提交"
    checked = [i["value"] for i in parse(r.text).named["categories"] if "checked" in i]
    assert checked == ["1", "10"]
    assert value_of(r.text, "institution_id") == str(world.bank_id)


def test_authorization_form_problems_are_next_to_their_fields(client, world: World) -> None:  # type: ignore[no-untyped-def]
    registered_and_logged_in(client, world)
    token = form_token(client, "/enterprise/authorizations/new")
    r = client.post("/enterprise/authorizations/preview", data={
        "csrf_token": token, "institution_id": str(world.bank_id), "purpose": "pre_loan", "expires_on": ""})
    assert r.status_code == 422
    assert field_error(r.text, "categories") == "请至少勾选一个授权的信息类"
    assert field_error(r.text, "expires_on") == "请填写授权到期日期"
    r = client.post("/enterprise/authorizations/preview", data={
        "csrf_token": token, "institution_id": str(world.bank_id), "purpose": "pre_loan", "categories": ["1"],
        "expires_on": (dt.date.today() + dt.timedelta(days=60)).isoformat()})
    assert field_error(r.text, "expires_on") == "授权期限超过上限：贷前审查授权最长 30 天"
    assert [i["value"] for i in parse(r.text).named["categories"] if "checked" in i] == ["1"]


def test_lookup_with_a_wrong_check_digit_is_refused_before_any_disclosure(client, world: World) -> None:  # type: ignore[no-untyped-def]
    assert login_institution(client, world.bank_token).status_code == 303
    token = form_token(client, "/institution/lookup")
    wrong = world.main.uscc[:17] + ("0" if world.main.uscc[17] != "0" else "1")
    r = client.post("/institution/lookup", data={"csrf_token": token, "uscc": wrong})
    assert r.status_code == 422
    assert field_error(r.text, "uscc") == "统一社会信用代码不正确：统一社会信用代码校验位错误"
    assert value_of(r.text, "uscc") == wrong
    r = client.post("/institution/lookup", data={"csrf_token": token, "uscc": ""})
    assert field_error(r.text, "uscc") == "请填写统一社会信用代码"
    assert "暂无查询记录" in client.get("/institution").text


def test_upload_of_a_wrong_file_type_is_refused_next_to_the_file_field(client, world: World) -> None:  # type: ignore[no-untyped-def]
    assert login_operator(client, world).status_code == 303
    token = form_token(client, "/operator/upload")
    r = client.post("/operator/upload", data={"csrf_token": token, "provider": "tax", "category": "1"},
                    files={"file": ("纳税信息.pdf", b"%PDF-1.7 not a table", "application/pdf")})
    assert r.status_code == 422
    assert field_error(r.text, "file").startswith("文件类型不支持")
    assert value_of(r.text, "provider") == "tax" and value_of(r.text, "category") == "1"
    r = client.post("/operator/upload", data={"csrf_token": token, "provider": "tax", "category": "18"},
                    files={"file": ("a.csv", b"x", "text/csv")}, headers={"X-Requested-With": "XMLHttpRequest"})
    assert r.status_code == 422
    assert "不负责信息类" in r.json()["errors"]["category"]


def test_uploaded_batch_result_lists_the_rejected_rows(client, world: World) -> None:  # type: ignore[no-untyped-def]
    assert login_operator(client, world).status_code == 303
    token = form_token(client, "/operator/upload")
    rows = ("企业名称,统一社会信用代码,评级年度,纳税信用等级\n"
            f"{world.main.name},{world.main.uscc},2023,A\n"
            f"某某公司,{world.main.uscc[:17]}0,2023,A\n")
    r = client.post("/operator/upload", data={"csrf_token": token, "provider": "tax", "category": "4"},
                    files={"file": ("纳税信用等级.csv", rows.encode(), "text/csv")},
                    headers={"X-Requested-With": "XMLHttpRequest"})
    assert r.status_code == 200, r.text
    page = client.get(r.json()["redirect"])
    assert "部分入库" in page.text and "批次已处理" in page.text
    assert "统一社会信用代码" in page.text and "校验位" in page.text
