"""The periodic monitoring report (通报) of one month: figures gathered from the statistics figures, rendered
to a self-contained Chinese HTML document (inline SVG charts, no scripts, no external assets) from a
Jinja2 template. The document carries no generation time, so the same data always gives the same bytes.

Sections: headline figures against the previous month; progress toward the notice's targets for the
province and per city; cities ranked by progress; providers ranked by collection quality (accepted rows)
and timeliness; institutions' service to SMEs (loans by institution and by size class); notable changes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.errors import Unprocessable
from fincredit.monitoring.regions import jiangsu_regions
from fincredit.statistics import aggregate, service
from fincredit.statistics import figures as F
from fincredit.statistics import series as S
from fincredit.web import charts

TEMPLATES = Path(__file__).parent / "templates"
NOTABLE = 0.10  # a relative change of a flow at least this large is "notable"
NOTABLE_POINTS = 0.01  # a ratio moving by at least one percentage point is "notable"

# (figure, column, label, kind) of the headline table; kind: int | wan | share. The labels are the
# CSV headers of the API, so the report and the downloads name each figure the same way.
HEADLINE: list[tuple[str, str, str]] = [
    ("registrations", "accounts_created", "int"), ("registrations", "accounts_cumulative", "int"),
    ("registrations", "registered_share", "share"),
    ("authorizations", "granted", "int"), ("authorizations", "revoked", "int"), ("authorizations", "uses", "int"),
    ("disclosures", "disclosures", "int"), ("disclosures", "enterprises_queried", "int"),
    ("loans", "loans_granted", "int"), ("loans", "amount_wan", "wan"), ("loans", "first_loans", "int"),
    ("loans", "credit_loans", "int"), ("loans", "balance_wan", "wan"), ("loans", "credit_balance_wan", "wan"),
    ("loans", "credit_balance_share", "share"), ("loans", "overdue_rate", "share"), ("loans", "default_rate", "share"),
    ("objections", "received", "int"), ("objections", "forwarded_within_deadline_share", "share"),
    ("objections", "resolved", "int"), ("objections", "corrected", "int"),
    ("collection", "batches", "int"), ("collection", "rows_total", "int"), ("collection", "rejection_rate", "share"),
    ("timeliness", "timeliness_share", "share"),
]
SECTION_NAMES = {"registrations": "注册", "authorizations": "授权", "disclosures": "查询", "loans": "贷款",
                 "objections": "异议", "collection": "归集", "timeliness": "归集"}
# Flows compared relatively; stocks and ratios are compared in points or absolute terms.
FLOWS = {"accounts_created", "granted", "uses", "disclosures", "loans_granted", "amount_wan", "first_loans",
         "credit_loans", "received", "batches", "rows_total"}


def fmt(value: Any, kind: str) -> str:
    """How the report prints a number: counts with thousands separators, 万元 with two decimals,
    shares as percentages with two decimals."""
    if value is None:
        return "—"
    if kind == "share":
        return f"{float(value) * 100:.2f}%"
    if kind == "wan":
        return f"{float(value):,.2f}"
    return f"{int(value):,}"


def month_period(period: str, today: dt.date | None = None) -> F.Period:
    """A whole month ``YYYY-MM`` (up to today when it is the current month); future or malformed → error."""
    if not period or len(period) != 7:
        raise Unprocessable("统计期间格式错误：period 应为 YYYY-MM", code="bad_period")
    return service.parse_period(period, None, None, today)


def previous_month(p: F.Period) -> F.Period:
    assert p.start is not None
    last = p.start - dt.timedelta(days=1)
    return F.Period(last.replace(day=1), last)


def _rows(session: Session, figure: str, p: F.Period) -> list[dict]:
    return F.FIGURES[figure](session, p, "", F.Filters())


def _change(column: str, kind: str, cur: Any, prev: Any) -> dict:
    if cur is None or prev is None:
        return {"text": "—", "notable": False, "delta": None}
    delta = float(cur) - float(prev)
    if kind == "share":
        return {"text": f"{delta * 100:+.2f} 个百分点", "notable": abs(delta) >= NOTABLE_POINTS, "delta": delta}
    rel = delta / float(prev) if prev else None
    text = (f"{'+' if delta >= 0 else '−'}{fmt(abs(delta), kind)}"
            + (f"（{rel * 100:+.1f}%）" if rel is not None else ""))
    notable = column in FLOWS and (rel is None and delta != 0 or rel is not None and abs(rel) >= NOTABLE)
    return {"text": text, "notable": notable, "delta": delta, "relative": rel}


def _names(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    from fincredit.collection.models import Provider
    from fincredit.institutions.models import Institution

    providers = {r.code: r.name for r in session.execute(select(Provider.code, Provider.name))}
    institutions = {str(r.id): r.name for r in session.execute(select(Institution.id, Institution.name))}
    return providers, institutions


def _city_rows(reg_rows: list[dict], loan_rows: list[dict], cities: dict[str, dict]) -> list[dict]:
    reg = {r["key"]: r for r in reg_rows}
    loans = {r["key"]: r for r in loan_rows}
    rows = []
    for code, prog in cities.items():
        r, ln = reg.get(code, {}), loans.get(code, {})
        granted = ln.get("loans_granted", 0)
        rows.append({"code": code, "name": prog["name"], "accounts_created": r.get("accounts_created", 0),
                     "accounts_cumulative": r.get("accounts_cumulative", 0),
                     "registered_share": r.get("registered_share"),
                     "registered_target": prog["registered_enterprises"]["target"],
                     "registered_progress": prog["registered_enterprises"]["progress"],
                     "balance_target": prog["loan_balance_wan"]["target"],
                     "balance_progress": prog["loan_balance_wan"]["progress"],
                     "loans_granted": granted, "amount_wan": ln.get("amount_wan", 0.0),
                     "balance_wan": ln.get("balance_wan", 0.0), "credit_balance_share": ln.get("credit_balance_share"),
                     "first_loan_share": F._share(ln.get("first_loans", 0), granted),
                     "credit_loan_share": F._share(ln.get("credit_loans", 0), granted),
                     "reaches": prog["registered_enterprises"]["trend"].get("reaches_target_in")})
    rows.sort(key=lambda r: (-(r["registered_progress"] or 0), -(r["balance_progress"] or 0), r["code"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def _provider_rows(session: Session, p: F.Period, names: dict[str, str]) -> list[dict]:
    coll = {r["key"]: r for r in F.collection(session, p, "provider")}
    timely = {r["key"]: r for r in F.timeliness(session, p, "provider")}
    rows = []
    for code in sorted(set(coll) | set(timely)):
        c, t = coll.get(code, {}), timely.get(code, {})
        accepted = None if c.get("rejection_rate") is None else 1 - c["rejection_rate"]
        parts = [v for v in (accepted, t.get("timeliness_share")) if v is not None]
        rows.append({"code": code, "name": names.get(code, code), "batches": c.get("batches", 0),
                     "rows_total": c.get("rows_total", 0), "acceptance_rate": accepted,
                     "categories": t.get("categories", 0), "on_time": t.get("categories_on_time", 0),
                     "late": t.get("categories_late", 0), "timeliness_share": t.get("timeliness_share"),
                     "score": round(sum(parts) / len(parts), 4) if parts else None})
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), r["code"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def _institution_rows(session: Session, p: F.Period, names: dict[str, str]) -> list[dict]:
    loans = {r["key"]: r for r in F.loans(session, p, "institution")}
    auths = {r["key"]: r for r in F.authorizations(session, p, "institution")}
    rows = []
    for key in sorted(set(loans) | set(auths), key=lambda k: k or ""):
        ln, a = loans.get(key, {}), auths.get(key, {})
        rows.append({"name": names.get(str(key), f"机构 {key}"), "granted_authorizations": a.get("granted", 0),
                     "uses": a.get("uses", 0), "loans_granted": ln.get("loans_granted", 0),
                     "amount_wan": ln.get("amount_wan", 0.0), "first_loans": ln.get("first_loans", 0),
                     "credit_loans": ln.get("credit_loans", 0), "balance_wan": ln.get("balance_wan", 0.0),
                     "credit_balance_share": ln.get("credit_balance_share"), "overdue_rate": ln.get("overdue_rate")})
    rows.sort(key=lambda r: (-r["amount_wan"], -r["loans_granted"], r["name"]))
    return rows


def _notable(headline: list[dict], cities: list[dict], prev_cities: dict[str, dict]) -> list[str]:
    out = []
    for row in headline:
        ch = row["change"]
        if not ch["notable"]:
            continue
        if row["kind"] == "share":
            verb = "上升" if ch["delta"] > 0 else "下降"
            out.append(f"{row['label']}{verb} {abs(ch['delta']) * 100:.2f} 个百分点，由 {row['previous_text']} "
                       f"变为 {row['current_text']}。")
        elif ch.get("relative") is None:
            out.append(f"{row['label']}由 0 增至 {row['current_text']}。")
        else:
            verb = "增长" if ch["delta"] > 0 else "下降"
            out.append(f"{row['label']}较上期{verb} {abs(ch['relative']) * 100:.1f}%，由 {row['previous_text']} "
                       f"变为 {row['current_text']}。")
    growth = [(r["amount_wan"] - prev_cities.get(r["code"], {}).get("amount_wan", 0.0), r) for r in cities]
    growth = [g for g in growth if g[0]]
    if growth:
        up, city = max(growth, key=lambda g: g[0])
        if up > 0:
            out.append(f"放款金额增加最多的设区市是{city['name']}，较上期增加 {fmt(up, 'wan')} 万元。")
        down, city = min(growth, key=lambda g: g[0])
        if down < 0:
            out.append(f"放款金额减少最多的设区市是{city['name']}，较上期减少 {fmt(-down, 'wan')} 万元。")
    if not out:
        out.append(f"与上期相比，各项主要指标的变化均不足 {NOTABLE * 100:.0f}%（比例类指标不足 1 个百分点）。")
    return out


def build(session: Session, period: str, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the report shows for month ``period``, as plain data."""
    today = today or dt.date.today()
    p = month_period(period, today)
    prev = previous_month(p)
    assert p.start is not None
    # Each stock is grouped once: one pass gives registrations per city and month up to the month's end
    # (this month's and the previous month's figures, the targets' stocks and the trend); loans are grouped
    # by city once per month, the headline totals being the sums of the cities' groups.
    reg_grouped = S.registrations_grouped(session, p.end, "city")
    reg_city = S.registration_rows(reg_grouped, p)
    prev_reg = S.registration_rows(reg_grouped, prev, total=True)
    loan_city, loan_total = F.loans_with_total(session, p, "city")
    prev_loan_city, prev_loan_total = F.loans_with_total(session, prev, "city")
    computed = {"registrations": (S.registration_rows(reg_grouped, p, total=True), prev_reg),
                "loans": (loan_total, prev_loan_total)}
    totals = {}
    for name in dict.fromkeys(f for f, _c, _k in HEADLINE):
        cur, old = computed.get(name) or (_rows(session, name, p), _rows(session, name, prev))
        totals[name] = (cur[0] if cur else {}, old[0] if old else {})
    from fincredit.statistics.schemas import HEADERS

    headline = []
    for figure, column, kind in HEADLINE:
        cur, old = totals[figure][0].get(column), totals[figure][1].get(column)
        if kind != "share" and cur is None:
            cur = 0
        if kind != "share" and old is None:
            old = 0
        headline.append({"figure": figure, "column": column, "section": SECTION_NAMES[figure],
                         "label": HEADERS[column], "kind": kind, "current": cur, "previous": old,
                         "current_text": fmt(cur, kind), "previous_text": fmt(old, kind),
                         "change": _change(column, kind, cur, old)})
    targets, cities_progress = service.targets_and_cities(session, p.end, reg_grouped, loan_city)
    providers, institutions = _names(session)
    cities = _city_rows(reg_city, loan_city, cities_progress)
    prev_cities = {r["key"]: r for r in prev_loan_city}
    sizes = F.loans(session, p, "size_class")
    ends = S.month_ends(max(service.NOTICE_DATE, (p.end.replace(day=1) - dt.timedelta(days=700)).replace(day=1)),
                        p.end)
    reg_trend = S.cumulative(service._sum_months({k: g["months"] for k, g in reg_grouped.items()}), ends)
    provider_rows = _provider_rows(session, p, providers)
    institution_rows = _institution_rows(session, p, institutions)
    return {
        "period": period, "period_label": f"{p.start.year}年{p.start.month}月",
        "start": p.start.isoformat(), "end": p.end.isoformat(),
        "partial": p.end < (p.start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1),
        "previous_label": f"{prev.start.year}年{prev.start.month}月" if prev.start else "",
        "notice_date": service.NOTICE_DATE, "target_date": service.TARGET_DATE,
        "headline": headline, "targets": targets, "cities": cities, "providers": provider_rows,
        "institutions": institution_rows, "sizes": sizes, "changes": _notable(headline, cities, prev_cities),
        "registration_trend": [(d.strftime("%Y-%m"), v) for d, v in reg_trend if v or reg_trend[-1][1]],
        "region_names": jiangsu_regions(),
    }


