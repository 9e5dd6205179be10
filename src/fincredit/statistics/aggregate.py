"""The statistics aggregate: monthly sums of the loan and registration facts, kept in step with the facts.

What is stored (tables in ``statistics/models.py``), for every month:

* ``statistics_loan_months`` (city × industry section × size class of the borrower) and
  ``statistics_loan_product_months`` (institution × product): the *contributions* of every loan, each
  dated by its effective date = max(its own date, the loan's grant date):

  - the grant: granted +1, amount, first +1, credit +1 (a credit loan), balance +amount;
  - a repayment with an amount, dated up to the loan's settlement (the first ``settled`` event): −amount;
  - the settlement: the remaining balance is written off (−amount plus every repayment counted);
  - the first ``overdue`` event: overdue +1; the first ``defaulted`` event: defaulted +1;

  and the credit-loan balance is the balance of credit loans. Summing the contributions dated up to a day
  gives exactly what ``figures.loans_from_facts`` computes for a period ending that day (the loan's
  balance, 0 once settled; a loan is overdue/defaulted once such an event is dated up to that day), and
  the flows of a period are the difference of two such sums.
* ``statistics_registration_months``: accounts created per UTC month; ``statistics_enterprise_counts``:
  live enterprises of the base (no time: the base's current status).

The enterprise dimensions are the enterprise's *current* ones, as in the fact-based figures (which join the
base at the time of asking): when the base changes an enterprise's region, industry, size class or status,
its accounts' and loans' contributions move to the new groups in the same transaction (re-attribution).

Consistency: every write of these facts recomputes the contributions of the enterprises it touches, before
and after, in the same transaction, and adds the difference (ORM writes — the financing service, account
registration, anything flushing ``Loan``/``LoanEvent``/``Account``/``Enterprise`` objects — through the
session's flush hooks below — a loan or an event recomputes only that loan; the registry's bulk upsert
through ``track``, which moves only the enterprises whose dimensions changed). On PostgreSQL the writers
are serialized by one transaction-level advisory lock (see ``lock``), so two concurrent events of one loan
cannot both compute their difference from the same "before". Bulk loads that
bypass both (COPY in the benchmark) end with ``rebuild``; ``check`` compares the tables with the facts.

Reading: a figure for a period ending on day ``x`` sums the stored months up to ``x``'s month; when ``x`` is
not a month's last day, that month is corrected from the facts dated in it (the stored month minus what is
dated after ``x`` — nothing for a period ending today — or the months before plus what is dated from the 1st
to ``x``, whichever reads fewer loans or accounts). Filters by a city (or the province) and an industry section are read from the
tables; a district or an industry division or class, or a filter with an institution/product breakdown,
falls back to the facts (``None`` from the readers here).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    and_,
    bindparam,
    case,
    delete,
    event,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased, attributes

from fincredit.financing.models import Loan, LoanEvent
from fincredit.registry.models import Account, Enterprise
from fincredit.statistics.models import (
    AGG_MONEY,
    AGGREGATE_TABLES,
    EnterpriseCount,
    LoanMonth,
    LoanProductMonth,
    RegistrationMonth,
)

LIVE_STATUSES = ("存续", "在业")  # registry.service.ACTIVE_STATUSES (not imported: that module imports us)
LOAN_MEASURES = ("granted", "amount", "first", "credit", "balance", "credit_balance", "overdue", "defaulted")
ENTERPRISE_DIMS = ("region4", "section", "size_class")
PRODUCT_DIMS = ("institution_id", "product_id")
CHUNK = 5000
LOCK_CLASS = 0x5157  # pg_advisory_xact_lock(class, 0): see ``lock``

Key = tuple[Any, ...]
Groups = dict[Key, dict[str, Any]]


# -- dimensions ---------------------------------------------------------------------------------

def _dims(model: Any = Enterprise) -> list[Any]:
    """The raw dimension columns of an (outer-joined) enterprise: '' when unknown."""
    return [func.coalesce(func.substr(model.region_code, 1, 4, type_=String), "").label("region4"),
            func.coalesce(func.substr(model.industry_code, 1, 1, type_=String), "").label("section"),
            func.coalesce(model.size_class, "").label("size_class")]


def _dialect(session: Session | str) -> str:
    return session if isinstance(session, str) else session.get_bind().dialect.name


def _month_of_date(session: Session | str, column: Any) -> Any:
    if _dialect(session) == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(column, 1, 7, type_=String)


def _month_of_datetime(session: Session | str, column: Any) -> Any:
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7, type_=String)  # SQLite keeps naive UTC text


# -- contributions computed from the facts ------------------------------------------------------

def _loan_deltas(only: Callable[[Any], Any] | None) -> Any:
    """Every loan's contribution rows (loan_id, on, g, balance, overdue, defaulted); ``on`` is the fact's own
    date (the effective date is max(on, granted_on)); ``g`` is 1 on the grant's row. ``only(column)``
    restricts the loans by their id column."""
    def where(stmt: Any, column: Any) -> Any:
        return stmt.where(only(column)) if only is not None else stmt

    firsts = where(select(LoanEvent.loan_id.label("loan_id"),
                          func.min(case((LoanEvent.kind == "settled", LoanEvent.on_date))).label("settled"),
                          func.min(case((LoanEvent.kind == "overdue", LoanEvent.on_date))).label("overdue"),
                          func.min(case((LoanEvent.kind == "defaulted", LoanEvent.on_date))).label("defaulted"))
                   .where(LoanEvent.kind.in_(("settled", "overdue", "defaulted"))), LoanEvent.loan_id
                   ).group_by(LoanEvent.loan_id).cte("firsts")  # read four times: computed once
    zero, one, nothing = literal_column("0", Integer), literal_column("1", Integer), literal_column("0", AGG_MONEY)
    repaid = and_(LoanEvent.kind == "repaid", LoanEvent.amount_wan.is_not(None))
    grants = where(select(Loan.id.label("loan_id"), Loan.granted_on.label("on"), one.label("g"),
                          Loan.amount_wan.label("balance"), zero.label("overdue"), zero.label("defaulted")), Loan.id)
    repayments = where(select(LoanEvent.loan_id, LoanEvent.on_date, zero, -LoanEvent.amount_wan, zero, zero)
                       .select_from(LoanEvent).outerjoin(firsts, firsts.c.loan_id == LoanEvent.loan_id)
                       .where(repaid, or_(firsts.c.settled.is_(None), LoanEvent.on_date <= firsts.c.settled)),
                       LoanEvent.loan_id)
    written_back = where(select(LoanEvent.loan_id, firsts.c.settled, zero, LoanEvent.amount_wan, zero, zero)
                         .select_from(LoanEvent).join(firsts, firsts.c.loan_id == LoanEvent.loan_id)
                         .where(repaid, LoanEvent.on_date <= firsts.c.settled), LoanEvent.loan_id)
    write_off = where(select(Loan.id, firsts.c.settled, zero, -Loan.amount_wan, zero, zero)
                      .select_from(Loan).join(firsts, firsts.c.loan_id == Loan.id)
                      .where(firsts.c.settled.is_not(None)), Loan.id)
    overdue = select(firsts.c.loan_id, firsts.c.overdue, zero, nothing, one, zero).where(firsts.c.overdue.is_not(None))
    defaulted = select(firsts.c.loan_id, firsts.c.defaulted, zero, nothing, zero, one).where(
        firsts.c.defaulted.is_not(None))
    return union_all(grants, repayments, written_back, write_off, overdue, defaulted).subquery()


def loan_groups(session: Session, dims: str, *, only: Callable[[Any], Any] | None = None,
                lo: dt.date | None = None, hi: dt.date | None = None, extra: Iterable[Any] = (),
                where: Iterable[Any] = ()) -> Groups:
    """(month, *dimension values, *extra) → loan measures, from the facts: every contribution of the loans
    ``only`` selects, with an effective date in [lo, hi]. ``dims``: "enterprise" or "product"."""
    stmt, width = _loan_groups_stmt(_dialect(session), dims, only, lo, hi, tuple(extra), tuple(where))
    return {tuple(r[:width]): dict(zip(LOAN_MEASURES, r[width:], strict=True)) for r in session.execute(stmt)}


def _loan_groups_stmt(dialect: str, dims: str, only: Callable[[Any], Any] | None, lo: dt.date | None,
                      hi: dt.date | None, extra: tuple[Any, ...], where: tuple[Any, ...]) -> tuple[Any, int]:
    d = _loan_deltas(only)
    effective = case((d.c.on > Loan.granted_on, d.c.on), else_=Loan.granted_on)
    month = _month_of_date(dialect, effective).label("month")
    if dims == "enterprise":
        keys = _dims()
    else:
        keys = [Loan.institution_id.label("institution_id"),
                func.coalesce(Loan.product_id, 0).label("product_id")]
    keys = [month, *keys, *extra]
    grant = d.c.g == 1
    stmt = (select(*keys, func.sum(d.c.g).label("granted"),
                   func.sum(case((grant, Loan.amount_wan), else_=literal_column("0", AGG_MONEY))).label("amount"),
                   func.sum(case((and_(grant, Loan.first_loan), 1), else_=0)).label("first"),
                   func.sum(case((and_(grant, Loan.credit_loan), 1), else_=0)).label("credit"),
                   func.sum(d.c.balance).label("balance"),
                   func.sum(case((Loan.credit_loan, d.c.balance), else_=literal_column("0", AGG_MONEY))).label("credit_balance"),
                   func.sum(d.c.overdue).label("overdue"), func.sum(d.c.defaulted).label("defaulted"))
            .select_from(d).join(Loan, Loan.id == d.c.loan_id))
    if only is not None:
        stmt = stmt.where(only(Loan.id))
    if dims == "enterprise" or where:
        stmt = stmt.outerjoin(Enterprise, Enterprise.uscc == Loan.uscc)
    if lo is not None:
        stmt = stmt.where(effective >= lo)
    if hi is not None:
        stmt = stmt.where(effective <= hi)
    for clause in where:
        stmt = stmt.where(clause)
    return stmt.group_by(*keys), len(keys)


def registration_groups(session: Session, *, usccs: list[str] | None = None, lo: dt.datetime | None = None,
                        hi: dt.datetime | None = None, where: Iterable[Any] = ()) -> Groups:
    """(month, region4, section, size_class) → {"accounts"}: accounts created in [lo, hi)."""
    keys = _registration_keys(_dialect(session))
    stmt = select(*keys, func.count().label("accounts")).select_from(Account).outerjoin(
        Enterprise, Enterprise.uscc == Account.uscc)
    if usccs is not None:
        stmt = stmt.where(Account.uscc.in_(usccs))
    if lo is not None:
        stmt = stmt.where(Account.created_at >= lo)
    if hi is not None:
        stmt = stmt.where(Account.created_at < hi)
    for clause in where:
        stmt = stmt.where(clause)
    return {tuple(r[:4]): {"accounts": r[4]} for r in session.execute(stmt.group_by(*keys))}


def _registration_keys(dialect: str) -> list[Any]:
    return [_month_of_datetime(dialect, Account.created_at).label("month"), *_dims()]


def live_groups(session: Session, *, usccs: list[str] | None = None) -> Groups:
    """(region4, section, size_class) → {"live"}: live enterprises of the base."""
    keys = _dims()
    stmt = select(*keys, func.count().label("live")).where(Enterprise.status.in_(LIVE_STATUSES))
    if usccs is not None:
        stmt = stmt.where(Enterprise.uscc.in_(usccs))
    return {tuple(r[:3]): {"live": r[3]} for r in session.execute(stmt.group_by(*keys))}


# -- keeping the tables in step -----------------------------------------------------------------

TABLES: dict[str, tuple[Any, tuple[str, ...], tuple[str, ...]]] = {
    "loans": (LoanMonth, ("month", *ENTERPRISE_DIMS), LOAN_MEASURES),
    "loan_products": (LoanProductMonth, ("month", *PRODUCT_DIMS), LOAN_MEASURES),
    "registrations": (RegistrationMonth, ("month", *ENTERPRISE_DIMS), ("accounts",)),
    "enterprises": (EnterpriseCount, ENTERPRISE_DIMS, ("live",)),
}


LOAN_TABLES = ("loans", "loan_products")
_THEIR_LOAN = aliased(Loan)


def _usccs_param(dialect: str, column: Any) -> Any:
    """``column`` among the bound list ``usccs`` (on PostgreSQL one array parameter)."""
    if dialect == "postgresql":
        return column == func.any(bindparam("usccs", type_=ARRAY(String)))
    return column.in_(bindparam("usccs", expanding=True))


def _ids_param(dialect: str, column: Any) -> Any:
    """``column`` among the bound list ``ids`` (on PostgreSQL one array parameter)."""
    if dialect == "postgresql":
        return column == func.any(bindparam("ids", type_=ARRAY(BigInteger)))
    return column.in_(bindparam("ids", expanding=True))


@functools.cache
def _contribution_statements(dialect: str) -> dict[str, tuple[Any, int]]:
    """Each table's groups for the facts of the enterprises bound as ``usccs``: built once (building these
    statements costs more than running them for one enterprise), compiled once (SQLAlchemy's cache)."""
    def of_usccs(column: Any) -> Any:
        return column.in_(select(_THEIR_LOAN.id).where(_usccs_param(dialect, _THEIR_LOAN.uscc)).scalar_subquery())
    keys = _registration_keys(dialect)
    registrations = (select(*keys, func.count().label("accounts")).select_from(Account)
                     .outerjoin(Enterprise, Enterprise.uscc == Account.uscc)
                     .where(_usccs_param(dialect, Account.uscc)).group_by(*keys))
    dims = _dims()
    live = (select(*dims, func.count().label("live"))
            .where(Enterprise.status.in_(LIVE_STATUSES), _usccs_param(dialect, Enterprise.uscc)).group_by(*dims))
    def of_ids(column: Any) -> Any:
        return _ids_param(dialect, column)
    return {"loans": _loan_groups_stmt(dialect, "enterprise", of_usccs, None, None, (), ()),
            "loan_products": _loan_groups_stmt(dialect, "product", of_usccs, None, None, (), ()),
            "registrations": (registrations, len(keys)), "enterprises": (live, len(dims)),
            "loans+products/ids": _loan_groups_stmt(
                dialect, "enterprise", of_ids, None, None,
                (Loan.institution_id.label("institution_id"), func.coalesce(Loan.product_id, 0).label("product_id")),
                ())}


def contributions(session: Session, usccs: Iterable[str], tables: Iterable[str] = tuple(TABLES)
                  ) -> dict[str, Groups]:
    """The given tables' groups for the facts of these enterprises (their base rows, accounts and loans)."""
    out: dict[str, Groups] = {name: {} for name in tables}
    codes = sorted(set(usccs))
    if not codes:
        return out
    statements = _contribution_statements(_dialect(session))
    for i in range(0, len(codes), CHUNK):
        part = codes[i:i + CHUNK]
        for name in out:
            stmt, width = statements[name]
            measures = TABLES[name][2]
            _add_into(out[name], {tuple(r[:width]): dict(zip(measures, r[width:], strict=True))
                                  for r in session.execute(stmt, {"usccs": part})})
    return out


def loan_contributions(session: Session, ids: Iterable[int]) -> dict[str, Groups]:
    """The loan tables' groups for these loans (a loan's contributions depend only on the loan, its events
    and its enterprise's dimensions): one query grouped by both tables' dimensions, split here."""
    out: dict[str, Groups] = {name: {} for name in LOAN_TABLES}
    codes = sorted(set(ids))
    stmt, width = _contribution_statements(_dialect(session))["loans+products/ids"]
    for i in range(0, len(codes), CHUNK):
        for r in session.execute(stmt, {"ids": codes[i:i + CHUNK]}):
            measures = dict(zip(LOAN_MEASURES, r[width:], strict=True))
            _add_into(out["loans"], {tuple(r[:4]): measures})
            _add_into(out["loan_products"], {(r[0], r[4], r[5]): measures})
    return out


def _among(session: Session, column: Any, ids: list[int]) -> Any:
    """``column IN ids``; on PostgreSQL one array parameter (``= ANY``) instead of one parameter an id."""
    if session.get_bind().dialect.name == "postgresql":
        return column == func.any(literal(ids, ARRAY(BigInteger)))
    return column.in_(ids)


def _add_into(target: Groups, groups: Groups, sign: int = 1) -> None:
    for key, measures in groups.items():
        row = target.setdefault(key, {})
        for name, value in measures.items():
            row[name] = row.get(name, 0) + sign * (value or 0)


def _apply(session: Session, name: str, groups: Groups) -> None:
    """Add ``groups`` to table ``name`` (upsert adding to the stored sums)."""
    model, keys, measures = TABLES[name]
    rows = [{**dict(zip(keys, key, strict=True)), **{m: v.get(m, 0) for m in measures}}
            for key, v in groups.items() if any(v.get(m) for m in measures)]
    if not rows:
        return
    stmt = _upsert(_dialect(session), name)
    for i in range(0, len(rows), CHUNK):
        session.execute(stmt, rows[i:i + CHUNK])


@functools.cache
def _upsert(dialect: str, name: str) -> Any:
    """The upsert adding to table ``name``'s sums: built once (building it costs more than running it)."""
    model, keys, measures = TABLES[name]
    table = model.__table__
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={m: table.c[m] + stmt.excluded[m] for m in measures})


