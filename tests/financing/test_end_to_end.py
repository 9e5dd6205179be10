"""The financing journey: a need, matched products with reasons, an application (with its pre_loan
authorization), the bank's acceptance, the loan and its events, and what follows from them."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from fincredit.authorization.models import Authorization
from fincredit.db import session_scope
from fincredit.disclosure.service import RELATION_CHECKS
from fincredit.financing import figures
from fincredit.financing.loans import has_loan, training_labels
from fincredit.financing.models import Application
from fincredit.ledger.verifier import verify_document
from fincredit.monitoring.models import WatchlistEntry
from tests.financing.world import PRODUCT, build_world
from tests.helpers import auth, error_code

TODAY = dt.date.today()


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("fincredit")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from fincredit.cli import app; app()"]


def _count(model) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_need_match_apply_loan_evidence(client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = build_world()
    bank = auth(w.bank_token)
    good = client.post("/api/v1/products", json=PRODUCT, headers=bank)
    assert good.status_code == 201, good.text
    assert good.json()["compensation_fund"] == "suke" and good.json()["compensation_fund_label"] == "苏科贷"
    strict = client.post("/api/v1/products", json={**PRODUCT, "name": "优质客户贷", "compensation_fund": None,
                                                    "sharing_ratio": None,
                                                    "rules": [{"indicator": "grade", "op": ">=", "value": "AA"}]},
                         headers=bank)
    assert strict.status_code == 201, strict.text
    listed = client.get("/api/v1/products").json()
    assert {p["name"] for p in listed} == {"苏科贷·科技信用贷", "优质客户贷"}

    me = auth(w.enterprise_token)
    need = client.post("/api/v1/me/needs", json={"amount_wan": 100, "term_months": 12, "purpose": "采购原材料",
                                                 "acceptable_collateral": []}, headers=me)
    assert need.status_code == 201, need.text
    need_id = need.json()["id"]
    matches = client.get(f"/api/v1/me/needs/{need_id}/matches", headers=me)
    assert matches.status_code == 200, matches.text
    by_name = {m["product"]["name"]: m for m in matches.json()["matches"]}
    ok = by_name["苏科贷·科技信用贷"]
    assert ok["eligible"] is True
    assert [r["passed"] for r in ok["rules"]] == [True, True, True]
    assert "实际为A，满足" in ok["rules"][0]["reason"]
    assert "实际为24.0" in ok["rules"][1]["reason"]
    refused = by_name["优质客户贷"]
    assert refused["eligible"] is False and "不满足" in refused["rules"][0]["reason"]
    assert matches.json()["matches"][0]["product"]["name"] == "苏科贷·科技信用贷"

    product_id = good.json()["id"]
    no_consent = client.post(f"/api/v1/me/needs/{need_id}/apply", json={"product_id": product_id}, headers=me)
    assert no_consent.status_code == 422 and error_code(no_consent) == "consent_required"
    assert _count(Application) == 0 and _count(Authorization) == 0
    applied = client.post(f"/api/v1/me/needs/{need_id}/apply", json={"product_id": product_id, "consent": True},
                          headers=me)
    assert applied.status_code == 201, applied.text
    with session_scope() as s:
        grant = s.get(Authorization, applied.json()["authorization_id"])
        assert grant.purpose == "pre_loan" and grant.institution_id == w.institution_id

    apps = client.get("/api/v1/applications", headers=bank).json()
    assert [a["id"] for a in apps] == [applied.json()["id"]]
    assert client.get("/api/v1/applications", headers=auth(w.other_bank_token)).json() == []
    decided = client.post(f"/api/v1/applications/{apps[0]['id']}/decision",
                          json={"decision": "accept", "reason": "符合准入"}, headers=bank)
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"

    granted_on = TODAY - dt.timedelta(days=120)
    loan = client.post("/api/v1/loans", json={"uscc": w.uscc, "amount": 100, "term_months": 12, "rate": 3.85,
                                              "credit_loan": True, "first_loan": True, "product_id": product_id,
                                              "granted_on": granted_on.isoformat()}, headers=bank)
    assert loan.status_code == 201, loan.text
    assert loan.json()["flags"] == ["late"]
    loan_id = loan.json()["id"]
    for event in ({"kind": "repaid", "amount": 30, "on_date": (TODAY - dt.timedelta(days=110)).isoformat()},
                  {"kind": "overdue", "on_date": (TODAY - dt.timedelta(days=100)).isoformat()}):
        r = client.post(f"/api/v1/loans/{loan_id}/events", json=event, headers=bank)
        assert r.status_code == 201, r.text
    assert r.json()["balance"] == 70.0
    assert client.get(f"/api/v1/loans/{loan_id}", headers=auth(w.other_bank_token)).status_code == 404

    with session_scope() as s:
        watched = s.scalars(select(WatchlistEntry).where(WatchlistEntry.uscc == w.uscc)).all()
        assert [(e.institution_id, e.basis, e.loan_id) for e in watched] == [(w.institution_id, "loan", str(loan_id))]
        assert has_loan in RELATION_CHECKS and has_loan(s, w.institution_id, w.uscc)
        by_inst = figures.balances(s, "institution")
        assert by_inst == [{"key": w.institution_id, "loans": 1, "amount_wan": 100.0, "balance_wan": 70.0,
                            "credit_loans": 1, "first_loans": 1, "credit_loan_share": 1.0, "first_loan_share": 1.0}]
        assert [(r["key"], r["balance_wan"]) for r in figures.balances(s, "city")] == [("320100", 70.0)]
        assert [(r["key"], r["balance_wan"]) for r in figures.balances(s, "industry")] == [("C", 70.0)]
        before = figures.balances(s, "product", at=TODAY - dt.timedelta(days=115))
        assert [(r["key"], r["balance_wan"]) for r in before] == [(product_id, 100.0)]
        assert figures.loan_balances(s) == {loan_id: 70.0}
        labels = training_labels(s)
        assert labels.to_dicts() == [{"uscc": w.uscc, "loan_id": loan_id, "granted_on": granted_on, "bad": True}]

    docs = [{"name": "借款合同.pdf", "sm3": "ab" * 32}, {"name": "放款凭证.pdf", "sha256": "0f" * 32}]
    ev = client.post("/api/v1/evidence", json={"loan_id": loan_id, "documents": docs, "note": "借款合同存证"},
                     headers=bank)
    assert ev.status_code == 201, ev.text
    bundle = ev.json()["bundle"]
    kinds = [item["entry"]["kind"] for item in bundle["entries"]]
    assert kinds == ["loan.granted", "loan.repaid", "loan.overdue", "evidence_notarized"]
    assert bundle["entries"][-1]["entry"]["payload"]["documents"][0]["hash"] == "ab" * 32
    assert ev.json()["public_key_id"] == bundle["public_key"]["kid"]
    raw = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
    path = tmp_path / "bundle.json"
    path.write_bytes(raw)
    done = subprocess.run([*_cli(), "ledger", "verify-receipt", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    tampered = bytearray(raw)
    tampered[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(tampered))
    done = subprocess.run([*_cli(), "ledger", "verify-receipt", str(path)], capture_output=True, text=True)
    assert done.returncode != 0
    for position in range(len(raw)):  # any single changed byte is caught
        changed = bytearray(raw)
        changed[position] = ord("0") if changed[position] != ord("0") else ord("1")
        try:
            doc = json.loads(bytes(changed))
        except (ValueError, UnicodeDecodeError):
            continue  # not even JSON any more
        assert not verify_document(doc).ok, position


def test_debt_evasion_becomes_public_dishonesty(client, admin_token) -> None:  # type: ignore[no-untyped-def]
    w = build_world()
    body = {"uscc": w.uscc, "ruling_no": "（2026）苏01民初123号", "court": "南京市中级人民法院",
            "ruled_on": "2026-06-30", "facts": "转移财产逃避银行债务"}
    assert client.post("/api/v1/debt-evasion", json=body, headers=auth(w.bank_token)).status_code == 403
    r = client.post("/api/v1/debt-evasion", json=body, headers=auth(admin_token))
    assert r.status_code == 201, r.text
    assert r.json()["category"] == "node_evasion"
    again = client.post("/api/v1/debt-evasion", json=body, headers=auth(admin_token))
    assert again.status_code == 409 and error_code(again) == "evasion_exists"
    catalog = client.get("/api/v1/catalog").json()
    cats = catalog["categories"] if isinstance(catalog, dict) else catalog
    own = [c for c in cats if c["code"] == "node_evasion"]
    assert own and own[0]["disclosure_class"] == "public"
    seen = client.get(f"/api/v1/enterprises/{w.uscc}", headers=auth(w.other_bank_token))
    assert seen.status_code == 200, seen.text
    assert "（2026）苏01民初123号" in seen.text and "转移财产逃避银行债务" in seen.text
