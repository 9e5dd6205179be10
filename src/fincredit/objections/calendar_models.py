"""Stored holiday schedules: each load of a year's State Council notice is a new version."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, utcnow


class HolidaySchedule(Base):
    """One version of a year's statutory holidays and make-up working days (节假日安排 / 调休).

    The newest version of a year applies; older versions stay readable. Dates are ISO strings.
    """

    __tablename__ = "holiday_schedules"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    version: Mapped[int]
    holidays: Mapped[list]
    workdays: Mapped[list]
    source: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    loaded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
