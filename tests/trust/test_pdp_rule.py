"""The decision point's institution rule, evaluated once per request (``InstitutionRule``), decides
exactly as the rule written category by category did, for many random sets of artefacts."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from fincredit.authorization.models import Authorization
from fincredit.authorization.pdp import Decision, InstitutionRule, _deny
from fincredit.authorization.rules import GENERAL_QUERY, PURPOSES
from fincredit.catalog.definitions import CategoryDef, load_annex
from fincredit.db import as_utc

NOW = dt.datetime(2026, 6, 30, 4, 0, tzinfo=dt.UTC)


def reference(cat: CategoryDef, purpose: str | None, now: dt.datetime, authorizations: list[Authorization]) -> Decision:
    """The rule as it was written before ``InstitutionRule``: every artefact looked at for every category."""
    if cat.disclosure_class == "public":
        return Decision(True, "masked_public", "公开信息（个人信息已脱敏），无需授权", None, "public")
    covering = [a for a in authorizations if cat.code in (a.categories or [])
                and a.purpose in PURPOSES and PURPOSES[a.purpose].allows_use(purpose)]
    states = {a.id: a.effective_status(now) for a in covering}
    active = [a for a in covering if states[a.id] == "active"]
    if active:
        best = max(active, key=lambda a: (as_utc(a.expires_at), a.id))
        if cat.disclosure_class == "verification":
            return Decision(True, "verification", "已获企业授权，仅可数据核验", best.id, "authorized")
        return Decision(True, "processed", "已获企业授权，仅提供加工产品", best.id, "authorized")
    expired = tuple(sorted(a.id for a in covering if states[a.id] == "expired"))
    if expired:
        return _deny("authorization_expired", "企业授权已过期，未提供该信息类", expired)
    if any(s == "revoked" for s in states.values()):
        return _deny("authorization_revoked", "企业已撤销授权，未提供该信息类")
    return _deny("not_authorized", "未授权")


def random_artefact(rng: random.Random, codes: list[str]) -> Authorization:
    def moment() -> dt.datetime:
        at = NOW + dt.timedelta(days=rng.choice([-40, -1, 0, 1, 30]), seconds=rng.choice([-1, 0, 1]))
        return at.replace(tzinfo=None) if rng.random() < 0.3 else at  # SQLite gives naive UTC

    return Authorization(
        id=str(uuid.UUID(int=rng.getrandbits(128))) if rng.random() < 0.9 else f"id-{rng.randint(0, 3)}",
        purpose=rng.choice([*PURPOSES, "bogus"]),
        categories=rng.choice([None, [], rng.sample(codes, rng.randint(1, 8)), codes]),
        status=rng.choice(["active", "active", "active", "revoked", "expired"]),
        revoked_at=NOW if rng.random() < 0.1 else None,
        starts_at=moment(), expires_at=moment())


def test_once_per_request_rule_equals_the_per_category_rule_for_random_artefacts():
    categories = load_annex().categories
    codes = [c.code for c in categories]
    classes = {c.disclosure_class for c in categories}
    assert {"public", "non_public", "verification"} <= classes  # every branch is exercised
    rng = random.Random(20261127)
    seen: set[tuple[str, str]] = set()
    for _ in range(600):
        artefacts = [random_artefact(rng, codes) for _ in range(rng.randint(0, 6))]
        purpose = rng.choice([None, GENERAL_QUERY, *PURPOSES, "bogus"])
        now = NOW + dt.timedelta(seconds=rng.choice([-1, 0, 1]))
        rule = InstitutionRule(purpose, now, artefacts)
        for cat in categories:
            expected = reference(cat, purpose, now, artefacts)
            assert rule.decide(cat) == expected, (cat.code, purpose, artefacts)
            seen.add((expected.code, expected.form))
    # The random artefacts reached every outcome of the rule.
    assert seen == {("public", "masked_public"), ("authorized", "processed"), ("authorized", "verification"),
                    ("authorization_expired", "none"), ("authorization_revoked", "none"), ("not_authorized", "none")}
