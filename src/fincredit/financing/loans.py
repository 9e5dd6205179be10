"""Loan feedback (§10): granted loans, their events, batch files and model-training labels.
Every loan and event is appended to the tamper-evident ledger. Never commits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.authorization import repository as authorization_repository
from fincredit.db import utcnow
from fincredit.disclosure.service import RELATION_CHECKS
from fincredit.errors import Conflict, NotFound, Unprocessable
from fincredit.financing.models import Application, Loan, LoanEvent, Product
from fincredit.financing.service import institution_of, plain
from fincredit.ledger import service as ledger
from fincredit.registry.models import Enterprise
from fincredit.statistics import aggregate as _statistics_aggregate  # noqa: F401  (registers its flush hooks)

EVENT_KINDS = {"repaid": "还款", "overdue": "逾期", "defaulted": "违约", "settled": "结清"}
LATE_DAYS = 30
BAD_OVERDUE_DAYS = 90


def has_basis(session: Session, institution_id: int, uscc: str, now: dt.datetime | None = None) -> bool:
    """An accepted application to the institution, or an active authorization to it."""
    now = now or utcnow()
    accepted = session.scalar(select(func.count()).select_from(Application).where(
        Application.institution_id == institution_id, Application.uscc == uscc, Application.status == "accepted"))
    if accepted:
        return True
    return any(a.effective_status(now) == "active"
               for a in authorization_repository.between(session, uscc, institution_id))


def has_loan(session: Session, institution_id: int, uscc: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Loan).where(
        Loan.institution_id == institution_id, Loan.uscc == uscc)))


RELATION_CHECKS.append(has_loan)


def _parties(loan: Loan) -> list[str]:
    return [f"institution:{loan.institution_id}", f"enterprise:{loan.uscc}"]


def _money(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Unprocessable(f"{what}不是有效数字", code="bad_amount") from None
    if not amount.is_finite() or amount <= 0:
        raise Unprocessable(f"{what}须大于 0", code="bad_amount")
    return amount


def check_loan(session: Session, institution_id: int, data: dict[str, Any], today: dt.date) -> list[str]:
    """Validate a loan report; raises on a hard error, returns soft flags (late, inconsistent)."""
    uscc = data["uscc"]
    if session.get(Enterprise, uscc) is None:
        raise Unprocessable("企业不在登记注册基础信息中", code="enterprise_not_found")
    if not has_basis(session, institution_id, uscc):
        raise Unprocessable("该企业未向本机构提出申请且未授权本机构，不能报送贷款", code="no_basis_for_loan")
    _money(data["amount"], "贷款金额")
    if int(data["term_months"]) <= 0:
        raise Unprocessable("贷款期限须大于 0", code="bad_term")
    rate = Decimal(str(data["rate"]))
    if rate < 0 or rate > 36:
        raise Unprocessable("年利率须在 0 至 36% 之间", code="bad_rate")
    granted = data.get("granted_on") or today
    if granted > today:
        raise Unprocessable("放款日期不能晚于今天", code="date_in_future")
    flags = []
    if (today - granted).days > LATE_DAYS:
        flags.append("late")
    if data.get("product_id") is not None:
        product = session.get(Product, data["product_id"])
        if product is None or product.institution_id != institution_id:
            raise Unprocessable("金融产品不存在或不属于本机构", code="product_not_found")
        if data["credit_loan"] and product.type != "credit":
            flags.append("inconsistent_credit_loan")
    if data["credit_loan"] and data.get("guarantee"):
        flags.append("inconsistent_credit_loan")
    if data["first_loan"] and has_loan(session, institution_id, uscc):
        flags.append("inconsistent_first_loan")
    return sorted(set(flags))


def report_loan(session: Session, principal: Principal, data: dict[str, Any], *, source: str = "api",
                today: dt.date | None = None) -> Loan:
    inst = institution_of(principal)
    today = today or dt.date.today()
    flags = check_loan(session, inst, data, today)
    loan = Loan(institution_id=inst, uscc=data["uscc"], product_id=data.get("product_id"),
                amount_wan=_money(data["amount"], "贷款金额"), term_months=int(data["term_months"]),
                rate=Decimal(str(data["rate"])), credit_loan=bool(data["credit_loan"]),
                first_loan=bool(data["first_loan"]), guarantee=data.get("guarantee"),
                granted_on=data.get("granted_on") or today, status="active", flags=flags, source=source,
                reported_at=utcnow())
    session.add(loan)
    session.flush()
    entry = ledger.append(session, "loan.granted", {
        "loan_id": loan.id, "amount_wan": str(loan.amount_wan), "term_months": loan.term_months,
        "rate": str(loan.rate), "credit_loan": loan.credit_loan, "first_loan": loan.first_loan,
        "granted_on": loan.granted_on.isoformat()}, _parties(loan))
    loan.ledger_index = entry.index
    try:
        from fincredit.monitoring.watchlist import add_borrower
    except ImportError:  # pragma: no cover - monitoring is optional
        add_borrower = None
    if add_borrower is not None:
        add_borrower(session, inst, loan.uscc, loan.id)
    session.flush()
    return loan


def get_own_loan(session: Session, principal: Principal, loan_id: int) -> Loan:
    loan = session.get(Loan, loan_id)
    if loan is None or loan.institution_id != institution_of(principal):
        raise NotFound("贷款不存在", code="loan_not_found")
    return loan


def events_of(session: Session, loan_id: int) -> list[LoanEvent]:
    return list(session.scalars(select(LoanEvent).where(LoanEvent.loan_id == loan_id)
                                .order_by(LoanEvent.on_date, LoanEvent.id)))


def outstanding(loan: Loan, events: list[LoanEvent]) -> Decimal:
    repaid = sum((Decimal(e.amount_wan) for e in events if e.kind == "repaid" and e.amount_wan), Decimal(0))
    return Decimal(loan.amount_wan) - repaid


def add_event(session: Session, principal: Principal, loan_id: int, kind: str, amount: Any,
              on_date: dt.date) -> LoanEvent:
    loan = get_own_loan(session, principal, loan_id)
    if kind not in EVENT_KINDS:
        raise Unprocessable(f"事件类型须为 {'、'.join(EVENT_KINDS)} 之一", code="bad_event_kind")
    if loan.status == "settled":
        raise Conflict("贷款已结清，不能再报送事件", code="loan_settled")
    events = events_of(session, loan.id)
    if on_date < loan.granted_on:
        raise Unprocessable("事件日期早于放款日期", code="date_out_of_order")
    if events and on_date < events[-1].on_date:
        raise Unprocessable(f"事件日期早于上一事件（{events[-1].on_date.isoformat()}）", code="date_out_of_order")
    if on_date > dt.date.today():
        raise Unprocessable("事件日期不能晚于今天", code="date_in_future")
    value = None
    if kind == "repaid" or (amount is not None and kind in ("overdue", "defaulted")):
        value = _money(amount, "金额")
    if kind == "repaid" and value is not None and value > outstanding(loan, events):
        raise Unprocessable(f"还款金额超过未偿本金 {plain(outstanding(loan, events))} 万元",
                            code="repayment_exceeds_balance")
    event = LoanEvent(loan_id=loan.id, kind=kind, amount_wan=value, on_date=on_date, recorded_at=utcnow())
    session.add(event)
    session.flush()
    entry = ledger.append(session, f"loan.{kind}", {
        "loan_id": loan.id, "event_id": event.id, "amount_wan": str(value) if value is not None else None,
        "on_date": on_date.isoformat()}, _parties(loan))
    event.ledger_index = entry.index
    if kind == "settled":
        loan.status = "settled"
        from fincredit.monitoring.watchlist import end_borrower
        end_borrower(session, loan.institution_id, loan.id)
    session.flush()
    return event


def loan_out(session: Session, loan: Loan) -> dict[str, Any]:
    events = events_of(session, loan.id)
    return {"id": loan.id, "institution_id": loan.institution_id, "uscc": loan.uscc, "product_id": loan.product_id,
            "amount": float(loan.amount_wan), "term_months": loan.term_months, "rate": float(loan.rate),
            "credit_loan": loan.credit_loan, "first_loan": loan.first_loan, "guarantee": loan.guarantee,
            "granted_on": loan.granted_on.isoformat(), "status": loan.status, "flags": loan.flags,
            "source": loan.source, "ledger_index": loan.ledger_index,
            "balance": float(outstanding(loan, events)),
            "events": [{"id": e.id, "kind": e.kind, "amount": float(e.amount_wan) if e.amount_wan else None,
                        "on_date": e.on_date.isoformat(), "ledger_index": e.ledger_index} for e in events]}


def training_labels(session: Session, as_of: dt.date | None = None) -> pl.DataFrame:
    """One row per loan: uscc, loan_id, granted_on, bad (defaulted, or overdue ≥ 90 days unrepaid)."""
    as_of = as_of or dt.date.today()
    loans = session.execute(select(Loan.id, Loan.uscc, Loan.granted_on).order_by(Loan.id)).all()
    events = session.execute(select(LoanEvent.loan_id, LoanEvent.kind, LoanEvent.on_date)
                             .order_by(LoanEvent.loan_id, LoanEvent.on_date, LoanEvent.id)).all()
    bad: dict[int, bool] = {}
    overdue_since: dict[int, dt.date | None] = {}
    for loan_id, kind, on_date in events:
        if kind == "defaulted":
            bad[loan_id] = True
        elif kind == "overdue":
            overdue_since.setdefault(loan_id, on_date)
            overdue_since[loan_id] = overdue_since[loan_id] or on_date
        elif kind in ("repaid", "settled"):
            since = overdue_since.get(loan_id)
            if since is not None and (on_date - since).days >= BAD_OVERDUE_DAYS:
                bad[loan_id] = True
            overdue_since[loan_id] = None
    for loan_id, since in overdue_since.items():
        if since is not None and (as_of - since).days >= BAD_OVERDUE_DAYS:
            bad[loan_id] = True
    return pl.DataFrame({"uscc": [r.uscc for r in loans], "loan_id": [r.id for r in loans],
                         "granted_on": [r.granted_on for r in loans], "bad": [bad.get(r.id, False) for r in loans]},
                        schema={"uscc": pl.Utf8, "loan_id": pl.Int64, "granted_on": pl.Date, "bad": pl.Boolean})
