"""View helpers of the enterprise portal: the evaluation with its reasons, and trend charts of the
enterprise's own records (tax paid, social-insurance headcount)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fincredit.monitoring.trends import MEASURES, series
from fincredit.web import charts
from fincredit.web.formatting import local_time


def evaluation_context(db: Session, uscc: str, *, with_history: bool) -> dict[str, Any]:
    """The enterprise's current evaluation explained (its own result: not a disclosure to anyone)."""
    try:
        from fincredit.evaluation import service as evaluation_service
    except ImportError:  # the evaluation capability is not installed
        return {"evaluation": None, "evaluation_available": False}
    row = evaluation_service.current_evaluation(db, uscc)
    view = evaluation_service.evaluation_view(db, row) if row is not None else None
    context: dict[str, Any] = {"evaluation": view, "evaluation_available": True}
    if view is None or not with_history:
        return context
    dims = view.get("dimensions") or []
    context["dimension_chart"] = charts.hbar_chart(
        "chart-dimensions", "各维度得分率", [(d["name"], d["points"] / d["max_points"] * 100 if d["max_points"] else 0)
                                      for d in dims], max_value=100, fmt=lambda v: f"{v:.0f}%")
    history = list(reversed(evaluation_service.evaluation_history(db, uscc, 24, 0)))
    context["history"] = history
    if len(history) > 1:
        context["history_chart"] = charts.line_chart(
            "chart-history", "信用评分变化", [(h["evaluated_at"][:10], float(h["score"])) for h in history])
    return context


def _section(sections: list[dict], code: str) -> dict | None:
    return next((s for s in sections if s["code"] == code), None)


def trend_charts(sections: list[dict]) -> list[dict[str, Any]]:
    """Charts of the enterprise's own trends: headcount by month (10) and tax paid per delivery (1)."""
    out = []
    insurance = _section(sections, "10")
    if insurance and insurance["records"]:
        measure = MEASURES["social_insurance_headcount"]
        points = series(measure, [r["data"] for r in insurance["records"] if r["is_current"]])[-24:]
        if points:
            out.append({"id": "chart-headcount", "title": "社保参保人数（按缴费年月）", "points": points, "unit": "人",
                        "svg": charts.line_chart("chart-headcount", "社保参保人数（按缴费年月）", points,
                                                 fmt=lambda v: f"{v:,.0f}")})
    tax = _section(sections, "1")
    if tax and tax["records"]:
        measure = MEASURES["tax_paid"]
        ordered = sorted(tax["records"], key=lambda r: r["received_at"])
        points = [(local_time(r["received_at"])[5:], value) for r in ordered
                  if (value := measure.value(r["data"])) is not None][-12:]
        if points:
            out.append({"id": "chart-tax", "title": "近一年实际缴税额（增值税 + 企业所得税，按报送时间）",
                        "points": points, "unit": "元",
                        "svg": charts.bar_chart("chart-tax", "近一年实际缴税额", points,
                                                fmt=lambda v: f"{v / 10000:,.1f}万")})
    return out


def record_columns(section: dict, enterprise_uscc: str, enterprise_name: str) -> list[str]:
    """The fields worth a column: not the enterprise's own name and code repeated on every row, not
    fields empty in every record."""
    records = section["records"]
    columns = []
    for name in section["fields"]:
        values = {str(r["data"].get(name) or "") for r in records}
        if values <= {"", enterprise_uscc, enterprise_name}:
            continue
        columns.append(name)
    return columns
