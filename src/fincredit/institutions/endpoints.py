"""The institutions API: onboarding (admin), assessments, status lifecycle and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.institutions import service
from fincredit.institutions.schemas import (
    AssessmentIn,
    InstitutionIn,
    Kind,
    Status,
    StatusIn,
    TokenIn,
    assessment_out,
    institution_out,
    status_change_out,
    token_out,
)
from fincredit.web.deps import AdminDep, SessionDep, principal_checks, require_roles

router = APIRouter(prefix="/institutions", tags=["接入机构"])

if service.check_institution_principal not in principal_checks:
    principal_checks.append(service.check_institution_principal)

# The operator, or the institution (or docked platform) itself for its own record and tokens.
AdminOrSelfDep = Annotated[Principal, Depends(require_roles(Role.admin, Role.institution, Role.platform))]
InstitutionId = Annotated[int, Path(ge=1, le=service.MAX_ID, description="机构编号")]


def _actor(principal: Principal) -> str:
    return principal.name or principal.subject


@router.post("", status_code=201, summary="登记接入机构或对接平台（状态：申请接入）")
def create(body: InstitutionIn, session: SessionDep, admin: AdminDep) -> dict:
    row = service.create_institution(session, name=body.name, kind=body.kind, uscc=body.uscc,
                                     region_code=body.region_code, actor=_actor(admin))
    return institution_out(row)


@router.get("", summary="接入机构列表")
def list_all(session: SessionDep, admin: AdminDep, status: Status | None = None, kind: Kind | None = None,
             limit: int = Query(default=100, ge=1, le=1000), offset: int = Query(default=0, ge=0)) -> dict:
    rows = service.list_institutions(session, status=status, kind=kind, limit=limit, offset=offset)
    return {"items": [institution_out(r) for r in rows], "limit": limit, "offset": offset}


@router.get("/{institution_id}", summary="接入机构详情（含评估与状态变更记录）")
def read(institution_id: InstitutionId, session: SessionDep, principal: AdminOrSelfDep) -> dict:
    row = service.visible_institution(session, principal, institution_id)
    return {
        **institution_out(row),
        "assessments": [assessment_out(a) for a in service.assessments_of(session, row.id)],
        "status_history": [status_change_out(c) for c in service.status_history(session, row.id)],
    }


@router.post("/{institution_id}/assessments", status_code=201, summary="记录安全评估或授权评估结果")
def assess(institution_id: InstitutionId, body: AssessmentIn, session: SessionDep, admin: AdminDep) -> dict:
    row = service.record_assessment(session, institution_id, kind=body.kind, passed=body.passed,
                                    note=body.note, actor=_actor(admin))
    return assessment_out(row)


@router.post("/{institution_id}/status", summary="变更接入状态（启用、暂停、退出）")
def change_status(institution_id: InstitutionId, body: StatusIn, session: SessionDep, admin: AdminDep) -> dict:
    row = service.change_status(session, institution_id, to_status=body.status, reason=body.reason,
                                actor=_actor(admin))
    return institution_out(row)


@router.post("/{institution_id}/tokens", status_code=201, summary="为正常接入的机构签发访问令牌")
def issue(institution_id: InstitutionId, session: SessionDep, admin: AdminDep,
          body: TokenIn | None = None) -> dict:
    raw, row = service.issue_institution_token(session, institution_id, name=body.name if body else None)
    return {"token": raw, **token_out(row)}


@router.get("/{institution_id}/tokens", summary="机构的访问令牌（不含令牌本身）")
def tokens(institution_id: InstitutionId, session: SessionDep, principal: AdminOrSelfDep) -> dict:
    row = service.visible_institution(session, principal, institution_id)
    return {"items": [token_out(t) for t in service.institution_tokens(session, row)]}


@router.delete("/{institution_id}/tokens/{token_id}", summary="吊销机构的访问令牌，立即生效")
def revoke(institution_id: InstitutionId, token_id: Annotated[int, Path(ge=1, le=service.MAX_ID)],
           session: SessionDep, principal: AdminOrSelfDep) -> dict:
    row = service.visible_institution(session, principal, institution_id)
    return token_out(service.revoke_institution_token(session, row, token_id))