def apply_difference(session: Session, before: dict[str, Groups], after: dict[str, Groups]) -> None:
    for name in TABLES:
        diff: Groups = {}
        _add_into(diff, after.get(name, {}))
        _add_into(diff, before.get(name, {}), -1)
        _apply(session, name, diff)


def lock(session: Session, usccs: Iterable[str]) -> None:
    """Serialize the writers of the aggregate until the transaction ends (PostgreSQL): one transaction-level
    advisory lock for all of them, taken before the first "before" is computed.

    One lock, not one per enterprise (or per bucket of enterprises): the writers of these facts already
    serialize on the ledger's append lock (a loan, its events and a batch of the base are ledgered in the
    same transaction), so finer locks buy no concurrency, but they deadlock — a loan batch file holds the
    ledger lock after its first row and takes the lock of each further row's enterprise while that
    enterprise's single writer, holding it, waits for the ledger; two transactions writing several
    enterprises take their locks in opposite orders; and the upserts of the same (hot) aggregate rows in
    different orders. With one lock taken at a transaction's first write of these facts (before its first
    ledger append, in every service), the aggregate rows are only written under it. Taken again at every
    write (a no-op in effect when held): a savepoint rolled back releases what was taken after it. SQLite has a single writer anyway."""
    if session.get_bind().dialect.name != "postgresql" or not any(usccs):
        return
    session.connection().exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, 0)")


