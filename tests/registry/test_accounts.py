"""Enterprise real-name registration, log-in with lock-out, and legal-representative changes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from fincredit.registry.models import Account
from tests.helpers import auth, error_code
from tests.registry.factories import (
    STRONG_PASSWORD,
    change_legal_rep,
    login,
    make_enterprise,
    make_uscc,
    registration,
    resident_id,
)


def accounts(session) -> list[Account]:
    session.rollback()  # see what the requests committed
    session.expire_all()
    return list(session.scalars(select(Account)))


def test_registration_with_abolished_area_code_and_lower_case_x(client, session):
    ent = make_enterprise()
    assert ent.rep_id.startswith("320103196304") and ent.rep_id.endswith("X")
    body = registration(ent, legal_representative_id=ent.rep_id.lower(),
                        legal_representative_name=f" {ent.rep_name} ", uscc=ent.uscc.lower())
    r = client.post("/api/v1/accounts", json=body)
    assert r.status_code == 201, r.text
    assert r.json() == {"uscc": ent.uscc, "name": "南京白下商贸有限公司", "status": "registered"}
    [account] = accounts(session)
    assert account.uscc == ent.uscc and account.identity_valid
    assert account.password_hash.startswith("$argon2id$") and STRONG_PASSWORD not in account.password_hash


def test_full_width_digits_in_the_id_number_are_normalised(client, session):
    ent = make_enterprise(rep_id=resident_id("320103", "19680229", "051"))
    full_width = ent.rep_id.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    r = client.post("/api/v1/accounts", json=registration(ent, legal_representative_id=full_width))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("field,value", [
    ("legal_representative_name", "王建军"),
    ("legal_representative_id", resident_id("320103", "19630415", "777")),
])
def test_identity_mismatch_does_not_say_which_part(client, session, field, value):
    ent = make_enterprise()
    r = client.post("/api/v1/accounts", json=registration(ent, **{field: value}))
    assert r.status_code == 422 and error_code(r) == "identity_mismatch"
    assert r.json()["error"]["message"] == "身份核验未通过：法定代表人信息与登记基础库不一致"
    assert accounts(session) == []


def test_unknown_deregistered_and_malformed_enterprises(client, session):
    ent = make_enterprise(1)
    gone = make_enterprise(2, name="已注销贸易有限公司", status="注销")
    unknown = make_uscc(3)
    r = client.post("/api/v1/accounts", json=registration(ent, uscc=unknown))
    assert r.status_code == 422 and error_code(r) == "enterprise_not_registrable"
    r = client.post("/api/v1/accounts", json=registration(gone))
    assert r.status_code == 422 and error_code(r) == "enterprise_not_registrable"
    bad_check = ent.uscc[:17] + ("0" if ent.uscc[17] != "0" else "1")
    r = client.post("/api/v1/accounts", json=registration(ent, uscc=bad_check))
    assert r.status_code == 422 and error_code(r) == "bad_uscc"
    assert "校验位" in r.json()["error"]["message"]
    assert accounts(session) == []


def test_id_number_refused_only_for_check_digit_or_birth_date(client, session):
    ent = make_enterprise()
    wrong_check = ent.rep_id[:17] + ("1" if ent.rep_id[17] != "1" else "2")
    r = client.post("/api/v1/accounts", json=registration(ent, legal_representative_id=wrong_check))
    assert r.status_code == 422 and error_code(r) == "bad_id_number"
    no_such_day = resident_id("320103", "19630230", "123")
    r = client.post("/api/v1/accounts", json=registration(ent, legal_representative_id=no_such_day))
    assert r.status_code == 422 and error_code(r) == "bad_id_number"
    # Another abolished county (下关区 320107) in a well-formed number is a mere mismatch.
    other = resident_id("320107", "19610101", "011")
    r = client.post("/api/v1/accounts", json=registration(ent, legal_representative_id=other))
    assert r.status_code == 422 and error_code(r) == "identity_mismatch"


@pytest.mark.parametrize("password", [
    "Short1!aB",      # four classes, nine characters
    "alllowercase",   # one class
    "lowercase123",   # two classes
    "UPPERlower",     # two classes
    "1234567890!",    # two classes
])
def test_weak_passwords_are_refused(client, session, password):
    ent = make_enterprise()
    r = client.post("/api/v1/accounts", json=registration(ent, password=password))
    assert r.status_code == 422 and error_code(r) == "weak_password"
    assert "至少 10 位" in r.json()["error"]["message"]
    assert accounts(session) == []


def test_password_may_not_contain_the_uscc(client, session):
    ent = make_enterprise()
    r = client.post("/api/v1/accounts", json=registration(ent, password=f"Aa!{ent.uscc}"))
    assert r.status_code == 422 and error_code(r) == "weak_password"


def test_second_registration_is_a_conflict(client, session):
    ent = make_enterprise()
    assert client.post("/api/v1/accounts", json=registration(ent)).status_code == 201
    r = client.post("/api/v1/accounts", json=registration(ent, password="Another-Pass99"))
    assert r.status_code == 409 and error_code(r) == "account_exists"
    assert len(accounts(session)) == 1
    assert login(client, ent.uscc).status_code == 200  # the first password still holds


def test_login_and_me(client, session):
    ent = make_enterprise()
    client.post("/api/v1/accounts", json=registration(ent))
    r = login(client, ent.uscc.lower())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 8 * 3600
    assert body["access_token"].startswith("fce_")
    assert r.headers["cache-control"] == "no-store"
    me = client.get("/api/v1/me", headers=auth(body["access_token"]))
    assert me.status_code == 200, me.text
    data = me.json()
    assert data["account"]["uscc"] == ent.uscc and data["account"]["last_login_at"].endswith("+08:00")
    assert data["enterprise"]["name"] == ent.name and data["enterprise"]["status"] == "存续"
    assert data["enterprise"]["legal_representative"] == "王**"
    assert ent.rep_id not in me.text


def test_unknown_uscc_and_wrong_password_look_the_same(client, session):
    ent = make_enterprise()
    client.post("/api/v1/accounts", json=registration(ent))
    wrong = login(client, ent.uscc, "Wrong-Password1")
    unknown = login(client, make_uscc(99))
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert error_code(wrong) == "invalid_credentials"


def test_login_form_errors(client, session):
    r = client.post("/api/v1/auth/token", data={"grant_type": "client_credentials", "username": "x",
                                                "password": "y"})
    assert r.status_code == 400 and error_code(r) == "unsupported_grant_type"
    r = client.post("/api/v1/auth/token", json={"username": "x", "password": "y"})
    assert r.status_code == 422 and error_code(r) == "validation_failed"


def test_lock_out_after_five_failures_and_unlock_after_the_time(client, session):
    ent = make_enterprise()
    client.post("/api/v1/accounts", json=registration(ent))
    for _ in range(4):
        assert error_code(login(client, ent.uscc, "Wrong-Password1")) == "invalid_credentials"
    r = login(client, ent.uscc, "Wrong-Password1")
    assert r.status_code == 429 and error_code(r) == "account_locked"
    assert "北京时间" in r.json()["error"]["message"]
    r = login(client, ent.uscc)  # even the right password, while locked
    assert r.status_code == 429 and error_code(r) == "account_locked"

    [account] = accounts(session)
    assert account.locked_until is not None
    account.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    assert login(client, ent.uscc).status_code == 200
    [account] = accounts(session)
    assert account.failed_logins == 0 and account.locked_until is None


def test_success_resets_the_failure_counter(client, session):
    ent = make_enterprise()
    client.post("/api/v1/accounts", json=registration(ent))
    for _ in range(4):
        login(client, ent.uscc, "Wrong-Password1")
    assert login(client, ent.uscc).status_code == 200
    for _ in range(4):
        assert error_code(login(client, ent.uscc, "Wrong-Password1")) == "invalid_credentials"
    assert login(client, ent.uscc).status_code == 200


def test_legal_rep_change_invalidates_identity_and_tokens(client, session):
    ent = make_enterprise()
    client.post("/api/v1/accounts", json=registration(ent))
    old_token = login(client, ent.uscc).json()["access_token"]
    assert client.get("/api/v1/me", headers=auth(old_token)).status_code == 200

    new_rep_id = resident_id("320102", "19850708", "022")
    change_legal_rep(ent.uscc, "李芳", new_rep_id)

    r = client.get("/api/v1/me", headers=auth(old_token))
    assert r.status_code == 403 and error_code(r) == "identity_invalidated"
    r = login(client, ent.uscc)
    assert r.status_code == 403 and error_code(r) == "identity_invalidated"
    assert "重新" in r.json()["error"]["message"]
    # The former legal representative cannot re-register; the new one can, with a new password.
    r = client.post("/api/v1/accounts", json=registration(ent))
    assert r.status_code == 422 and error_code(r) == "identity_mismatch"
    r = client.post("/api/v1/accounts", json=registration(ent, legal_representative_name="李芳",
                                                          legal_representative_id=new_rep_id,
                                                          password="New-Owner-2025"))
    assert r.status_code == 201, r.text
    r = client.get("/api/v1/me", headers=auth(old_token))
    assert r.status_code == 401 and error_code(r) == "token_revoked"
    assert error_code(login(client, ent.uscc)) == "invalid_credentials"
    new_token = login(client, ent.uscc, "New-Owner-2025").json()["access_token"]
    me = client.get("/api/v1/me", headers=auth(new_token)).json()
    assert me["enterprise"]["legal_representative"] == "李*"
    assert len(accounts(session)) == 1


def test_enterprise_token_without_account_is_refused(client, make_token):
    token = make_token("enterprise", make_uscc(5))
    r = client.get("/api/v1/me", headers=auth(token))
    assert r.status_code == 403 and error_code(r) == "account_not_found"


def test_malformed_and_oversized_bodies_store_nothing(client, session):
    ent = make_enterprise()
    r = client.post("/api/v1/accounts", content=b'{"uscc": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and error_code(r) == "validation_failed"
    r = client.post("/api/v1/accounts", json=registration(ent, password="A1!" + "a" * (2 * 1024 * 1024)))
    assert r.status_code == 413 and error_code(r) == "payload_too_large"
    r = client.post("/api/v1/accounts", json={"uscc": ent.uscc})
    assert r.status_code == 422 and error_code(r) == "validation_failed"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Account)) == 0


def test_middle_dot_variants_of_a_minority_name_match(client, session):
    ent = make_enterprise(rep_name="阿依古丽•买买提", rep_id=resident_id("650102", "19700101", "024"))
    r = client.post("/api/v1/accounts", json=registration(ent, legal_representative_name="阿依古丽·买买提"))
    assert r.status_code == 201, r.text


def test_a_newer_base_record_from_collection_invalidates_the_account(client, session):
    from fincredit.db import session_scope
    from fincredit.registry.service import upsert_from_base_rows

    ent = make_enterprise()
    client.post("/api/v1/accounts", json=registration(ent))
    token = login(client, ent.uscc).json()["access_token"]
    new_rep_id = resident_id("320104", "19790521", "036")
    with session_scope() as s:
        upsert_from_base_rows(s, [(None, {"企业名称": ent.name, "统一社会信用代码": ent.uscc, "法定代表人姓名": "赵敏",
                                          "法定代表人证件类型": "居民身份证", "法定代表人证件号码": new_rep_id,
                                          "登记状态": "存续"})])
    [account] = accounts(session)
    assert not account.identity_valid
    r = client.get("/api/v1/me", headers=auth(token))
    assert r.status_code == 403 and error_code(r) == "identity_invalidated"
    r = client.post("/api/v1/accounts", json=registration(ent, legal_representative_name="赵敏",
                                                          legal_representative_id=new_rep_id))
    assert r.status_code == 201, r.text
