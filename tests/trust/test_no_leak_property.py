"""Property: whatever the party, purpose, artefact state, coverage and time, no response to an
institution carries a raw value of a non-public (or verification) category, nor an unmasked
personal ID number, mobile number or full name of a natural person — over EVERY catalog category.

Real HTTP path (TestClient), real services; the world is planted once per test, the artefact is
re-created for every example.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from fincredit.authorization import service as authorization_service
from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.catalog.service import get_catalog
from fincredit.crypto import sm4_encrypt
from fincredit.db import utcnow
from fincredit.registry.models import Person
from tests.helpers import auth
from tests.trust import factories as f

PURPOSES = ["pre_loan", "loan_approval", "post_loan"]
QUERY_PURPOSES = [None, "pre_loan", "loan_approval", "post_loan", "sucode"]
PARTIES = ["bank", "platform", "suspended", "exited", "other_enterprise", "provider"]
STATES = ["none", "active", "revoked", "expired"]


@dataclass
class Province:
    ent: f.EnterpriseInfo
    codes: list[str]
    planter: f.Planter
    planted: dict[str, dict]  # category → current clean record
    institutions: dict[str, object]
    tokens: dict[str, str]


@pytest.fixture
def province(session, client) -> Province:  # type: ignore[no-untyped-def]
    ent = f.make_enterprise(session, name="江苏全类别测试有限公司")
    catalog = get_catalog(session)
    planter = f.Planter(ent)
    planted = {}
    for code, cat in catalog.categories.items():
        if cat.disclosure_class != "public":  # history for trends: a superseded older version
            f.store_record(session, cat, planter.record(cat), is_current=False,
                           received_at=utcnow() - dt.timedelta(days=200))
        planted[code] = planter.record(cat)
        f.store_record(session, cat, planted[code])
    for person in planter.persons:  # persons named anywhere are known to the registry
        if session.get(Person, person.key) is None:
            session.add(Person(key=person.key, id_type="居民身份证", id_number_enc=sm4_encrypt(person.resident_id),
                               name_enc=sm4_encrypt(person.name)))
    other = f.make_enterprise(session)
    institutions = {"bank": f.make_institution(session, name="属性测试银行"),
                    "platform": f.make_institution(session, kind="platform", name="属性测试平台"),
                    "suspended": f.make_institution(session, status="suspended", name="属性暂停机构"),
                    "exited": f.make_institution(session, status="exited", name="属性退出机构")}
    tokens = {k: f.institution_token(session, inst) for k, inst in institutions.items()}
    tokens["other_enterprise"] = f.token_for(session, "enterprise", other.uscc)
    tokens["provider"] = f.token_for(session, "provider", "tax")
    session.commit()
    assert len(planter.secret_values) > 100
    return Province(ent, list(catalog.categories), planter, planted, institutions, tokens)


def make_artefact(session, p: Province, party: str, state: str, covered: list[str], purpose: str,
                  data_range: tuple) -> str | None:  # type: ignore[no-untyped-def]
    session.execute(delete(AuthorizationUse))
    session.execute(delete(Authorization))
    session.commit()
    if state == "none":
        return None
    inst = p.institutions.get(party, p.institutions["bank"])
    saved = inst.status
    inst.status = "active"  # granted while active; suspension/exit came later
    a = f.grant(session, p.ent, inst, covered, purpose=purpose, data_from=data_range[0], data_to=data_range[1])
    inst.status = saved
    if state == "revoked":
        authorization_service.revoke(session, f.enterprise_principal(p.ent.uscc), a.id)
    elif state == "expired":
        a.expires_at = utcnow() - dt.timedelta(minutes=1)
    session.commit()
    return a.id


def assert_nothing_leaks(p: Province, text: str, *, check_secrets: bool = True) -> None:
    if check_secrets:
        leaked = [v for v in p.planter.secret_values if v in text]
        assert not leaked, leaked[:5]
    for person in p.planter.persons:
        for value in (person.name, person.resident_id, person.mobile):
            assert value not in text, value


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_raw_non_public_value_or_personal_data_reaches_an_institution(client, session, province, data):
    p = province
    party = data.draw(st.sampled_from(PARTIES), label="party")
    state = data.draw(st.sampled_from(STATES), label="state")
    covered = data.draw(st.lists(st.sampled_from(p.codes), min_size=1, max_size=12, unique=True), label="covered")
    purpose = data.draw(st.sampled_from(PURPOSES), label="purpose")
    query_purpose = data.draw(st.sampled_from(QUERY_PURPOSES), label="query_purpose")
    data_range = data.draw(st.sampled_from([(None, None), (dt.date(2000, 1, 1), None),
                                            (None, dt.date(2030, 1, 1))]), label="data_range")
    verify_code = data.draw(st.sampled_from(p.codes), label="verify_category")
    auth_id = make_artefact(session, p, party, state, covered, purpose, data_range)
    token = p.tokens[party]
    is_institution = party in ("bank", "platform", "suspended", "exited")

    params = {"purpose": query_purpose} if query_purpose else {}
    r = client.get(f"/api/v1/enterprises/{p.ent.uscc}", headers=auth(token), params=params)
    assert_nothing_leaks(p, r.text)
    if not is_institution or party in ("suspended", "exited"):
        assert r.status_code == 403
    else:
        assert r.status_code == 200, r.text
        for section in r.json()["categories"]:
            if section["disclosure_class"] != "public":
                assert "records" not in section, section["code"]
            if section["form"] == "processed":
                assert state == "active" and section["code"] in covered
            if section["disclosure_class"] == "verification":
                assert "products" not in section

    cat = get_catalog(session).category(verify_code)
    fields = cat.verification_fields or [cat.fields[0].name]
    field = data.draw(st.sampled_from(fields), label="claim_field")
    truthful = data.draw(st.booleans(), label="truthful")
    value = p.planted[verify_code].get(field) if truthful else "不一致的值0000"
    claim = value if isinstance(value, str | int | float | bool) else "x"
    r = client.post("/api/v1/verifications", headers=auth(token),
                    json={"uscc": p.ent.uscc, "category": verify_code, "claims": {field: claim}})
    assert_nothing_leaks(p, r.text.replace(f'"{field}"', ""))
    if r.status_code == 200:
        assert is_institution and state == "active" and verify_code in covered
        assert set(r.json()) == {"match", "fields", "uscc", "category", "checked_at", "disclosure"}

    for path in ["/api/v1/authorizations", "/api/v1/disclosures"] + ([f"/api/v1/authorizations/{auth_id}"]
                                                                     if auth_id else []):
        r = client.get(path, headers=auth(token))
        assert_nothing_leaks(p, r.text, check_secrets=path == "/api/v1/disclosures")