class track:  # noqa: N801 - used as a context manager: ``with track(session, usccs): <write base records>``
    """For writes of base records that bypass the ORM (the registry's bulk upsert). The block writes base
    records only (no account, loan or event), so an enterprise's contributions change only when its
    dimensions (city, industry section, size class) or its being live change: the dimensions are read
    before and after the block (one indexed read per 5000 enterprises each), the live counts follow from
    them, and only the enterprises that moved have their accounts' and loans' contributions, grouped by
    enterprise and month, moved from the old groups to the new ones (the institution/product table does
    not depend on the enterprise's dimensions). A batch of the base in which nothing moves costs two reads."""

    def __init__(self, session: Session, usccs: Iterable[str]) -> None:
        self.session, self.usccs = session, sorted(set(usccs))

    def _dims(self) -> dict[str, tuple[str, str, str, bool]]:
        stmt = _track_statements(_dialect(self.session))["dims"][0]
        out = {}
        for i in range(0, len(self.usccs), CHUNK):
            for uscc, region4, section, size_class, status in self.session.execute(
                    stmt, {"usccs": self.usccs[i:i + CHUNK]}):
                out[uscc] = (region4, section, size_class, status in LIVE_STATUSES)
        return out

    def __enter__(self) -> track:
        lock(self.session, self.usccs)
        self.before = self._dims()
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is not None:
            return
        after = self._dims()
        absent = ("", "", "", False)  # not in the base: the facts' outer join gives '' dimensions
        old = {u: self.before.get(u, absent) for u in self.usccs}
        new = {u: after.get(u, absent) for u in self.usccs}
        moved = [u for u in self.usccs if old[u] != new[u]]
        diff: dict[str, Groups] = {"enterprises": {}, "loans": {}, "registrations": {}}
        for u in moved:
            if old[u][3]:
                _add_into(diff["enterprises"], {old[u][:3]: {"live": 1}}, -1)
            if new[u][3]:
                _add_into(diff["enterprises"], {new[u][:3]: {"live": 1}})
        statements = _track_statements(_dialect(self.session))
        for name in ("loans", "registrations"):
            stmt, width = statements[name]
            measures = TABLES[name][2]
            moves = [u for u in moved if old[u][:3] != new[u][:3]]
            for i in range(0, len(moves), CHUNK):
                for r in self.session.execute(stmt, {"usccs": moves[i:i + CHUNK]}):
                    month, uscc, values = r[0], r[width - 1], dict(zip(measures, r[width:], strict=True))
                    _add_into(diff[name], {(month, *old[uscc][:3]): values}, -1)
                    _add_into(diff[name], {(month, *new[uscc][:3]): values})
        for name, groups in diff.items():
            _apply(self.session, name, groups)


