"""Web sessions of the portals and the operators' own accounts (password + TOTP second factor)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, utcnow


class WebSession(Base):
    """A logged-in browser (门户会话). Only the SM3 digest of the cookie value is stored.

    ``role`` and ``subject`` are those of the principal (USCC, institution id, provider code or
    operator user name); ``token_id`` binds the session to the bearer credential it was opened
    with (enterprise log-in token, institution or provider token), so revoking that credential
    ends the session at once.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64), index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    csrf_token: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[int | None]
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OperatorUser(Base):
    """A node operator (省级节点运营人员) who signs in to the management portal.

    Password: Argon2id hash. Second factor: TOTP (RFC 6238), secret SM4-encrypted at rest;
    ``last_totp_step`` refuses a code used once already (replay).
    """

    __tablename__ = "operator_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret_enc: Mapped[str] = mapped_column(String(300))
    last_totp_step: Mapped[int] = mapped_column(default=0)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
