"""The ledger API: public checkpoint, key and consistency proofs; proofs and receipts for parties only."""

from __future__ import annotations

import base64

import pytest

from fincredit.db import session_scope
from fincredit.ledger import merkle, service
from fincredit.ledger.merkle import SM3
from fincredit.ledger.verifier import verify_document
from tests.helpers import auth, error_code

USCC = "91320000MA1XXXXX0A"


def active_institution(name: str) -> tuple[int, str]:
    """An institution onboarded through its real lifecycle, and a token for it."""
    from fincredit.institutions import service as institutions

    with session_scope() as s:
        row = institutions.create_institution(s, name=name, kind="bank", actor="test")
        for kind in ("security", "authorization"):
            institutions.record_assessment(s, row.id, kind=kind, passed=True, note="", actor="test")
        institutions.change_status(s, row.id, to_status="active", reason="", actor="test")
        raw, _ = institutions.issue_institution_token(s, row.id)
        return row.id, raw


@pytest.fixture
def party(db) -> tuple[int, str]:
    return active_institution("南京银行")


@pytest.fixture
def entries(party) -> list[int]:
    with session_scope() as s:
        rows = service.append_many(s, [
            ("disclosure", {"category": "12", "n": i}, [f"enterprise:{USCC}", f"institution:{party[0]}"])
            for i in range(10)])
        rows += service.append_many(s, [("batch.accepted", {"sm3": "00" * 32}, ["provider:P01"])])
    return [r.index for r in rows]


def test_checkpoint_and_public_key_are_public(client, entries) -> None:
    r = client.get("/api/v1/ledger/checkpoint")
    assert r.status_code == 200
    cp = r.json()
    assert cp["size"] == 11 and len(cp["root"]) == 64 and cp["hash_alg"] == "sm3"
    assert set(cp["signature"]) == {"alg", "kid", "sig"} and cp["signature"]["alg"] == "Ed25519"
    key = client.get("/api/v1/ledger/public-key").json()
    assert key["kid"] == cp["signature"]["kid"]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    message = merkle.checkpoint_message(size=cp["size"], root_hex=cp["root"], timestamp=cp["timestamp"],
                                        hash_alg=cp["hash_alg"], origin=cp["origin"])
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key["key"])).verify(
        base64.b64decode(cp["signature"]["sig"]), message)
    assert client.get("/api/v1/ledger/checkpoint").json()["size"] == 11  # no new entries: same head


def test_parties_and_admin_get_the_proof(client, entries, party, make_token, admin_token) -> None:
    for token in (party[1], admin_token):
        r = client.get("/api/v1/ledger/entries/3/proof", headers=auth(token))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["index"] == 3 and body["entry"]["payload"]["n"] == 3
        merkle.verify_inclusion(SM3, 3, body["tree_size"], bytes.fromhex(body["leaf_hash"]),
                                [bytes.fromhex(h) for h in body["inclusion_proof"]],
                                bytes.fromhex(body["checkpoint"]["root"]))
    r = client.get("/api/v1/ledger/entries/10/proof", headers=auth(make_token("provider", "P01")))
    assert r.status_code == 200


def test_others_do_not_get_the_proof(client, entries, party, make_token) -> None:
    _other_id, other = active_institution("苏州银行")
    r = client.get("/api/v1/ledger/entries/3/proof", headers=auth(other))
    assert r.status_code == 403 and error_code(r) == "ledger_not_a_party"
    r = client.get("/api/v1/ledger/entries/3/receipt", headers=auth(other))
    assert r.status_code == 403 and error_code(r) == "ledger_not_a_party"
    r = client.get("/api/v1/ledger/entries/10/proof", headers=auth(make_token("provider", "P02")))
    assert r.status_code == 403 and error_code(r) == "ledger_not_a_party"
    r = client.get("/api/v1/ledger/entries/3/proof")
    assert r.status_code == 401 and error_code(r) == "missing_token"
    r = client.get("/api/v1/ledger/entries/999/proof", headers=auth(party[1]))
    assert r.status_code == 404 and error_code(r) == "ledger_entry_not_found"


def test_party_matching(session) -> None:
    from fincredit.auth.models import Role
    from fincredit.auth.service import Principal

    entry = service.append(session, "disclosure", {}, [f"enterprise:{USCC}", "institution:4", "provider:P01"])
    yes = [(Role.enterprise, USCC), (Role.institution, "4"), (Role.platform, "4"), (Role.provider, "P01"),
           (Role.admin, "anyone")]
    no = [(Role.enterprise, "91320000MA1YYYYY0B"), (Role.institution, "44"), (Role.provider, "P0"),
          (Role.institution, USCC), (Role.enterprise, "4")]
    assert all(service.can_access(Principal(role, subject), entry) for role, subject in yes)
    assert not any(service.can_access(Principal(role, subject), entry) for role, subject in no)
    session.rollback()


def test_receipt_from_the_api_verifies_with_the_published_key(client, entries, party) -> None:
    r = client.get("/api/v1/ledger/entries/5/receipt", headers=auth(party[1]))
    assert r.status_code == 200
    key = client.get("/api/v1/ledger/public-key").json()["key"]
    result = verify_document(r.json(), key)
    assert result.ok and result.indexes == [5], result.error


def test_consistency_is_public(client, entries) -> None:
    first = client.get("/api/v1/ledger/checkpoint").json()
    with session_scope() as s:
        service.append_many(s, [("disclosure", {"n": i}, ["admin"]) for i in range(5)])
        service.issue_checkpoint(s)
    r = client.get("/api/v1/ledger/consistency", params={"first": 11, "second": 16})
    assert r.status_code == 200
    body = r.json()
    assert body["first_root"] == first["root"] and body["second_checkpoint"]["size"] == 16
    merkle.verify_consistency(SM3, 11, 16, [bytes.fromhex(h) for h in body["proof"]],
                              bytes.fromhex(first["root"]), bytes.fromhex(body["second_root"]))
    r = client.get("/api/v1/ledger/consistency", params={"first": 12, "second": 99})
    assert r.status_code == 400 and error_code(r) == "ledger_invalid_tree_sizes"
    r = client.get("/api/v1/ledger/consistency", params={"first": -1, "second": 3})
    assert r.status_code == 422