@functools.cache
def _track_statements(dialect: str) -> dict[str, tuple[Any, int]]:
    """For ``track``: enterprises' dimensions; their loans' and accounts' contributions by enterprise and month."""
    def of_usccs(column: Any) -> Any:
        return column.in_(select(_THEIR_LOAN.id).where(_usccs_param(dialect, _THEIR_LOAN.uscc)).scalar_subquery())
    dims = select(Enterprise.uscc, *_dims(), Enterprise.status).where(_usccs_param(dialect, Enterprise.uscc))
    month = _month_of_datetime(dialect, Account.created_at).label("month")
    registrations = (select(month, Account.uscc, func.count().label("accounts"))
                     .where(_usccs_param(dialect, Account.uscc)).group_by(month, Account.uscc))
    loans, width = _loan_groups_stmt(dialect, "enterprise", of_usccs, None, None, (Loan.uscc.label("uscc"),), ())
    return {"dims": (dims, 5), "loans": (loans, width), "registrations": (registrations, 2)}


_LOAN_ATTRS = ("uscc", "institution_id", "product_id", "amount_wan", "credit_loan", "first_loan", "granted_on")
_EVENT_ATTRS = ("loan_id", "kind", "amount_wan", "on_date")
_ACCOUNT_ATTRS = ("uscc", "created_at")
_ENTERPRISE_ATTRS = ("uscc", "region_code", "industry_code", "size_class", "status")


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    state = attributes.instance_state(obj)
    return any(state.attrs[n].history.has_changes() for n in names)


