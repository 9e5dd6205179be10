"""The compact signed token of 苏信码 (pure: no server, no database)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fincredit.sucode import token as t

NOW = dt.datetime(2026, 10, 9, 6, 0, tzinfo=dt.UTC)


def key_pair() -> tuple[Ed25519PrivateKey, str]:
    sk = Ed25519PrivateKey.generate()
    raw = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    import base64

    return sk, base64.b64encode(raw).decode()


def claims(kid: str, **over) -> t.Claims:  # type: ignore[no-untyped-def]
    base = dict(uscc="91320100MA1XYZ0001", name="江苏甲乙科技有限公司", grade="AA", score=845,
                evaluated_at=NOW - dt.timedelta(days=3), issued_at=NOW, expires_at=NOW + dt.timedelta(days=30),
                authorization_id="6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", key_id=kid)
    base.update(over)
    return t.Claims(**base)


def test_round_trip_is_compact_and_verifies_with_the_public_key_alone():
    sk, pub_b64 = key_pair()
    pub = t.load_public_key(pub_b64)
    token = t.encode(claims(t.key_id(pub)), sk.sign)
    assert len(token) < 420 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    verified = t.verify(token, pub, NOW)
    assert verified.claims.name == "江苏甲乙科技有限公司" and verified.claims.grade == "AA" and not verified.expired
    assert t.verify(f"https://credit.example.gov.cn/sucode/{token}", pub, NOW).claims.score == 845
    assert t.verify(token, pub, NOW + dt.timedelta(days=30)).expired


def test_altered_forged_and_malformed_tokens_are_refused_with_clear_codes():
    sk, pub_b64 = key_pair()
    pub = t.load_public_key(pub_b64)
    kid = t.key_id(pub)
    token = t.encode(claims(kid), sk.sign)
    payload, sig = token.split(".")
    data = json.loads(t.unb64url(payload))
    data["g"] = "AAA"
    altered = t.b64url(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()) + "." + sig
    other_sk, _ = key_pair()
    forged_same_kid = t.encode(claims(kid), other_sk.sign)
    forged_own_kid = t.encode(claims(t.key_id(other_sk.public_key())), other_sk.sign)
    # a signature over the bare payload (no domain prefix) — e.g. lifted from another signed document
    no_domain = payload + "." + t.b64url(sk.sign(payload.encode()))
    cases = [(altered, "bad_signature"), (forged_same_kid, "bad_signature"), (forged_own_kid, "unknown_key"),
             (no_domain, "bad_signature"), ("", "malformed"), ("abc", "malformed"), ("a.b.c", "malformed"),
             ("!!!.???", "malformed"), (t.b64url(b"[1,2]") + "." + sig, "malformed"), ("x" * 5000, "malformed")]
    for bad, code in cases:
        with pytest.raises(t.TokenError) as caught:
            t.verify(bad, pub, NOW)
        assert caught.value.code == code, bad[:40]
        assert caught.value.message
    with pytest.raises(t.TokenError) as caught:
        t.load_public_key("not base64!")
    assert caught.value.code == "bad_public_key"
