"""Read-only queries of the financing capability used by the portals: an enterprise's needs and
applications, an institution's loans and notarized evidence."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.financing.models import Application, Evidence, FinancingNeed, Loan, Product


def needs_of(session: Session, uscc: str, limit: int = 100, offset: int = 0) -> list[FinancingNeed]:
    stmt = (select(FinancingNeed).where(FinancingNeed.uscc == uscc).order_by(FinancingNeed.id.desc())
            .limit(limit).offset(offset))
    return list(session.scalars(stmt))


def applications_of(session: Session, uscc: str, need_id: int | None = None, limit: int = 200) -> list[Application]:
    stmt = select(Application).where(Application.uscc == uscc)
    if need_id is not None:
        stmt = stmt.where(Application.need_id == need_id)
    return list(session.scalars(stmt.order_by(Application.id.desc()).limit(limit)))


def get_application(session: Session, institution_id: int, application_id: int) -> Application | None:
    row = session.get(Application, application_id)
    return row if row is not None and row.institution_id == institution_id else None


def needs_by_id(session: Session, ids: set[int]) -> dict[int, FinancingNeed]:
    if not ids:
        return {}
    return {n.id: n for n in session.scalars(select(FinancingNeed).where(FinancingNeed.id.in_(ids)))}


def products_by_id(session: Session, ids: set[int]) -> dict[int, Product]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}


def loans_of(session: Session, institution_id: int, limit: int = 200, offset: int = 0) -> list[Loan]:
    stmt = (select(Loan).where(Loan.institution_id == institution_id).order_by(Loan.id.desc())
            .limit(limit).offset(offset))
    return list(session.scalars(stmt))


def evidence_of(session: Session, loan_id: int) -> list[Evidence]:
    return list(session.scalars(select(Evidence).where(Evidence.loan_id == loan_id).order_by(Evidence.id)))
