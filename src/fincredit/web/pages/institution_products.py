"""机构端 › 金融产品: our products with their eligibility rules — publish, revise, withdraw.

``financing.service.publish_product`` validates everything (ranges, indicators and operators of the
rules, the risk-compensation fund and its sharing ratio). A published product is not edited in
place: applications refer to the exact product they applied for, so a revision publishes a new
version and withdraws the old one in the same transaction.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fincredit.errors import DomainError, NotFound
from fincredit.financing import service
from fincredit.web.pagekit import (
    DB,
    FormDep,
    InstitutionUser,
    PageRoute,
    csrf_error,
    form_values,
    redirect,
    render,
)
from fincredit.web.pagekit import (
    STALE_FORM as STALE,
)
from fincredit.web.pages.financing_forms import (
    parse_product,
    product_error_field,
    product_form_values,
    product_options,
    product_view,
    text,
)
from fincredit.web.pages.institution_common import CRUMBS, institution_id

router = APIRouter(prefix="/institution/products", route_class=PageRoute, include_in_schema=False)


@router.get("", response_class=HTMLResponse)
def index(request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    rows = service.list_products(db, institution_id=institution_id(user), active_only=False, limit=1000)
    items = [product_view(service.product_out(p)) | {"created_at": p.created_at, "deactivated_at": p.deactivated_at}
             for p in reversed(rows)]
    return render(request, "institution/products.html", {
        "title": "本机构金融产品", "breadcrumb": [*CRUMBS, ("金融产品", "")],
        "active": [i for i in items if i["active"]], "withdrawn": [i for i in items if not i["active"]]}, user=user)


def _own(db: Session, user, product_id: int) -> service.Product:  # type: ignore[no-untyped-def]
    product = service.get_product(db, product_id)
    if product.institution_id != institution_id(user):
        raise NotFound("金融产品不存在", code="product_not_found")
    return product


def _form_page(request: Request, db: Session, user, values: dict, errors: dict,  # type: ignore[no-untyped-def]
               replaces: service.Product | None = None, status_code: int = 200) -> HTMLResponse:
    title = f"修改产品：{replaces.name}" if replaces else "发布金融产品"
    return render(request, "institution/product_form.html", {
        "title": title, "breadcrumb": [*CRUMBS, ("金融产品", "/institution/products"), (title, "")],
        "form": values, "errors": errors, "replaces": replaces, **product_options()}, status_code=status_code,
        user=user)


@router.get("/new", response_class=HTMLResponse)
def new(request: Request, db: DB, user: InstitutionUser, revise: int = 0) -> Response:
    if revise:
        product = _own(db, user, revise)
        if not product.active:
            return redirect("/institution/products", "已下架的产品不能修改", "error")
        return _form_page(request, db, user, product_form_values(service.product_out(product)), {}, product)
    return _form_page(request, db, user, {"type": "credit"}, {})


@router.post("", response_class=HTMLResponse)
def publish(request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    values = form_values(form)
    values["size_classes"] = [v for v in form.getlist("size_classes") if isinstance(v, str)]
    errors = csrf_error(request, form, user)
    replaces_id = text(form, "replaces", 12)
    replaces = _own(db, user, int(replaces_id)) if replaces_id.isdigit() else None
    data, rule_rows, problems = parse_product(form)
    errors.update(problems)
    if not errors:
        try:
            product = service.publish_product(db, user.principal, data)
            if replaces is not None:
                if not replaces.active:
                    raise DomainError("原产品已下架，不能再修改", code="product_inactive", status_code=409)
                service.deactivate_product(db, user.principal, replaces.id)
        except DomainError as exc:
            db.rollback()
            errors[product_error_field(exc, rule_rows)] = exc.message
        else:
            if replaces is not None:
                return redirect("/institution/products", f"已发布“{product.name}”的新版本，原版本已下架")
            return redirect("/institution/products", f"已发布金融产品：{product.name}")
    return _form_page(request, db, user, values, errors, replaces, 422)


@router.post("/{product_id}/withdraw")
def withdraw(product_id: int, request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/institution/products", STALE, "error")
    product = service.deactivate_product(db, user.principal, product_id)
    return redirect("/institution/products", f"已下架：{product.name}（已提交的申请不受影响）")
