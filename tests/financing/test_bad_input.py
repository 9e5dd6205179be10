"""Bad input is refused with a clear error and stores nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from fincredit.db import session_scope
from fincredit.financing.models import Loan, LoanEvent, Product
from tests.financing.world import PRODUCT, World, build_world
from tests.helpers import auth, error_code

TODAY = dt.date.today()


def _count(model) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _loan(client, w: World, **extra) -> dict:  # type: ignore[no-untyped-def]
    body = {"uscc": w.uscc, "amount": 100, "term_months": 12, "rate": 4.0, "credit_loan": False,
            "first_loan": False, "guarantee": "江苏省信用再担保", "granted_on": TODAY.isoformat(), **extra}
    return client.post("/api/v1/loans", json=body, headers=auth(w.bank_token))


def _with_authorization(client, w: World) -> None:  # type: ignore[no-untyped-def]
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).isoformat()
    r = client.post("/api/v1/me/authorizations", json={"institution_id": w.institution_id, "purpose": "pre_loan",
                                                         "categories": ["1"], "expires_at": expires},
                    headers=auth(w.enterprise_token))
    assert r.status_code == 201, r.text


def test_product_rules_are_checked(client) -> None:  # type: ignore[no-untyped-def]
    w = build_world()
    bank = auth(w.bank_token)
    for rules in ([{"indicator": "turnover_magic", "op": ">=", "value": 1}],
                  [{"indicator": "grade", "op": "~", "value": "A"}],
                  [{"indicator": "arrears.tax", "op": ">=", "value": False}],
                  [{"indicator": "grade", "op": ">=", "value": "Z"}],
                  [{"indicator": "score", "op": ">="}]):
        r = client.post("/api/v1/products", json={**PRODUCT, "rules": rules}, headers=bank)
        assert r.status_code == 422 and error_code(r) == "bad_product_rule", (rules, r.text)
    r = client.post("/api/v1/products", json={**PRODUCT, "amount_min_wan": -5}, headers=bank)
    assert r.status_code == 422 and error_code(r) == "bad_product_range"
    r = client.post("/api/v1/products", json={**PRODUCT, "compensation_fund": "苏宁贷"}, headers=bank)
    assert r.status_code == 422 and error_code(r) == "bad_compensation_fund"
    r = client.post("/api/v1/products", json={**PRODUCT, "sharing_ratio": 120}, headers=bank)
    assert r.status_code == 422 and error_code(r) == "bad_sharing_ratio"
    assert client.post("/api/v1/products", json=PRODUCT, headers=auth(w.enterprise_token)).status_code == 403
    assert _count(Product) == 0


def test_loans_need_a_basis_and_sound_values(client) -> None:  # type: ignore[no-untyped-def]
    w = build_world()
    r = _loan(client, w)
    assert r.status_code == 422 and error_code(r) == "no_basis_for_loan"
    _with_authorization(client, w)
    other = client.post("/api/v1/loans", json={"uscc": w.uscc, "amount": 10, "term_months": 12, "rate": 4,
                                               "credit_loan": True, "first_loan": True},
                        headers=auth(w.other_bank_token))
    assert other.status_code == 422 and error_code(other) == "no_basis_for_loan"
    for bad in ({"amount": -100}, {"amount": 0}, {"term_months": 0}, {"rate": -1},
                {"granted_on": (TODAY + dt.timedelta(days=3)).isoformat()}):
        r = _loan(client, w, **bad)
        assert r.status_code == 422, (bad, r.text)
    assert _count(Loan) == 0

    loan = _loan(client, w, granted_on=(TODAY - dt.timedelta(days=10)).isoformat())
    assert loan.status_code == 201 and loan.json()["flags"] == []
    events = f"/api/v1/loans/{loan.json()['id']}/events"
    bank = auth(w.bank_token)
    cases = [({"kind": "repaid", "amount": 100.01, "on_date": TODAY.isoformat()}, "repayment_exceeds_balance"),
             ({"kind": "repaid", "amount": -1, "on_date": TODAY.isoformat()}, "bad_amount"),
             ({"kind": "repaid", "amount": 1, "on_date": (TODAY - dt.timedelta(days=11)).isoformat()},
              "date_out_of_order"),
             ({"kind": "forgiven", "on_date": TODAY.isoformat()}, "bad_event_kind")]
    for body, code in cases:
        r = client.post(events, json=body, headers=bank)
        assert r.status_code == 422 and error_code(r) == code, (body, r.text)
    assert _count(LoanEvent) == 0
    ok = client.post(events, json={"kind": "repaid", "amount": 40, "on_date": TODAY.isoformat()}, headers=bank)
    assert ok.status_code == 201
    earlier = client.post(events, json={"kind": "overdue", "on_date": (TODAY - dt.timedelta(days=1)).isoformat()},
                          headers=bank)
    assert earlier.status_code == 422 and error_code(earlier) == "date_out_of_order"
    beyond = client.post(events, json={"kind": "repaid", "amount": 60.5, "on_date": TODAY.isoformat()}, headers=bank)
    assert beyond.status_code == 422 and error_code(beyond) == "repayment_exceeds_balance"
    settle = [{"kind": "repaid", "amount": 60, "on_date": TODAY.isoformat()},
              {"kind": "settled", "on_date": TODAY.isoformat()}]
    for body in settle:
        assert client.post(events, json=body, headers=bank).status_code == 201
    after = client.post(events, json={"kind": "overdue", "on_date": TODAY.isoformat()}, headers=bank)
    assert after.status_code == 409 and error_code(after) == "loan_settled"
    assert _count(LoanEvent) == 3
    assert client.get(f"/api/v1/loans/{loan.json()['id']}", headers=bank).json()["balance"] == 0.0


def test_batch_rows_are_validated_and_flagged(client) -> None:  # type: ignore[no-untyped-def]
    w = build_world()
    _with_authorization(client, w)
    late = (TODAY - dt.timedelta(days=45)).isoformat()
    csv_text = ("统一社会信用代码,贷款金额（万元）,期限(月),年利率(%),是否信用贷款,是否首贷,放款日期\n"
                f"{w.uscc},200,12,3.9,是,是,{TODAY.isoformat()}\n"
                f"{w.uscc},50,6,4.1,否,否,{late}\n"
                f"{w.uscc},-5,6,4.1,否,否,{TODAY.isoformat()}\n"
                f"{w.uscc},80,6,4.1,也许,否,{TODAY.isoformat()}\n"
                f"{w.uscc},30,6,4.1,是,是,{TODAY.isoformat()}\n")
    r = client.post("/api/v1/loans/batch", content=csv_text.encode(), headers={**auth(w.bank_token),
                                                                               "content-type": "text/csv"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 3
    assert [(x["row"], x["code"]) for x in body["rejected"]] == [(4, "bad_amount"), (5, "bad_boolean")]
    assert [(x["row"], x["flags"]) for x in body["flagged"]] == [(3, ["late"]), (6, ["inconsistent_first_loan"])]
    assert _count(Loan) == 3
    missing = client.post("/api/v1/loans/batch", content="统一社会信用代码,贷款金额(万元)\n".encode(),
                          headers={**auth(w.bank_token), "content-type": "text/csv"})
    assert missing.status_code == 422 and error_code(missing) == "missing_columns"


def test_deactivated_products_leave_the_listing(client) -> None:  # type: ignore[no-untyped-def]
    w = build_world()
    bank = auth(w.bank_token)
    product = client.post("/api/v1/products", json=PRODUCT, headers=bank).json()
    other = client.post(f"/api/v1/products/{product['id']}/deactivate", headers=auth(w.other_bank_token))
    assert other.status_code == 404
    assert client.post(f"/api/v1/products/{product['id']}/deactivate", headers=bank).json()["active"] is False
    assert client.get("/api/v1/products").json() == []
    assert [p["active"] for p in client.get("/api/v1/institution/products", headers=bank).json()] == [False]
    me = auth(w.enterprise_token)
    need = client.post("/api/v1/me/needs", json={"amount_wan": 100, "term_months": 12, "purpose": "周转"},
                       headers=me).json()
    r = client.post(f"/api/v1/me/needs/{need['id']}/apply", json={"product_id": product["id"], "consent": True},
                    headers=me)
    assert r.status_code == 422 and error_code(r) == "product_inactive"
    bad_need = client.post("/api/v1/me/needs", json={"amount_wan": -1, "term_months": 12, "purpose": "周转"},
                           headers=me)
    assert bad_need.status_code == 422 and error_code(bad_need) == "bad_need"
