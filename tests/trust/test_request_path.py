"""The profile query's request path: who the caller is and whether its institution may act are read from
the database on every request (the token and its institution in one query), and every answer carries
the request id its disclosure recorded."""

from __future__ import annotations

import re

from sqlalchemy import select

from fincredit.auth.models import ApiToken
from fincredit.db import utcnow
from fincredit.disclosure.models import Disclosure
from fincredit.institutions.models import Institution
from tests.helpers import auth, error_code
from tests.trust import factories as f


def view(client, world, token=None, headers=None):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/enterprises/{world.ent.uscc}",
                      headers={**auth(token or world.bank_token), **(headers or {})})


def set_status(session, institution_id: int, status: str) -> None:  # type: ignore[no-untyped-def]
    session.get(Institution, institution_id).status = status
    session.commit()


def test_a_suspended_institution_is_refused_at_its_next_request_and_served_again_once_active(
        client, session, world):  # type: ignore[no-untyped-def]
    assert view(client, world).status_code == 200
    set_status(session, world.bank.id, "suspended")
    r = view(client, world)
    assert r.status_code == 403 and error_code(r) == "institution_not_active"
    set_status(session, world.bank.id, "active")
    r = view(client, world)
    assert r.status_code == 200 and r.json()["uscc"] == world.ent.uscc


def test_a_platform_token_acts_for_its_platform(client, session, world):  # type: ignore[no-untyped-def]
    platform = f.make_institution(session, kind="platform", name="对接平台")
    token = f.institution_token(session, platform)
    session.commit()
    r = view(client, world, token)
    assert r.status_code == 200, r.text
    row = session.get(Disclosure, r.json()["disclosure"]["id"])
    assert (row.party_role, row.party_subject, row.party_name) == ("platform", str(platform.id), "对接平台")


def test_a_revoked_token_is_refused_at_its_next_request(client, session, world):  # type: ignore[no-untyped-def]
    assert view(client, world).status_code == 200
    for row in session.scalars(select(ApiToken).where(ApiToken.subject == str(world.bank.id))):
        row.revoked_at = utcnow()
    session.commit()
    r = view(client, world)
    assert r.status_code == 401 and error_code(r) == "token_revoked"


def test_the_request_id_is_the_callers_when_sane_and_is_recorded_with_the_disclosure(
        client, session, world):  # type: ignore[no-untyped-def]
    r = view(client, world, headers={"X-Request-ID": "trace-0042"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-0042"
    assert session.get(Disclosure, r.json()["disclosure"]["id"]).request_id == "trace-0042"
    r = view(client, world, headers={"X-Request-ID": "not a sane id; " + "x" * 80})
    assert r.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    assert session.get(Disclosure, r.json()["disclosure"]["id"]).request_id == r.headers["x-request-id"]
    refused = client.get(f"/api/v1/enterprises/{world.ent.uscc}", headers={"X-Request-ID": "trace-0043"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "trace-0043"
