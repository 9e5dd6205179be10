"""Public pages: the home page, the published evaluation guideline, 苏信码 and products (links)."""

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
def products(request: Request, db: DB, user: OptionalUser) -> HTMLResponse:
    return render(request, "public/products.html", {
        "title": "金融产品", "breadcrumb": [("首页", "/"), ("金融产品", "")]}, user=user)
