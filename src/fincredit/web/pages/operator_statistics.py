"""管理端 › 统计与通报: pick a figure, a period and a breakdown; see the figure as a table and a chart,
download it as CSV, and generate the month's periodic report (通报) as PDF or HTML."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.errors import DomainError
from fincredit.monitoring.regions import jiangsu_regions
from fincredit.statistics import figures as F
from fincredit.statistics import service
from fincredit.statistics.endpoints import to_csv
from fincredit.statistics.schemas import HEADERS
from fincredit.web import charts
from fincredit.web.pagekit import DB, OperatorUserDep, PageRoute, render

router = APIRouter(prefix="/operator", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("管理端", "/operator"), ("统计与通报", "")]

FIGURE_LABELS = {"registrations": "注册企业", "authorizations": "授权", "disclosures": "查询", "loans": "贷款投放",
                 "objections": "异议处理", "collection": "数据归集", "timeliness": "归集及时性"}
DIMENSION_LABELS = {"": "合计", "city": "设区市", "industry": "行业门类", "size_class": "企业规模",
                    "institution": "金融机构", "product": "金融产品", "provider": "数据提供单位", "category": "信息类"}
# The column each figure's chart shows.
MAIN_COLUMN = {"registrations": "accounts_cumulative", "authorizations": "granted", "disclosures": "disclosures",
               "loans": "amount_wan", "objections": "received", "collection": "rows_total",
               "timeliness": "timeliness_share"}
SHARE_COLUMNS = {c for c in HEADERS if c.endswith(("_share", "_rate"))}


def _key_names(db: Session, by: str) -> dict[str, str]:
    if by == "city":
        return jiangsu_regions()
    if by == "institution":
        from fincredit.institutions.models import Institution
        return {str(i): n for i, n in db.execute(select(Institution.id, Institution.name))}
    if by == "provider":
        from fincredit.collection.models import Provider
        return {c: n for c, n in db.execute(select(Provider.code, Provider.name))}
    if by == "product":
        from fincredit.financing.models import Product
        return {str(i): n for i, n in db.execute(select(Product.id, Product.name))}
    return {"total": "合计"}


def _query(db: Session, figure: str, period: str, start: str, end: str, by: str) -> tuple[F.Period, list[dict]]:
    if figure not in F.FIGURES:
        raise DomainError("请选择统计指标", code="unknown_figure", status_code=422)
    p = service.parse_period(period or None, start or None, end or None)
    return p, service.figure(db, figure, p, by or None, F.Filters())


def _default_period() -> str:
    return dt.date.today().strftime("%Y-%m")


def _previous_month() -> str:
    return (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


@router.get("/statistics", response_class=HTMLResponse)
def statistics_page(request: Request, db: DB, user: OperatorUserDep, figure: str = "loans", by: str = "city",
                    period: str = "", start: str = "", end: str = "") -> HTMLResponse:
    figure, by, period, start, end = figure[:20], by[:20], period[:7], start[:10], end[:10]
    if start or end:  # a date range, when given, wins over the month
        period = ""
    elif not period:
        period = _default_period()
    ctx: dict[str, Any] = {"title": "统计与通报", "breadcrumb": CRUMBS, "figures": FIGURE_LABELS,
                           "dimensions": DIMENSION_LABELS, "allowed": F.FIGURE_DIMENSIONS,
                           "form": {"figure": figure, "by": by, "period": period, "start": start, "end": end},
                           "report_period": _previous_month(), "headers": HEADERS, "shares": SHARE_COLUMNS,
                           "rows": [], "columns": [], "error": None, "svg": None}
    try:
        p, rows = _query(db, figure, period, start, end, by)
    except DomainError as exc:
        ctx["error"] = exc.message
        return render(request, "operator/statistics.html", ctx, status_code=422, user=user)
    names = _key_names(db, by)
    for row in rows:
        row["label"] = names.get(str(row["key"]), str(row["key"]) if row["key"] is not None else "未知")
    main = MAIN_COLUMN[figure]
    share = main in SHARE_COLUMNS
    items = [(r["label"], float(r.get(main) or 0) * (100 if share else 1)) for r in rows]
    ctx.update(rows=rows, columns=[c for c in (rows[0] if rows else {}) if c not in ("key", "label")],
               span=f"{p.start.isoformat() if p.start else '开始'} 至 {p.end.isoformat()}", main_label=HEADERS[main],
               svg=charts.bar_chart("chart-statistics", f"{FIGURE_LABELS[figure]} · {HEADERS[main]}", items,
                                    width=760, fmt=(lambda v: f"{v:.1f}%") if share else charts._fmt_default)
               if len(items) <= 16 else charts.hbar_chart("chart-statistics", HEADERS[main], items, width=760))
    return render(request, "operator/statistics.html", ctx, user=user)


@router.get("/statistics/download")
def statistics_csv(request: Request, db: DB, user: OperatorUserDep, figure: str = "loans", by: str = "",
                   period: str = "", start: str = "", end: str = "") -> Response:
    if start or end:
        period = ""
    try:
        _p, rows = _query(db, figure[:20], period[:7], start[:10], end[:10], by[:20])
    except DomainError as exc:
        return Response(exc.message, status_code=422, media_type="text/plain; charset=utf-8")
    name = f"statistics-{figure}-{by or 'total'}-{period or 'range'}.csv"
    return Response(to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/statistics/report")
def statistics_report(request: Request, db: DB, user: OperatorUserDep, period: str = "",
                      format: str = "pdf") -> Response:
    from fincredit.statistics.report import generate_html
    from fincredit.statistics.report_pdf import html_to_pdf

    kind = "html" if format == "html" else "pdf"
    try:
        html = generate_html(db, period[:7])
        body = html.encode("utf-8") if kind == "html" else html_to_pdf(html)
    except DomainError as exc:
        ctx = {"title": "统计与通报", "breadcrumb": CRUMBS, "figures": FIGURE_LABELS, "dimensions": DIMENSION_LABELS,
               "allowed": F.FIGURE_DIMENSIONS, "form": {"figure": "loans", "by": "city", "period": _default_period()},
               "report_period": period[:7], "report_error": exc.message, "headers": HEADERS, "shares": SHARE_COLUMNS,
               "rows": [], "columns": [], "error": None, "svg": None}
        return render(request, "operator/statistics.html", ctx, status_code=exc.status_code, user=user)
    media = "text/html; charset=utf-8" if kind == "html" else "application/pdf"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="fincredit-report-{period[:7]}.{kind}"'})