def _charts(data: dict[str, Any]) -> dict[str, str]:
    short = [(c["name"].removesuffix("市"), c) for c in sorted(data["cities"], key=lambda c: c["code"])]
    pct = lambda v: f"{v:.1f}%"  # noqa: E731
    return {
        "trend": charts.line_chart("r-trend", "累计注册企业数（月末）", data["registration_trend"], width=760,
                                   fmt=lambda v: f"{v:,.0f}"),
        "city_amount": charts.bar_chart("r-city-amount", f"{data['period_label']}各设区市放款金额（万元）",
                                        [(n, c["amount_wan"]) for n, c in short], width=760),
        "city_progress": charts.hbar_chart("r-city-progress", "各设区市注册企业目标完成进度",
                                           [(c["name"], (c["registered_progress"] or 0) * 100) for c in data["cities"]],
                                           width=760, max_value=100, fmt=pct),
        "providers": charts.hbar_chart("r-providers", "各数据提供单位综合得分（入库合格率与按期率的平均）",
                                       [(r["name"], (r["score"] or 0) * 100) for r in data["providers"]],
                                       width=760, max_value=100, fmt=pct, color=charts.RED),
    }


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = fmt
    env.filters["pct"] = lambda v, digits=2: "—" if v is None else f"{float(v) * 100:.{digits}f}%"
    return env


def render_html(data: dict[str, Any]) -> str:
    return _env().get_template("report.html").render(**data, charts=_charts(data))


def generate_html(session: Session, period: str, today: dt.date | None = None) -> str:
    with aggregate.shared_reads(session):
        return render_html(build(session, period, today))