def _old_values(obj: Any, name: str) -> list[Any]:
    history = attributes.instance_state(obj).attrs[name].history
    return [*history.deleted, *history.unchanged, *history.added]


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    # Which contributions each write can change: a loan or a loan event only its loan's (in the loan tables),
    # an account only its enterprise's registrations, an enterprise's base record all its contributions to
    # all four tables (re-attribution). A new loan had none before.
    new_loans: list[Loan] = []
    loan_ids: set[int] = set()
    registrations: set[str] = set()
    enterprises: set[str] = set()
    for obj in session.new:
        if isinstance(obj, Loan):
            new_loans.append(obj)
        elif isinstance(obj, Account):
            registrations.add(obj.uscc)
        elif isinstance(obj, Enterprise):
            enterprises.add(obj.uscc)
        elif isinstance(obj, LoanEvent):
            loan_ids.add(obj.loan_id)  # None for an event of a loan new in this flush: counted with the loan
    for obj in session.dirty:
        if isinstance(obj, Loan) and _changed(obj, _LOAN_ATTRS):
            loan_ids.add(obj.id)
        elif isinstance(obj, LoanEvent) and _changed(obj, _EVENT_ATTRS):
            loan_ids.update(_old_values(obj, "loan_id"))
        elif isinstance(obj, Account) and _changed(obj, _ACCOUNT_ATTRS):
            registrations.update(_old_values(obj, "uscc"))
        elif isinstance(obj, Enterprise) and _changed(obj, _ENTERPRISE_ATTRS):
            enterprises.update(_old_values(obj, "uscc"))
    for obj in session.deleted:
        if isinstance(obj, Loan):
            loan_ids.add(obj.id)
        elif isinstance(obj, Account):
            registrations.update(_old_values(obj, "uscc"))
        elif isinstance(obj, Enterprise):
            enterprises.update(_old_values(obj, "uscc"))
        elif isinstance(obj, LoanEvent):
            loan_ids.update(_old_values(obj, "loan_id"))
    loan_ids.discard(None)  # type: ignore[arg-type]
    for codes in (registrations, enterprises):
        codes.discard(None)  # type: ignore[arg-type]
    if not (new_loans or loan_ids or registrations or enterprises):
        return
    lock(session, ["*"])
    pending = session.info.setdefault("statistics_pending", [])
    if enterprises:  # rare (the base is written in bulk, through ``track``): every loan of these enterprises
        loans = {u for u in _old_values_of(new_loans, "uscc")} | enterprises
        if loan_ids:
            loans.update(session.scalars(select(Loan.uscc).where(Loan.id.in_(sorted(loan_ids)))))
        loans.discard(None)  # type: ignore[arg-type]
        new_loans, loan_ids = [], set()
        for codes, tables in ((sorted(loans), LOAN_TABLES), (sorted(registrations | enterprises), ("registrations",)),
                              (sorted(enterprises), ("enterprises",))):
            if codes:
                pending.append(("usccs", codes, tables, contributions(session, codes, tables)))
    elif registrations:
        codes = sorted(registrations)
        pending.append(("usccs", codes, ("registrations",), contributions(session, codes, ("registrations",))))
    if loan_ids:
        pending.append(("loans", sorted(loan_ids), LOAN_TABLES, loan_contributions(session, loan_ids)))
    if new_loans:
        pending.append(("new loans", new_loans, LOAN_TABLES, {}))


