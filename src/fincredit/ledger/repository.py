"""All queries of the ledger. Inserts only: nothing here updates or deletes an entry, node or checkpoint."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fincredit.ledger.merkle import NodeId
from fincredit.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerNode

HEAD_ID = 1
_head = LedgerHead.__table__
_nodes = LedgerNode.__table__
_entries = LedgerEntry.__table__


# A statement sent with an append: a prebuilt Core statement whose values are bind parameters, and
# the parameters of this execution. Prebuilt statements cost nothing to construct per request and are
# compiled once; parameter names must be unique across the statements sent together, and an insert must
# give every column that has a Python-side default (as a CTE, SQLAlchemy leaves such defaults NULL).
Write = tuple[Any, dict[str, Any]]

_TEMPLATES: dict[int, Any] = {}  # id → statement: registered templates stay alive, so ids are stable
_COMPOSED: dict[tuple[int, ...], Any] = {}


def template(stmt: Any) -> Any:
    """Register a module-level statement as a template (see ``Write``); returns it."""
    _TEMPLATES[id(stmt)] = stmt
    return stmt


def _dml_ctes(session: Session) -> bool:
    """PostgreSQL runs data-modifying statements in WITH (each exactly once): several writes, one round
    trip. SQLite does not: there they are executed one after the other."""
    return session.get_bind().dialect.name == "postgresql"


def _compose(main: Any, others: Sequence[Any]) -> Any:
    parts = (main, *others)
    key = tuple(id(p) for p in parts)
    cacheable = all(_TEMPLATES.get(k) is p for k, p in zip(key, parts, strict=True))
    if cacheable and key in _COMPOSED:
        return _COMPOSED[key]
    composed = main.add_cte(*[stmt.cte(f"ledger_with_{i}") for i, stmt in enumerate(others)])
    if cacheable:
        _COMPOSED[key] = composed
    return composed


def _execute_with(session: Session, main: Write, others: Sequence[Write]) -> Any:
    """Execute ``main`` carrying ``others`` as data-modifying CTEs (PostgreSQL: one round trip), or after
    executing ``others`` one by one (SQLite). Returns ``main``'s result."""
    if not others:
        return session.execute(main[0], main[1])
    if _dml_ctes(session):
        params = dict(main[1])
        for _stmt, p in others:
            params.update(p)
        return session.execute(_compose(main[0], [stmt for stmt, _p in others]), params)
    for stmt, p in others:
        session.execute(stmt, p)
    return session.execute(main[0], main[1])


_RESERVE = template(update(_head).where(_head.c.id == HEAD_ID)
                    .values(size=_head.c.size + bindparam("ledger_reserve_count", type_=BigInteger))
                    .returning(_head.c.size, _head.c.frontier, _head.c.frontier_size))

_SET_FRONTIER = template(update(_head).where(_head.c.id == HEAD_ID)
                         .values(frontier=bindparam("ledger_frontier", type_=_head.c.frontier.type),
                                 frontier_size=bindparam("ledger_frontier_size", type_=BigInteger)))


def reserve_indexes(session: Session, count: int, with_statements: Sequence[Write] = ()
                    ) -> tuple[int, bytes | None]:
    """Take the append lock and reserve ``count`` consecutive indexes; returns the first, and the head's
    compact range when it is current (the concatenated hashes for the first index), else None.

    The UPDATE is the lock: PostgreSQL holds the row lock until the caller's transaction ends (a
    concurrent appender waits, then re-reads the committed row), SQLite takes its database write
    lock. A rolled-back transaction gives its indexes back, so there are no gaps.
    ``with_statements`` (the caller's own writes, e.g. an authorization's use) are sent in the same
    statement on PostgreSQL.
    """
    params = {"ledger_reserve_count": count}
    row = _execute_with(session, (_RESERVE, params), with_statements).one_or_none()
    if row is None:
        dialect = session.get_bind().dialect.name
        maker = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(maker(_head).values(id=HEAD_ID, size=0, frontier=b"", frontier_size=0)
                        .on_conflict_do_nothing())
        row = session.execute(_RESERVE, params).one()
    start = int(row[0]) - count
    frontier = bytes(row[1]) if row[1] is not None and row[2] is not None and int(row[2]) == start else None
    return start, frontier


def frontier_write(frontier: bytes, size: int) -> Write:
    """The head's new compact range, written with the entries of an append (see ``LedgerHead``)."""
    return _SET_FRONTIER, {"ledger_frontier": frontier, "ledger_frontier_size": size}


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


# Up to this many entries and nodes, they and the caller's own inserts go in one statement (PostgreSQL);
# larger batches (uploads) use the driver's executemany.
SMALL_APPEND = 16


@functools.cache
def _row_insert(table_name: str, slot: int) -> Any:
    """A prebuilt single-row insert into ``ledger_entries`` or ``ledger_nodes`` with parameters named
    ``<table>_<slot>_<column>``: a small append sends one per row, as CTEs of one statement (a
    multi-row VALUES insert has no cache key and would be compiled on every execution)."""
    table = _entries if table_name == _entries.name else _nodes
    return template(insert(table).values({c.name: bindparam(f"{table.name}_{slot}_{c.name}", type_=c.type)
                                          for c in table.c}))


def insert_appended(session: Session, rows: Sequence[dict[str, Any]], nodes: Sequence[tuple[int, int, bytes]],
                    with_statements: Sequence[Write] = ()) -> None:
    """Insert the entries and nodes of an append, and the caller's writes that depend on the entries'
    indexes (e.g. the disclosure row): one round trip for a small append on PostgreSQL.

    Writes of the same statement (a group commit's disclosure rows: same parameter names) cannot share
    one statement as CTEs; they go as one executemany each, after the entries and nodes."""
    distinct = len({id(stmt) for stmt, _p in with_statements}) == len(with_statements)
    if rows and len(rows) + len(nodes) <= SMALL_APPEND and distinct and _dml_ctes(session):
        e, n = _entries.name, _nodes.name
        writes: list[Write] = [
            (_row_insert(e, i), {f"{e}_{i}_entry_index": r["index"], f"{e}_{i}_kind": r["kind"],
                                 f"{e}_{i}_body": r["body"], f"{e}_{i}_leaf_hash": r["leaf_hash"],
                                 f"{e}_{i}_created_at": r["created_at"]})
            for i, r in enumerate(rows)]
        writes += [(_row_insert(n, i), {f"{n}_{i}_level": level, f"{n}_{i}_node_index": index, f"{n}_{i}_hash": h})
                   for i, (level, index, h) in enumerate(nodes)]
        writes += list(with_statements)
        _execute_with(session, writes[-1], writes[:-1])
        return
    insert_entries(session, rows)
    add_nodes(session, nodes)
    batches: dict[int, tuple[Any, list[dict[str, Any]]]] = {}
    for stmt, params in with_statements:
        batches.setdefault(id(stmt), (stmt, []))[1].append(params)
    for stmt, params_list in batches.values():
        session.execute(stmt, params_list if len(params_list) > 1 else params_list[0])


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
