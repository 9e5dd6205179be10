"""A revocation committed between the PDP's read and the disclosure's write is not overtaken: the use
write matches only an artefact still in force, and the query answers 503 with nothing recorded for it
(both databases; on PostgreSQL through the group appender, on SQLite directly)."""

from __future__ import annotations

from sqlalchemy import func, select

from fincredit.authorization import service as authorization_service
from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.db import session_scope
from fincredit.disclosure.models import Disclosure
from fincredit.ledger import group
from fincredit.ledger.models import LedgerEntry
from tests.helpers import auth, error_code
from tests.trust import factories as f
from tests.trust.conftest import world  # noqa: F401
from tests.trust.test_disclosure import grant, records  # noqa: F401


def counts() -> dict[str, int]:
    with session_scope() as s:
        return {name: s.scalar(select(func.count()).select_from(model)) for name, model in (
            ("disclosures", Disclosure), ("ledger", LedgerEntry), ("uses", AuthorizationUse))}


def profile(client, w):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/enterprises/{w.ent.uscc}", headers=auth(w.bank_token),
                      params={"purpose": "pre_loan"})


def test_a_revocation_committed_after_the_pdp_read_fails_the_disclosure(
        client, session, records, monkeypatch):  # noqa: F811
    w = records
    a = grant(session, w, ["1", "10"])
    assert profile(client, w).status_code == 200  # the token's first use writes its last-use time
    before = counts()
    original = authorization_service.apply_uses
    postgres = session.get_bind().dialect.name == "postgresql"

    def revoke() -> None:  # the PDP has read the artefact in force; the enterprise revokes it now
        with session_scope() as other:
            authorization_service.revoke(other, f.enterprise_principal(w.ent.uscc), a.id)

    def revoked_meanwhile(s, uses):  # type: ignore[no-untyped-def]
        revoke()  # SQLite: just before the use is written, in the request's own transaction
        return original(s, uses)

    def revoked_before_the_group(_members: list[group.Job]) -> None:
        revoke()  # PostgreSQL: after the request handed its job over, before the group's transaction

    if postgres:
        group.BEFORE_GROUP.append(revoked_before_the_group)
    else:
        monkeypatch.setattr(authorization_service, "apply_uses", revoked_meanwhile)
    try:
        r = profile(client, w)
    finally:
        if postgres:
            group.BEFORE_GROUP.remove(revoked_before_the_group)
    assert r.status_code == 503 and error_code(r) == "disclosure_not_recorded", r.text
    assert w.ent.name not in r.text
    after = counts()
    assert after["disclosures"] == before["disclosures"] and after["uses"] == before["uses"]
    assert after["ledger"] == before["ledger"] + 1  # the revocation's own entry, nothing for the query
    with session_scope() as s:
        last = s.scalars(select(LedgerEntry).order_by(LedgerEntry.index.desc()).limit(1)).one()
        assert last.kind == "authorization.revoked"
        assert s.get(Authorization, a.id).use_count == 1  # the first query's use only

    monkeypatch.setattr(authorization_service, "apply_uses", original)
    r = profile(client, w)  # the PDP now sees the revocation
    assert r.status_code == 200 and "disclosure" in r.json()
    assert r.json()["disclosure"]["id"] and counts()["uses"] == before["uses"]
    if postgres:  # it went through the group appender there
        (appender,) = group.running()
        assert appender.stats.failed_members == 1 and appender.stats.members >= 1
