"""管理端 › 异议与修复: the objection queue by forwarding deadline (forward, resolve) and the credit-repair
queue (approve or refuse), through ``objections.service``, ``objections.resolution`` and ``objections.repair``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fincredit.db import utcnow
from fincredit.errors import DomainError
from fincredit.objections import repair, resolution, service
from fincredit.web.pagekit import (
    DB,
    STALE_FORM,
    FormDep,
    OperatorUserDep,
    PageRoute,
    csrf_error,
    form_values,
    redirect,
    render,
    text_field,
)
from fincredit.web.pages.objection_forms import lines_to_values

router = APIRouter(prefix="/operator", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("管理端", "/operator"), ("异议与信用修复", "/operator/objections")]
STATUS_FILTERS = [("open", "待办"), ("filed", "待转交"), ("forwarded", "处理中"), ("resolved", "已办结"), ("all", "全部")]
RESOLVE_FIELDS = {"bad_outcome": "outcome", "reason_required": "reason",
                  "provider_confirmation_required": "provider_confirmation",
                  "corrected_values_required": "corrected_values", "corrected_values_not_allowed": "corrected_values",
                  "unknown_field": "corrected_values", "invalid_correction": "corrected_values",
                  "correction_unchanged": "corrected_values", "subject_field_immutable": "corrected_values",
                  "natural_key_conflict": "corrected_values"}


@router.get("/objections", response_class=HTMLResponse)
def queue(request: Request, db: DB, user: OperatorUserDep, status: str = "open") -> HTMLResponse:
    status = status if status in dict(STATUS_FILTERS) else "open"
    now = utcnow()
    rows, total = service.queue(db, status, 200, 0)
    items = [service.objection_dict(db, o, now, operator=True) for o in rows]
    return render(request, "operator/objections.html", {
        "title": "异议与信用修复", "breadcrumb": CRUMBS[:-1] + [("异议与信用修复", "")], "items": items,
        "total": total, "overdue": sum(1 for i in items if i["overdue"]), "status": status, "filters": STATUS_FILTERS,
        "repairs": [repair.repair_dict(db, r, operator=True) for r in repair.queue(db, "pending", 200, 0)]}, user=user)


def _detail(request: Request, db: Session, user, objection_id: int, form: dict | None = None,  # type: ignore[no-untyped-def]
            errors: dict | None = None, status_code: int = 200) -> HTMLResponse:
    item = service.objection_dict(db, service.get(db, objection_id), operator=True)
    return render(request, "operator/objection.html", {
        "title": f"异议申诉 {objection_id}", "breadcrumb": [*CRUMBS, (f"异议申诉 {objection_id}", "")], "o": item,
        "form": form or {}, "errors": errors or {},
        "outcomes": [(k, v) for k, v in service.OUTCOME_LABELS.items()]}, status_code=status_code, user=user)


@router.get("/objections/{objection_id}", response_class=HTMLResponse)
def detail(objection_id: int, request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    return _detail(request, db, user, objection_id)


@router.post("/objections/{objection_id}/forward")
def forward(objection_id: int, request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect(f"/operator/objections/{objection_id}", STALE_FORM, "error")
    obj = service.forward(db, objection_id, user.subject)
    late = "" if obj.forwarded_within_deadline else "（已超过转交期限）"
    return redirect(f"/operator/objections/{objection_id}", f"已转交省级节点{late}")


@router.post("/objections/{objection_id}/resolve", response_class=HTMLResponse)
def resolve(objection_id: int, request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    outcome, reason = text_field(form, "outcome", 20), text_field(form, "reason", 5000)
    confirmation = text_field(form, "provider_confirmation", 500)
    corrected = lines_to_values(text_field(form, "corrected_values", 10_000))
    if not outcome:
        errors["outcome"] = "请选择处理结果"
    if not reason:
        errors["reason"] = "请填写处理理由（企业可见）"
    if not confirmation:
        errors["provider_confirmation"] = "请填写数据提供单位的确认意见"
    if corrected == {}:
        errors["corrected_values"] = "每行应为“字段名=更正后的值”"
    if not errors:
        try:
            resolution.resolve(db, objection_id, actor=user.subject, outcome=outcome, reason=reason,
                               provider_confirmation=confirmation, corrected_values=corrected)
        except DomainError as exc:
            db.rollback()
            errors[RESOLVE_FIELDS.get(exc.code, "_form")] = exc.message
        else:
            return redirect(f"/operator/objections/{objection_id}", "异议申诉已办结，企业可查看处理结果")
    return _detail(request, db, user, objection_id, values, errors, 422)


@router.post("/repairs/{repair_id}/decide")
def decide(repair_id: int, request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/operator/objections", STALE_FORM, "error")
    verdict, reason = text_field(form, "verdict", 10), text_field(form, "reason", 10_000)
    if verdict not in ("approve", "refuse") or not reason:
        return redirect("/operator/objections", "请选择审核结论并填写审核意见（企业可见）", "error")
    try:
        repair.decide(db, repair_id, actor=user.subject, approved=verdict == "approve", reason=reason)
    except DomainError as exc:
        db.rollback()
        return redirect("/operator/objections", exc.message, "error")
    return redirect("/operator/objections", "已批准信用修复，该记录不再计入评价和公开信息" if verdict == "approve"
                    else "已退回信用修复申请")
