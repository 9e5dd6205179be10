"""Statistics API (admin): headline figures, progress toward the notice's targets, and each figure
by period and dimension, as JSON or as a CSV download (UTF-8 with BOM, Chinese headers)."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Query, Response

from fincredit.statistics import service
from fincredit.statistics.schemas import HEADERS, FigureResponse
from fincredit.web.deps import AdminDep, SessionDep

router = APIRouter(prefix="/statistics", tags=["统计分析"])


@router.get("/overview", summary="总体情况与目标进度")
def overview(session: SessionDep, _: AdminDep) -> dict[str, Any]:
    return service.overview(session)


def to_csv(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0]) if rows else ["key"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([HEADERS.get(c, c) for c in columns])
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return "\ufeff" + buf.getvalue()


@router.get("/report", summary="定期通报（PDF 或 HTML）", response_model=None)
def report(session: SessionDep, _: AdminDep, period: str = Query(..., description="YYYY-MM"),
           format: str = Query("pdf", pattern="^(pdf|html)$")) -> Response:
    from fincredit.statistics.report import generate_html
    from fincredit.statistics.report_pdf import html_to_pdf

    html = generate_html(session, period)
    name = f"fincredit-report-{period}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "html":
        return Response(html, media_type="text/html; charset=utf-8", headers=headers)
    return Response(html_to_pdf(html), media_type="application/pdf", headers=headers)


@router.get("/{figure}", summary="统计指标（按期间与维度）", response_model=None)
def figure(figure: str, session: SessionDep, _: AdminDep,
           by: str | None = Query(None, description="city | industry | size_class | institution | provider | "
                                                    "product | category"),
           period: str | None = Query(None, description="YYYY-MM"),
           start: str | None = Query(None, alias="from", description="YYYY-MM-DD"),
           end: str | None = Query(None, alias="to", description="YYYY-MM-DD"),
           region: str | None = Query(None, description="行政区划代码（GB/T 2260）"),
           industry: str | None = Query(None, description="行业代码（GB/T 4754）"),
           format: str = Query("json", pattern="^(json|csv)$")) -> FigureResponse | Response:
    p = service.parse_period(period, start, end)
    filters = service.parse_filters(region, industry)
    rows = service.figure(session, figure, p, by, filters)
    if format == "csv":
        name = f"statistics-{figure}-{by or 'total'}.csv"
        return Response(to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return FigureResponse(figure=figure, by=by, start=p.start.isoformat() if p.start else None,
                          end=p.end.isoformat(), rows=rows)
