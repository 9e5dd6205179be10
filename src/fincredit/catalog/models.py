from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, utcnow


class CatalogVersion(Base):
    """One immutable version of the whole catalog. Every adjustment creates a new one."""

    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    note: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(16))  # annex | operator
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    providers: Mapped[dict]
    annex_hash: Mapped[str] = mapped_column(String(64))


class CatalogCategory(Base):
    __tablename__ = "catalog_categories"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    definition: Mapped[dict]
    definition_hash: Mapped[str] = mapped_column(String(64))
    # True when an operator adjusted this category (an upgrade of the shipped annex keeps it).
    operator_adjusted: Mapped[bool] = mapped_column(default=False)
