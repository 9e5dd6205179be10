"""Request-scoped dependencies: the database session (the unit of work) and the caller's role.

Each role has exactly one dependency (``require_admin``, ``require_provider`` …); endpoints
never inspect tokens themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from fincredit.auth.models import Role
from fincredit.auth.service import Principal, resolve_token
from fincredit.db import session_scope
from fincredit.errors import Forbidden, Unauthorized

# Hooks other capabilities register to refuse a principal (e.g. a suspended institution).
principal_checks: list[Callable[[Session, Principal], None]] = []


def get_session() -> Iterator[Session]:
    """The request owns the transaction: commit when the endpoint returns, roll back on error."""
    with session_scope() as session:
        yield session


# scope="function": commit when the endpoint returns, before the response is sent, so that a
# failed commit is an error response and never a response whose effects were lost.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("需要有效的访问令牌（Authorization: Bearer …）", code="missing_token")
    return value.strip()


def get_principal(request: Request, session: SessionDep) -> Principal:
    principal = resolve_token(session, _bearer(request))
    for check in principal_checks:
        check(session, principal)
    request.state.principal = principal
    return principal


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    if not request.headers.get("authorization"):
        return None
    return get_principal(request, session)


def require_roles(*roles: Role) -> Callable[..., Principal]:
    allowed = set(roles)

    def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            names = "、".join(r.value for r in roles)
            raise Forbidden(f"此操作需要以下角色之一：{names}", code="wrong_role")
        return principal

    return dependency


require_admin = require_roles(Role.admin)
require_provider = require_roles(Role.provider)
# Docked platforms (kind "platform") use the institution paths under the same rules.
require_institution = require_roles(Role.institution, Role.platform)
require_enterprise = require_roles(Role.enterprise)
require_provider_or_admin = require_roles(Role.provider, Role.admin)

AdminDep = Annotated[Principal, Depends(require_admin)]
ProviderDep = Annotated[Principal, Depends(require_provider)]
InstitutionDep = Annotated[Principal, Depends(require_institution)]
EnterpriseDep = Annotated[Principal, Depends(require_enterprise)]
ProviderOrAdminDep = Annotated[Principal, Depends(require_provider_or_admin)]
