"""Indexes the statistics figures need on other capabilities' facts: every flow figure selects one
period by the fact's own time, so each of those times is indexed. The loan and registration figures are
read from pre-aggregated monthly tables (below) kept in the same transaction as their facts and
recomputable from them (``statistics/aggregate.py``); everything else is computed from the facts.

The registrations figure and the month series fully join the registration base with the accounts; on
PostgreSQL the two covering indexes let that join be a merge of two index-only scans in ``uscc`` order
(1.7× faster than hashing the 2 M-row base at province scale, see docs/benchmarks.md)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.db import Base
from fincredit.disclosure.models import Disclosure
from fincredit.financing.models import Loan, LoanEvent
from fincredit.objections.models import Objection
from fincredit.registry.models import Account, Enterprise

STATISTICS_INDEXES = (
    Index("ix_statistics_authorizations_created", Authorization.created_at),
    Index("ix_statistics_authorizations_revoked", Authorization.revoked_at),
    Index("ix_statistics_authorization_uses_used", AuthorizationUse.used_at),
    Index("ix_statistics_disclosures_created", Disclosure.created_at),
    Index("ix_statistics_objections_filed", Objection.filed_at),
    Index("ix_statistics_enterprises_dimensions", Enterprise.uscc,
          postgresql_include=["region_code", "industry_code", "size_class", "status"]),
    Index("ix_statistics_accounts_created", Account.uscc, postgresql_include=["created_at"]),
    # The aggregate's partial month (facts dated from the 1st of the period's last month to its end).
    Index("ix_statistics_accounts_created_at", Account.created_at),
    Index("ix_statistics_loans_granted", Loan.granted_on),
    Index("ix_statistics_loan_events_on", LoanEvent.on_date),
)


# -- pre-aggregated tables (statistics/aggregate.py) ------------------------------------------------
# Monthly sums of the loan and registration facts, kept in the same transaction as every write of those
# facts (ORM flush hooks and the registry's bulk upsert) and recomputable from the facts at any time
# (``fincredit statistics rebuild``; ``fincredit statistics check`` compares). An enterprise dimension
# is stored raw: ``region4`` the first four digits of the region code (the city), ``section`` the first
# letter of the industry code, ``size_class``; '' stands for unknown (no code, or no enterprise in the
# base). ``month`` is YYYY-MM of the fact's effective date (see aggregate.py).

AGG_MONEY = Numeric(20, 4)


class _LoanMeasures:
    granted: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[Decimal] = mapped_column(AGG_MONEY, default=0)
    first: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)
    balance: Mapped[Decimal] = mapped_column(AGG_MONEY, default=0)
    credit_balance: Mapped[Decimal] = mapped_column(AGG_MONEY, default=0)
    overdue: Mapped[int] = mapped_column(BigInteger, default=0)
    defaulted: Mapped[int] = mapped_column(BigInteger, default=0)


class _MonthDimensions:
    """A month and the enterprise dimensions its sums are grouped by."""

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    region4: Mapped[str] = mapped_column(String(4))
    section: Mapped[str] = mapped_column(String(1))
    size_class: Mapped[str] = mapped_column(String(8))


class LoanMonth(_MonthDimensions, _LoanMeasures, Base):
    """Loan figures' monthly deltas by the borrower's city × industry section × size class."""

    __tablename__ = "statistics_loan_months"
    __table_args__ = (UniqueConstraint("month", "region4", "section", "size_class",
                                       name="uq_statistics_loan_months"),)


class LoanProductMonth(_LoanMeasures, Base):
    """Loan figures' monthly deltas by institution × product (``product_id`` 0: no product)."""

    __tablename__ = "statistics_loan_product_months"
    __table_args__ = (UniqueConstraint("month", "institution_id", "product_id",
                                       name="uq_statistics_loan_product_months"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    institution_id: Mapped[int]
    product_id: Mapped[int]


class RegistrationMonth(_MonthDimensions, Base):
    """Accounts created per month (UTC) by the enterprise's city × industry section × size class."""

    __tablename__ = "statistics_registration_months"
    __table_args__ = (UniqueConstraint("month", "region4", "section", "size_class",
                                       name="uq_statistics_registration_months"),)

    accounts: Mapped[int] = mapped_column(BigInteger, default=0)


class EnterpriseCount(Base):
    """Live enterprises of the registration base (status 存续/在业) by city × industry section × size class."""

    __tablename__ = "statistics_enterprise_counts"
    __table_args__ = (UniqueConstraint("region4", "section", "size_class", name="uq_statistics_enterprise_counts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region4: Mapped[str] = mapped_column(String(4))
    section: Mapped[str] = mapped_column(String(1))
    size_class: Mapped[str] = mapped_column(String(8))
    live: Mapped[int] = mapped_column(BigInteger, default=0)


AGGREGATE_TABLES = (LoanMonth, LoanProductMonth, RegistrationMonth, EnterpriseCount)
