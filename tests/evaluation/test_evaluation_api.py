"""The evaluation API: institutions see an evaluation only under an authorization (recorded as a
disclosure), the enterprise sees its own with history, the operator sees the distribution."""

from __future__ import annotations

from fincredit.db import session_scope
from fincredit.evaluation import service
from tests.evaluation.conftest import Setup, grant
from tests.evaluation.factories import AS_OF
from tests.helpers import auth, error_code
from tests.trust import factories as f

FIELDS = {"score", "grade", "reasons", "coverage", "thin_file", "model_version", "evaluated_at"}


def test_institution_needs_an_authorization(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/enterprises/{world.uscc}/evaluation"
    denied = client.get(url, headers=auth(world.bank_token))
    assert denied.status_code == 403 and error_code(denied) == "not_authorized"
    assert client.get(url).status_code == 401
    missing = client.get("/api/v1/enterprises/91320100MA0000000X/evaluation", headers=auth(world.bank_token))
    assert missing.status_code == 404 and error_code(missing) == "enterprise_not_found"


def test_authorized_institution_gets_the_evaluation_and_it_is_recorded(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    grant(world, "loan_approval", ("1", "10"))
    response = client.get(f"/api/v1/enterprises/{world.uscc.lower()}/evaluation", headers=auth(world.bank_token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert FIELDS <= set(body)
    assert body["grade"] in {"AAA", "AA", "A"} and 0 <= body["score"] <= 1000
    assert body["model_version"].startswith("guideline-") and body["thin_file"] is False
    assert all("（扣 " in r["text"] for r in body["reasons"]["against"])
    assert body["reasons"]["for"]["text"].endswith("分）")
    assert body["disclosure"]["ledger_index"] is not None
    seen = client.get("/api/v1/me/disclosures", headers=auth(world.ent_token)).json()
    items = seen["items"] if isinstance(seen, dict) else seen
    assert any(d["kind"] == "evaluation" and d["party"]["id"] == str(world.bank) for d in items)


def test_non_financing_or_revoked_authorizations_do_not_suffice(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/enterprises/{world.uscc}/evaluation"
    with session_scope() as s:
        f.grant(s, world.ent, None, [], purpose="sucode")
    assert client.get(url, headers=auth(world.bank_token)).status_code == 403
    artefact = grant(world, "post_loan")
    assert client.get(url, headers=auth(world.bank_token)).status_code == 200
    revoked = client.delete(f"/api/v1/me/authorizations/{artefact.id}", headers=auth(world.ent_token))
    assert revoked.status_code in (200, 204), revoked.text
    after = client.get(url, headers=auth(world.bank_token))
    assert after.status_code == 403 and error_code(after) == "not_authorized"


def test_suspended_institution_is_refused(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    grant(world)
    with session_scope() as s:
        from fincredit.institutions.models import Institution

        s.get(Institution, world.bank).status = "suspended"  # type: ignore[union-attr]
    response = client.get(f"/api/v1/enterprises/{world.uscc}/evaluation", headers=auth(world.bank_token))
    assert response.status_code == 403


def test_enterprise_sees_its_own_evaluation_and_history(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    own = client.get("/api/v1/me/evaluation", headers=auth(world.ent_token))
    assert own.status_code == 200 and own.json()["uscc"] == world.uscc
    assert [d["name"] for d in own.json()["dimensions"]][:2] == ["基本情况", "经营状况"]
    with session_scope() as s:
        service.evaluate_enterprises(s, [world.uscc], as_of=AS_OF)
    history = client.get("/api/v1/me/evaluation/history", headers=auth(world.ent_token)).json()["items"]
    assert [h["is_current"] for h in history] == [True, False]
    none = client.get("/api/v1/me/evaluation", headers=auth(world.other_token))
    assert none.status_code == 404 and error_code(none) == "evaluation_not_found"
    assert client.get("/api/v1/me/evaluation", headers=auth(world.bank_token)).status_code == 403


def test_operator_sees_the_distribution(client, world: Setup) -> None:  # type: ignore[no-untyped-def]
    with session_scope() as s:
        service.evaluate_all(s, as_of=AS_OF)
    body = client.get("/api/v1/evaluations/distribution", headers=auth(world.admin_token)).json()
    assert list(body["grades"]) == ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"]
    assert body["total"] == 2 and body["thin_files"] == 1 and body["last_run"]["kind"] == "full"
    runs = client.get("/api/v1/evaluations/runs", headers=auth(world.admin_token)).json()
    assert [r["kind"] for r in runs] == ["full", "incremental"]
    refused = client.get("/api/v1/evaluations/distribution", headers=auth(world.bank_token))
    assert refused.status_code == 403 and error_code(refused) == "wrong_role"
