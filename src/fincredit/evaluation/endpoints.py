"""The evaluation API: the published guideline, an enterprise's evaluation (institutions under
authorization; the enterprise itself, with history) and the operator's distribution and runs."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from fincredit.disclosure.ratelimit import RateLimitedInstitutionDep
from fincredit.errors import DomainError, NotFound
from fincredit.evaluation import access, scenarios, service
from fincredit.evaluation.guideline_doc import to_json
from fincredit.evaluation.schemas import ScenarioIn
from fincredit.web.deps import AdminDep, EnterpriseDep, InstitutionDep, SessionDep

router = APIRouter(tags=["信用评价"])


def _commit(session: SessionDep) -> None:
    """The disclosure must be durable before the response leaves."""
    try:
        session.commit()
    except Exception as exc:
        session.rollback()
        raise DomainError("披露记录无法保存，本次未提供任何数据，请稍后重试", code="disclosure_not_recorded",
                          status_code=503) from exc


@router.get("/guideline", summary="企业信用评价指引（当前版本：维度、指标、分档、权重、等级）")
def read_guideline(session: SessionDep) -> dict:
    return to_json(service.current_guideline(session))


@router.get("/enterprises/{uscc}/evaluation", summary="企业的基础性信用评价（须经企业授权，记录披露）")
def read_enterprise_evaluation(uscc: str, request: Request, session: SessionDep, me: RateLimitedInstitutionDep) -> dict:
    body = access.institution_view(session, me, uscc.strip().upper(),
                                   request_id=getattr(request.state, "request_id", None))
    _commit(session)
    return body


@router.get("/me/evaluation", summary="本企业当前的信用评价（免费）")
def read_own_evaluation(session: SessionDep, me: EnterpriseDep) -> dict:
    row = service.current_evaluation(session, me.subject)
    if row is None:
        raise NotFound("本企业尚无信用评价结果", code="evaluation_not_found")
    return service.evaluation_view(session, row)


@router.get("/me/evaluation/history", summary="本企业信用评价的历史（新的在前）")
def read_own_history(session: SessionDep, me: EnterpriseDep, limit: int = Query(50, ge=1, le=500),
                     offset: int = Query(0, ge=0)) -> dict:
    return {"uscc": me.subject, "items": service.evaluation_history(session, me.subject, limit, offset)}


@router.post("/scenarios", status_code=201, summary="配置场景评价（按规模、行业、产品调整指标权重）")
def create_scenario(body: ScenarioIn, session: SessionDep, me: InstitutionDep) -> dict:
    return scenarios.view(scenarios.create(session, me, body.model_dump()))


@router.get("/scenarios", summary="本机构配置的评价场景")
def list_scenarios(session: SessionDep, me: InstitutionDep) -> list[dict]:
    return scenarios.list_own(session, me)


@router.get("/scenarios/{scenario_id}/enterprises/{uscc}/evaluation",
            summary="按本机构场景对企业评价（须经企业授权，记录披露）")
def read_scenario_evaluation(scenario_id: int, uscc: str, request: Request, session: SessionDep,
                             me: RateLimitedInstitutionDep) -> dict:
    body = scenarios.evaluate(session, me, scenario_id, uscc.strip().upper(),
                              request_id=getattr(request.state, "request_id", None))
    _commit(session)
    return body


@router.get("/evaluations/distribution", summary="当前评价结果的等级分布（管理员）")
def read_distribution(session: SessionDep, _admin: AdminDep) -> dict:
    return service.distribution(session)


@router.get("/evaluations/runs", summary="最近的评价批次（管理员）")
def read_runs(session: SessionDep, _admin: AdminDep, limit: int = Query(20, ge=1, le=200)) -> list[dict]:
    return service.list_runs(session, limit)
