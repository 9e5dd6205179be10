"""Shared fixtures of the evaluation tests: an evaluated enterprise, another one, an active bank."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from fincredit.db import session_scope
from fincredit.evaluation import service
from tests.evaluation.factories import AS_OF, healthy_records
from tests.trust import factories as f


@dataclass
class Setup:
    uscc: str
    other: str
    bank: int
    ent: f.EnterpriseInfo
    bank_token: str
    ent_token: str
    other_token: str
    admin_token: str


@pytest.fixture
def world(client) -> Setup:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        ent = f.make_enterprise(s)
        other = f.make_enterprise(s)
        healthy_records(s, ent.uscc)
        bank = f.make_institution(s)
        tokens = (f.institution_token(s, bank), f.token_for(s, "enterprise", ent.uscc),
                  f.token_for(s, "enterprise", other.uscc), f.token_for(s, "admin", "operator"))
        service.evaluate_enterprises(s, [ent.uscc], as_of=AS_OF)
        return Setup(ent.uscc, other.uscc, bank.id, ent, *tokens)


def grant(w: Setup, purpose: str = "pre_loan", categories: tuple[str, ...] = ("1",)):  # type: ignore[no-untyped-def]
    with session_scope() as s:
        from fincredit.institutions.models import Institution

        return f.grant(s, w.ent, s.get(Institution, w.bank), list(categories), purpose=purpose)