def _old_values_of(objs: list[Any], name: str) -> list[Any]:
    return [v for obj in objs for v in _old_values(obj, name)]


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    pending = session.info.pop("statistics_pending", None)
    if pending:
        session.info.pop("statistics_shared_reads", None)
    for kind, keys, tables, before in pending or ():
        if kind == "usccs":
            after = contributions(session, keys, tables)
        elif kind == "loans":
            after = loan_contributions(session, keys)
        else:
            after = loan_contributions(session, [loan.id for loan in keys])
        apply_difference(session, before, after)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, _transaction: Any) -> None:
    # A flush that failed (its subtransaction rolled back) leaves no difference to add later.
    session.info.pop("statistics_pending", None)


# -- rebuild and check --------------------------------------------------------------------------

def computed(session: Session) -> dict[str, Groups]:
    """Every table's groups computed from all the facts."""
    return {"loans": loan_groups(session, "enterprise"), "loan_products": loan_groups(session, "product"),
            "registrations": registration_groups(session), "enterprises": live_groups(session)}


def stored(session: Session) -> dict[str, Groups]:
    out: dict[str, Groups] = {}
    for name, (model, keys, measures) in TABLES.items():
        table = model.__table__
        out[name] = {tuple(r[:len(keys)]): dict(zip(measures, r[len(keys):], strict=True))
                     for r in session.execute(select(*[table.c[k] for k in keys], *[table.c[m] for m in measures]))}
    return out


def rebuild(session: Session) -> dict[str, int]:
    """Replace the tables' contents by the sums computed from the facts (under an exclusive lock on the
    tables on PostgreSQL, so no concurrent writer adds a difference in between). Returns rows per table."""
    if session.get_bind().dialect.name == "postgresql":
        lock(session, ["*"])  # no writer between the facts read here and the tables written
        names = ", ".join(m.__tablename__ for m in AGGREGATE_TABLES)
        session.connection().exec_driver_sql(f"LOCK TABLE {names} IN EXCLUSIVE MODE")
        session.connection().exec_driver_sql("SET LOCAL work_mem = '256MB'")
        session.connection().exec_driver_sql("SET LOCAL jit = off")
    fresh = computed(session)
    out = {}
    for name, (model, keys, measures) in TABLES.items():
        session.execute(delete(model.__table__))
        rows = [{**dict(zip(keys, key, strict=True)), **{m: v.get(m) or 0 for m in measures}}
                for key, v in fresh[name].items() if any(v.get(m) for m in measures)]
        for i in range(0, len(rows), CHUNK):
            session.execute(insert(model.__table__), rows[i:i + CHUNK])
        out[name] = len(rows)
    return out


def _nonzero(groups: Groups) -> dict[Key, dict[str, Any]]:
    out = {}
    for key, v in groups.items():
        clean = {m: Decimal(str(x)) if isinstance(x, float) else x or 0 for m, x in v.items()}
        if any(clean.values()):
            out[key] = clean
    return out


def nonzero(tables: dict[str, Groups]) -> dict[str, dict[Key, dict[str, Any]]]:
    """The tables without their all-zero groups (what a rebuild would store)."""
    return {name: _nonzero(groups) for name, groups in tables.items()}


def check(session: Session) -> dict[str, list[tuple[Key, dict, dict]]]:
    """table → [(group, stored, computed)] for every group where the stored sums differ from the facts'."""
    have, want = stored(session), computed(session)
    out: dict[str, list[tuple[Key, dict, dict]]] = {}
    for name in TABLES:
        a, b = _nonzero(have[name]), _nonzero(want[name])
        diffs = [(k, a.get(k, {}), b.get(k, {})) for k in sorted(set(a) | set(b), key=repr)
                 if a.get(k, {}) != b.get(k, {})]
        if diffs:
            out[name] = diffs
    return out


# -- reading ------------------------------------------------------------------------------------

