"""Statistics service: period parsing and validation, figures, and progress toward the notice's targets.

Targets (苏政办发〔2022〕59号, preamble): "力争用三年左右时间" — 1.5 million registered enterprises and
¥400 billion (4000亿元) of inclusive loans through the platform, credit loans at least 20 % of that
balance. "About three years" is read as three years from the notice's date, 2022-07-16: TARGET_DATE is
2025-07-16. The linear trend is a least-squares line through month-end cumulative values.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from fincredit.errors import NotFound, Unprocessable
from fincredit.monitoring.regions import jiangsu_regions, normalize_industry, region_prefix
from fincredit.statistics import aggregate
from fincredit.statistics import figures as F
from fincredit.statistics import series as S

NOTICE_DATE = dt.date(2022, 7, 16)
TARGET_DATE = dt.date(2025, 7, 16)
TARGET_REGISTERED = 1_500_000
TARGET_BALANCE_WAN = 40_000_000.0  # 4000亿元 = 4×10^7 万元
TARGET_CREDIT_SHARE = 0.20

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(period: str | None, start: str | None, end: str | None, today: dt.date | None = None) -> F.Period:
    today = today or dt.date.today()
    try:
        if period:
            if start or end:
                raise ValueError
            m = _MONTH.match(period)
            if not m:
                raise ValueError
            first = dt.date(int(m.group(1)), int(m.group(2)), 1)
            last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
            lo, hi = first, last
        else:
            lo = dt.date.fromisoformat(start) if start else None
            hi = dt.date.fromisoformat(end) if end else today
    except ValueError:
        raise Unprocessable("统计期间格式错误：period 应为 YYYY-MM，from/to 应为 YYYY-MM-DD", code="bad_period") from None
    if lo is not None and lo > hi:
        raise Unprocessable("统计期间起始日期晚于结束日期", code="bad_period")
    if (lo or hi) > today:
        raise Unprocessable("统计期间不能在未来", code="period_in_future")
    return F.Period(lo, min(hi, today))


def parse_filters(region: str | None, industry: str | None) -> F.Filters:
    prefix = None
    if region:
        if region.strip() not in jiangsu_regions():
            raise Unprocessable(f"未知的行政区划代码：{region}", code="unknown_region")
        prefix = region_prefix(region.strip())
    code = None
    if industry:
        code = normalize_industry(industry)
        if code is None:
            raise Unprocessable(f"未知的行业代码：{industry}", code="unknown_industry")
    return F.Filters(prefix, code)


def figure(session: Session, name: str, period: F.Period, by: str | None, filters: F.Filters) -> list[dict]:
    if name not in F.FIGURES:
        raise NotFound(f"没有名为 {name} 的统计指标", code="unknown_figure")
    allowed = F.FIGURE_DIMENSIONS[name]
    if by and by not in allowed:
        raise Unprocessable(f"指标 {name} 只能按以下维度分组：{'、'.join(allowed)}", code="bad_dimension",
                            details={"allowed": list(allowed)})
    return F.FIGURES[name](session, period, by or "", filters)


def _trend(points: list[tuple[dt.date, float]], target: float) -> dict:
    """Least-squares line through (month index, value); its value at TARGET_DATE and when it meets target."""
    pts = [(i, v) for i, (_d, v) in enumerate(points)]
    if len(pts) < 2:
        return {"available": False, "note": "不足两个月的数据，无法外推趋势", "months": len(pts)}
    n = len(pts)
    mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    slope = sum((x - mx) * (y - my) for x, y in pts) / sxx
    intercept = my - slope * mx
    d0 = points[0][0]
    x_target = (TARGET_DATE.year - d0.year) * 12 + TARGET_DATE.month - d0.month
    reach = None
    if slope > 0:
        months = (target - intercept) / slope
        k = max(0, int(months + 0.999999))
        y, mo = divmod(d0.month - 1 + k, 12)
        reach = f"{d0.year + y:04d}-{mo + 1:02d}"
    return {"available": True, "months": n, "slope_per_month": round(slope, 4),
            "projected_at_target_date": round(slope * x_target + intercept, 4), "reaches_target_in": reach}


def _trim(points: list[tuple[dt.date, float]]) -> list[tuple[dt.date, float]]:
    """Trend from the first month with data: empty months before launch are not part of the trend."""
    return points[next((i for i, (_d, v) in enumerate(points) if v), len(points)):]


def _progress(values: dict, regs: list, bals: list, scale: float) -> dict:
    t_reg, t_bal = TARGET_REGISTERED * scale, TARGET_BALANCE_WAN * scale
    accounts, live, balance, credit = (values["accounts"], values["live"], values["balance"], values["credit"])
    return {
        "registered_enterprises": {"current": accounts, "live_enterprises": live,
                                   "share_of_live": F._share(accounts, live), "target": round(t_reg),
                                   "progress": F._share(accounts, t_reg),
                                   "trend": _trend(_trim(regs), t_reg)},
        "loan_balance_wan": {"current": balance, "target": t_bal, "progress": F._share(balance, t_bal),
                             "trend": _trend(_trim(bals), t_bal)},
        "credit_loan_share": {"current": F._share(credit, balance), "credit_balance_wan": credit,
                              "target": TARGET_CREDIT_SHARE,
                              "met": bool(balance) and credit / balance >= TARGET_CREDIT_SHARE},
    }


def _sum_months(groups: dict) -> dict:
    total: dict = {}
    for months in groups.values():
        for m, v in months.items():
            total[m] = total.get(m, 0) + (v[0] if isinstance(v, tuple) else v)
    return total


def targets_and_cities(session: Session, today: dt.date, reg_grouped: dict | None = None,
                       loan_rows: list[dict] | None = None) -> tuple[dict, dict[str, dict]]:
    """Progress toward the targets for the province and for each city, from three city-grouped queries (the
    province is the sum of its groups, enterprises without a known city included). A city's targets are its
    share of the province's live enterprises times the provincial targets. Callers that already hold
    ``series.registrations_grouped(session, today, "city")`` or the city breakdown of loans for a period
    ending ``today`` pass them in (only the loans' stocks at the period's end are read, and those do not
    depend on the period's start)."""
    p = F.Period(None, today)
    if reg_grouped is None:
        reg_grouped = S.registrations_grouped(session, today, "city")
    reg = {r["key"]: r for r in S.registration_rows(reg_grouped, p)}
    loan = {r["key"]: r for r in (loan_rows if loan_rows is not None else F.loans(session, p, "city"))}
    ends = S.month_ends(NOTICE_DATE, today)
    reg_months = {k: g["months"] for k, g in reg_grouped.items()}
    bal_months = S.balances_by_month(session, today, "city")

    def values(keys: list) -> dict:
        return {"accounts": sum(reg[k]["accounts_cumulative"] for k in keys if k in reg),
                "live": sum(reg[k]["live_enterprises"] for k in keys if k in reg),
                "balance": round(sum(loan[k]["balance_wan"] for k in keys if k in loan), 4),
                "credit": round(sum(loan[k]["credit_balance_wan"] for k in keys if k in loan), 4)}

    everything = list(set(reg) | set(loan))
    province = _progress(values(everything), S.cumulative(_sum_months(reg_months), ends),
                         S.cumulative(_sum_months(bal_months), ends), 1.0)
    names = jiangsu_regions()
    total_live = province["registered_enterprises"]["live_enterprises"]
    cities = {}
    for code in sorted(k for k in everything if k in names):
        v = values([code])
        if not v["live"]:
            continue
        scale = v["live"] / total_live if total_live else 0.0
        regs = S.cumulative(reg_months.get(code, {}), ends)
        bals = S.cumulative({m: x[0] for m, x in bal_months.get(code, {}).items()}, ends)
        cities[code] = {"name": names[code], "target_scale": round(scale, 6), **_progress(v, regs, bals, scale)}
    return province, cities


def progress(session: Session, filters: F.Filters = F.Filters(), today: dt.date | None = None,
             scale: float = 1.0) -> dict:
    """Current values against the targets (scaled by ``scale`` for a city's share), with linear trends."""
    today = today or dt.date.today()
    p = F.Period(None, today)
    reg = F.registrations(session, p, "", filters)
    loan = F.loans(session, p, "", filters)
    values = {"accounts": reg[0]["accounts_cumulative"] if reg else 0,
              "live": sum(r["live_enterprises"] for r in reg),
              "balance": loan[0]["balance_wan"] if loan else 0.0, "credit": loan[0]["credit_balance_wan"] if loan else 0.0}
    ends = S.month_ends(NOTICE_DATE, today)
    regs = S.cumulative(S.registrations_by_month(session, today, "", filters).get("total", {}), ends)
    bals = S.cumulative({m: v[0] for m, v in S.balances_by_month(session, today, "", filters).get("total", {}).items()},
                        ends)
    return _progress(values, regs, bals, scale)


def overview(session: Session, today: dt.date | None = None) -> dict:
    """Headline figures of the current month to date (``headline_period``: flows from the 1st to today;
    the stocks — cumulative accounts, balances, overdue and default rates — at today), and the progress
    toward the targets for the province and each city. The flows are the month's: "since the beginning"
    would count every authorization use and disclosure ever made (distinct authorizations used and
    enterprises queried cannot be summed from monthly counts), seconds at province scale."""
    today = today or dt.date.today()
    month = F.Period(today.replace(day=1), today)
    with aggregate.shared_reads(session):
        # The stocks are grouped by city once: the headline totals are the sums of the cities' groups.
        reg_grouped = S.registrations_grouped(session, today, "city")
        loan_city, loan_total = F.loans_with_total(session, month, "city")
        computed = {"registrations": S.registration_rows(reg_grouped, month, total=True), "loans": loan_total}
        head = {}
        for name in F.FIGURES:
            if name == "collection":
                continue
            rows = computed[name] if name in computed else F.FIGURES[name](session, month, "", F.Filters())
            head[name] = rows[0] if rows else {}
        coll = F.collection(session, month, "")
        head["collection"] = coll[0] if coll else {}
        targets, cities = targets_and_cities(session, today, reg_grouped, loan_city)
    return {"as_of": today.isoformat(), "notice_date": NOTICE_DATE.isoformat(),
            "target_date": TARGET_DATE.isoformat(),
            "headline_period": {"from": month.start.isoformat() if month.start else None, "to": today.isoformat()},
            "headline": head, "targets": targets, "cities": cities}
