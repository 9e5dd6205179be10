"""A small world for the financing tests: a registered enterprise with an evaluation and tax records,
an active bank, and their tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fincredit.db import session_scope, utcnow
from fincredit.evaluation.models import Evaluation
from fincredit.registry.models import Enterprise
from tests.trust.factories import (
    Planter,
    category,
    institution_token,
    make_enterprise,
    make_institution,
    store_record,
    token_for,
)


@dataclass
class World:
    uscc: str
    enterprise_token: str
    institution_id: int
    bank_token: str
    other_bank_id: int
    other_bank_token: str


def build_world(*, grade: str = "A", tax_arrears: bool = False) -> World:
    with session_scope() as s:
        ent = make_enterprise(s)
        row = s.get(Enterprise, ent.uscc)
        row.size_class, row.region_code, row.industry_code = "小型", "320102", "C13"
        s.add(Evaluation(run_id=1, uscc=ent.uscc, guideline_version="test", score=720, grade=grade, thin_file=False,
                         bins="", reasons={}, coverage=[], evaluated_at=utcnow(), is_current=True))
        planter = Planter(ent)
        cat2 = category(s, "2")
        clean = planter.record(cat2)
        clean["当前是否欠税"] = tax_arrears
        store_record(s, cat2, clean)
        cat1 = category(s, "1")
        clean = planter.record(cat1)
        clean["连续正常缴税周期(月)"] = 24
        clean["最近一次正常缴税日期"] = (dt.date.today() - dt.timedelta(days=20)).isoformat()
        store_record(s, cat1, clean)
        bank, other = make_institution(s), make_institution(s)
        world = World(ent.uscc, token_for(s, "enterprise", ent.uscc), bank.id, institution_token(s, bank),
                      other.id, institution_token(s, other))
    return world


PRODUCT = {
    "name": "苏科贷·科技信用贷", "type": "credit", "amount_min_wan": 50, "amount_max_wan": 500,
    "term_min_months": 6, "term_max_months": 36, "rate_min": 3.2, "rate_max": 4.8,
    "size_classes": ["小型", "微型"], "industries": ["C"], "regions": ["3201"],
    "rules": [{"indicator": "grade", "op": ">=", "value": "BBB"},
              {"indicator": "tax.continuous_months", "op": ">=", "value": 12},
              {"indicator": "arrears.tax", "op": "==", "value": False}],
    "compensation_fund": "苏科贷", "sharing_ratio": 70,
}
