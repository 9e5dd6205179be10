"""schemathesis against our own ``/openapi.json``, in-process (ASGI), with a fixed budget.

Every operation is called with generated data (valid and invalid) as an operator and as an
active institution: no 5xx, and every answer — status, content type, body — is one the document
declares (our error body ``{"error": {code, message, details}}`` is documented centrally in
``web/app.py``). Every operation that needs a token refuses a call without one (401/403).
The examples are derandomized so CI runs the same cases every time.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import auth
from tests.ledger.test_endpoints import active_institution

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=10, derandomize=True, deadline=None, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck))
REFUSAL = settings(max_examples=3, derandomize=True, deadline=None, database=None, phases=[Phase.generate],
                   suppress_health_check=list(HealthCheck))


def _load_schema():  # type: ignore[no-untyped-def]
    # Loaded at collection (schemathesis 4's lazy ``from_fixture`` does not work with pytest 9).
    # Creating the app touches no database: the engine is made on the first request, after the
    # session's ``database_url`` fixture has pointed the settings at the test database.
    from fincredit.web.app import create_app

    return schemathesis.openapi.from_asgi("/openapi.json", create_app())


def _roles(ctx) -> list[str] | None:  # type: ignore[no-untyped-def]
    """The roles an operation admits: None for a public operation, [] for any signed-in party."""
    raw = ctx.operation.definition.raw
    return raw.get("x-roles") if raw.get("security") else None


def _for_admin(ctx) -> bool:  # type: ignore[no-untyped-def]
    roles = _roles(ctx)
    return roles is None or not roles or "admin" in roles


def _for_institution(ctx) -> bool:  # type: ignore[no-untyped-def]
    roles = _roles(ctx)
    return roles is not None and (not roles or "institution" in roles)


def _needs_token(ctx) -> bool:  # type: ignore[no-untyped-def]
    return ctx.operation.definition.raw.get("security") == [{"bearer": []}]


schema = _load_schema()


@pytest.fixture(scope="module")
def tokens(database_url):  # type: ignore[no-untyped-def]
    """An operator's and an active institution's tokens. The operations of this module share one
    database state (what one call creates, the next may meet); it is emptied when the module ends."""
    from fincredit.auth.service import issue_token
    from fincredit.bootstrap import seed
    from fincredit.db import session_scope
    from tests.conftest import _empty_all_tables

    with session_scope() as s:
        admin, _ = issue_token(s, role="admin", subject="operator", name="operator")
    yield {"admin": admin, "institution": active_institution("模糊测试银行")[1]}
    _empty_all_tables()
    with session_scope() as s:
        seed(s)


@schema.include(_for_admin).parametrize()
@FUZZ
def test_operator_fuzz(case, tokens):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=auth(tokens["admin"]), checks=CHECKS)


@schema.include(_for_institution).parametrize()
@FUZZ
def test_institution_fuzz(case, tokens):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=auth(tokens["institution"]), checks=CHECKS)


@schema.include(_needs_token).parametrize()
@REFUSAL
def test_calls_without_a_token_are_refused(case, tokens):  # type: ignore[no-untyped-def]
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    response = case.call()
    seen = (case.operation.label, case.method, response.status_code, response.text[:300])
    assert 400 <= response.status_code < 500, seen  # never served, never a server error
    meta = case.meta
    well_formed = (case.method.upper() == case.operation.method.upper()
                   and (meta is None or not meta.generation.mode.is_negative))
    if well_formed:  # a request a client could send, minus the credentials: refused for lack of them
        assert response.status_code in (401, 403), seen
        assert response.json()["error"]["code"] in ("missing_token", "unauthorized", "forbidden"), seen
