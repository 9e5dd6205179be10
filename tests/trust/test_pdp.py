"""The policy decision point, rule by rule."""

from __future__ import annotations

import datetime as dt

import pytest

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.authorization.pdp import decide, decide_many
from fincredit.authorization.rules import PURPOSES, check_period
from fincredit.errors import Unprocessable
from tests.trust import factories as f

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def parties(session):  # type: ignore[no-untyped-def]
    ent = f.make_enterprise(session)
    bank = f.make_institution(session)
    platform = f.make_institution(session, kind="platform")
    suspended = f.make_institution(session, status="suspended")
    session.commit()
    return ent, bank, platform, suspended


def p(role: Role, subject: str) -> Principal:
    return Principal(role=role, subject=subject)


def test_enterprise_itself_sees_everything_raw_others_nothing(session, parties):
    ent, *_ = parties
    for code in ("1", "7", "27", "base"):
        assert decide(session, p(Role.enterprise, ent.uscc), code, ent.uscc, None, NOW).form == "raw"
    d = decide(session, p(Role.enterprise, f.make_uscc()), "7", ent.uscc, None, NOW)
    assert (d.allowed, d.form, d.code) == (False, "none", "not_own_data")


def test_admin_raw_provider_nothing(session, parties):
    ent, *_ = parties
    assert decide(session, p(Role.admin, "op"), "1", ent.uscc, None, NOW).form == "raw"
    d = decide(session, p(Role.provider, "tax"), "7", ent.uscc, None, NOW)
    assert (d.allowed, d.form) == (False, "none") and d.reason


def test_institution_rules_by_disclosure_class(session, parties):
    ent, bank, platform, suspended = parties
    for inst, role in ((bank, Role.institution), (platform, Role.platform)):
        party = p(role, str(inst.id))
        decisions = decide_many(session, party, ["7", "1", "27", "10"], ent.uscc, None, NOW)
        assert {c: d.form for c, d in decisions.items()} == {"7": "masked_public", "1": "none", "27": "none",
                                                             "10": "none"}
        assert decisions["1"].reason == "未授权"
    a = f.grant(session, ent, bank, ["1", "27", "10"], purpose="loan_approval", days=60)
    session.commit()
    now = dt.datetime.now(dt.UTC)
    assert decide(session, p(Role.institution, str(bank.id)), "1", ent.uscc, None, NOW - dt.timedelta(hours=1)).form \
        == "none"  # before the artefact starts
    party = p(Role.institution, str(bank.id))
    decisions = decide_many(session, party, ["1", "27", "10", "2"], ent.uscc, None, now)
    assert {c: d.form for c, d in decisions.items()} == {"1": "processed", "27": "verification", "10": "processed",
                                                         "2": "none"}
    assert decisions["1"].authorization_id == a.id
    assert decide(session, party, "1", ent.uscc, "loan_approval", now).form == "processed"
    assert decide(session, party, "1", ent.uscc, "post_loan", now).form == "none"
    assert decide(session, party, "1", ent.uscc, None, now + dt.timedelta(days=61)).code == "authorization_expired"
    assert decide(session, p(Role.institution, str(suspended.id)), "7", ent.uscc, None, NOW).code == \
        "institution_not_active"
    assert decide(session, p(Role.institution, "999999"), "7", ent.uscc, None, NOW).form == "none"
    assert decide(session, party, "nope", ent.uscc, None, NOW).code == "unknown_category"


def test_an_authorization_of_another_enterprise_does_not_count(session, parties):
    ent, bank, *_ = parties
    other = f.make_enterprise(session)
    f.grant(session, other, bank, ["1"])
    session.commit()
    assert decide(session, p(Role.institution, str(bank.id)), "1", ent.uscc, None, NOW).form == "none"


def test_caps_are_a_table():
    assert {k: r.max_days for k, r in PURPOSES.items()} == {"pre_loan": 30, "loan_approval": 90,
                                                            "post_loan": 1096, "sucode": 366}
    with pytest.raises(Unprocessable) as exc:
        check_period(PURPOSES["pre_loan"], NOW, NOW + dt.timedelta(days=30, seconds=1))
    assert exc.value.code == "authorization_exceeds_cap"
    check_period(PURPOSES["pre_loan"], NOW, NOW + dt.timedelta(days=30))
    assert not PURPOSES["sucode"].allows_use(None) and PURPOSES["post_loan"].allows_use("post_loan")
