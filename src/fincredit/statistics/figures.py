"""Set-based statistics figures (M10): every number is an SQL aggregate over stored facts, never a counter
that could drift. The registrations and loans figures are read from the statistics aggregate
(``statistics/aggregate.py``: monthly sums kept in the same transaction as the facts, recomputable from
them); ``registrations_from_facts`` and ``loans_from_facts`` compute the same figures from the facts
directly — the reference the tests compare the aggregate with, and the answer for the filters the aggregate
does not serve (a district, an industry division or class).

A period is ``[start, end]`` in calendar dates (UTC day bounds). Flows (accounts created, loans granted,
authorizations granted …) count events inside the period; stocks (cumulative accounts, balances) are
taken at the end of the period. Amounts are in 万元.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.collection.models import Batch
from fincredit.disclosure.models import Disclosure
from fincredit.financing.models import Loan, LoanEvent
from fincredit.objections.models import Objection
from fincredit.registry.models import Account, Enterprise
from fincredit.registry.service import ACTIVE_STATUSES
from fincredit.statistics import aggregate

# Dimensions each figure can be broken down by ("" = the total only).
FIGURE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "registrations": ("city", "industry", "size_class"),
    "authorizations": ("city", "industry", "size_class", "institution"),
    "disclosures": ("city", "industry", "size_class"),
    "loans": ("city", "industry", "size_class", "institution", "product"),
    "collection": ("provider", "category"),
    "objections": ("city", "industry", "size_class", "category"),
    "timeliness": ("provider", "category"),
}


@dataclass(frozen=True)
class Period:
    start: dt.date | None  # None: since the beginning
    end: dt.date

    @property
    def lo(self) -> dt.datetime | None:
        return dt.datetime.combine(self.start, dt.time(), dt.UTC) if self.start else None

    @property
    def hi(self) -> dt.datetime:  # exclusive
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), dt.UTC)


@dataclass(frozen=True)
class Filters:
    region: str | None = None  # a region code prefix (city "3201", district "320102", province "32")
    industry: str | None = None  # an industry code prefix ("C", "C13")


def _in(column, period: Period):  # type: ignore[no-untyped-def]
    cond = column < period.hi
    return and_(column >= period.lo, cond) if period.lo is not None else cond


def _in_dates(column, period: Period):  # type: ignore[no-untyped-def]
    cond = column <= period.end
    return and_(column >= period.start, cond) if period.start is not None else cond


def _enterprise_key(by: str):  # type: ignore[no-untyped-def]
    # An empty code counts as unknown (None), like a missing one.
    if by == "city":
        return func.substr(func.nullif(Enterprise.region_code, ""), 1, 4, type_=String) + "00"
    if by == "industry":
        return func.nullif(func.substr(Enterprise.industry_code, 1, 1, type_=String), "")
    if by == "size_class":
        return func.nullif(Enterprise.size_class, "")
    return literal("total", type_=String)


ENTERPRISE_DIMENSIONS = ("city", "industry", "size_class")


def _join_enterprise(stmt, on, by: str, filters: Filters):  # type: ignore[no-untyped-def]
    """Join the registration base only when the breakdown or a filter reads it: a total, or a breakdown by
    institution or product, is aggregated from the facts alone (no pass over the 2 M-row base)."""
    if by in ENTERPRISE_DIMENSIONS or filters.region or filters.industry:
        return stmt.join(Enterprise, on, isouter=True)
    return stmt


def _filter(stmt, filters: Filters):  # type: ignore[no-untyped-def]
    if filters.region:
        stmt = stmt.where(Enterprise.region_code.startswith(filters.region))
    if filters.industry:
        stmt = stmt.where(Enterprise.industry_code.startswith(filters.industry))
    return stmt


def _share(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


# Settings of the statistics transaction on PostgreSQL. These are a few large grouped scans: compiling them
# with JIT costs 0.1–0.6 s a query (more than it saves), and the default 4 MB of work memory spills the
# enterprise hash and the month sorts to disk. SET LOCAL ends with the transaction.
PG_SETTINGS = (("jit", "off"), ("work_mem", "64MB"))


def tune(session: Session) -> None:
    """Apply ``PG_SETTINGS`` to the current transaction (once; a no-op on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()
    transaction = connection.get_transaction()
    if session.info.get("statistics_tuned") is transaction:
        return
    for name, value in PG_SETTINGS:
        connection.exec_driver_sql(f"SET LOCAL {name} = '{value}'")
    session.info["statistics_tuned"] = transaction


def execute(session: Session, stmt):  # type: ignore[no-untyped-def]
    tune(session)
    return session.execute(stmt)


@contextmanager
def merge_join(session: Session) -> Iterator[None]:
    """For the full join of the base with the accounts: PostgreSQL costs a merge of the two covering index
    scans (``statistics/models.py``) above hashing the 2 M-row base, yet the merge takes 40 % less time
    (EXPLAIN ANALYZE at province scale); hash joins are off for that one statement."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        tune(session)
        session.connection().exec_driver_sql("SET LOCAL enable_hashjoin = off")
    try:
        yield
    finally:
        if postgres:
            session.connection().exec_driver_sql("SET LOCAL enable_hashjoin TO DEFAULT")


def _rows(session: Session, stmt) -> dict[Any, Any]:  # type: ignore[no-untyped-def]
    return {(str(r.key) if r.key is not None else None): r for r in execute(session, stmt)}


def _registrations_raw(session: Session, period: Period, by: str, filters: Filters) -> dict[Any, dict]:
    live = Enterprise.status.in_(ACTIVE_STATUSES)
    if by not in ENTERPRISE_DIMENSIONS and not (filters.region or filters.industry):
        # The total: each enterprise and each account is one row of the full join (accounts.uscc is
        # unique), so the base and the accounts are counted apart, each in one pass without the join.
        tune(session)
        n_live = session.scalar(select(func.count()).select_from(Enterprise).where(live)) or 0
        acc = session.execute(select(func.sum(case((Account.created_at < period.hi, 1), else_=0)).label("cum"),
                                     func.sum(case((_in(Account.created_at, period), 1), else_=0)).label("new"))
                              ).one()
        return {"total": {"live": int(n_live), "cumulative": int(acc.cum or 0), "created": int(acc.new or 0)}}
    key = _enterprise_key(by).label("key")
    stmt = _filter(select(key, func.sum(case((live, 1), else_=0)).label("live"),
                          func.sum(case((Account.created_at < period.hi, 1), else_=0)).label("cumulative"),
                          func.sum(case((_in(Account.created_at, period), 1), else_=0)).label("created"))
                   .select_from(Enterprise).join(Account, Account.uscc == Enterprise.uscc, full=True)
                   .group_by(key), filters)
    with merge_join(session):
        rows = _rows(session, stmt)
    return {k: {"live": int(r.live or 0), "cumulative": int(r.cumulative or 0), "created": int(r.created or 0)}
            for k, r in rows.items()}


def _registrations_out(raw: dict[Any, dict]) -> list[dict]:
    out = []
    for k, r in sorted(raw.items(), key=lambda kv: kv[0] or ""):
        cum, base = r["cumulative"], r["live"]
        if not (cum or base or r["created"]):
            continue
        out.append({"key": k, "accounts_created": r["created"], "accounts_cumulative": cum,
                    "live_enterprises": base, "registered_share": _share(cum, base)})
    return out


def _collapse(raw: dict[Any, dict]) -> dict[Any, dict]:
    """The groups of a breakdown summed into the total (the total query's answer, without running it)."""
    total: dict[str, Any] = {}
    for r in raw.values():
        for name, v in r.items():
            total[name] = total.get(name, 0) + v
    return {"total": total} if raw else {}


def registrations_from_facts(session: Session, period: Period, by: str = "", filters: Filters = Filters()
                             ) -> list[dict]:
    """Accounts created in the period, cumulative accounts at its end, and their share of live enterprises.
    One pass over the base fully joined with the accounts (an account whose enterprise is not in the base
    still counts, under an unknown key)."""
    return _registrations_out(_registrations_raw(session, period, by, filters))


def registrations(session: Session, period: Period, by: str = "", filters: Filters = Filters()) -> list[dict]:
    """``registrations_from_facts``, read from the aggregate when it serves the breakdown and filters."""
    tune(session)
    raw = aggregate.registrations_raw(session, period.start, period.end, by, filters.region, filters.industry)
    return _registrations_out(raw if raw is not None else _registrations_raw(session, period, by, filters))


def authorizations(session: Session, period: Period, by: str = "", filters: Filters = Filters()) -> list[dict]:
    """Authorizations granted and revoked in the period, and uses (disclosures, verifications) made under them."""
    key = (Authorization.institution_id if by == "institution" else _enterprise_key(by)).label("key")
    base = (select(key, func.sum(case((_in(Authorization.created_at, period), 1), else_=0)).label("granted"),
                   func.sum(case((and_(Authorization.revoked_at.is_not(None), _in(Authorization.revoked_at, period)),
                                  1), else_=0)).label("revoked"))
            .select_from(Authorization)
            .where(or_(_in(Authorization.created_at, period),
                       and_(Authorization.revoked_at.is_not(None), _in(Authorization.revoked_at, period))))
            .group_by(key))
    uses = (select(key, func.count(AuthorizationUse.id).label("used"),
                   func.count(func.distinct(AuthorizationUse.authorization_id)).label("used_authorizations"))
            .select_from(AuthorizationUse).where(_in(AuthorizationUse.used_at, period)).group_by(key))
    if by or filters.region or filters.industry:  # the total needs no authorization (nor enterprise) row
        uses = uses.join(Authorization, Authorization.id == AuthorizationUse.authorization_id)
    on = Enterprise.uscc == Authorization.enterprise_uscc
    b = _rows(session, _filter(_join_enterprise(base, on, by, filters), filters))
    u = _rows(session, _filter(_join_enterprise(uses, on, by, filters), filters))
    out = []
    for k in sorted(set(b) | set(u), key=lambda x: x or ""):
        granted, revoked = (int(b[k].granted or 0), int(b[k].revoked or 0)) if k in b else (0, 0)
        if not granted and not revoked and k not in u:
            continue
        out.append({"key": k, "granted": granted, "revoked": revoked, "uses": int(u[k].used) if k in u else 0,
                    "authorizations_used": int(u[k].used_authorizations) if k in u else 0})
    return out


def disclosures(session: Session, period: Period, by: str = "", filters: Filters = Filters()) -> list[dict]:
    """Disclosures (queries answered) in the period, by kind."""
    key = _enterprise_key(by).label("key")
    stmt = (select(key, func.count(Disclosure.id).label("n"),
                   func.sum(case((Disclosure.kind == "verification", 1), else_=0)).label("verifications"),
                   func.count(func.distinct(Disclosure.subject_uscc)).label("subjects"))
            .select_from(Disclosure).where(_in(Disclosure.created_at, period)).group_by(key))
    stmt = _filter(_join_enterprise(stmt, Enterprise.uscc == Disclosure.subject_uscc, by, filters), filters)
    return [{"key": k, "disclosures": int(r.n), "verifications": int(r.verifications or 0),
             "enterprises_queried": int(r.subjects)} for k, r in sorted(_rows(session, stmt).items(),
                                                                      key=lambda kv: kv[0] or "")]


def _loan_key(by: str):  # type: ignore[no-untyped-def]
    if by == "institution":
        return Loan.institution_id
    if by == "product":
        return Loan.product_id
    return _enterprise_key(by)


def _loans_raw(session: Session, period: Period, by: str, filters: Filters) -> dict[Any, dict]:
    at = period.end
    ev = (select(LoanEvent.loan_id,
                 func.coalesce(func.sum(case((LoanEvent.kind == "repaid", LoanEvent.amount_wan), else_=0)), 0)
                 .label("repaid"),
                 func.max(case((LoanEvent.kind == "settled", 1), else_=0)).label("settled"),
                 func.max(case((LoanEvent.kind == "overdue", 1), else_=0)).label("overdue"),
                 func.max(case((LoanEvent.kind == "defaulted", 1), else_=0)).label("defaulted"))
          .where(LoanEvent.on_date <= at).group_by(LoanEvent.loan_id).subquery())
    balance = case((func.coalesce(ev.c.settled, 0) == 1, 0), else_=Loan.amount_wan - func.coalesce(ev.c.repaid, 0))
    in_period = _in_dates(Loan.granted_on, period)
    key = _loan_key(by).label("key")
    stmt = (select(key,
                   func.sum(case((in_period, 1), else_=0)).label("granted"),
                   func.sum(case((in_period, Loan.amount_wan), else_=0)).label("amount"),
                   func.sum(case((and_(in_period, Loan.first_loan), 1), else_=0)).label("first"),
                   func.sum(case((and_(in_period, Loan.credit_loan), 1), else_=0)).label("credit"),
                   func.count(Loan.id).label("cumulative"),
                   func.sum(balance).label("balance"),
                   func.sum(case((Loan.credit_loan, balance), else_=0)).label("credit_balance"),
                   func.sum(cast(func.coalesce(ev.c.overdue, 0), Integer)).label("overdue"),
                   func.sum(cast(func.coalesce(ev.c.defaulted, 0), Integer)).label("defaulted"))
            .select_from(Loan).join(ev, ev.c.loan_id == Loan.id, isouter=True)
            .where(Loan.granted_on <= at).group_by(key))
    stmt = _join_enterprise(stmt, Enterprise.uscc == Loan.uscc, by, filters)
    names = ("granted", "amount", "first", "credit", "cumulative", "balance", "credit_balance", "overdue",
             "defaulted")
    return {k: {n: getattr(r, n) or 0 for n in names} for k, r in _rows(session, _filter(stmt, filters)).items()}


def _loans_out(raw: dict[Any, dict]) -> list[dict]:
    out = []
    for k, r in sorted(raw.items(), key=lambda kv: kv[0] or ""):
        bal, cbal, cum = float(r["balance"]), float(r["credit_balance"]), int(r["cumulative"])
        out.append({"key": k, "loans_granted": int(r["granted"]), "amount_wan": round(float(r["amount"]), 4),
                    "first_loans": int(r["first"]), "credit_loans": int(r["credit"]),
                    "loans_cumulative": cum, "balance_wan": round(bal, 4), "credit_balance_wan": round(cbal, 4),
                    "credit_balance_share": _share(cbal, bal), "overdue_rate": _share(int(r["overdue"]), cum),
                    "default_rate": _share(int(r["defaulted"]), cum)})
    return out


def loans_from_facts(session: Session, period: Period, by: str = "", filters: Filters = Filters()) -> list[dict]:
    """Loans granted in the period (count, amount, first loans); balance, credit-loan balance and
    overdue/default rates over loans outstanding-or-granted up to the period's end (events up to that date)."""
    return _loans_out(_loans_raw(session, period, by, filters))


def _loans_any(session: Session, period: Period, by: str, filters: Filters) -> dict[Any, dict]:
    tune(session)
    raw = aggregate.loans_raw(session, period.start, period.end, by, filters.region, filters.industry)
    return raw if raw is not None else _loans_raw(session, period, by, filters)


def loans(session: Session, period: Period, by: str = "", filters: Filters = Filters()) -> list[dict]:
    """``loans_from_facts``, read from the aggregate when it serves the breakdown and filters."""
    return _loans_out(_loans_any(session, period, by, filters))


def loans_with_total(session: Session, period: Period, by: str,
                     filters: Filters = Filters()) -> tuple[list[dict], list[dict]]:
    """``loans`` by ``by`` and in total, from the one grouped query."""
    raw = _loans_any(session, period, by, filters)
    return _loans_out(raw), _loans_out(_collapse(raw))


def collection(session: Session, period: Period, by: str = "provider", filters: Filters = Filters()) -> list[dict]:
    """Batches received in the period per provider and category, with accepted/rejected rows
    (the accuracy figures of ``collection.quality``, restricted to the period)."""
    cols = {"provider": Batch.provider_code, "category": Batch.category_code}
    key = cols.get(by, literal("total", type_=String)).label("key")
    stmt = (select(key, func.count(Batch.id).label("batches"),
                   func.sum(case((Batch.status == "rejected", 1), else_=0)).label("rejected_batches"),
                   func.sum(Batch.rows_total).label("rows"), func.sum(Batch.accepted).label("accepted"),
                   func.sum(Batch.rejected).label("rejected"))
            .where(_in(Batch.received_at, period)).group_by(key))
    return [{"key": k, "batches": int(r.batches), "rejected_batches": int(r.rejected_batches or 0),
             "rows_total": int(r.rows or 0), "accepted": int(r.accepted or 0), "rejected": int(r.rejected or 0),
             "rejection_rate": _share(int(r.rejected or 0), int(r.rows or 0))}
            for k, r in sorted(_rows(session, stmt).items(), key=lambda kv: kv[0] or "")]


def objections(session: Session, period: Period, by: str = "", filters: Filters = Filters()) -> list[dict]:
    """Objections filed in the period; of those, forwarded, forwarded within the deadline of 2 working
    days (``forwarded_at <= forward_deadline``), resolved and corrected (fully or partly)."""
    key = (Objection.category_code if by == "category" else _enterprise_key(by)).label("key")
    on_time = and_(Objection.forwarded_at.is_not(None), Objection.forwarded_at <= Objection.forward_deadline)
    stmt = (select(key, func.count(Objection.id).label("received"),
                   func.sum(case((Objection.forwarded_at.is_not(None), 1), else_=0)).label("forwarded"),
                   func.sum(case((on_time, 1), else_=0)).label("on_time"),
                   func.sum(case((Objection.resolved_at.is_not(None), 1), else_=0)).label("resolved"),
                   func.sum(case((Objection.outcome.in_(("corrected", "partly_corrected")), 1), else_=0))
                   .label("corrected"))
            .select_from(Objection).where(_in(Objection.filed_at, period)).group_by(key))
    stmt = _filter(_join_enterprise(stmt, Enterprise.uscc == Objection.enterprise_uscc, by, filters), filters)
    out = []
    for k, r in sorted(_rows(session, stmt).items(), key=lambda kv: kv[0] or ""):
        received = int(r.received)
        out.append({"key": k, "received": received, "forwarded": int(r.forwarded or 0),
                    "forwarded_within_deadline": int(r.on_time or 0),
                    "forwarded_within_deadline_share": _share(int(r.on_time or 0), received),
                    "resolved": int(r.resolved or 0), "corrected": int(r.corrected or 0)})
    return out


def timeliness(session: Session, period: Period, by: str = "provider", filters: Filters = Filters()) -> list[dict]:
    """Timeliness (及时性) at the period's end of every (provider, category) a provider is responsible for or
    delivered: on time when its newest accepted batch (completed, or received, before the period's end) is
    at most the category's update cycle old; late when it is older, or when nothing arrived although the
    catalog's due date has passed; not yet due otherwise."""
    from fincredit.catalog.service import get_catalog
    from fincredit.collection.models import Provider

    catalog = get_catalog(session)
    done = func.coalesce(Batch.completed_at, Batch.received_at)
    newest: dict[tuple[str, str], Any] = {
        (r.provider_code, r.category_code): r.newest for r in session.execute(
            select(Batch.provider_code, Batch.category_code, func.max(done).label("newest"))
            .where(Batch.status != "rejected", done < period.hi).group_by(Batch.provider_code, Batch.category_code))}
    pairs = set(newest)
    for prov in session.execute(select(Provider.code, Provider.categories)):
        pairs.update((prov.code, c) for c in prov.categories or [])
    groups: dict[str, dict[str, int]] = {}
    for prov, code in pairs:
        cat = catalog.categories.get(code)
        when = newest.get((prov, code))
        if isinstance(when, str):  # SQLite aggregates return text
            when = dt.datetime.fromisoformat(when)
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
            cycle = cat.update_cycle_days if cat else None
            state = "on_time" if cycle is None or (period.hi - when).total_seconds() <= cycle * 86400 else "late"
        else:
            due = cat.due if cat else None
            state = "not_due" if cat is None or (due is not None and due > period.end) else "late"
        k = prov if by == "provider" else code if by == "category" else "total"
        g = groups.setdefault(k, {"categories": 0, "on_time": 0, "late": 0, "not_due": 0})
        g["categories"] += 1
        g[state] += 1
    return [{"key": k, "categories": g["categories"], "categories_on_time": g["on_time"],
             "categories_late": g["late"], "categories_not_yet_due": g["not_due"],
             "timeliness_share": _share(g["on_time"], g["on_time"] + g["late"])}
            for k, g in sorted(groups.items())]


FIGURES = {"registrations": registrations, "authorizations": authorizations, "disclosures": disclosures,
           "loans": loans, "collection": collection, "objections": objections,
           "timeliness": timeliness}
# The reference: every figure computed from the facts (the tests compare the aggregate's answers with it).
FACT_FIGURES = {**FIGURES, "registrations": registrations_from_facts, "loans": loans_from_facts}
