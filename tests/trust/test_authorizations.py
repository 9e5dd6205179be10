"""Authorization artefacts over HTTP: grant, letter, signature, caps, bad input, revocation, ledger."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from fincredit.authorization.models import Authorization
from fincredit.authorization.service import verify_artefact
from fincredit.crypto import get_keyring
from fincredit.ledger.models import LedgerEntry
from tests.helpers import auth, error_code


def iso(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


def body(world, **over):  # type: ignore[no-untyped-def]
    b = {"institution_id": world.bank.id, "purpose": "pre_loan", "categories": ["1", "2", "27"],
         "expires_at": iso(20)}
    b.update(over)
    return b


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_grant_returns_a_signed_artefact_with_its_letter(client, session, world):
    r = client.post("/api/v1/me/authorizations", json=body(world, data_from="2023-01-01"),
                    headers=auth(world.ent_token))
    assert r.status_code == 201, r.text
    art = r.json()
    assert art["status"] == "active" and art["categories"] == ["1", "2", "27"]
    assert art["signature"]["alg"] == "Ed25519" and art["signature"]["kid"] == get_keyring().key_id
    assert verify_artefact(art["canonical"], art["signature"], get_keyring().public_key)
    content = json.loads(art["canonical"])
    assert content["enterprise"] == {"uscc": world.ent.uscc, "name": "江苏甲乙科技有限公司"}
    assert content["institution"]["id"] == world.bank.id and content["purpose"] == "pre_loan"
    letter = art["letter_text"]
    for text in ("江苏甲乙科技有限公司", "测试银行南京分行", "贷前审查", "纳税信息", "欠税信息", "企业名下不动产登记情况",
                 "加工产品", "不提供原始明细数据", "融资支持以外", "2023年01月01日", "撤销"):
        assert text in letter, text
    # the letter is covered by the signature through its hash; tampering breaks verification
    tampered = art["canonical"].replace('"pre_loan"', '"post_loan"')
    assert not verify_artefact(tampered, art["signature"])
    entry = session.get(LedgerEntry, art["ledger_index"])
    assert entry.kind == "authorization.granted"
    assert sorted(entry.parties) == sorted([f"enterprise:{world.ent.uscc}", f"institution:{world.bank.id}"])


def test_public_key_is_published(client):
    r = client.get("/api/v1/authorizations/public-key")
    assert r.status_code == 200 and r.json()["kid"] == get_keyring().key_id
    assert r.json()["key"] == get_keyring().public_key_b64()


def test_letter_preview_matches_what_is_granted(client, world):
    r = client.get("/api/v1/authorization-letter/preview", headers=auth(world.ent_token), params={
        "institution_id": world.bank.id, "purpose": "loan_approval", "categories": "10,13", "expires_at": iso(30)})
    assert r.status_code == 200, r.text
    assert "贷中审批" in r.json()["letter_text"] and "社会保险费缴纳情况" in r.json()["letter_text"]
    assert r.json()["template_version"] == "v1"


def test_listing_reading_and_revoking(client, session, world):
    art = client.post("/api/v1/me/authorizations", json=body(world), headers=auth(world.ent_token)).json()
    mine = client.get("/api/v1/me/authorizations", headers=auth(world.ent_token)).json()
    assert [a["id"] for a in mine] == [art["id"]]
    granted = client.get("/api/v1/authorizations", headers=auth(world.bank_token)).json()
    assert [a["id"] for a in granted] == [art["id"]]
    assert client.get(f"/api/v1/authorizations/{art['id']}", headers=auth(world.admin_token)).status_code == 200
    r = client.delete(f"/api/v1/me/authorizations/{art['id']}", headers=auth(world.ent_token))
    assert r.status_code == 200 and r.json()["status"] == "revoked" and r.json()["revoked_at"]
    # the signed content is unchanged by revocation
    assert r.json()["canonical"] == art["canonical"] and r.json()["signature"] == art["signature"]
    session.expire_all()
    kinds = [e.kind for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.index))]
    assert kinds[-2:] == ["authorization.granted", "authorization.revoked"]
    again = client.delete(f"/api/v1/me/authorizations/{art['id']}", headers=auth(world.ent_token))
    assert again.status_code == 200 and count(session, LedgerEntry) == len(kinds)


def test_sucode_authorization_needs_no_categories_nor_institution(client, world):
    r = client.post("/api/v1/me/authorizations", headers=auth(world.ent_token),
                    json={"purpose": "sucode", "categories": [], "expires_at": iso(300)})
    assert r.status_code == 201, r.text
    assert r.json()["institution_id"] is None and "社会公众" in r.json()["letter_text"]


def test_bad_requests_are_refused_and_store_nothing(client, session, world):
    before = (count(session, Authorization), count(session, LedgerEntry))
    cases = [
        (body(world, categories=["1", "99"]), 422, "unknown_category"),
        (body(world, categories=["nope"]), 422, "unknown_category"),
        (body(world, expires_at=iso(-1)), 422, "expiry_in_past"),
        (body(world, expires_at=iso(31)), 422, "authorization_exceeds_cap"),
        (body(world, purpose="loan_approval", expires_at=iso(91)), 422, "authorization_exceeds_cap"),
        (body(world, purpose="post_loan", expires_at=iso(3 * 366 + 2)), 422, "authorization_exceeds_cap"),
        (body(world, purpose="sucode", expires_at=iso(400)), 422, "authorization_exceeds_cap"),
        (body(world, purpose="marketing"), 422, "unknown_purpose"),
        (body(world, categories=[]), 422, "categories_required"),
        (body(world, institution_id=world.suspended.id), 422, "institution_not_active"),
        (body(world, institution_id=world.exited.id), 422, "institution_not_active"),
        (body(world, institution_id=999999), 422, "institution_not_active"),
        (body(world, institution_id=None), 422, "institution_not_active"),
        (body(world, data_from="2024-05-01", data_to="2023-01-01"), 422, "invalid_data_range"),
        (body(world, extra="x"), 422, "validation_failed"),
        (body(world, categories="1"), 422, "validation_failed"),
        (body(world, expires_at="tomorrow"), 422, "validation_failed"),
        (body(world, categories=[str(i) for i in range(100)]), 422, "validation_failed"),
    ]
    for payload, status, code in cases:
        r = client.post("/api/v1/me/authorizations", json=payload, headers=auth(world.ent_token))
        assert (r.status_code, error_code(r)) == (status, code), (payload, r.text)
    r = client.post("/api/v1/me/authorizations", json=body(world), headers=auth(world.ent_token))
    assert r.status_code == 201
    cap = client.post("/api/v1/me/authorizations", json=body(world, expires_at=iso(45)), headers=auth(world.ent_token))
    assert "30" in cap.json()["error"]["message"]
    malformed = client.post("/api/v1/me/authorizations", content=b"{\"purpose\": ",
                            headers={**auth(world.ent_token), "content-type": "application/json"})
    assert malformed.status_code == 422 and error_code(malformed) == "validation_failed"
    big = client.post("/api/v1/me/authorizations", json=body(world, note="x" * (2 * 1024 * 1024)),
                      headers=auth(world.ent_token))
    assert big.status_code == 413 and error_code(big) == "payload_too_large"
    assert (count(session, Authorization), count(session, LedgerEntry)) == (before[0] + 1, before[1] + 1)


def test_forged_and_expired_tokens_are_refused(client, session, world):
    from fincredit.auth.models import ApiToken

    for token in ("fce_forged", "", "x" * 300):
        r = client.post("/api/v1/me/authorizations", json=body(world), headers=auth(token))
        assert r.status_code == 401
    row = session.scalar(select(ApiToken).where(ApiToken.subject == world.ent.uscc))
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    r = client.post("/api/v1/me/authorizations", json=body(world), headers=auth(world.ent_token))
    assert r.status_code == 401 and error_code(r) == "token_expired"
    assert count(session, Authorization) == 0


def test_grant_and_revocation_fail_closed_when_the_ledger_cannot_be_written(client, session, world, monkeypatch):
    art = client.post("/api/v1/me/authorizations", json=body(world), headers=auth(world.ent_token)).json()
    before = (count(session, Authorization), count(session, LedgerEntry))

    def broken(*_a, **_k):  # fault injection
        raise RuntimeError("ledger down")

    monkeypatch.setattr("fincredit.ledger.service.append_many", broken)
    monkeypatch.setattr("fincredit.ledger.service.append", broken)
    with_client = client.__class__(client.app, raise_server_exceptions=False)
    r = with_client.post("/api/v1/me/authorizations", json=body(world), headers=auth(world.ent_token))
    assert r.status_code == 500 and "signature" not in r.text
    r = with_client.delete(f"/api/v1/me/authorizations/{art['id']}", headers=auth(world.ent_token))
    assert r.status_code == 500
    assert (count(session, Authorization), count(session, LedgerEntry)) == before
    session.expire_all()
    assert session.get(Authorization, art["id"]).status == "active"
