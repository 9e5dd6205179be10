"""Revocation, expiry, institution suspension and exit each stop access on the very next request."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from fincredit.authorization.models import Authorization
from fincredit.ledger.models import LedgerEntry
from tests.helpers import auth, error_code
from tests.trust import factories as f


def setup(session, world):  # type: ignore[no-untyped-def]
    ent = world.ent
    f.store_record(session, f.category(session, "11"), {"企业名称": ent.name, "统一社会信用代码": ent.uscc,
                                                        "当前是否欠费": True})
    f.store_record(session, f.category(session, "28"), {
        "抵押人": ent.name, "抵押人证件类型": "统一社会信用代码", "抵押人证件号": ent.uscc, "不动产单元号": "U-778899",
        "抵押登记时间": "2021-03-04"})
    a = f.grant(session, ent, world.bank, ["11", "28"])
    session.commit()
    return a


def form(client, world, code="11"):  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/enterprises/{world.ent.uscc}", headers=auth(world.bank_token))
    if r.status_code != 200:
        return r.status_code, error_code(r)
    return next(c for c in r.json()["categories"] if c["code"] == code)["form"], None


def verify(client, world):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/verifications", headers=auth(world.bank_token),
                       json={"uscc": world.ent.uscc, "category": "28", "claims": {"不动产单元号": "U-778899"}})


def test_revocation_stops_access_at_once(client, session, world):
    a = setup(session, world)
    assert form(client, world) == ("processed", None)
    assert verify(client, world).json()["match"] is True
    assert client.delete(f"/api/v1/me/authorizations/{a.id}", headers=auth(world.ent_token)).status_code == 200
    assert form(client, world) == ("none", None)
    r = verify(client, world)
    assert r.status_code == 403 and error_code(r) == "authorization_revoked"


def test_expiry_stops_access_at_once_and_is_noted_in_the_ledger(client, session, world):
    a = setup(session, world)
    assert form(client, world) == ("processed", None)
    row = session.get(Authorization, a.id)
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    assert form(client, world) == ("none", None)
    r = verify(client, world)
    assert r.status_code == 403 and error_code(r) == "authorization_expired"
    session.expire_all()
    expired = list(session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "authorization.expired")))
    assert len(expired) == 1 and expired[0].document["payload"]["authorization_id"] == a.id
    listed = client.get(f"/api/v1/me/authorizations/{a.id}", headers=auth(world.ent_token)).json()
    assert listed["status"] == "expired"


def test_expiry_takes_effect_without_any_job_even_if_never_used(client, session, world):
    a = setup(session, world)
    session.get(Authorization, a.id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    session.commit()
    assert client.get(f"/api/v1/authorizations/{a.id}", headers=auth(world.bank_token)).json()["status"] == "expired"


def test_suspension_and_exit_stop_access_on_the_next_request(client, session, world):
    setup(session, world)
    assert form(client, world) == ("processed", None)
    for status in ("suspended", "exited"):
        inst = session.get(type(world.bank), world.bank.id)
        inst.status = status
        session.commit()
        assert form(client, world) == (403, "institution_not_active")
        assert verify(client, world).status_code == 403
        if status == "suspended":
            inst.status = "active"
            session.commit()
            assert form(client, world) == ("processed", None)
