"""Financing models: products (金融产品), financing needs (融资需求), applications, loans and their events
(放款 / 还款 / 逾期 / 违约 / 结清), and notarized evidence (线上公证)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, BigIntPK, utcnow

Money = Numeric(16, 4)


class Product(Base):
    """A financial product (金融产品) an institution publishes, with its eligibility rules."""

    __tablename__ = "financing_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    amount_min_wan: Mapped[Decimal] = mapped_column(Money)
    amount_max_wan: Mapped[Decimal] = mapped_column(Money)
    term_min_months: Mapped[int]
    term_max_months: Mapped[int]
    rate_min: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    rate_max: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    size_classes: Mapped[list] = mapped_column(default=list)
    industries: Mapped[list] = mapped_column(default=list)
    regions: Mapped[list] = mapped_column(default=list)
    rules: Mapped[list] = mapped_column(default=list)
    compensation_fund: Mapped[str | None] = mapped_column(String(16))
    guarantee_scheme: Mapped[str | None] = mapped_column(String(200))
    sharing_ratio: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deactivated_at: Mapped[dt.datetime | None]


class FinancingNeed(Base):
    """An enterprise's financing need (融资需求)."""

    __tablename__ = "financing_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    amount_wan: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(500))
    acceptable_collateral: Mapped[list] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Application(Base):
    """An enterprise's application for a product (银企对接), with the pre_loan authorization it granted."""

    __tablename__ = "financing_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("financing_needs.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("financing_products.id"))
    institution_id: Mapped[int] = mapped_column(index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    authorization_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="submitted")  # submitted | accepted | declined
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Loan(Base):
    """A granted loan (放款) reported by an institution; amounts in 万元, rate in % a year."""

    __tablename__ = "financing_loans"
    __table_args__ = (Index("ix_financing_loans_inst_uscc", "institution_id", "uscc"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    institution_id: Mapped[int] = mapped_column(index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("financing_products.id"))
    amount_wan: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int]
    rate: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    credit_loan: Mapped[bool]
    first_loan: Mapped[bool]
    guarantee: Mapped[str | None] = mapped_column(String(200))
    granted_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | settled
    flags: Mapped[list] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(16), default="api")  # api | batch
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoanEvent(Base):
    """A loan event: repaid (还款), overdue (逾期), defaulted (违约), settled (结清)."""

    __tablename__ = "financing_loan_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("financing_loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_wan: Mapped[Decimal | None] = mapped_column(Money)
    on_date: Mapped[dt.date] = mapped_column(Date)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Evidence(Base):
    """Loan evidence notarized in the ledger (线上公证 / 线上仲裁)."""

    __tablename__ = "financing_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("financing_loans.id"), index=True)
    institution_id: Mapped[int]
    documents: Mapped[list]
    note: Mapped[str] = mapped_column(Text, default="")
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
