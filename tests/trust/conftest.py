"""Fixtures of the trust tests: a small world of enterprises, institutions and tokens."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.trust import factories as f


@dataclass
class World:
    ent: f.EnterpriseInfo
    other: f.EnterpriseInfo
    bank: object
    bank_b: object
    suspended: object
    exited: object
    ent_token: str
    other_token: str
    bank_token: str
    bank_b_token: str
    provider_token: str
    admin_token: str


@pytest.fixture
def world(session, client) -> World:  # type: ignore[no-untyped-def]
    ent = f.make_enterprise(session, name="江苏甲乙科技有限公司")
    other = f.make_enterprise(session, name="江苏丙丁贸易有限公司")
    bank = f.make_institution(session, name="测试银行南京分行")
    bank_b = f.make_institution(session, name="另一银行苏州分行")
    suspended = f.make_institution(session, status="suspended", name="暂停银行")
    exited = f.make_institution(session, status="exited", name="退出银行")
    w = World(ent, other, bank, bank_b, suspended, exited,
              f.token_for(session, "enterprise", ent.uscc), f.token_for(session, "enterprise", other.uscc),
              f.institution_token(session, bank), f.institution_token(session, bank_b),
              f.token_for(session, "provider", "tax"), f.token_for(session, "admin", "operator"))
    session.commit()
    return w
