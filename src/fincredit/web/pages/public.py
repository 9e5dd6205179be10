"""Public pages: the home page, the published evaluation guideline, 苏信码 and the product listing."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fincredit.web import charts
from fincredit.web.navigation import PORTAL_HOME
from fincredit.web.pagekit import DB, OptionalUser, PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DB, user: OptionalUser) -> HTMLResponse:
    return render(request, "public/home.html", {
        "title": "首页", "portal_home": PORTAL_HOME.get(user.role) if user else None}, user=user)


def _guideline_context() -> dict:
    try:
        from fincredit.evaluation.guideline import load_guideline
    except ImportError:  # the evaluation capability is not installed
        return {"guideline": None}
    g = load_guideline()
    weights = [(d.name, d.weight * g.points_per_weight) for d in g.dimensions]
    return {
        "guideline": g,
        "aspect_labels": g.aspects,
        "weights_chart": charts.bar_chart("chart-weights", "各维度满分（分）", weights, fmt=lambda v: f"{v:.0f}"),
        "weights": weights,
    }


@router.get("/guideline", response_class=HTMLResponse)
def guideline(request: Request, db: DB, user: OptionalUser) -> HTMLResponse:
    context = {"title": "企业信用评价指引", "breadcrumb": [("首页", "/"), ("企业信用评价指引", "")],
               **_guideline_context()}
    return render(request, "public/guideline.html", context, user=user)


@router.get("/sucode", response_class=HTMLResponse)
def sucode(request: Request, db: DB, user: OptionalUser, token: str = "") -> Response:
    """Explains the 苏信码; a pasted code or its URL goes to the sucode capability's page ``/sucode/{token}``."""
    value = token.strip()[:4096].rstrip("/").rsplit("/", 1)[-1]
    if value:
        return RedirectResponse(f"/sucode/{quote(value, safe='')}", status_code=303)
    return render(request, "public/sucode.html", {
        "title": "苏信码核验", "breadcrumb": [("首页", "/"), ("苏信码核验", "")]}, user=user)


@router.get("/products", response_class=HTMLResponse)
def products(request: Request, db: DB, user: OptionalUser, type: str = "", fund: str = "") -> HTMLResponse:
    """The active products of active institutions (``financing.service.list_products``), with their
    conditions in Chinese; filter by type and by risk-compensation fund."""
    from fincredit.financing import service as financing
    from fincredit.institutions.service import KIND_LABELS, list_institutions
    from fincredit.web.pages.financing_forms import product_view

    institutions = {i.id: i for i in list_institutions(db, status="active", limit=10_000)}
    rows = [p for p in financing.list_products(db, limit=1000) if p.institution_id in institutions]
    type_counts = {code: sum(1 for p in rows if p.type == code) for code in financing.PRODUCT_TYPES}
    if type in financing.PRODUCT_TYPES:
        rows = [p for p in rows if p.type == type]
    if fund in financing.COMPENSATION_FUNDS:
        rows = [p for p in rows if p.compensation_fund == fund]
    items = [product_view(financing.product_out(p), institutions[p.institution_id].name)
             | {"institution_kind": KIND_LABELS.get(institutions[p.institution_id].kind, "")} for p in rows]
    return render(request, "public/products.html", {
        "title": "金融产品", "breadcrumb": [("首页", "/"), ("金融产品", "")], "items": items,
        "type_options": [(code, f"{label}（{type_counts[code]}）") for code, label in financing.PRODUCT_TYPES.items()],
        "fund_options": list(financing.COMPENSATION_FUNDS.items()), "form": {"type": type, "fund": fund},
        "enterprise": bool(user and user.role == "enterprise")}, user=user)
