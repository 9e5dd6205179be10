"""All queries of collection except the bulk record path (``ingest``) and the quality aggregates."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from fincredit.collection.models import Batch, BatchError, Provider, Record
from fincredit.collection.validators import RowError


def lock_category(session: Session, category_code: str, *, wait: bool = True) -> bool:
    """Serialise writers of one category's records until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock on the category, so that two batches (or an
    interface fetch) touching the same natural keys never race on the partial unique index.
    SQLite: take the database write lock now (``BEGIN IMMEDIATE``); it has a single writer anyway,
    and the record ids the writer allocates rely on it.

    ``wait=False`` (PostgreSQL): return False at once instead of waiting for another writer.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = connection.execute(text(f"SELECT {function}(hashtextextended(:key, 0))"),
                                 {"key": f"fincredit.records:{category_code}"}).scalar()
        return wait or bool(got)
    raw = connection.connection.driver_connection
    if not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")
    return True


# -- providers ------------------------------------------------------------------------------------

def get_provider(session: Session, code: str) -> Provider | None:
    return session.scalar(select(Provider).where(Provider.code == code))


def list_providers(session: Session) -> list[Provider]:
    return list(session.scalars(select(Provider).order_by(Provider.code)))


def providers_for_category(session: Session, category_code: str) -> list[Provider]:
    """Providers responsible for a category (the list is short: filtered in Python, portable JSON)."""
    return [p for p in list_providers(session) if category_code in (p.categories or [])]


# -- batches ----------------------------------------------------------------------------------------

def find_batch_by_content(session: Session, provider_code: str, category_code: str,
                          content_hash: str) -> Batch | None:
    return session.scalar(select(Batch).where(
        Batch.provider_code == provider_code, Batch.category_code == category_code,
        Batch.content_hash == content_hash, Batch.status != "rejected").order_by(Batch.id).limit(1))


def get_batch(session: Session, batch_id: int) -> Batch | None:
    return session.get(Batch, batch_id)


def list_batches(session: Session, *, provider_code: str | None = None, category_code: str | None = None,
                 status: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Batch], int]:
    conditions = []
    if provider_code:
        conditions.append(Batch.provider_code == provider_code)
    if category_code:
        conditions.append(Batch.category_code == category_code)
    if status:
        conditions.append(Batch.status == status)
    total = session.scalar(select(func.count()).select_from(Batch).where(*conditions)) or 0
    rows = session.scalars(select(Batch).where(*conditions).order_by(Batch.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)


def add_errors(session: Session, batch_id: int, errors: Sequence[RowError]) -> None:
    if not errors:
        return
    session.execute(insert(BatchError), [
        {"batch_id": batch_id, "row": e.row, "field": e.field[:100], "code": e.code[:64], "message": e.message[:500]}
        for e in errors])


def list_errors(session: Session, batch_id: int, *, limit: int, offset: int) -> tuple[list[BatchError], int]:
    total = session.scalar(select(func.count()).select_from(BatchError).where(BatchError.batch_id == batch_id)) or 0
    rows = session.scalars(select(BatchError).where(BatchError.batch_id == batch_id)
                           .order_by(BatchError.id).limit(limit).offset(offset))
    return list(rows), int(total)


def delete_errors(session: Session, batch_id: int) -> None:
    session.execute(delete(BatchError).where(BatchError.batch_id == batch_id))


# -- records -----------------------------------------------------------------------------------------

def current_records(session: Session, category_code: str, subject_key: str) -> list[Record]:
    return list(session.scalars(select(Record).where(
        Record.subject_key == subject_key, Record.category_code == category_code, Record.is_current)
        .order_by(Record.id)))


def record_history(session: Session, category_code: str, natural_key_hash: str) -> list[Record]:
    """Every version of one record, oldest first."""
    return list(session.scalars(select(Record).where(
        Record.category_code == category_code, Record.natural_key_hash == natural_key_hash).order_by(Record.id)))
