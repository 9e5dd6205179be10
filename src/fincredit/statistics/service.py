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
from fincredit.statistics import figures as F

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


def _month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        nxt = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        out.append(min(nxt - dt.timedelta(days=1), last))
        m = nxt
    return out


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


def _series(session: Session, filters: F.Filters, today: dt.date) -> tuple[list, list]:
    ends = _month_ends(NOTICE_DATE, today)
    regs, bals = [], []
    for end in ends:
        p = F.Period(None, end)
        r = F.registrations(session, p, "", filters)
        b = F.loans(session, p, "", filters)
        regs.append((end, float(r[0]["accounts_cumulative"]) if r else 0.0))
        bals.append((end, float(b[0]["balance_wan"]) if b else 0.0))
    # Trend from the first month with data: empty months before launch are not part of the trend.
    regs = regs[next((i for i, (_d, v) in enumerate(regs) if v), len(regs)):]
    bals = bals[next((i for i, (_d, v) in enumerate(bals) if v), len(bals)):]
    return regs, bals


def progress(session: Session, filters: F.Filters = F.Filters(), today: dt.date | None = None,
             scale: float = 1.0) -> dict:
    """Current values against the targets (scaled by ``scale`` for a city's share), with linear trends."""
    today = today or dt.date.today()
    p = F.Period(None, today)
    reg = F.registrations(session, p, "", filters)
    loan = F.loans(session, p, "", filters)
    accounts = reg[0]["accounts_cumulative"] if reg else 0
    live = sum(r["live_enterprises"] for r in reg)
    balance = loan[0]["balance_wan"] if loan else 0.0
    credit = loan[0]["credit_balance_wan"] if loan else 0.0
    regs, bals = _series(session, filters, today)
    t_reg, t_bal = TARGET_REGISTERED * scale, TARGET_BALANCE_WAN * scale
    return {
        "registered_enterprises": {"current": accounts, "live_enterprises": live,
                                   "share_of_live": F._share(accounts, live), "target": round(t_reg),
                                   "progress": F._share(accounts, t_reg),
                                   "trend": _trend(regs, t_reg)},
        "loan_balance_wan": {"current": balance, "target": t_bal, "progress": F._share(balance, t_bal),
                             "trend": _trend(bals, t_bal)},
        "credit_loan_share": {"current": F._share(credit, balance), "credit_balance_wan": credit,
                              "target": TARGET_CREDIT_SHARE,
                              "met": bool(balance) and credit / balance >= TARGET_CREDIT_SHARE},
    }


def overview(session: Session, today: dt.date | None = None) -> dict:
    today = today or dt.date.today()
    p = F.Period(None, today)
    head = {name: (rows[0] if rows else {}) for name, rows in
            ((n, F.FIGURES[n](session, p, "", F.Filters())) for n in F.FIGURES if n != "collection")}
    coll = F.collection(session, p, "")
    head["collection"] = coll[0] if coll else {}
    cities = {}
    names = jiangsu_regions()
    total_live = sum(r["live_enterprises"] for r in F.registrations(session, p, ""))
    for row in F.registrations(session, p, "city"):
        code = row["key"]
        if not code or code not in names or not row["live_enterprises"]:
            continue
        # A city's target is its share of the province's live enterprises times the provincial target.
        scale = row["live_enterprises"] / total_live if total_live else 0.0
        cities[code] = {"name": names[code], "target_scale": round(scale, 6),
                        **progress(session, F.Filters(region=code[:4]), today, scale)}
    return {"as_of": today.isoformat(), "notice_date": NOTICE_DATE.isoformat(),
            "target_date": TARGET_DATE.isoformat(), "headline": head,
            "targets": progress(session, F.Filters(), today), "cities": cities}
