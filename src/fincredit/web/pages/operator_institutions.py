"""管理端 › 接入机构: onboarding ("有进有出") — register, record assessments, activate / suspend / exit
with a reason, issue and revoke tokens. Every rule is ``institutions.service``'s."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fincredit.errors import DomainError
from fincredit.institutions import service
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

router = APIRouter(prefix="/operator/institutions", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("管理端", "/operator"), ("接入机构", "/operator/institutions")]
KIND_OPTIONS = list(service.KIND_LABELS.items())
CREATE_FIELDS = {"unknown_kind": "kind", "name_required": "name", "bad_uscc": "uscc", "institution_exists": "uscc"}


def _list_page(request: Request, db: Session, user, form: dict, errors: dict,  # type: ignore[no-untyped-def]
               status_code: int = 200) -> HTMLResponse:
    status = request.query_params.get("status", "")[:12]
    return render(request, "operator/institutions.html", {
        "title": "接入机构", "breadcrumb": CRUMBS, "form": form, "errors": errors, "kind_options": KIND_OPTIONS,
        "rows": service.list_institutions(db, status=status or None, limit=1000), "status": status,
        "status_labels": service.STATUS_LABELS, "kind_labels": service.KIND_LABELS}, status_code=status_code, user=user)


@router.get("", response_class=HTMLResponse)
def index(request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    return _list_page(request, db, user, {}, {})


@router.post("", response_class=HTMLResponse)
def create(request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    name, kind, uscc = text_field(form, "name", 200), text_field(form, "kind", 20), text_field(form, "uscc", 40)
    region = text_field(form, "region_code", 6)
    if not name:
        errors["name"] = "请填写机构名称"
    if not kind:
        errors["kind"] = "请选择机构类型"
    if region and not (len(region) == 6 and region.isdigit()):
        errors["region_code"] = "行政区划代码应为 6 位数字"
    if not errors:
        try:
            row = service.create_institution(db, name=name, kind=kind, uscc=uscc or None, region_code=region or None,
                                             actor=user.subject)
        except DomainError as exc:
            db.rollback()
            errors[CREATE_FIELDS.get(exc.code, "_form")] = exc.message
        else:
            return redirect(f"/operator/institutions/{row.id}", f"已登记接入机构：{row.name}（申请接入）")
    return _list_page(request, db, user, values, errors, 422)


def _detail_page(request: Request, db: Session, user, institution_id: int, *,  # type: ignore[no-untyped-def]
                 errors: dict | None = None, form: dict | None = None, issued: str | None = None,
                 status_code: int = 200) -> HTMLResponse:
    row = service.get_institution(db, institution_id)
    latest = service.latest_assessments(db, row.id)
    targets = sorted(service.TRANSITIONS[row.status])
    return render(request, "operator/institution.html", {
        "title": row.name, "breadcrumb": [*CRUMBS, (row.name, "")], "inst": row,
        "kind_label": service.KIND_LABELS.get(row.kind, row.kind), "status_labels": service.STATUS_LABELS,
        "assessment_labels": service.ASSESSMENT_LABELS, "assessments": service.assessments_of(db, row.id),
        "latest": latest, "history": service.status_history(db, row.id), "tokens": service.institution_tokens(db, row),
        "status_options": [(s, service.STATUS_LABELS[s]) for s in targets], "issued": issued,
        "errors": errors or {}, "form": form or {}}, status_code=status_code, user=user)


@router.get("/{institution_id}", response_class=HTMLResponse)
def detail(institution_id: int, request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    return _detail_page(request, db, user, institution_id)


@router.post("/{institution_id}/assessments", response_class=HTMLResponse)
def assess(institution_id: int, request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    kind, outcome = text_field(form, "assessment_kind", 20), text_field(form, "passed", 5)
    if kind not in service.ASSESSMENT_KINDS:
        errors["assessment_kind"] = "请选择评估类型"
    if outcome not in ("yes", "no"):
        errors["passed"] = "请选择评估结论"
    if not errors:
        try:
            service.record_assessment(db, institution_id, kind=kind, passed=outcome == "yes",
                                      note=text_field(form, "note", 2000), actor=user.subject)
        except DomainError as exc:
            db.rollback()
            errors["_form"] = exc.message
        else:
            verdict = "通过" if outcome == "yes" else "未通过"
            return redirect(f"/operator/institutions/{institution_id}",
                            f"已记录{service.ASSESSMENT_LABELS[kind]}：{verdict}")
    return _detail_page(request, db, user, institution_id, errors=errors, form=values, status_code=422)


@router.post("/{institution_id}/status", response_class=HTMLResponse)
def change_status(institution_id: int, request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    target, reason = text_field(form, "status", 12), text_field(form, "reason", 2000)
    if not target:
        errors["status"] = "请选择目标状态"
    if target in service.REASON_REQUIRED and not reason:
        errors["reason"] = f"变更为“{service.STATUS_LABELS[target]}”必须说明原因"
    if not errors:
        try:
            row = service.change_status(db, institution_id, to_status=target, reason=reason, actor=user.subject)
        except DomainError as exc:
            db.rollback()
            errors["reason" if exc.code == "reason_required" else "status"] = exc.message
        else:
            return redirect(f"/operator/institutions/{institution_id}",
                            f"接入状态已变更为：{service.STATUS_LABELS[row.status]}")
    return _detail_page(request, db, user, institution_id, errors=errors, form=values, status_code=422)


@router.post("/{institution_id}/tokens", response_class=HTMLResponse)
def issue_token(institution_id: int, request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> HTMLResponse:
    errors = csrf_error(request, form, user)
    if not errors:
        try:
            raw, _row = service.issue_institution_token(db, institution_id, name=text_field(form, "token_name", 100) or None)
        except DomainError as exc:
            db.rollback()
            errors["_form"] = exc.message
        else:
            return _detail_page(request, db, user, institution_id, issued=raw)
    return _detail_page(request, db, user, institution_id, errors=errors, status_code=422)


@router.post("/{institution_id}/tokens/{token_id}/revoke")
def revoke_token(institution_id: int, token_id: int, request: Request, db: DB, user: OperatorUserDep,
                 form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect(f"/operator/institutions/{institution_id}", STALE_FORM, "error")
    row = service.get_institution(db, institution_id)
    service.revoke_institution_token(db, row, token_id)
    return redirect(f"/operator/institutions/{institution_id}", "令牌已吊销，立即生效")
