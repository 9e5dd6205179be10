from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    provider = "provider"
    institution = "institution"
    enterprise = "enterprise"
    platform = "platform"


class ApiToken(Base):
    """A bearer credential. Only the SM3 digest of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), index=True)
    # The party the token speaks for: operator name, provider code, institution id or USCC.
    subject: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
