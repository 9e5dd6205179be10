"""企业端 › 融资需求: post a need (amount, term, purpose), see the products matched with their reasons,
apply to one (after reading the 贷前审查 authorization the application grants), follow the decisions.

Everything is ``financing.service``'s: ``post_need``, ``matches`` (every rule evaluated on the
enterprise's own data), ``apply`` (grants the pre_loan authorization and files the application);
the letter shown before applying is ``authorization.service.draft`` of that same grant.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fincredit.authorization import service as authorization_service
from fincredit.authorization.rules import PURPOSES
from fincredit.db import utcnow
from fincredit.errors import DomainError
from fincredit.financing import repository, service
from fincredit.institutions.service import find_institution
from fincredit.web.pagekit import (
    DB,
    EnterpriseUser,
    FormDep,
    PageRoute,
    csrf_error,
    form_values,
    redirect,
    render,
)
from fincredit.web.pages.financing_forms import number, product_view, text

router = APIRouter(prefix="/enterprise/financing", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("企业端", "/enterprise"), ("融资需求", "/enterprise/financing")]
COLLATERAL_OPTIONS = [(k, v) for k, v in service.PRODUCT_TYPES.items() if k != "credit"]
APPLICATION_STATUS = {"submitted": "已提交，待机构审批", "accepted": "审批通过", "declined": "未获通过"}
APPLY_DAYS = 30  # the pre_loan authorization an application grants (financing.service.apply's default)


def _institution_names(db: Session, ids: set[int]) -> dict[int, str]:
    names = {}
    for inst_id in ids:
        inst = find_institution(db, inst_id)
        names[inst_id] = inst.name if inst else f"机构 {inst_id}"
    return names


def _applications(db: Session, uscc: str, need_id: int | None = None) -> list[dict]:
    rows = repository.applications_of(db, uscc, need_id)
    products = repository.products_by_id(db, {a.product_id for a in rows})
    names = _institution_names(db, {a.institution_id for a in rows})
    return [{"row": a, "product": products.get(a.product_id), "institution": names.get(a.institution_id, ""),
             "status_label": APPLICATION_STATUS.get(a.status, a.status)} for a in rows]


def _index(request: Request, db: Session, user, values: dict, errors: dict,  # type: ignore[no-untyped-def]
           status_code: int = 200) -> HTMLResponse:
    needs = repository.needs_of(db, user.subject)
    applications = _applications(db, user.subject)
    counts: dict[int, int] = {}
    for a in applications:
        counts[a["row"].need_id] = counts.get(a["row"].need_id, 0) + 1
    return render(request, "enterprise/financing.html", {
        "title": "融资需求与匹配产品", "breadcrumb": CRUMBS[:2] + [("融资需求", "")], "needs": needs,
        "counts": counts, "applications": applications, "collateral_options": COLLATERAL_OPTIONS,
        "collateral_labels": dict(COLLATERAL_OPTIONS), "form": values, "errors": errors},
        status_code=status_code, user=user)


@router.get("", response_class=HTMLResponse)
def index(request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    return _index(request, db, user, {}, {})


@router.post("/needs", response_class=HTMLResponse)
def post_need(request: Request, db: DB, user: EnterpriseUser, form: FormDep) -> Response:
    values = form_values(form)
    values["acceptable_collateral"] = [v for v in form.getlist("acceptable_collateral") if isinstance(v, str)]
    errors = csrf_error(request, form, user)
    amount = number(form, "amount_wan", errors, "融资金额")
    term = number(form, "term_months", errors, "融资期限", integer=True)
    purpose = text(form, "purpose", 1000)
    if amount is not None and amount <= 0 and "amount_wan" not in errors:
        errors["amount_wan"] = "融资金额须大于 0"
    if term is not None and term <= 0 and "term_months" not in errors:
        errors["term_months"] = "融资期限须大于 0"
    if not purpose:
        errors["purpose"] = "请填写资金用途"
    elif len(purpose) > 500:
        errors["purpose"] = "资金用途不超过 500 字"
    collateral = [c for c in values["acceptable_collateral"] if c in service.PRODUCT_TYPES]
    if errors:
        return _index(request, db, user, values, errors, 422)
    try:
        need = service.post_need(db, user.principal, {"amount_wan": amount, "term_months": term, "purpose": purpose,
                                                      "acceptable_collateral": collateral})
    except DomainError as exc:
        db.rollback()
        return _index(request, db, user, values, {"_form": exc.message}, 422)
    return redirect(f"/enterprise/financing/needs/{need.id}", "融资需求已发布，以下为平台按产品准入条件匹配的结果")


@router.get("/needs/{need_id}", response_class=HTMLResponse)
def need_detail(need_id: int, request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    result = service.matches(db, user.principal, need_id)
    names = _institution_names(db, {m["product"]["institution_id"] for m in result["matches"]})
    applied = {a["row"].product_id: a for a in _applications(db, user.subject, need_id)}
    items = [{**m, "product": product_view(m["product"], names.get(m["product"]["institution_id"], "")),
              "application": applied.get(m["product"]["id"])} for m in result["matches"]]
    return render(request, "enterprise/financing_need.html", {
        "title": f"融资需求 {need_id} 的匹配结果", "breadcrumb": [*CRUMBS, (f"需求 {need_id}", "")],
        "need": result["need"], "eligible": [i for i in items if i["eligible"]],
        "others": [i for i in items if not i["eligible"]], "applications": list(applied.values()),
        "collateral_labels": dict(COLLATERAL_OPTIONS)}, user=user)


def _grant_request(db: Session, product: service.Product) -> authorization_service.GrantRequest:
    return authorization_service.GrantRequest(
        institution_id=product.institution_id, purpose="pre_loan", categories=service.default_categories(db),
        expires_at=utcnow() + dt.timedelta(days=APPLY_DAYS))


def _apply_page(request: Request, db: Session, user, need_id: int, product_id: int,  # type: ignore[no-untyped-def]
                errors: dict, status_code: int = 200) -> HTMLResponse:
    need = service.get_own_need(db, user.principal, need_id)
    product = service.get_product(db, product_id)
    draft = authorization_service.draft(db, user.principal, _grant_request(db, product))
    return render(request, "enterprise/financing_apply.html", {
        "title": "申请金融产品", "breadcrumb": [*CRUMBS, (f"需求 {need_id}", f"/enterprise/financing/needs/{need_id}"),
                                          ("申请", "")],
        "need": service.need_out(need), "product": product_view(service.product_out(product),
                                                                draft.institution.name if draft.institution else ""),
        "draft": draft, "purpose_label": PURPOSES["pre_loan"].label, "errors": errors}, status_code=status_code,
        user=user)


@router.get("/needs/{need_id}/apply", response_class=HTMLResponse)
def apply_form(need_id: int, request: Request, db: DB, user: EnterpriseUser, product: int = 0) -> HTMLResponse:
    return _apply_page(request, db, user, need_id, product, {})


@router.post("/needs/{need_id}/apply", response_class=HTMLResponse)
def apply(need_id: int, request: Request, db: DB, user: EnterpriseUser, form: FormDep) -> Response:
    errors = csrf_error(request, form, user)
    product_id = text(form, "product_id", 12)
    product = int(product_id) if product_id.isdigit() else 0
    if not errors and text(form, "consent", 8) != "yes":
        errors["consent"] = "请先阅读授权书并勾选同意"
    if not errors:
        try:
            row = service.apply(db, user.principal, need_id, {"product_id": product, "consent": True})
        except DomainError as exc:
            db.rollback()
            errors["_form"] = exc.message
        else:
            return redirect(f"/enterprise/financing/needs/{need_id}",
                            f"申请已提交（编号 {row.id}），已向该机构授权贷前审查，请等待审批结果")
    return _apply_page(request, db, user, need_id, product, errors, 422)
