"""管理端 › 归集: providers (register, assign categories, issue tokens), batches and their errors,
uploads on behalf of a provider (with progress), and collection quality per provider and category."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.collection import provider_service, quality, repository
from fincredit.errors import DomainError
from fincredit.web.pagekit import (
    DB,
    FormDep,
    OperatorUserDep,
    PageRoute,
    csrf_error,
    form_values,
    redirect,
    render,
    text_field,
)
from fincredit.web.pages.batches import batch_detail, batch_rows
from fincredit.web.pages.operator_charts import provider_names, quality_by_provider
from fincredit.web.pages.uploads import handle_upload, upload_context

router = APIRouter(prefix="/operator", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("管理端", "/operator")]
PROVIDER_FIELDS = {"bad_provider_code": "code", "provider_exists": "code", "bad_provider_name": "name",
                   "no_categories": "categories", "unknown_category": "categories"}


def _providers_page(request: Request, db: Session, user, *, form: dict | None = None,  # type: ignore[no-untyped-def]
                    errors: dict | None = None, issued: tuple[str, str] | None = None,
                    status_code: int = 200) -> HTMLResponse:
    catalog = get_catalog(db)
    return render(request, "operator/providers.html", {
        "title": "数据提供单位", "breadcrumb": [*CRUMBS, ("数据提供单位", "")], "providers": repository.list_providers(db),
        "categories": [c for c in catalog.categories.values() if not c.retired],
        "category_names": {c.code: c.name for c in catalog.categories.values()}, "catalog_providers": catalog.providers,
        "form": form or {}, "errors": errors or {}, "issued": issued}, status_code=status_code, user=user)


@router.get("/providers", response_class=HTMLResponse)
def providers(request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    return _providers_page(request, db, user)


@router.post("/providers", response_class=HTMLResponse)
def provider_create(request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    values["categories"] = [c for c in form.getlist("categories") if isinstance(c, str)]
    code, name = text_field(form, "code", 64), text_field(form, "name", 200)
    if not code:
        errors["code"] = "请填写单位编码"
    if not name:
        errors["name"] = "请填写单位名称"
    if not values["categories"]:
        errors["categories"] = "请至少勾选一个负责的信息类"
    if not errors:
        try:
            provider_service.register_provider(db, code=code, name=name, categories=values["categories"])
        except DomainError as exc:
            db.rollback()
            errors[PROVIDER_FIELDS.get(exc.code, "_form")] = exc.message
        else:
            return redirect("/operator/providers", f"已登记数据提供单位：{name}")
    return _providers_page(request, db, user, form=values, errors=errors, status_code=422)


@router.post("/providers/{code}/tokens", response_class=HTMLResponse)
def provider_token(code: str, request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> HTMLResponse:
    errors = csrf_error(request, form, user)
    if errors:
        return _providers_page(request, db, user, errors=errors, status_code=422)
    token = provider_service.issue_provider_token(db, code[:64], text_field(form, "name", 100) or None)
    return _providers_page(request, db, user, issued=(code[:64], token))


@router.get("/batches", response_class=HTMLResponse)
def batches(request: Request, db: DB, user: OperatorUserDep, page: int = 1, provider: str = "", category: str = "",
            status: str = "") -> HTMLResponse:
    filters = {"provider": provider[:64], "category": category[:32], "status": status[:24]}
    query = "".join(f"&{k}={v}" for k, v in filters.items() if v)
    return render(request, "operator/batches.html", {
        "title": "归集批次", "breadcrumb": [*CRUMBS, ("归集批次", "")], "filters": filters, "query": query,
        "provider_options": [(p.code, p.name) for p in repository.list_providers(db)],
        **batch_rows(db, provider=filters["provider"] or None, category=filters["category"], status=filters["status"],
                     page=page)}, user=user)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch(batch_id: int, request: Request, db: DB, user: OperatorUserDep, page: int = 1) -> HTMLResponse:
    return render(request, "batch_detail.html", {
        "title": f"批次 {batch_id}", "breadcrumb": [*CRUMBS, ("归集批次", "/operator/batches"), (f"批次 {batch_id}", "")],
        "base_url": f"/operator/batches/{batch_id}", **batch_detail(db, batch_id, provider=None, page=page)}, user=user)


UPLOAD_BASE = {"title": "代为报送批次", "breadcrumb": [*CRUMBS, ("归集批次", "/operator/batches"), ("代为报送", "")],
               "action": "/operator/upload"}


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    return render(request, "operator/upload.html", {**UPLOAD_BASE, **upload_context(db, user, provider_code=None)},
                  user=user)


@router.post("/upload")
async def upload(request: Request, db: DB, user: OperatorUserDep) -> Response:
    return await handle_upload(request, db, user, provider_code=None, template="operator/upload.html",
                               base=UPLOAD_BASE, result_url="/operator/batches/{id}")


@router.get("/quality", response_class=HTMLResponse)
def quality_page(request: Request, db: DB, user: OperatorUserDep, provider: str = "") -> HTMLResponse:
    rows = quality.report(db, provider_code=provider[:64] or None)
    return render(request, "operator/quality.html", {
        "title": "归集质量", "breadcrumb": [*CRUMBS, ("归集质量", "")], "rows": rows, "provider": provider[:64],
        "figures": quality_by_provider(rows, provider_names(db))}, user=user)
