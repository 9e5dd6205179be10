"""Disclosure records (披露记录) and operator alerts.

A ``Disclosure`` row says who received what about whom, when, under which authorizations and for
which purpose (苏政办发〔2022〕59号 §13 “去向可查”). It is written, and appended to the ledger, in the
same transaction as the response is built, before anything is sent.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, utcnow


class Disclosure(Base):
    __tablename__ = "disclosures"
    __table_args__ = (
        Index("ix_disclosures_subject_created", "subject_uscc", "created_at"),
        Index("ix_disclosures_party_created", "party_role", "party_subject", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID
    kind: Mapped[str] = mapped_column(String(16))  # enterprise_view | verification
    party_role: Mapped[str] = mapped_column(String(16))
    party_subject: Mapped[str] = mapped_column(String(64))
    party_name: Mapped[str] = mapped_column(String(200), default="")
    subject_uscc: Mapped[str] = mapped_column(String(18))
    categories: Mapped[list] = mapped_column(default=list)  # categories disclosed (form ≠ none)
    forms: Mapped[dict] = mapped_column(default=dict)  # category → form, for every category asked
    fields: Mapped[dict] = mapped_column(default=dict)  # category → field names or product codes
    authorization_ids: Mapped[list] = mapped_column(default=list)
    purpose: Mapped[str | None] = mapped_column(String(32))
    request_id: Mapped[str | None] = mapped_column(String(64))
    content_sm3: Mapped[str] = mapped_column(String(64))  # SM3 of the canonical JSON of what was sent
    # True when the party held an authorization (or a loan) for the enterprise at the time.
    related: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    leaf_hash: Mapped[str | None] = mapped_column(String(64))


class OperatorAlert(Base):
    """Something the node operator should look at, e.g. an institution sweeping many enterprises."""

    __tablename__ = "operator_alerts"
    __table_args__ = (Index("ix_operator_alerts_subject_created", "kind", "subject", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # possible_scraping
    subject: Mapped[str] = mapped_column(String(64))  # e.g. institution:7
    message: Mapped[str] = mapped_column(String(500))
    details: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
