from fincredit.auth.models import Role
from tests.helpers import auth, error_code


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_openapi_served(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200
    assert "/api/v1/catalog" in r.json()["paths"]


def test_missing_wrong_and_forged_tokens_are_refused(client):
    body = {"definition": {}, "note": ""}
    r = client.put("/api/v1/catalog/categories/1", json=body)
    assert r.status_code == 401 and error_code(r) == "missing_token"
    r = client.put("/api/v1/catalog/categories/1", json=body, headers=auth("fca_forged"))
    assert r.status_code == 401 and error_code(r) == "invalid_token"
    assert "令牌" in r.json()["error"]["message"]


def test_token_of_wrong_role_is_forbidden(client, make_token):
    token = make_token(Role.provider.value, "tax")
    r = client.put("/api/v1/catalog/categories/1", json={"definition": {"code": "1"}}, headers=auth(token))
    assert r.status_code == 403
    assert error_code(r) == "wrong_role"
    # Tokens of institutions/enterprises without an active institution or account behind them
    # are refused before the role is even considered.
    for role in (Role.institution, Role.enterprise):
        token = make_token(role.value, "someone")
        r = client.put("/api/v1/catalog/categories/1", json={"definition": {"code": "1"}}, headers=auth(token))
        assert r.status_code == 403, role
        assert error_code(r) in {"institution_not_active", "account_not_found"}


def test_revoked_token_is_refused_at_once(client, session, admin_token):
    from fincredit.auth.service import resolve_token, revoke_token

    principal = resolve_token(session, admin_token)
    revoke_token(session, token_id=principal.token_id, role=Role.admin, subject=principal.subject)
    session.commit()
    r = client.post("/api/v1/catalog/categories", json={"definition": {}}, headers=auth(admin_token))
    assert r.status_code == 401 and error_code(r) == "token_revoked"


def test_oversized_json_body_is_refused(client, admin_token):
    big = {"definition": {"x": "a" * (2 * 1024 * 1024)}}
    r = client.post("/api/v1/catalog/categories", json=big, headers=auth(admin_token))
    assert r.status_code == 413 and error_code(r) == "payload_too_large"


def test_malformed_json_is_422_with_error_body(client, admin_token):
    r = client.post("/api/v1/catalog/categories", content=b"{not json",
                    headers={**auth(admin_token), "content-type": "application/json"})
    assert r.status_code == 422 and error_code(r) == "validation_failed"


def test_unknown_path_is_404_with_error_body(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and error_code(r) == "not_found"
