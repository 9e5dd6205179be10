"""All queries of the ledger. Inserts only: nothing here updates or deletes an entry, node or checkpoint."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fincredit.ledger.merkle import NodeId
from fincredit.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerNode

HEAD_ID = 1
_head = LedgerHead.__table__
_nodes = LedgerNode.__table__
_entries = LedgerEntry.__table__


def reserve_indexes(session: Session, count: int) -> int:
    """Take the append lock and reserve ``count`` consecutive indexes; returns the first.

    The UPDATE is the lock: PostgreSQL holds the row lock until the caller's transaction ends (a
    concurrent appender waits, then re-reads the committed size), SQLite takes its database write
    lock. A rolled-back transaction gives its indexes back, so there are no gaps.
    """
    stmt = (update(_head).where(_head.c.id == HEAD_ID).values(size=_head.c.size + count)
            .returning(_head.c.size))
    new_size = session.execute(stmt).scalar_one_or_none()
    if new_size is None:
        dialect = session.get_bind().dialect.name
        maker = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(maker(_head).values(id=HEAD_ID, size=0).on_conflict_do_nothing())
        new_size = session.execute(stmt).scalar_one()
    return int(new_size) - count


def head_size(session: Session) -> int:
    size = session.scalar(select(_head.c.size).where(_head.c.id == HEAD_ID))
    return int(size or 0)


def load_nodes(session: Session, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """Perfect node hashes by (level, index); level 0 comes from the entries' leaf hashes.

    Proofs read O(log n) nodes whose set differs every time, so the statement is plain SQL with integer
    literals (never user input) rather than an expression SQLAlchemy would compile for each proof."""
    wanted = list(dict.fromkeys((int(level), int(index)) for level, index in ids))
    leaves = [index for level, index in wanted if level == 0]
    inner = [(level, index) for level, index in wanted if level > 0]
    parts = []
    if leaves:
        parts.append("SELECT 0, entry_index, leaf_hash FROM ledger_entries WHERE entry_index IN ("
                     + ", ".join(map(str, leaves)) + ")")
    if inner:
        parts.append("SELECT level, node_index, hash FROM ledger_nodes WHERE "
                     + " OR ".join(f"(level = {level} AND node_index = {index})" for level, index in inner))
    if not parts:
        return {}
    rows = session.connection().exec_driver_sql(" UNION ALL ".join(parts))
    return {(int(lv), int(i)): bytes(h) for lv, i, h in rows}


def add_entry(session: Session, entry: LedgerEntry) -> None:
    session.add(entry)


def _executemany(session: Session, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """A plain driver ``executemany``: SQLAlchemy's per-row parameter processing costs more than the
    insert itself for large batches. Values must already be in driver form (see ``_driver_value``)."""
    conn = session.connection()
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join([mark] * len(columns))})")
    conn.exec_driver_sql(sql, rows)


def _driver_value(session: Session, column: Any, value: Any) -> Any:
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


def insert_entries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert; ``rows`` use the attribute names of ``LedgerEntry`` and share one ``created_at``."""
    if rows:
        created = _driver_value(session, _entries.c.created_at, rows[0]["created_at"])
        _executemany(session, _entries, ["entry_index", "kind", "body", "leaf_hash", "created_at"],
                     [(r["index"], r["kind"], r["body"], r["leaf_hash"], created) for r in rows])


def add_nodes(session: Session, nodes: Sequence[tuple[int, int, bytes]]) -> None:
    if nodes:
        _executemany(session, _nodes, ["level", "node_index", "hash"], list(nodes))


def get_entry(session: Session, index: int) -> LedgerEntry | None:
    return session.get(LedgerEntry, index)


def get_entries(session: Session, indexes: Sequence[int]) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.index.in_(indexes))
                                .order_by(LedgerEntry.index)))


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    return session.scalars(select(LedgerCheckpoint)
                           .order_by(LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.id.desc())
                           .limit(1)).first()


def checkpoint_for_size(session: Session, size: int) -> LedgerCheckpoint | None:
    return session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.tree_size == size)
                           .order_by(LedgerCheckpoint.id.desc()).limit(1)).first()


def add_checkpoint(session: Session, checkpoint: LedgerCheckpoint) -> LedgerCheckpoint:
    session.add(checkpoint)
    session.flush()
    return checkpoint
