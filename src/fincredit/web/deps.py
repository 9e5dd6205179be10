"""Request-scoped dependencies: the database session (the unit of work) and the caller's role.

Each role has exactly one dependency (``require_admin``, ``require_provider`` …); endpoints
never inspect tokens themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fincredit.auth.models import Role
from fincredit.auth.service import Principal, resolve_token
from fincredit.db import get_sessionmaker
from fincredit.errors import Forbidden, Unauthorized

# Hooks other capabilities register to refuse a principal (e.g. a suspended institution).
principal_checks: list[Callable[[Session, Principal], None]] = []


def _finish(session: Session, error: BaseException | None) -> None:
    """``session_scope``'s ending: commit on success, roll back on error, always close."""
    try:
        if error is None:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def _idle(session: Session) -> bool:
    """Nothing left for the database: no transaction open and nothing pending, so committing or rolling
    back would not send anything (an endpoint that committed itself, or one that only read nothing)."""
    return not session.in_transaction() and not (session.new or session.dirty or session.deleted)


async def get_session() -> AsyncIterator[Session]:
    """The request owns the transaction: commit when the endpoint returns, roll back on error.

    Creating a session does no I/O, so it happens on the event loop; the ending goes to the thread pool
    only when it has something to send (a commit or a rollback), and is a plain close otherwise (e.g.
    after a disclosure, which commits before it answers). Two thread-pool hops fewer per request."""
    session = get_sessionmaker()()
    try:
        yield session
    except BaseException as exc:
        if _idle(session):
            session.close()
        else:
            await run_in_threadpool(_finish, session, exc)
        raise
    if _idle(session):
        session.close()
    else:
        await run_in_threadpool(_finish, session, None)


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

    # async: no I/O here, so it runs on the event loop instead of costing a thread-pool hop.
    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
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
