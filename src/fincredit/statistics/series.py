"""Month-end series of the target figures (cumulative registrations, loan balance, credit-loan balance),
per city or for the province, in a handful of grouped queries instead of one query per month and city.

Each series is the running sum of monthly deltas, so its value at a month's end equals what
``figures.registrations`` / ``figures.loans`` answer for ``Period(None, month_end)``:

* registrations: +1 in the month the account was created;
* balance: +amount in the month granted; −repayment in the month repaid (only repayments up to the
  loan's settlement count); at settlement the remaining balance is written off, i.e. −amount plus every
  repayment counted so far. An event dated before its loan's grant takes effect in the grant's month,
  as the figure only sees a loan from its grant date on.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Numeric, String, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from fincredit.financing.models import Loan, LoanEvent
from fincredit.registry.models import Account, Enterprise
from fincredit.registry.service import ACTIVE_STATUSES
from fincredit.statistics import aggregate
from fincredit.statistics.figures import (
    Filters,
    Period,
    _collapse,
    _enterprise_key,
    _filter,
    _join_enterprise,
    _registrations_out,
    execute,
    merge_join,
    tune,
)


def _month_of_datetime(session: Session, column):  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7, type_=String)  # SQLite keeps naive UTC text


def _month_of_date(session: Session, column):  # type: ignore[no-untyped-def]
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(column, 1, 7, type_=String)


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    """The last day of every month from ``first``'s to ``last``'s; the final one is ``last`` itself."""
    out, m = [], first.replace(day=1)
    while m <= last:
        nxt = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        out.append(min(nxt - dt.timedelta(days=1), last))
        m = nxt
    return out


def registrations_by_month(session: Session, end: dt.date, by: str = "", filters: Filters = Filters()
                           ) -> dict[str | None, dict[str, int]]:
    """key → {YYYY-MM: accounts created that month}, accounts created up to ``end`` (inclusive); from the
    aggregate when it serves the breakdown and filters."""
    if aggregate.serves(by, filters.region, filters.industry):
        tune(session)
        return aggregate.registration_months(session, end, by, filters.region, filters.industry)
    return registrations_by_month_from_facts(session, end, by, filters)


def registrations_by_month_from_facts(session: Session, end: dt.date, by: str = "", filters: Filters = Filters()
                                      ) -> dict[str | None, dict[str, int]]:
    """``registrations_by_month`` from the facts."""
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    key = _enterprise_key(by).label("key")
    month = _month_of_datetime(session, Account.created_at).label("month")
    stmt = (select(key, month, func.count(Account.id).label("n")).select_from(Account)
            .where(Account.created_at < hi).group_by(key, month))
    stmt = _filter(_join_enterprise(stmt, Enterprise.uscc == Account.uscc, by, filters), filters)
    out: dict[str | None, dict[str, int]] = defaultdict(dict)
    for row in execute(session, stmt):
        out[None if row.key is None else str(row.key)][row.month] = int(row.n)
    return out


def registrations_grouped(session: Session, end: dt.date, by: str = "", filters: Filters = Filters()
                          ) -> dict[str | None, dict]:
    """``registrations_grouped_from_facts``, from the aggregate when it serves the breakdown and filters."""
    tune(session)
    grouped = aggregate.registrations_grouped(session, end, by, filters.region, filters.industry)
    return grouped if grouped is not None else registrations_grouped_from_facts(session, end, by, filters)


def registrations_grouped_from_facts(session: Session, end: dt.date, by: str = "", filters: Filters = Filters()
                                     ) -> dict[str | None, dict]:
    """key → {"live": live enterprises, "months": {YYYY-MM: accounts created that month}} for accounts created
    up to ``end`` (inclusive), in one pass over the base fully joined with the accounts: both the month-end
    series and the ``registrations`` figure of any period ending at ``end`` (see ``registration_rows``)."""
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    key = _enterprise_key(by).label("key")
    counted = Account.created_at < hi
    month = case((counted, _month_of_datetime(session, Account.created_at)), else_=None).label("month")
    live = func.sum(case((Enterprise.status.in_(ACTIVE_STATUSES), 1), else_=0)).label("live")
    stmt = _filter(select(key, month, live, func.sum(case((counted, 1), else_=0)).label("n"))
                   .select_from(Enterprise).join(Account, Account.uscc == Enterprise.uscc, full=True)
                   .group_by(key, month), filters)
    out: dict[str | None, dict] = {}
    with merge_join(session):
        rows = execute(session, stmt).all()
    for row in rows:
        group = out.setdefault(None if row.key is None else str(row.key), {"live": 0, "months": {}})
        group["live"] += int(row.live or 0)
        if row.month is not None and row.n:
            group["months"][row.month] = int(row.n)
    return out


def registration_rows(grouped: dict[str | None, dict], period: Period, total: bool = False) -> list[dict]:
    """The ``registrations`` figure of ``period`` from ``registrations_grouped`` up to some end: the period
    starts at the beginning or on the first day of a month, and ends at that end or on the last day of an
    earlier month. ``total``: the groups summed up."""
    assert period.start is None or period.start.day == 1
    first = period.start.strftime("%Y-%m") if period.start else ""
    last = period.end.strftime("%Y-%m")
    raw = {}
    for k, g in grouped.items():
        months = {m: n for m, n in g["months"].items() if m <= last}
        raw[k] = {"live": g["live"], "cumulative": sum(months.values()),
                  "created": sum(n for m, n in months.items() if m >= first)}
    return _registrations_out(_collapse(raw) if total else raw)


def balances_by_month(session: Session, end: dt.date, by: str = "", filters: Filters = Filters()
                      ) -> dict[str | None, dict[str, tuple[Decimal, Decimal]]]:
    """key → {YYYY-MM: (balance delta, credit-loan balance delta)} for loans and events up to ``end``; from
    the aggregate when it serves the breakdown and filters."""
    if aggregate.serves(by, filters.region, filters.industry):
        tune(session)
        months = aggregate.loan_months(session, end, by, filters.region, filters.industry)
        return {k: {m: (Decimal(v["balance"] or 0), Decimal(v["credit_balance"] or 0)) for m, v in ms.items()}
                for k, ms in months.items()}
    return balances_by_month_from_facts(session, end, by, filters)


def balances_by_month_from_facts(session: Session, end: dt.date, by: str = "", filters: Filters = Filters()
                                 ) -> dict[str | None, dict[str, tuple[Decimal, Decimal]]]:
    """``balances_by_month`` from the facts."""
    settled = (select(LoanEvent.loan_id.label("loan_id"), func.min(LoanEvent.on_date).label("on"))
               .where(LoanEvent.kind == "settled", LoanEvent.on_date <= end).group_by(LoanEvent.loan_id)
               .subquery())
    grants = select(Loan.id.label("loan_id"), Loan.granted_on.label("on"), Loan.amount_wan.label("delta"))
    counted = and_(LoanEvent.kind == "repaid", LoanEvent.amount_wan.is_not(None), LoanEvent.on_date <= end,
                   or_(settled.c.on.is_(None), LoanEvent.on_date <= settled.c.on))
    repaid = (select(LoanEvent.loan_id.label("loan_id"), LoanEvent.on_date.label("on"),
                     (-LoanEvent.amount_wan).label("delta"))
              .select_from(LoanEvent).join(settled, settled.c.loan_id == LoanEvent.loan_id, isouter=True)
              .where(counted))
    written_back = (select(LoanEvent.loan_id.label("loan_id"), settled.c.on.label("on"),
                           LoanEvent.amount_wan.label("delta"))
                    .select_from(LoanEvent).join(settled, settled.c.loan_id == LoanEvent.loan_id)
                    .where(counted))
    write_off = (select(Loan.id.label("loan_id"), settled.c.on.label("on"), (-Loan.amount_wan).label("delta"))
                 .select_from(Loan).join(settled, settled.c.loan_id == Loan.id))
    deltas = union_all(grants, repaid, written_back, write_off).subquery()
    effective = case((deltas.c.on > Loan.granted_on, deltas.c.on), else_=Loan.granted_on)
    month = _month_of_date(session, effective).label("month")
    money = Numeric(18, 4)
    key = (Loan.institution_id if by == "institution" else _enterprise_key(by)).label("key")
    stmt = (select(key, month, func.sum(deltas.c.delta).label("delta"),
                   func.sum(case((Loan.credit_loan, deltas.c.delta), else_=literal(0, money))).label("credit"))
            .select_from(deltas).join(Loan, Loan.id == deltas.c.loan_id)
            .where(Loan.granted_on <= end).group_by(key, month))
    stmt = _filter(_join_enterprise(stmt, Enterprise.uscc == Loan.uscc, by, filters), filters)
    out: dict[str | None, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
    for row in execute(session, stmt):
        out[None if row.key is None else str(row.key)][row.month] = (Decimal(row.delta or 0), Decimal(row.credit or 0))
    return out


def cumulative(monthly: dict[str, float], ends: list[dt.date]) -> list[tuple[dt.date, float]]:
    """Running sums of monthly values at each month end (months before the first end are carried in)."""
    out, total, months = [], 0.0, sorted(monthly)
    i = 0
    for end in ends:
        label = end.strftime("%Y-%m")
        while i < len(months) and months[i] <= label:
            total += float(monthly[months[i]])
            i += 1
        out.append((end, total))
    return out
