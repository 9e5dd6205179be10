"""Set-based figures of loan feedback for statistics (M10): loans, balances (principal minus
repayments, from events), credit-loan and first-loan shares, by city, industry, institution or product."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, String, case, cast, func, select
from sqlalchemy.orm import Session

from fincredit.financing.models import Loan, LoanEvent
from fincredit.registry.models import Enterprise

DIMENSIONS = ("city", "industry", "institution", "product")


def _dimension(by: str):  # type: ignore[no-untyped-def]
    if by == "city":
        return func.substr(Enterprise.region_code, 1, 4, type_=String) + "00"
    if by == "industry":
        return func.substr(Enterprise.industry_code, 1, 1, type_=String)
    if by == "institution":
        return Loan.institution_id
    if by == "product":
        return Loan.product_id
    raise ValueError(f"unknown dimension {by}")


def balances(session: Session, by: str = "institution", at: dt.date | None = None) -> list[dict[str, Any]]:
    """Per group at a date: loans granted, amount granted, balance outstanding (万元), credit and first loans."""
    at = at or dt.date.today()
    repaid = (select(LoanEvent.loan_id, func.coalesce(func.sum(LoanEvent.amount_wan), 0).label("repaid"))
              .where(LoanEvent.kind == "repaid", LoanEvent.on_date <= at).group_by(LoanEvent.loan_id).subquery())
    settled = (select(LoanEvent.loan_id).where(LoanEvent.kind == "settled", LoanEvent.on_date <= at)
               .distinct().subquery())
    key = _dimension(by).label("key")
    balance = case((settled.c.loan_id.is_not(None), 0),
                   else_=Loan.amount_wan - func.coalesce(repaid.c.repaid, 0))
    stmt = (select(key, func.count(Loan.id).label("loans"), func.sum(Loan.amount_wan).label("amount"),
                   func.sum(balance).label("balance"),
                   func.sum(cast(Loan.credit_loan, Integer)).label("credit_loans"),
                   func.sum(cast(Loan.first_loan, Integer)).label("first_loans"))
            .select_from(Loan).join(Enterprise, Enterprise.uscc == Loan.uscc, isouter=True)
            .join(repaid, repaid.c.loan_id == Loan.id, isouter=True)
            .join(settled, settled.c.loan_id == Loan.id, isouter=True)
            .where(Loan.granted_on <= at).group_by(key).order_by(key))
    out = []
    for row in session.execute(stmt):
        loans = int(row.loans)
        out.append({"key": row.key, "loans": loans, "amount_wan": float(row.amount or 0),
                    "balance_wan": float(row.balance or 0), "credit_loans": int(row.credit_loans or 0),
                    "first_loans": int(row.first_loans or 0),
                    "credit_loan_share": round(int(row.credit_loans or 0) / loans, 4) if loans else 0.0,
                    "first_loan_share": round(int(row.first_loans or 0) / loans, 4) if loans else 0.0})
    return out


def loan_balances(session: Session, at: dt.date | None = None) -> dict[int, float]:
    """Balance per loan at a date (万元)."""
    at = at or dt.date.today()
    repaid = func.coalesce(func.sum(case((LoanEvent.kind == "repaid", LoanEvent.amount_wan), else_=0)), 0)
    settled = func.max(case((LoanEvent.kind == "settled", 1), else_=0))
    stmt = (select(Loan.id, Loan.amount_wan, repaid.label("repaid"), settled.label("settled"))
            .join(LoanEvent, (LoanEvent.loan_id == Loan.id) & (LoanEvent.on_date <= at), isouter=True)
            .where(Loan.granted_on <= at).group_by(Loan.id, Loan.amount_wan))
    return {r.id: 0.0 if r.settled else float(r.amount_wan) - float(r.repaid) for r in session.execute(stmt)}
