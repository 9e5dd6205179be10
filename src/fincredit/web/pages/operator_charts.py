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


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def loans_by_city(db: Session, today: dt.date) -> dict[str, Any]:
    """Loans granted to date per city: count, amount, credit-loan and first-loan shares of the count."""
    from fincredit.monitoring.regions import jiangsu_regions
    from fincredit.statistics import figures as F

    names = jiangsu_regions()
    rows = []
    for r in F.loans(db, F.Period(None, today), "city"):
        if r["key"] not in names or not r["loans_granted"]:
            continue
        rows.append({"code": r["key"], "name": names[r["key"]], "loans": r["loans_granted"], "amount_wan": r["amount_wan"],
                     "credit_share": F._share(r["credit_loans"], r["loans_granted"]),
                     "first_share": F._share(r["first_loans"], r["loans_granted"]), "balance_wan": r["balance_wan"]})
    amount = [(r["name"].removesuffix("市"), r["amount_wan"]) for r in rows]
    shares = [(r["name"], (r["credit_share"] or 0) * 100) for r in rows]
    return {"rows": rows, "amount": amount,
            "amount_svg": charts.bar_chart("chart-city-loans", "各设区市累计放款金额（万元）", amount),
            "credit_svg": charts.hbar_chart("chart-city-credit", "各设区市信用贷款笔数占比", shares, max_value=100,
                                            fmt=_pct, color=charts.RED)}


def targets(db: Session, today: dt.date) -> dict[str, Any]:
    """Progress toward the notice's targets, and the month-end registrations of the last 12 months."""
    from fincredit.statistics import series as S
    from fincredit.statistics import service as statistics

    prog = statistics.progress(db, today=today)
    reg, bal, credit = prog["registered_enterprises"], prog["loan_balance_wan"], prog["credit_loan_share"]
    bars = [("注册企业（目标 150 万家）", (reg["progress"] or 0) * 100),
            ("贷款余额（目标 4000 亿元）", (bal["progress"] or 0) * 100),
            ("信用贷款占比（目标 ≥20%）", min(100.0, (credit["current"] or 0) / statistics.TARGET_CREDIT_SHARE * 100))]
    first = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
    ends = S.month_ends(max(first, statistics.NOTICE_DATE), today)
    trend = [(d.strftime("%Y-%m"), v) for d, v in
             S.cumulative(S.registrations_by_month(db, today).get("total", {}), ends)]
    return {"progress": prog, "bars": bars, "trend": trend,
            "bars_svg": charts.hbar_chart("chart-targets", "目标完成进度", bars, max_value=100, fmt=_pct),
            "trend_svg": charts.line_chart("chart-registrations", "累计注册企业数（月末）", trend,
                                           fmt=lambda v: f"{v:,.0f}")}


def dashboard(db: Session) -> dict[str, Any]:
    report = quality.report(db)
    today = dt.date.today()
    return {"grades": grade_distribution(db), "quality": quality_by_provider(report, provider_names(db)),
            "batches": batches_over_time(db), "institutions": institution_counts(db),
            "late": [r for r in report if r["timeliness"]["late"] and r["accuracy"]["batches"]],
            "city_loans": loans_by_city(db, today), "targets": targets(db, today)}
