"""企业端 › 异议与修复: file an objection to a record (2-working-day forwarding deadline) and apply for
credit repair, through ``objections.service`` and ``objections.repair``; follow both to the end."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.db import utcnow
from fincredit.errors import DomainError
from fincredit.objections import repair, service
from fincredit.web.pagekit import DB, EnterpriseUser, PageRoute, csrf_error, form_values, redirect, render
from fincredit.web.pages.objection_forms import FormWithFiles

router = APIRouter(prefix="/enterprise", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("企业端", "/enterprise"), ("异议与修复", "")]
OBJECTION_FIELDS = {"reason_required": "reason", "reason_too_long": "reason", "record_not_found": "record_id",
                    "category_mismatch": "category", "objection_already_open": "record_id", "bad_attachment": "files",
                    "attachment_too_large": "files", "too_many_attachments": "files"}
REPAIR_FIELDS = {"commitment_required": "commitment", "bad_attachment": "proof", "attachment_too_large": "proof",
                 "too_many_attachments": "proof", "proof_required": "proof"}


def _page(request: Request, db: Session, user, *, objection_form: dict | None = None,  # type: ignore[no-untyped-def]
          objection_errors: dict | None = None, repair_form: dict | None = None, repair_errors: dict | None = None,
          status_code: int = 200) -> HTMLResponse:
    now = utcnow()
    catalog = get_catalog(db)
    prefill = {"category": request.query_params.get("category", "")[:32],
               "record_id": request.query_params.get("record", "")[:20]}
    return render(request, "enterprise/objections.html", {
        "title": "异议申诉与信用修复", "breadcrumb": CRUMBS,
        "objections": [service.objection_dict(db, o, now) for o in service.list_own(db, user.principal, 100, 0)],
        "repairs": [repair.repair_dict(db, r) for r in repair.list_own(db, user.principal, 100, 0)],
        "category_options": [(c.code, f"{c.code}. {c.name}") for c in catalog.categories.values()],
        "objection_form": objection_form if objection_form is not None else prefill,
        "objection_errors": objection_errors or {}, "repair_form": repair_form or {"repair_record": prefill["record_id"]},
        "repair_errors": repair_errors or {}}, status_code=status_code, user=user)


@router.get("/objections", response_class=HTMLResponse)
def index(request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    return _page(request, db, user)


def _record_id(value: str, errors: dict[str, str], field: str = "record_id") -> int:
    if not value:
        errors[field] = "请填写记录编号（见“我的信用信息”中每条记录的编号）"
    elif not value.isdigit() or len(value) > 18:
        errors[field] = "记录编号应为数字"
    return int(value) if value.isdigit() and len(value) <= 18 else 0


@router.post("/objections", response_class=HTMLResponse)
def file_objection(request: Request, db: DB, user: EnterpriseUser, submission: FormWithFiles) -> Response:
    form, files = submission
    values, errors = form_values(form), csrf_error(request, form, user)
    category, reason = str(form.get("category") or "").strip(), str(form.get("reason") or "").strip()
    if not category:
        errors["category"] = "请选择信息类"
    record_id = _record_id(str(form.get("record_id") or "").strip(), errors)
    if not reason:
        errors["reason"] = "请填写异议理由"
    if not errors:
        try:
            obj = service.file_objection(db, user.principal, category=category, record_id=record_id, reason=reason,
                                         files=files)
        except DomainError as exc:
            db.rollback()
            errors[OBJECTION_FIELDS.get(exc.code, "_form")] = exc.message
        else:
            deadline = service.objection_dict(db, obj)["forward_deadline"][:16].replace("T", " ")
            return redirect("/enterprise/objections", f"异议已受理（编号 {obj.id}），平台将于 {deadline} 前转交省级节点")
    return _page(request, db, user, objection_form=values, objection_errors=errors, status_code=422)


@router.post("/repairs", response_class=HTMLResponse)
def apply_repair(request: Request, db: DB, user: EnterpriseUser, submission: FormWithFiles) -> Response:
    form, files = submission
    values, errors = form_values(form), csrf_error(request, form, user)
    record_id = _record_id(str(form.get("repair_record") or "").strip(), errors, "repair_record")
    commitment = str(form.get("commitment") or "").strip()
    if not commitment:
        errors["commitment"] = "请填写信用修复承诺书"
    if not files and "proof" not in errors:
        errors["proof"] = "请上传整改（纠正失信行为）的证明材料"
    if not errors:
        try:
            row = repair.apply(db, user.principal, record_id=record_id, commitment=commitment, files=files)
        except DomainError as exc:
            db.rollback()
            errors[REPAIR_FIELDS.get(exc.code, "repair_record")] = exc.message
        else:
            return redirect("/enterprise/objections", f"信用修复申请已提交（编号 {row.id}），请等待审核")
    return _page(request, db, user, repair_form=values, repair_errors=errors, status_code=422)
