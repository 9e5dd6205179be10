"""Watching needs a basis: a live post_loan authorization granted to this institution for this enterprise;
revocation and expiry stop it and notify the institution."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from fincredit.authorization.models import Authorization
from fincredit.db import session_scope, utcnow
from fincredit.monitoring import watchlist
from fincredit.monitoring.models import Alert, WatchlistEntry
from tests.helpers import auth, error_code
from tests.monitoring.world import World, grant_post_loan, make_world
from tests.trust.factories import make_uscc


@pytest.fixture
def world(fast_settings) -> World:
    return make_world()


def post(client, token: str, uscc: str, authorization_id: str):
    return client.post("/api/v1/watchlist", json={"uscc": uscc, "authorization_id": authorization_id},
                       headers=auth(token))


def test_watch_list_and_unwatch(client, world):
    authorization = grant_post_loan(world, ["2", "11"])
    r = post(client, world.bank_token, world.ent.uscc, authorization)
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["basis"] == "authorization" and entry["authorization_id"] == authorization and entry["active"]
    again = post(client, world.bank_token, world.ent.uscc, authorization)
    assert again.status_code == 200 and again.json()["id"] == entry["id"]

    listed = client.get("/api/v1/watchlist", headers=auth(world.bank_token)).json()["items"]
    assert [e["id"] for e in listed] == [entry["id"]]
    assert client.get("/api/v1/watchlist", headers=auth(world.other_bank_token)).json()["items"] == []
    assert client.delete(f"/api/v1/watchlist/{entry['id']}", headers=auth(world.other_bank_token)).status_code == 404

    r = client.delete(f"/api/v1/watchlist/{entry['id']}", headers=auth(world.bank_token))
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["end_reason"] == "机构取消监测"
    assert client.get("/api/v1/watchlist", headers=auth(world.bank_token)).json()["items"] == []


@pytest.mark.parametrize("case", ["other_institution", "wrong_purpose", "other_enterprise", "revoked", "unknown",
                                  "bad_uscc", "unknown_enterprise", "enterprise_caller"])
def test_nothing_is_watched_without_a_valid_basis(client, world, case):
    uscc, token = world.ent.uscc, world.bank_token
    if case == "other_institution":
        authorization = grant_post_loan(world, ["2"], bank_id=world.other_bank_id)
        expected = (403, "authorization_not_granted")
    elif case == "wrong_purpose":
        authorization = grant_post_loan(world, ["2"], purpose="pre_loan", days=10)
        expected = (422, "authorization_wrong_purpose")
    elif case == "other_enterprise":
        authorization = grant_post_loan(world, ["2"])
        uscc = world.other.uscc
        expected = (422, "authorization_enterprise_mismatch")
    elif case == "revoked":
        authorization = grant_post_loan(world, ["2"])
        r = client.delete(f"/api/v1/me/authorizations/{authorization}", headers=auth(world.ent_token))
        assert r.status_code in (200, 204), r.text
        expected = (403, "authorization_revoked")
    elif case == "unknown":
        authorization = "00000000-0000-0000-0000-000000000000"
        expected = (403, "authorization_not_granted")
    elif case == "bad_uscc":
        authorization, uscc = grant_post_loan(world, ["2"]), "91320100ABCDEFG12X"
        expected = (422, "bad_uscc")
    elif case == "unknown_enterprise":
        authorization, uscc = grant_post_loan(world, ["2"]), make_uscc(987654)
        expected = (404, "enterprise_not_found")
    else:
        authorization, token = grant_post_loan(world, ["2"]), world.ent_token
        expected = (403, "wrong_role")
    r = post(client, token, uscc, authorization)
    assert (r.status_code, error_code(r)) == expected, r.text
    with session_scope() as s:
        assert s.scalars(select(WatchlistEntry)).all() == []


def notices(kind: str) -> list[Alert]:
    with session_scope() as s:
        rows = list(s.scalars(select(Alert).where(Alert.kind == kind)))
        s.expunge_all()
        return rows


def test_revocation_stops_watching_and_notifies_the_institution(client, world):
    authorization = grant_post_loan(world, ["2"])
    entry = post(client, world.bank_token, world.ent.uscc, authorization).json()
    r = client.delete(f"/api/v1/me/authorizations/{authorization}", headers=auth(world.ent_token))
    assert r.status_code in (200, 204), r.text

    listed = client.get("/api/v1/watchlist", params={"active": False}, headers=auth(world.bank_token)).json()["items"]
    assert [(e["id"], e["active"]) for e in listed] == [(entry["id"], False)]
    [notice] = client.get("/api/v1/alerts", params={"kind": "authorization_revoked"},
                          headers=auth(world.bank_token)).json()["items"]
    assert notice["severity"] == "info" and notice["basis"]["authorization_id"] == authorization
    assert "贷后监测" in notice["evidence"] and "已停止" in notice["evidence"]


def test_expiry_scan_stops_watching_and_notifies_once(client, world):
    authorization = grant_post_loan(world, ["2"])
    assert post(client, world.bank_token, world.ent.uscc, authorization).status_code == 201
    with session_scope() as s:  # time passes: the authorization runs out
        auth_row = s.get(Authorization, authorization)
        auth_row.expires_at = utcnow() - dt.timedelta(seconds=1)
    for _ in range(2):
        with session_scope() as s:
            watchlist.scan(s)
    [notice] = notices("authorization_expired")
    assert notice.institution_id == world.bank_id and "已到期" in notice.evidence
    with session_scope() as s:
        assert [e.active for e in s.scalars(select(WatchlistEntry))] == [False]
