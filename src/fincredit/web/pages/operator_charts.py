"""Figures of the operator's monitoring dashboard, from the capabilities' own read functions."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy.orm import Session

from fincredit.collection import quality, repository
from fincredit.institutions import service as institutions
from fincredit.web import charts
from fincredit.web.formatting import local_date, today_local


def grade_distribution(db: Session) -> dict[str, Any] | None:
    try:
        from fincredit.evaluation import service as evaluation_service
    except ImportError:
        return None
    data = evaluation_service.distribution(db)
    items = [(grade, float(n)) for grade, n in data["grades"].items()]
    order = list(data["grades"])
    tiers = [charts.NAVY, "#2f6db3", charts.RED]  # 守信 / 一般 / 失信风险: thirds of the scale
    colors = [tiers[min(2, i * 3 // max(len(order), 1))] for i in range(len(order))]
    return {"data": data, "points": items,
            "svg": charts.bar_chart("chart-grades", "信用评价等级分布（企业数）", items, colors=colors)}


def quality_by_provider(rows: list[dict], names: dict[str, str] | None = None) -> dict[str, Any]:
    """Per provider: share of delivered rows accepted, and mean coverage of registered enterprises."""
    names = names or {}
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    coverage: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        acc = row["accuracy"]
        totals[row["provider"]][0] += acc["rows_total"]
        totals[row["provider"]][1] += acc["rejected"]
        if row["completeness"]["coverage"] is not None and row["category"] != "base":
            coverage[row["provider"]].append(row["completeness"]["coverage"])
    accepted = [(names.get(p, p), (1 - rejected / total) * 100) for p, (total, rejected) in sorted(totals.items())
                if total]
    covered = [(names.get(p, p), sum(v) / len(v) * 100) for p, v in sorted(coverage.items()) if v]
    return {
        "accepted": accepted, "covered": covered,
        "accepted_svg": charts.hbar_chart("chart-accuracy", "各数据提供单位入库合格率", accepted, max_value=100,
                                          fmt=lambda v: f"{v:.1f}%"),
        "covered_svg": charts.hbar_chart("chart-coverage", "各数据提供单位企业覆盖率（平均）", covered, max_value=100,
                                         fmt=lambda v: f"{v:.1f}%", color=charts.RED),
    }


def batches_over_time(db: Session, days: int = 30) -> dict[str, Any]:
    rows, _total = repository.list_batches(db, limit=5000)
    start = today_local() - dt.timedelta(days=days - 1)
    per_day: Counter[str] = Counter()
    for batch in rows:
        day = local_date(batch.received_at)
        if day >= start.isoformat():
            per_day[day] += 1
    items = [((start + dt.timedelta(days=k)).strftime("%m-%d"), float(per_day[(start + dt.timedelta(days=k)).isoformat()]))
             for k in range(days)]
    return {"points": [i for i in items if i[1]], "total": sum(per_day.values()),
            "svg": charts.line_chart("chart-batches", f"近 {days} 天每日接收批次数", items, fmt=lambda v: f"{v:.0f}")}


def provider_names(db: Session) -> dict[str, str]:
    return {p.code: p.name for p in repository.list_providers(db)}


def institution_counts(db: Session) -> list[tuple[str, int]]:
    counts = Counter(i.status for i in institutions.list_institutions(db, limit=10_000))
    return [(institutions.STATUS_LABELS[s], counts.get(s, 0)) for s in institutions.STATUSES]


def dashboard(db: Session) -> dict[str, Any]:
    report = quality.report(db)
    return {"grades": grade_distribution(db), "quality": quality_by_provider(report, provider_names(db)),
            "batches": batches_over_time(db), "institutions": institution_counts(db),
            "late": [r for r in report if r["timeliness"]["late"] and r["accuracy"]["batches"]]}
