"""Enterprises and natural persons, derived from the registration base (base category)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, utcnow


class Enterprise(Base):
    """An enterprise of the registration base, keyed by its USCC (统一社会信用代码)."""

    __tablename__ = "enterprises"
    __table_args__ = (Index("ix_enterprises_region_industry", "region_code", "industry_code"),)

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # 登记状态: 存续, 在业, 注销 …
    industry_code: Mapped[str | None] = mapped_column(String(8))
    region_code: Mapped[str | None] = mapped_column(String(6))
    size_class: Mapped[str | None] = mapped_column(String(8))  # 大型/中型/小型/微型 (工信部联企业〔2011〕300号)
    established_on: Mapped[dt.date | None] = mapped_column(Date)
    registered_capital_wan: Mapped[float | None]
    employees: Mapped[int | None]
    revenue_wan: Mapped[float | None]
    registration_authority: Mapped[str | None] = mapped_column(String(200))
    legal_rep_key: Mapped[str] = mapped_column(String(64), index=True)  # person blind index
    base_record_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Person(Base):
    """A natural person, keyed by the HMAC-SM3 blind index of the resident ID; values SM4-encrypted."""

    __tablename__ = "persons"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    id_type: Mapped[str] = mapped_column(String(32))
    id_number_enc: Mapped[str] = mapped_column(String(200))
    name_enc: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PersonRole(Base):
    """A link person ↔ enterprise (legal representative, executive …) with its validity."""

    __tablename__ = "person_roles"
    __table_args__ = (Index("ix_person_roles_enterprise", "uscc", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_key: Mapped[str] = mapped_column(ForeignKey("persons.key"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    role: Mapped[str] = mapped_column(String(32), default="legal_representative")
    since: Mapped[dt.datetime] = mapped_column(default=utcnow)
    until: Mapped[dt.datetime | None]
    source_record_id: Mapped[int | None] = mapped_column(BigInteger)


class Account(Base):
    """An enterprise's real-name account (实名注册), proven against the registration base."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # The legal representative whose identity was proven; a newer base record naming another
    # person invalidates the account's identity until re-verified.
    legal_rep_key: Mapped[str] = mapped_column(String(64))
    identity_valid: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
