"""Institutions and docked platforms, their assessments and status history (有进有出)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, utcnow


class Institution(Base):
    """A bank, guarantor, local financial organization, or a docked platform (kind ``platform``).

    Lifecycle: applied → (security and authorization assessments passed) → active ⇄ suspended → exited.
    """

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # bank | guarantor | local_financial | platform
    uscc: Mapped[str | None] = mapped_column(String(18))
    region_code: Mapped[str | None] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(12), default="applied")  # applied|active|suspended|exited
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InstitutionAssessment(Base):
    """A security (安全评估) or authorization (授权评估) assessment recorded by the operator."""

    __tablename__ = "institution_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # security | authorization
    passed: Mapped[bool]
    note: Mapped[str] = mapped_column(Text, default="")
    assessed_by: Mapped[str] = mapped_column(String(100))
    assessed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InstitutionStatusChange(Base):
    __tablename__ = "institution_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
