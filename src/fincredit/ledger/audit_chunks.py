"""The fast path of ``fincredit ledger verify``: whole aligned chunks of 2^k entries checked with list
operations, in this process or spread over worker processes.

A chunk passes when its indexes are consecutive, each entry's bytes name its index, every recomputed
leaf hash equals the stored one and every level of the chunk's perfect subtree equals the stored
nodes. A chunk that does not pass is handed back (``root is None``) for the entry-by-entry slow path
in ``audit``, which says exactly what is wrong.
"""

from __future__ import annotations

import bisect
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from fincredit.ledger.merkle import Hasher, get_hasher, range_nodes

STREAM_BATCH = 20_000


def fetch(conn: Connection, sql: str) -> list[Any]:
    """A constant query (integers only, no user input) through the driver, without SQLAlchemy's
    per-row processing."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def stream(conn: Connection, sql: str) -> Iterator[Any]:
    """Rows of a constant query: a named server-side cursor on PostgreSQL, a lazy cursor on SQLite."""
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = raw.cursor(name="ledger_audit_tail")  # type: ignore[union-attr]
    else:
        cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(STREAM_BATCH):
            yield from rows
    finally:
        cursor.close()


def entry_rows(conn: Connection, start: int, end: int | None, deep: bool = False) -> list[Any]:
    columns = "entry_index, body, leaf_hash" + (", kind" if deep else "")
    upper = f" AND entry_index < {int(end)}" if end is not None else ""
    return fetch(conn, f"SELECT {columns} FROM ledger_entries WHERE entry_index >= {int(start)}{upper} "
                       "ORDER BY entry_index")


def stored_level(conn: Connection, level: int, start: int, end: int) -> list[bytes]:
    """Stored node hashes of ``level`` under leaves [start, end), in index order."""
    lo, hi = start >> level, end >> level
    return [bytes(r[0]) for r in fetch(conn, f"SELECT hash FROM ledger_nodes WHERE level = {int(level)} "
                                             f"AND node_index >= {lo} AND node_index < {hi} ORDER BY node_index")]


def stored_nodes(conn: Connection, level: int, start: int, end: int) -> dict[tuple[int, int], bytes]:
    """Stored nodes of ``level`` under leaves [start, end) by (level, index)."""
    lo, hi = start >> level, end >> level
    rows = fetch(conn, f"SELECT node_index, hash FROM ledger_nodes WHERE level = {int(level)} "
                       f"AND node_index >= {lo} AND node_index < {hi}")
    return {(level, int(i)): bytes(h) for i, h in rows}


@dataclass
class ChunkResult:
    start: int
    root: bytes | None  # None: the chunk did not pass the fast path
    # For each checkpoint size s in (start, start + 2^k]: the perfect nodes covering [start, s).
    partials: dict[int, list[bytes]] = field(default_factory=dict)


def check_chunk(conn: Connection, hasher: Hasher, chunk_level: int, start: int,
                checkpoint_sizes: Sequence[int]) -> ChunkResult:
    size = 1 << chunk_level
    end = start + size
    rows = entry_rows(conn, start, end)
    failed = ChunkResult(start, None)
    indexes = [r[0] for r in rows]
    if indexes != list(range(start, end)):
        return failed
    bodies = [r[1] for r in rows]
    if not all(map(str.startswith, bodies, [f'{{"index":{i},' for i in indexes])):
        return failed
    leaf, node = hasher.leaf, hasher.node
    levels = [[leaf(b.encode()) for b in bodies]]
    if levels[0] != [bytes(r[2]) for r in rows]:
        return failed
    for level in range(1, chunk_level + 1):
        below = levels[-1]
        current = [node(a, b) for a, b in zip(below[0::2], below[1::2], strict=True)]
        if current != stored_level(conn, level, start, end):
            return failed
        levels.append(current)
    result = ChunkResult(start, levels[-1][0])
    first = bisect.bisect_right(checkpoint_sizes, start)
    for s in checkpoint_sizes[first:bisect.bisect_right(checkpoint_sizes, end)]:
        result.partials[s] = [levels[lv][i - (start >> lv)] for lv, i in range_nodes(start, s)]
    return result


def _worker(url: str, hasher_name: str, chunk_level: int, starts: list[int],
            checkpoint_sizes: list[int]) -> list[ChunkResult]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            hasher = get_hasher(hasher_name)
            return [check_chunk(conn, hasher, chunk_level, s, checkpoint_sizes) for s in starts]
    finally:
        engine.dispose()


def chunk_results(conn: Connection, hasher: Hasher, chunk_level: int, chunks: int,
                  checkpoint_sizes: list[int], workers: int = 1) -> Iterator[ChunkResult]:
    """Fast-path results for chunks 0 … chunks-1, in order."""
    starts = [c << chunk_level for c in range(chunks)]
    if workers <= 1 or chunks < 2 * workers:
        for start in starts:
            yield check_chunk(conn, hasher, chunk_level, start, checkpoint_sizes)
        return
    url = conn.engine.url.render_as_string(hide_password=False)
    # Small slices handed out in order keep every worker busy and the parent's memory bounded.
    step = max(1, min(16, chunks // (workers * 4)))
    slices = [starts[i:i + step] for i in range(0, chunks, step)]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_worker, url, hasher.name, chunk_level, s, checkpoint_sizes) for s in slices]
        try:
            for future in futures:
                yield from future.result()
        finally:
            for future in futures:
                future.cancel()
