"""Onboarding of institutions and docked platforms: lifecycle, refusal when not active, tokens, tenancy."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fincredit.institutions.models import Institution, InstitutionAssessment, InstitutionStatusChange
from tests.helpers import auth, error_code
from tests.registry.factories import make_uscc, registered_enterprise_token

API = "/api/v1/institutions"


def create(client, admin, **body):  # type: ignore[no-untyped-def]
    r = client.post(API, json={"name": "江苏测试银行", "kind": "bank", **body}, headers=auth(admin))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def assess(client, admin, iid, kind, passed=True):  # type: ignore[no-untyped-def]
    r = client.post(f"{API}/{iid}/assessments", json={"kind": kind, "passed": passed, "note": "现场检查"},
                    headers=auth(admin))
    assert r.status_code == 201, r.text


def set_status(client, admin, iid, status, reason=""):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/{iid}/status", json={"status": status, "reason": reason}, headers=auth(admin))


def onboard(client, admin, **body) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    iid = create(client, admin, **body)
    assess(client, admin, iid, "security")
    assess(client, admin, iid, "authorization")
    assert set_status(client, admin, iid, "active", "评估通过").status_code == 200
    r = client.post(f"{API}/{iid}/tokens", headers=auth(admin))
    assert r.status_code == 201, r.text
    return iid, r.json()["token"]


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(select(func.count()).select_from(model))


def test_lifecycle_requires_both_latest_assessments(client, admin_token):
    r = client.post(API, json={"name": "苏州市融资信用服务平台", "kind": "platform", "region_code": "320500",
                               "uscc": make_uscc(7)}, headers=auth(admin_token))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "applied" and body["kind"] == "platform" and body["uscc"] == make_uscc(7)
    iid = body["id"]

    r = set_status(client, admin_token, iid, "active")
    assert r.status_code == 409 and error_code(r) == "assessments_incomplete"
    assess(client, admin_token, iid, "security")
    assess(client, admin_token, iid, "authorization", passed=False)
    r = set_status(client, admin_token, iid, "active")
    assert r.status_code == 409 and error_code(r) == "assessments_incomplete"
    assert "授权评估" in r.json()["error"]["message"]
    assess(client, admin_token, iid, "authorization")
    r = set_status(client, admin_token, iid, "active", "两项评估均已通过")
    assert r.status_code == 200 and r.json()["status"] == "active"

    r = set_status(client, admin_token, iid, "suspended")
    assert r.status_code == 422 and error_code(r) == "reason_required"
    assert set_status(client, admin_token, iid, "suspended", "安全事件排查").status_code == 200
    r = set_status(client, admin_token, iid, "suspended", "再次暂停")
    assert r.status_code == 409 and error_code(r) == "illegal_transition"
    # A failed security re-assessment blocks re-activation until a newer one passes.
    assess(client, admin_token, iid, "security", passed=False)
    r = set_status(client, admin_token, iid, "active")
    assert r.status_code == 409 and error_code(r) == "assessments_incomplete"
    assess(client, admin_token, iid, "security")
    assert set_status(client, admin_token, iid, "active", "整改完成").status_code == 200

    detail = client.get(f"{API}/{iid}", headers=auth(admin_token)).json()
    history = [(c["from_status"], c["to_status"], c["reason"], c["changed_by"]) for c in detail["status_history"]]
    assert history == [(None, "applied", "申请接入", "operator"),
                       ("applied", "active", "两项评估均已通过", "operator"),
                       ("active", "suspended", "安全事件排查", "operator"),
                       ("suspended", "active", "整改完成", "operator")]
    assert [a["passed"] for a in detail["assessments"]] == [True, False, True, False, True]


def test_applied_cannot_be_suspended_and_unknown_institution_is_404(client, admin_token):
    iid = create(client, admin_token)
    r = set_status(client, admin_token, iid, "suspended", "原因")
    assert r.status_code == 409 and error_code(r) == "illegal_transition"
    r = set_status(client, admin_token, 9999, "active")
    assert r.status_code == 404 and error_code(r) == "institution_not_found"


def test_exit_is_terminal_and_revokes_tokens(client, session, admin_token):
    iid, token = onboard(client, admin_token)
    r = set_status(client, admin_token, iid, "exited")
    assert r.status_code == 422 and error_code(r) == "reason_required"
    assert set_status(client, admin_token, iid, "exited", "主动申请退出").json()["status"] == "exited"
    for status in ("active", "suspended", "exited"):
        r = set_status(client, admin_token, iid, status, "试图恢复")
        assert r.status_code == 409 and error_code(r) == "institution_exited"
    r = client.post(f"{API}/{iid}/assessments", json={"kind": "security", "passed": True, "note": ""},
                    headers=auth(admin_token))
    assert r.status_code == 409 and error_code(r) == "institution_exited"
    r = client.post(f"{API}/{iid}/tokens", headers=auth(admin_token))
    assert r.status_code == 409 and error_code(r) == "institution_not_active"
    r = client.get(f"{API}/{iid}", headers=auth(token))
    assert r.status_code == 401 and error_code(r) == "token_revoked"
    listed = client.get(f"{API}/{iid}/tokens", headers=auth(admin_token)).json()["items"]
    assert all(t["revoked_at"] for t in listed)


def test_suspension_refuses_the_very_next_request(client, admin_token):
    iid, token = onboard(client, admin_token)
    assert client.get(f"{API}/{iid}", headers=auth(token)).status_code == 200
    assert set_status(client, admin_token, iid, "suspended", "违规查询").status_code == 200
    for path in (f"{API}/{iid}", f"{API}/{iid}/tokens", "/api/v1/me"):
        r = client.get(path, headers=auth(token))
        assert r.status_code == 403 and error_code(r) == "institution_not_active", path
        assert "暂停接入" in r.json()["error"]["message"]
    assert set_status(client, admin_token, iid, "active", "恢复").status_code == 200
    assert client.get(f"{API}/{iid}", headers=auth(token)).status_code == 200


def test_tokens_only_for_active_institutions_and_platform_role(client, admin_token):
    iid = create(client, admin_token)
    r = client.post(f"{API}/{iid}/tokens", headers=auth(admin_token))
    assert r.status_code == 409 and error_code(r) == "institution_not_active"
    pid, ptoken = onboard(client, admin_token, name="无锡市融资信用服务平台", kind="platform")
    assert ptoken.startswith("fcl_")
    assert client.get(f"{API}/{pid}", headers=auth(ptoken)).json()["kind"] == "platform"


def test_token_list_and_revoke(client, admin_token):
    iid, token = onboard(client, admin_token)
    r = client.post(f"{API}/{iid}/tokens", json={"name": "贷后系统"}, headers=auth(admin_token))
    second, second_id = r.json()["token"], r.json()["id"]
    listed = client.get(f"{API}/{iid}/tokens", headers=auth(token))
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [t["name"] for t in items] == ["江苏测试银行", "贷后系统"]
    assert set(items[0]) >= {"id", "prefix", "name", "created_at", "revoked_at", "last_used_at"}
    assert token not in listed.text and second not in listed.text
    assert "token_hash" not in listed.text

    r = client.delete(f"{API}/{iid}/tokens/{second_id}", headers=auth(token))
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = client.get(f"{API}/{iid}", headers=auth(second))
    assert r.status_code == 401 and error_code(r) == "token_revoked"
    assert client.get(f"{API}/{iid}", headers=auth(token)).status_code == 200
    r = client.delete(f"{API}/{iid}/tokens/424242", headers=auth(admin_token))
    assert r.status_code == 404 and error_code(r) == "token_not_found"


def test_institutions_are_isolated_from_each_other(client, admin_token):
    a, token_a = onboard(client, admin_token, name="甲银行")
    b, token_b = onboard(client, admin_token, name="乙担保公司", kind="guarantor")
    b_token_id = client.get(f"{API}/{b}/tokens", headers=auth(token_b)).json()["items"][0]["id"]
    for method, path in (("get", f"{API}/{b}"), ("get", f"{API}/{b}/tokens"),
                         ("delete", f"{API}/{b}/tokens/{b_token_id}")):
        r = client.request(method.upper(), path, headers=auth(token_a))
        assert r.status_code == 404 and error_code(r) == "institution_not_found", path
    r = client.delete(f"{API}/{a}/tokens/{b_token_id}", headers=auth(token_a))
    assert r.status_code == 404 and error_code(r) == "token_not_found"
    assert client.get(f"{API}/{b}", headers=auth(token_b)).status_code == 200
    for method, path in (("get", API), ("post", f"{API}/{a}/tokens"), ("post", f"{API}/{a}/status")):
        r = client.request(method.upper(), path, headers=auth(token_a), json={"status": "active"})
        assert r.status_code == 403 and error_code(r) == "wrong_role", path


def test_enterprise_cannot_read_institution_endpoints(client, admin_token):
    iid, _ = onboard(client, admin_token)
    _ent, token = registered_enterprise_token(client)
    for path in (API, f"{API}/{iid}", f"{API}/{iid}/tokens"):
        r = client.get(path, headers=auth(token))
        assert r.status_code == 403 and error_code(r) == "wrong_role", path


def test_list_filters(client, admin_token):
    onboard(client, admin_token, name="甲银行")
    create(client, admin_token, name="丙平台", kind="platform")
    r = client.get(API, params={"status": "active"}, headers=auth(admin_token))
    assert [i["name"] for i in r.json()["items"]] == ["甲银行"]
    r = client.get(API, params={"kind": "platform"}, headers=auth(admin_token))
    assert [i["name"] for i in r.json()["items"]] == ["丙平台"]
    r = client.get(API, params={"kind": "insurer"}, headers=auth(admin_token))
    assert r.status_code == 422 and error_code(r) == "validation_failed"


@pytest.mark.parametrize("request_kwargs,status,code", [
    ({"content": b'{"name": "x", ', "headers": {"content-type": "application/json"}}, 422, "validation_failed"),
    ({"json": {"name": "某保险公司", "kind": "insurer"}}, 422, "validation_failed"),
    ({"json": {"name": "  ", "kind": "bank"}}, 422, "validation_failed"),
    ({"json": {"name": "某银行", "kind": "bank", "uscc": "91320102000000000X"}}, 422, "bad_uscc"),
    ({"json": {"name": "某银行", "kind": "bank", "region_code": "32"}}, 422, "validation_failed"),
    ({"json": {"name": "某银行", "kind": "bank", "x": "a" * (2 * 1024 * 1024)}}, 413, "payload_too_large"),
])
def test_bad_input_is_refused_and_stores_nothing(client, session, admin_token, request_kwargs, status, code):
    headers = {**auth(admin_token), **request_kwargs.pop("headers", {})}
    r = client.post(API, headers=headers, **request_kwargs)
    assert r.status_code == status and error_code(r) == code
    assert count(session, Institution) == 0


def test_bad_assessment_and_status_bodies(client, session, admin_token):
    iid = create(client, admin_token)
    for body in ({"kind": "financial", "passed": True}, {"kind": "security", "passed": "yes"},
                 {"kind": "security"}):
        r = client.post(f"{API}/{iid}/assessments", json=body, headers=auth(admin_token))
        assert r.status_code == 422 and error_code(r) == "validation_failed", body
    r = set_status(client, admin_token, iid, "closed", "x")
    assert r.status_code == 422 and error_code(r) == "validation_failed"
    r = client.get(f"{API}/99999999999999999999", headers=auth(admin_token))
    assert r.status_code == 422
    assert count(session, InstitutionAssessment) == 0
    assert count(session, InstitutionStatusChange) == 1  # the application itself


def test_duplicate_uscc_is_a_conflict(client, admin_token):
    create(client, admin_token, uscc=make_uscc(8))
    r = client.post(API, json={"name": "重复", "kind": "bank", "uscc": make_uscc(8)}, headers=auth(admin_token))
    assert r.status_code == 409 and error_code(r) == "institution_exists"


def test_is_institution_active_for_other_capabilities(client, session, admin_token):
    from fincredit.institutions.service import get_institution, is_institution_active

    iid, _ = onboard(client, admin_token)
    session.rollback()
    assert is_institution_active(session, iid) and not is_institution_active(session, iid + 1)
    assert get_institution(session, iid).status == "active"
    set_status(client, admin_token, iid, "suspended", "检查")
    session.rollback()
    session.expire_all()
    assert not is_institution_active(session, iid)
