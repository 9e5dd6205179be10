"""Providers (责任单位), batches (批次) and the stored records of every category, with lineage."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, BigIntPK, utcnow


class Provider(Base):
    """A data-providing department; it may deliver only the categories it is responsible for."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list] = mapped_column(default=list)
    # Interface-call (接口调用) endpoint for on-demand fetches, when the provider registers one.
    endpoint_url: Mapped[str | None] = mapped_column(String(500))
    endpoint_secret_enc: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Batch(Base):
    """One delivery of one file for one category. Atomic and idempotent by content hash.

    The same content from the same provider for the same category is stored once: the partial
    unique index covers every batch that was not rejected. A rejected batch stored nothing, so
    sending the same file again (another mode, a newer catalog version) is processed afresh.
    """

    __tablename__ = "batches"
    __table_args__ = (
        Index("ix_batches_content_once", "provider_code", "category_code", "content_hash", unique=True,
              sqlite_where=text("status <> 'rejected'"), postgresql_where=text("status <> 'rejected'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_code: Mapped[str] = mapped_column(String(64), index=True)
    category_code: Mapped[str] = mapped_column(String(32), index=True)
    catalog_version_id: Mapped[int] = mapped_column(ForeignKey("catalog_versions.id"))
    content_hash: Mapped[str] = mapped_column(String(64))  # SM3 of the file bytes
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    encoding: Mapped[str | None] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # store_valid: keep valid rows and report the rest; all_or_nothing: refuse whole on any error
    mode: Mapped[str] = mapped_column(String(16), default="store_valid")
    status: Mapped[str] = mapped_column(String(24))  # accepted | partially_accepted | rejected
    rows_total: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    superseded: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    error_summary: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(100))


class BatchError(Base):
    """A rejected row (or file-level problem, row NULL) of a batch: {row, field, code, message}."""

    __tablename__ = "batch_errors"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    row: Mapped[int | None]
    field: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(500))


class Record(Base):
    """A stored record of a category about one subject, with its lineage.

    ``subject_key`` is the USCC for enterprises, or the HMAC-SM3 blind index of the resident ID
    for natural persons. Identifiers of natural persons inside ``data`` are SM4-encrypted.
    A corrected record (same natural key) supersedes the old one; the old row stays as history.
    """

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_subject_current", "subject_key", "category_code", "is_current"),
        Index("ix_records_natural_key_current", "category_code", "natural_key_hash", unique=True,
              sqlite_where=text("is_current"), postgresql_where=text("is_current")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    category_code: Mapped[str] = mapped_column(String(32))
    subject_kind: Mapped[str] = mapped_column(String(12))  # enterprise | person
    subject_key: Mapped[str] = mapped_column(String(64))
    natural_key_hash: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict]
    # Blind indexes of natural persons named in the record (legal representative, parties …).
    person_keys: Mapped[list | None]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    row_no: Mapped[int | None]
    provider_code: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    is_current: Mapped[bool] = mapped_column(default=True)
    superseded_at: Mapped[dt.datetime | None]
    superseded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    # Set when the record came from an on-demand interface call instead of a batch.
    fetched_via: Mapped[str | None] = mapped_column(String(32))


class InterfaceFetch(Base):
    """One on-demand call (接口调用) to a provider's endpoint for one subject, and what it brought.

    The latest successful fetch of (category, subject) is the freshness of the cached records:
    unchanged rows are not stored again, so the records' own time cannot tell.
    """

    __tablename__ = "interface_fetches"
    __table_args__ = (Index("ix_interface_fetches_subject", "category_code", "subject_key", "fetched_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    category_code: Mapped[str] = mapped_column(String(32))
    subject_key: Mapped[str] = mapped_column(String(64))
    provider_code: Mapped[str] = mapped_column(String(64))
    authorization_ref: Mapped[str | None] = mapped_column(String(100))
    fetched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16))  # ok | failed
    rows_received: Mapped[int] = mapped_column(default=0)
    rows_stored: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