def _month(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def serves(by: str, region: str | None, industry: str | None) -> bool:
    """Whether the tables answer this breakdown and filter (otherwise the figures read the facts)."""
    if region is None and industry is None:
        return True
    if by in ("institution", "product"):
        return False
    return (region is None or len(region) <= 4) and (industry is None or len(industry) <= 1)


def _filters(model: Any, region: str | None, industry: str | None) -> list[Any]:
    out = []
    if region:
        out.append(model.region4.startswith(region))
    if industry:
        out.append(model.section == industry)
    return out


def _fact_filters(region: str | None, industry: str | None) -> list[Any]:
    out = []
    if region:
        out.append(Enterprise.region_code.startswith(region))
    if industry:
        out.append(Enterprise.industry_code.startswith(industry))
    return out


_GROUP_COLUMN = {"city": "region4", "industry": "section", "size_class": "size_class",
                 "institution": "institution_id", "product": "product_id"}


def key_of(by: str, value: Any) -> str | None:
    """A group's key as the fact-based figures give it."""
    if by == "city":
        return value + "00" if value else None
    if by in ("industry", "size_class"):
        return value or None
    if by == "product":
        return str(value) if value else None
    if by == "institution":
        return str(value)
    return "total"


def _loan_model(by: str, region: str | None, industry: str | None) -> tuple[Any, str]:
    if by in ("institution", "product") or (by == "" and region is None and industry is None):
        return LoanProductMonth, "product"
    return LoanMonth, "enterprise"


@contextmanager
def shared_reads(session: Session) -> Iterator[None]:
    """A block that reads the same loan months more than once without writing (the overview and the report
    ask for the loan stocks by city and for the month series of the balance by city, one read)."""
    outer = "statistics_shared_reads" in session.info
    session.info.setdefault("statistics_shared_reads", {})
    try:
        yield
    finally:
        if not outer:
            session.info.pop("statistics_shared_reads", None)


def loan_months(session: Session, end: dt.date, by: str, region: str | None = None, industry: str | None = None,
                monthly: bool = True) -> dict[str | None, dict[str, dict[str, Any]]]:
    """key → {month: loan measures} for every contribution dated up to ``end`` (``monthly=False``: one
    entry "" with the sums). Inside ``shared_reads`` an answer is kept for the block."""
    cache = session.info.get("statistics_shared_reads")
    ask = (end, by, region, industry)
    if cache is not None and ask in cache:
        months = cache[ask]
    else:
        months = _loan_months(session, end, by, region, industry)
        if cache is not None:
            cache[ask] = months
    if monthly:
        return months
    out: dict[str | None, dict[str, dict[str, Any]]] = {}
    for key, ms in months.items():
        total = {m: 0 for m in LOAN_MEASURES}
        for v in ms.values():
            for m in LOAN_MEASURES:
                total[m] += v[m]
        out[key] = {"": total}
    return out


def _loan_ids_dated(session: Session, lo: dt.date, hi: dt.date) -> list[int]:
    """Loans granted, or with an event, in [lo, hi]: every loan with a contribution dated in it."""
    return sorted(set(session.scalars(union_all(
        select(Loan.id).where(Loan.granted_on >= lo, Loan.granted_on <= hi),
        select(LoanEvent.loan_id).where(LoanEvent.on_date >= lo, LoanEvent.on_date <= hi)))))


def _loan_months(session: Session, end: dt.date, by: str, region: str | None, industry: str | None,
                 monthly: bool = True) -> dict[str | None, dict[str, dict[str, Any]]]:
    """The stored months up to ``end``'s; when ``end`` is not a month's last day, its month is corrected
    from the facts: either the stored month minus the contributions dated after ``end`` in it (usually
    none: a period ending today, facts cannot be dated in the future), or, when fewer loans have facts
    in its first part, the stored months before plus the contributions dated from the 1st to ``end``."""
    model, dims = _loan_model(by, region, industry)
    table = model.__table__
    column = _GROUP_COLUMN.get(by)
    groups = [table.c[column]] if column else []
    month_col = [table.c.month] if monthly else []
    first = end.replace(day=1)
    correction: tuple[list[int], dt.date, dt.date, int] | None = None
    last_stored = end
    if not _is_month_end(end):
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        after = _loan_ids_dated(session, end + dt.timedelta(days=1), last)
        before = _loan_ids_dated(session, first, end) if after else []
        if not after or len(after) <= len(before):
            correction = (after, end + dt.timedelta(days=1), last, -1)
        else:
            correction, last_stored = (before, first, end, 1), first - dt.timedelta(days=1)
    stmt = (select(*groups, *month_col, *[func.sum(table.c[m]).label(m) for m in LOAN_MEASURES])
            .where(table.c.month <= _month(last_stored), *_filters(model, region, industry))
            .group_by(*groups, *month_col))
    out: dict[str | None, dict[str, dict[str, Any]]] = defaultdict(dict)
    width = len(groups) + len(month_col)

    def add(key: str | None, month: str, measures: dict[str, Any], sign: int = 1) -> None:
        row = out[key].setdefault(month, {m: 0 for m in LOAN_MEASURES})
        for m in LOAN_MEASURES:
            row[m] += sign * (measures[m] or 0)

    for r in session.execute(stmt):
        add(key_of(by, r[0]) if column else "total", r[width - 1] if monthly else "",
            dict(zip(LOAN_MEASURES, r[width:], strict=True)))
    if correction and correction[0]:
        ids, lo, hi, sign = correction

        def touched(col: Any) -> Any:
            return _among(session, col, ids)
        index = (["month", *ENTERPRISE_DIMS] if dims == "enterprise" else ["month", *PRODUCT_DIMS])
        part = loan_groups(session, dims, only=touched, lo=lo, hi=hi, where=_fact_filters(region, industry))
        for key, measures in part.items():
            value = key[index.index(column)] if column else None
            add(key_of(by, value) if column else "total", key[0] if monthly else "", measures, sign)
    return out


def loans_raw(session: Session, start: dt.date | None, end: dt.date, by: str, region: str | None = None,
              industry: str | None = None) -> dict[str | None, dict[str, Any]] | None:
    """The loans figure's raw groups (as ``figures._loans_raw``), or None when the tables do not serve it."""
    if not serves(by, region, industry):
        return None
    at_end = {k: v[""] for k, v in loan_months(session, end, by, region, industry, monthly=False).items()}
    before = ({k: v[""] for k, v in loan_months(session, start - dt.timedelta(days=1), by, region, industry,
                                                  monthly=False).items()} if start is not None else {})
    out = {}
    for key, v in at_end.items():
        if not v["granted"]:
            continue  # no loan granted up to the end in this group
        b = before.get(key, {})
        out[key] = {"granted": v["granted"] - b.get("granted", 0), "amount": v["amount"] - b.get("amount", 0),
                    "first": v["first"] - b.get("first", 0), "credit": v["credit"] - b.get("credit", 0),
                    "cumulative": v["granted"], "balance": v["balance"], "credit_balance": v["credit_balance"],
                    "overdue": v["overdue"], "defaulted": v["defaulted"]}
    return out


def registration_months(session: Session, end: dt.date, by: str, region: str | None = None,
                        industry: str | None = None) -> dict[str | None, dict[str, int]]:
    """key → {YYYY-MM: accounts created that month} for accounts created up to ``end`` (inclusive)."""
    table = RegistrationMonth.__table__
    column = _GROUP_COLUMN.get(by)
    groups = [table.c[column]] if column else []
    first = end.replace(day=1)
    correction: tuple[dt.datetime, dt.datetime, int] | None = None
    last_stored = end
    if not _is_month_end(end):  # as in ``_loan_months``: the smaller part of ``end``'s month from the facts
        lo = dt.datetime.combine(first, dt.time(), dt.UTC)
        cut = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
        hi = dt.datetime.combine((first + dt.timedelta(days=32)).replace(day=1), dt.time(), dt.UTC)
        after = session.scalar(select(func.count()).where(Account.created_at >= cut, Account.created_at < hi))
        before = session.scalar(select(func.count()).where(Account.created_at >= lo, Account.created_at < cut)
                                ) if after else 0
        if not after or after <= before:
            correction = (cut, hi, -1) if after else None
        else:
            correction, last_stored = (lo, cut, 1), first - dt.timedelta(days=1)
    stmt = (select(*groups, table.c.month, func.sum(table.c.accounts))
            .where(table.c.month <= _month(last_stored), *_filters(RegistrationMonth, region, industry))
            .group_by(*groups, table.c.month))
    out: dict[str | None, dict[str, int]] = defaultdict(dict)
    for r in session.execute(stmt):
        key = key_of(by, r[0]) if column else "total"
        out[key][r[-2]] = out[key].get(r[-2], 0) + int(r[-1] or 0)
    if correction:
        lo, hi, sign = correction
        index = ["month", *ENTERPRISE_DIMS]
        for key, v in registration_groups(session, lo=lo, hi=hi, where=_fact_filters(region, industry)).items():
            k = key_of(by, key[index.index(column)]) if column else "total"
            out[k][key[0]] = out[k].get(key[0], 0) + sign * int(v["accounts"])
    out = {k: {m: n for m, n in months.items() if n} for k, months in out.items()}
    return {k: months for k, months in out.items() if months}


def live_enterprises(session: Session, by: str, region: str | None = None,
                     industry: str | None = None) -> dict[str | None, int]:
    table = EnterpriseCount.__table__
    column = _GROUP_COLUMN.get(by)
    groups = [table.c[column]] if column else []
    stmt = (select(*groups, func.sum(table.c.live)).where(*_filters(EnterpriseCount, region, industry))
            .group_by(*groups))
    out: dict[str | None, int] = defaultdict(int)
    for r in session.execute(stmt):
        out[key_of(by, r[0]) if column else "total"] += int(r[-1] or 0)
    return out


def registrations_grouped(session: Session, end: dt.date, by: str, region: str | None = None,
                          industry: str | None = None) -> dict[str | None, dict] | None:
    """As ``series.registrations_grouped``: key → {"live", "months"}, or None when not served."""
    if not serves(by, region, industry):
        return None
    months = registration_months(session, end, by, region, industry)
    live = live_enterprises(session, by, region, industry)
    return {k: {"live": live.get(k, 0), "months": months.get(k, {})} for k in set(months) | set(live)}


def registrations_raw(session: Session, start: dt.date | None, end: dt.date, by: str, region: str | None = None,
                      industry: str | None = None) -> dict[str | None, dict[str, int]] | None:
    """The registrations figure's raw groups (as ``figures._registrations_raw``), or None when not served."""
    grouped = registrations_grouped(session, end, by, region, industry)
    if grouped is None:
        return None
    before = (registration_months(session, start - dt.timedelta(days=1), by, region, industry)
              if start is not None else {})
    out = {}
    for k, g in grouped.items():
        cum = sum(g["months"].values())
        out[k] = {"live": g["live"], "cumulative": cum, "created": cum - sum(before.get(k, {}).values())}
    return out
