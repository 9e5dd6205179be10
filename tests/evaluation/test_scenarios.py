"""Scenario evaluations: an institution's own weights, validated like the guideline, visible only to
it, and applied to an enterprise only under the enterprise's authorization."""

from __future__ import annotations

from fincredit.db import session_scope
from tests.evaluation.conftest import Setup, grant
from tests.helpers import auth, error_code
from tests.trust import factories as f

TECH = {"name": "科技型小微信用贷", "industry_prefixes": ["C"], "product": "苏科贷",
        "weights": {"high_tech": 20, "specialized_sme": 10, "registered_capital": 0}}


def test_create_and_list_scenarios(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/api/v1/scenarios", json=TECH, headers=auth(world.bank_token))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["weights"]["high_tech"] == 20 and body["industry_prefixes"] == ["C"]
    listed = client.get("/api/v1/scenarios", headers=auth(world.bank_token)).json()
    assert [s["id"] for s in listed] == [body["id"]]
    with session_scope() as s:
        other_bank = f.make_institution(s)
        other_token = f.institution_token(s, other_bank)
    assert client.get("/api/v1/scenarios", headers=auth(other_token)).json() == []
    hidden = client.get(f"/api/v1/scenarios/{body['id']}/enterprises/{world.uscc}/evaluation",
                        headers=auth(other_token))
    assert hidden.status_code == 404 and error_code(hidden) == "scenario_not_found"


def test_bad_scenarios_are_refused(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    for body, code in (({"name": "x", "weights": {"no_such": 3}}, "unknown_indicator"),
                       ({"name": "x", "weights": {"tax_paid": -1}}, "invalid_weight"),
                       ({"name": "x", "size_classes": ["特大型"]}, "invalid_size_class")):
        response = client.post("/api/v1/scenarios", json=body, headers=auth(world.bank_token))
        assert response.status_code == 422 and error_code(response) == code, response.text
    assert client.post("/api/v1/scenarios", json=TECH, headers=auth(world.ent_token)).status_code == 403


def test_scenario_evaluation_needs_authorization(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    scenario = client.post("/api/v1/scenarios", json=TECH, headers=auth(world.bank_token)).json()
    url = f"/api/v1/scenarios/{scenario['id']}/enterprises/{world.uscc}/evaluation"
    denied = client.get(url, headers=auth(world.bank_token))
    assert denied.status_code == 403 and error_code(denied) == "not_authorized"
    grant(world)
    response = client.get(url, headers=auth(world.bank_token))
    assert response.status_code == 200, response.text
    body = response.json()
    basic = client.get(f"/api/v1/enterprises/{world.uscc}/evaluation", headers=auth(world.bank_token)).json()
    assert body["model_version"].startswith(f"scenario-{scenario['id']}/")
    # without honours, the extra weight on them lowers this enterprise's score against the basic one
    assert body["score"] < basic["score"]
    assert "registered_capital" not in {r["indicator"] for r in body["reasons"]["against"]}
    assert body["disclosure"]["ledger_index"] is not None
    big_only = client.post("/api/v1/scenarios", json={"name": "大型", "size_classes": ["大型"]},
                           headers=auth(world.bank_token)).json()
    refused = client.get(f"/api/v1/scenarios/{big_only['id']}/enterprises/{world.uscc}/evaluation",
                         headers=auth(world.bank_token))
    assert refused.status_code == 422 and error_code(refused) == "scenario_not_applicable"
