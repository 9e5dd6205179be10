"""Cross-tenant access (OWASP API1 BOLA, API3 property exposure, API5 function-level authorization)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from fincredit.authorization.models import Authorization
from tests.helpers import auth, error_code
from tests.trust import factories as f


def grant_via_api(client, world, institution_id=None, categories=("1",)):  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/me/authorizations", headers=auth(world.ent_token), json={
        "institution_id": institution_id or world.bank.id, "purpose": "pre_loan", "categories": list(categories),
        "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).isoformat()})
    assert r.status_code == 201, r.text
    return r.json()


def test_institution_cannot_read_another_institutions_authorizations(client, world):
    art = grant_via_api(client, world)
    r = client.get(f"/api/v1/authorizations/{art['id']}", headers=auth(world.bank_b_token))
    assert r.status_code == 404 and error_code(r) == "authorization_not_found"
    assert client.get("/api/v1/authorizations", headers=auth(world.bank_b_token)).json() == []
    assert client.get(f"/api/v1/authorizations/{art['id']}", headers=auth(world.bank_token)).status_code == 200


def test_institution_cannot_read_another_institutions_disclosures(client, session, world):
    grant_via_api(client, world)
    body = client.get(f"/api/v1/enterprises/{world.ent.uscc}", headers=auth(world.bank_token)).json()
    disclosure_id = body["disclosure"]["id"]
    r = client.get(f"/api/v1/disclosures/{disclosure_id}", headers=auth(world.bank_b_token))
    assert r.status_code == 404 and error_code(r) == "disclosure_not_found"
    assert client.get("/api/v1/disclosures", headers=auth(world.bank_b_token)).json() == []
    assert client.get(f"/api/v1/disclosures/{disclosure_id}", headers=auth(world.bank_token)).status_code == 200
    proof = body["disclosure"]["proof"]
    assert client.get(proof, headers=auth(world.bank_b_token)).status_code == 403


def test_institution_gets_no_products_under_another_institutions_authorization(client, session, world):
    ent = world.ent
    f.store_record(session, f.category(session, "2"), {"企业名称": ent.name, "统一社会信用代码": ent.uscc,
                                                       "税种": "增值税", "欠税金额(元)": "777.77", "当前是否欠税": True})
    session.commit()
    grant_via_api(client, world, categories=["2"])
    r = client.get(f"/api/v1/enterprises/{ent.uscc}", headers=auth(world.bank_b_token))
    s = {c["code"]: c for c in r.json()["categories"]}
    assert s["2"]["form"] == "none" and "products" not in s["2"] and "777.77" not in r.text
    v = client.post("/api/v1/verifications", headers=auth(world.bank_b_token),
                    json={"uscc": ent.uscc, "category": "27", "claims": {"不动产单元号": "x"}})
    assert v.status_code == 403


def test_enterprise_cannot_touch_another_enterprises_authorizations_or_data(client, session, world):
    art = grant_via_api(client, world)
    for method, path in (("get", f"/api/v1/me/authorizations/{art['id']}"),
                         ("delete", f"/api/v1/me/authorizations/{art['id']}")):
        r = getattr(client, method)(path, headers=auth(world.other_token))
        assert r.status_code == 404 and error_code(r) == "authorization_not_found"
    assert client.get("/api/v1/me/authorizations", headers=auth(world.other_token)).json() == []
    session.expire_all()
    assert session.get(Authorization, art["id"]).status == "active"
    mine = client.get("/api/v1/me/credit", headers=auth(world.other_token)).json()
    assert mine["uscc"] == world.other.uscc and world.ent.uscc not in str(mine)
    assert client.get("/api/v1/me/disclosures", headers=auth(world.other_token)).json() == []
    # an enterprise cannot use institution paths, nor read artefacts through them
    for path in (f"/api/v1/enterprises/{world.ent.uscc}", "/api/v1/authorizations", f"/api/v1/authorizations/{art['id']}",
                 "/api/v1/disclosures"):
        r = client.get(path, headers=auth(world.other_token))
        assert r.status_code == 403 and error_code(r) == "wrong_role", path


def test_provider_and_institution_cannot_call_other_roles_paths(client, world):
    art = grant_via_api(client, world)
    forbidden = [("get", f"/api/v1/enterprises/{world.ent.uscc}"), ("get", "/api/v1/authorizations"),
                 ("get", f"/api/v1/authorizations/{art['id']}"), ("get", "/api/v1/me/credit"),
                 ("get", "/api/v1/me/authorizations"), ("get", "/api/v1/me/disclosures"),
                 ("delete", f"/api/v1/me/authorizations/{art['id']}"), ("get", "/api/v1/operator-alerts"),
                 ("get", "/api/v1/disclosures")]
    for method, path in forbidden:
        r = getattr(client, method)(path, headers=auth(world.provider_token))
        assert r.status_code == 403, (method, path)
    r = client.post("/api/v1/verifications", headers=auth(world.provider_token),
                    json={"uscc": world.ent.uscc, "category": "27", "claims": {"a": "b"}})
    assert r.status_code == 403
    for method, path in [("get", "/api/v1/me/credit"), ("get", "/api/v1/me/authorizations"),
                         ("delete", f"/api/v1/me/authorizations/{art['id']}"), ("get", "/api/v1/operator-alerts")]:
        r = getattr(client, method)(path, headers=auth(world.bank_token))
        assert r.status_code == 403, (method, path)
    r = client.post("/api/v1/me/authorizations", headers=auth(world.bank_token), json={})
    assert r.status_code in (403, 422)


def test_institution_cannot_grant_itself_an_authorization(client, session, world):
    r = client.post("/api/v1/me/authorizations", headers=auth(world.bank_token), json={
        "institution_id": world.bank.id, "purpose": "pre_loan", "categories": ["1"],
        "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).isoformat()})
    assert r.status_code == 403 and error_code(r) == "wrong_role"
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Authorization)) == 0


def test_institution_token_with_a_forged_subject_sees_nothing(client, session, world):
    forged = f.token_for(session, "institution", "not-a-number")
    session.commit()
    r = client.get(f"/api/v1/enterprises/{world.ent.uscc}", headers=auth(forged))
    assert r.status_code == 403 and error_code(r) == "institution_not_active"
