"""企业端 › 授权管理: grant (the letter's full text first, then confirm), read, revoke.

All rules are the authorization service's: ``draft`` validates and renders the letter without
storing anything (the preview), ``grant`` signs and ledgers it, ``revoke`` takes effect at once.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from fincredit.authorization import service
from fincredit.authorization.rules import PURPOSES
from fincredit.catalog.service import get_catalog
from fincredit.db import utcnow
from fincredit.errors import DomainError
from fincredit.institutions.service import KIND_LABELS, find_institution, list_institutions
from fincredit.web.formatting import SHANGHAI, local_time, today_local
from fincredit.web.pagekit import (
    DB,
    STALE_FORM,
    EnterpriseUser,
    FormDep,
    PageRoute,
    csrf_error,
    form_values,
    redirect,
    render,
)

router = APIRouter(prefix="/enterprise/authorizations", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("企业端", "/enterprise"), ("授权管理", "/enterprise/authorizations")]
ERROR_FIELDS = {"unknown_purpose": "purpose", "expiry_in_past": "expires_on", "authorization_exceeds_cap": "expires_on",
                "categories_required": "categories", "unknown_category": "categories",
                "too_many_categories": "categories", "institution_not_active": "institution_id",
                "invalid_data_range": "data_to"}


def _options(db: Session) -> dict:
    catalog = get_catalog(db)
    groups = {"non_public": [], "verification": [], "public": []}  # type: ignore[var-annotated]
    for cat in catalog.categories.values():
        if not cat.retired:
            groups[cat.disclosure_class].append(cat)
    institutions = [(str(i.id), f"{i.name}（{KIND_LABELS.get(i.kind, i.kind)}）")
                    for i in list_institutions(db, status="active", limit=1000)]
    purposes = [(r.code, f"{r.label}（最长 {r.max_days} 天）") for r in PURPOSES.values()]
    return {"category_groups": groups, "institution_options": institutions, "purpose_options": purposes}


def _form_page(request: Request, db: Session, user, values: dict, errors: dict,  # type: ignore[no-untyped-def]
               status_code: int = 200) -> HTMLResponse:
    return render(request, "enterprise/authorization_new.html", {
        "title": "新增授权", "breadcrumb": [*CRUMBS, ("新增授权", "")], "form": values, "errors": errors,
        **_options(db)}, status_code=status_code, user=user)


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _parse(form: FormData) -> tuple[service.GrantRequest | None, dict[str, str]]:
    """The grant request typed in the form, or the problems next to their fields."""
    errors: dict[str, str] = {}
    institution = str(form.get("institution_id") or "").strip()
    purpose = str(form.get("purpose") or "").strip()
    categories = [c for c in form.getlist("categories") if isinstance(c, str) and c.strip()]
    rule = PURPOSES.get(purpose)
    if not purpose:
        errors["purpose"] = "请选择授权用途"
    elif rule is None:
        errors["purpose"] = "未知的授权用途"
    if rule is not None and rule.institution_required and not institution:
        errors["institution_id"] = "请选择被授权的金融机构"
    if institution and not (institution.isdigit() and len(institution) < 11):
        errors["institution_id"] = "请选择被授权的金融机构"
    if rule is not None and rule.categories_required and not categories:
        errors["categories"] = "请至少勾选一个授权的信息类"
    expires_text = str(form.get("expires_on") or "").strip()
    expires_on = _date(expires_text)
    if not expires_text:
        errors["expires_on"] = "请填写授权到期日期"
    elif expires_on is None:
        errors["expires_on"] = "日期格式应为 年-月-日"
    data_from, data_to = _date(str(form.get("data_from") or "")), _date(str(form.get("data_to") or ""))
    if form.get("data_from") and data_from is None:
        errors["data_from"] = "日期格式应为 年-月-日"
    if form.get("data_to") and data_to is None:
        errors["data_to"] = "日期格式应为 年-月-日"
    if errors or rule is None or expires_on is None:
        return None, errors
    now = utcnow()
    expires_at = dt.datetime.combine(expires_on, dt.time(23, 59, 59), SHANGHAI).astimezone(dt.UTC)
    cap = now + dt.timedelta(days=rule.max_days)
    if expires_at > cap and expires_on <= cap.astimezone(SHANGHAI).date():
        expires_at = cap  # the last allowed day: end at the cap, not at midnight
    return service.GrantRequest(institution_id=int(institution) if institution else None, purpose=purpose,
                                categories=categories, expires_at=expires_at, data_from=data_from,
                                data_to=data_to), {}


@router.get("", response_class=HTMLResponse)
def index(request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    now = utcnow()
    rows = service.list_own(db, user.principal, 200, 0)
    catalog = get_catalog(db)
    names = {}
    for row in rows:
        if row.institution_id is not None and row.institution_id not in names:
            inst = find_institution(db, row.institution_id)
            names[row.institution_id] = inst.name if inst else f"机构 {row.institution_id}"
    items = [{"row": r, "status": r.effective_status(now), "purpose": PURPOSES[r.purpose].label if r.purpose in PURPOSES
              else r.purpose, "grantee": names.get(r.institution_id, "社会公众（苏信码）"),
              "categories": [catalog.categories[c].name if c in catalog.categories else c for c in r.categories]}
             for r in rows]
    return render(request, "enterprise/authorizations.html", {
        "title": "授权管理", "breadcrumb": CRUMBS, "items": items}, user=user)


@router.get("/new", response_class=HTMLResponse)
def new(request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    default = today_local() + dt.timedelta(days=30)
    return _form_page(request, db, user, {"purpose": "pre_loan", "expires_on": default.isoformat(),
                                          "institution_id": request.query_params.get("institution", "")[:10]}, {})


@router.post("/edit", response_class=HTMLResponse)
def edit(request: Request, db: DB, user: EnterpriseUser, form: FormDep) -> HTMLResponse:
    """Back from the preview to the form, with everything chosen so far."""
    return _form_page(request, db, user, form_values(form), csrf_error(request, form, user))


def _draft_or_errors(db: Session, user, form: FormData):  # type: ignore[no-untyped-def]
    request_, errors = _parse(form)
    if request_ is None:
        return None, errors
    try:
        return service.draft(db, user.principal, request_), {}
    except DomainError as exc:
        return None, {ERROR_FIELDS.get(exc.code, "_form"): exc.message}


@router.post("/preview", response_class=HTMLResponse)
def preview(request: Request, db: DB, user: EnterpriseUser, form: FormDep) -> HTMLResponse:
    values = form_values(form)
    values["categories"] = [c for c in form.getlist("categories") if isinstance(c, str)]
    errors = csrf_error(request, form, user)
    draft, problems = (None, {}) if errors else _draft_or_errors(db, user, form)
    errors.update(problems)
    if draft is None:
        return _form_page(request, db, user, values, errors, 422)
    return render(request, "enterprise/authorization_preview.html", {
        "title": "确认授权书", "breadcrumb": [*CRUMBS, ("新增授权", "/enterprise/authorizations/new"),
                                            ("确认授权书", "")],
        "draft": draft, "values": values, "purpose_label": PURPOSES[draft.request.purpose].label}, user=user)


@router.post("", response_class=HTMLResponse)
def grant(request: Request, db: DB, user: EnterpriseUser, form: FormDep) -> Response:
    values = form_values(form)
    values["categories"] = [c for c in form.getlist("categories") if isinstance(c, str)]
    errors = csrf_error(request, form, user)
    if str(form.get("confirm") or "") != "yes" and not errors:
        errors["_form"] = "请先阅读授权书全文并确认"
    request_, problems = _parse(form)
    errors.update(problems)
    if errors or request_ is None:
        return _form_page(request, db, user, values, errors, 422)
    try:
        auth = service.grant(db, user.principal, request_)
    except DomainError as exc:
        db.rollback()
        return _form_page(request, db, user, values, {ERROR_FIELDS.get(exc.code, "_form"): exc.message}, 422)
    return redirect(f"/enterprise/authorizations/{auth.id}", "授权已签署并生效，已记入防篡改账本")


@router.get("/{authorization_id}", response_class=HTMLResponse)
def detail(authorization_id: str, request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    auth = service.get_own(db, user.principal, authorization_id[:64])
    inst = find_institution(db, auth.institution_id) if auth.institution_id else None
    return render(request, "enterprise/authorization_detail.html", {
        "title": "授权详情", "breadcrumb": [*CRUMBS, ("授权详情", "")], "auth": auth,
        "status": auth.effective_status(utcnow()), "institution": inst,
        "purpose_label": PURPOSES[auth.purpose].label if auth.purpose in PURPOSES else auth.purpose,
        "verified": service.verify_artefact(auth.canonical, auth.signature)}, user=user)


@router.post("/{authorization_id}/revoke")
def revoke(authorization_id: str, request: Request, db: DB, user: EnterpriseUser, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect(f"/enterprise/authorizations/{authorization_id[:64]}", STALE_FORM, "error")
    auth = service.revoke(db, user.principal, authorization_id[:64])
    return redirect("/enterprise/authorizations", f"授权已撤销，即时生效（撤销时间 {local_time(auth.revoked_at)}）")
