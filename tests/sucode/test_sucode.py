"""苏信码 end to end: authorize, show the QR code, scan it, verify online and offline, revoke."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from PIL import Image
from sqlalchemy import update
from typer.testing import CliRunner

from fincredit.sucode import token as sucode_token
from tests.helpers import auth, error_code
from tests.objections.conftest import plant

runner = CliRunner()


def grant_sucode(client, token: str, days: int = 60) -> dict:  # type: ignore[no-untyped-def]
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()
    r = client.post("/api/v1/me/authorizations", headers=auth(token),
                    json={"purpose": "sucode", "categories": [], "expires_at": expires})
    assert r.status_code == 201, r.text
    assert r.json()["institution_id"] is None
    return r.json()


def evaluate(session, world) -> None:  # type: ignore[no-untyped-def]
    from fincredit.evaluation.service import evaluate_enterprises

    plant(session, "4", {"企业名称": world.ent.name, "统一社会信用代码": world.ent.uscc, "评级年度": 2025,
                         "纳税信用等级": "A"})
    evaluate_enterprises(session, [world.ent.uscc])
    session.commit()


def scan(png: bytes) -> str:
    import zxingcpp

    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1 and results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].text


def offline(token: str, key: str):  # type: ignore[no-untyped-def]
    from fincredit.cli import app

    result = runner.invoke(app, ["sucode", "verify", token, "--public-key", key])
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def public_key(client) -> str:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/ledger/public-key").json()["key"]


def test_a_scanned_code_verifies_online_and_offline_until_the_authorization_is_revoked(
        client, session, world, public_key):
    evaluate(session, world)
    granted = grant_sucode(client, world.ent_token, days=10)
    r = client.get("/api/v1/me/sucode", headers=auth(world.ent_token), params={"format": "png"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    url = scan(r.content)
    assert url.startswith("http://testserver/sucode/")
    token = url.rsplit("/", 1)[1]

    online = client.get("/api/v1/sucode/verify", params={"token": token}).json()  # no login
    from fincredit.evaluation.service import current_evaluation

    grade = current_evaluation(session, world.ent.uscc).grade
    assert online["status"] == "valid" and online["genuine"] and online["current"]
    assert online["enterprise"] == {"uscc": world.ent.uscc, "name": world.ent.name}
    assert online["grade"] == grade and online["authorization_id"] == granted["id"]
    # The code expires with the authorization (10 days), sooner than the 30-day default.
    expires = dt.datetime.fromisoformat(online["expires_at"])
    assert expires == dt.datetime.fromisoformat(granted["expires_at"].replace("Z", "+00:00"))

    page = client.get(url.replace("http://testserver", ""))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert world.ent.name in page.text and "真实有效" in page.text and f">{grade}<" in page.text

    code, body = offline(url, public_key)
    assert code == 0 and body["valid"] and body["claims"]["uscc"] == world.ent.uscc and "撤销" in body["note"]

    # Revocation makes it fail online at once; offline can show only signature and expiry.
    assert client.delete(f"/api/v1/me/authorizations/{granted['id']}",
                         headers=auth(world.ent_token)).status_code == 200
    online = client.get("/api/v1/sucode/verify", params={"token": token}).json()
    assert online["status"] == "revoked" and online["genuine"] and not online["current"]
    page = client.get(f"/sucode/{token}")
    assert "已撤销" in page.text
    assert offline(token, public_key)[0] == 0
    r = client.get("/api/v1/me/sucode", headers=auth(world.ent_token))
    assert r.status_code == 403 and error_code(r) == "sucode_not_authorized"


def test_svg_and_token_formats(client, session, world, public_key):
    evaluate(session, world)
    grant_sucode(client, world.ent_token)
    svg = client.get("/api/v1/me/sucode", headers=auth(world.ent_token), params={"format": "svg"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content
    body = client.get("/api/v1/me/sucode", headers=auth(world.ent_token), params={"format": "token"}).json()
    assert body["url"].endswith(body["token"]) and body["public_key"]["key"] == public_key
    issued = dt.datetime.fromisoformat(body["issued_at"])
    assert dt.datetime.fromisoformat(body["expires_at"]) == issued + dt.timedelta(days=30)
    bad = client.get("/api/v1/me/sucode", headers=auth(world.ent_token), params={"format": "gif"})
    assert bad.status_code == 422


def test_forged_altered_expired_and_outdated_codes(client, session, world, public_key):
    from fincredit.evaluation.models import Evaluation
    from fincredit.sucode import service

    evaluate(session, world)
    grant_sucode(client, world.ent_token)
    token = client.get("/api/v1/me/sucode", headers=auth(world.ent_token), params={"format": "token"}).json()["token"]
    payload, signature = token.split(".")
    data = json.loads(sucode_token.unb64url(payload))
    data["g"] = "AAA"
    altered = sucode_token.b64url(json.dumps(data, ensure_ascii=False, sort_keys=True,
                                             separators=(",", ":")).encode()) + "." + signature
    for bad, code in [(altered, "bad_signature"), (token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"), "bad_signature"),
                      ("not-a-code", "malformed")]:
        result = client.get("/api/v1/sucode/verify", params={"token": bad}).json()
        assert result["status"] == "invalid" and not result["genuine"] and result["reason_code"] == code
        assert "enterprise" not in result
        page = client.get(f"/sucode/{bad}")
        assert page.status_code == 200 and "无效" in page.text and world.ent.name not in page.text
    assert offline(altered, public_key)[0] == 1
    assert client.get("/api/v1/sucode/verify").status_code == 422

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    assert service.verify_online(session, token, now=later)["status"] == "expired"

    session.execute(update(Evaluation).where(Evaluation.uscc == world.ent.uscc, Evaluation.is_current.is_(True))
                    .values(grade="C"))
    session.commit()
    result = client.get("/api/v1/sucode/verify", params={"token": token}).json()
    assert result["status"] == "outdated" and result["current_grade"] == "C" and result["genuine"]


def test_a_code_needs_an_authorization_and_an_evaluation(client, session, world):
    r = client.get("/api/v1/me/sucode", headers=auth(world.ent_token))
    assert r.status_code == 403 and error_code(r) == "sucode_not_authorized"
    grant_sucode(client, world.ent_token)
    r = client.get("/api/v1/me/sucode", headers=auth(world.ent_token))
    assert r.status_code == 409 and error_code(r) == "no_evaluation"
    assert client.get("/api/v1/me/sucode", headers=auth(world.bank_token)).status_code == 403
