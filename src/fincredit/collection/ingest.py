"""The fast insert path of collection (入库): shaped records → ``records``, in chunks, with supersede.

``RecordWriter`` runs on the caller's connection and transaction (it never commits). Per chunk of
``chunk_rows`` records it

1. looks up the *current* records with the chunk's natural keys (one query, the partial unique
   index ``(category_code, natural_key_hash) WHERE is_current``; PostgreSQL: the keys as one text
   parameter split by the server) — in a batch (``bulk``) whose category held no current record
   when the writer started, only the keys this writer may already have written (``KeyFilter``: a
   key it reports absent was never written, so no record with it exists; the category lock keeps
   other writers out until the transaction ends);
2. skips records identical to the current one (same content hash → ``unchanged``);
3. gives the new records ids — when something needs them (a record it supersedes, ``on_chunk``,
   ``keep_ids``): PostgreSQL ``nextval`` in one round trip, SQLite max+1 (safe because the
   transaction holds SQLite's single write lock); otherwise, on PostgreSQL, the column's sequence
   default numbers the rows as COPY stores them, in file order — and marks the records they
   replace ``is_current = false`` with ``superseded_at`` / ``superseded_by_id``, before inserting,
   since the partial unique index allows one current record per natural key;
4. inserts the chunk: PostgreSQL ``COPY … FROM STDIN`` — in a batch one COPY stays open across
   chunks (ended before any other statement: a look-up, ids, a supersede, ``on_chunk``; and at the
   end), so the server stores rows while the next ones are validated and no chunk waits for a
   round trip; SQLite ``executemany`` on the driver. While a COPY is open, a statement sent through
   SQLAlchemy on the connection ends it first (from the COPY's thread) or fails (from another
   thread) — psycopg would otherwise make it wait for ever (``_before_statement``).

A natural key seen twice in one chunk closes the chunk first, so that a file behaves exactly as
if its rows were applied one after the other. Concurrent writers of one category are serialised
by the caller (``repository.lock_category``).
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from fincredit.collection.shaping import Shaped
from fincredit.logs import get_logger

log = get_logger(__name__)

DEFAULT_CHUNK_ROWS = 5000
COLUMNS = ("id", "category_code", "subject_kind", "subject_key", "natural_key_hash", "content_hash", "data",
           "person_keys", "batch_id", "row_no", "provider_code", "received_at", "is_current", "fetched_via")
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
SQLITE_MAX_VARIABLES = 30000
# Page cache of the SQLite connection while a big batch is written (KiB; restored afterwards). The
# partial unique index on the natural-key hash takes random inserts: with SQLite's default 2 MiB
# cache most of them would read and write pages through the OS. Bounded, whatever the file size.
SQLITE_BULK_CACHE_KIB = 131072


class KeyFilter:
    """The natural keys a writer has written, as a Bloom filter (three probes into 2**28 bits, 32 MiB
    whatever the batch size): ``seen`` never misses a key that was added; a false "maybe" only costs
    a look-up. Natural-key hashes are hex HMAC-SM3 digests (uniform bits): the probes are three
    28-bit slices of the first 96 bits, taken for a whole chunk at once with numpy."""

    BITS = 28

    def __init__(self) -> None:
        self._bits = np.zeros(1 << (self.BITS - 3), dtype=np.uint8)

    def seen(self, keys: Sequence[str]) -> list[str]:
        """The keys that may have been added before (then adds them all)."""
        if not keys:
            return []
        words = np.frombuffer(bytes.fromhex("".join(k[:24] for k in keys)), dtype=">u4").reshape(-1, 3)
        probes = (words.astype(np.uint32) >> np.uint32(32 - self.BITS))  # (n, 3) bit numbers
        byte, bit = probes >> np.uint32(3), np.left_shift(np.uint8(1), (probes & np.uint32(7)).astype(np.uint8))
        hit = (self._bits[byte] & bit).all(axis=1)
        np.bitwise_or.at(self._bits, byte.ravel(), bit.ravel())
        return [keys[i] for i in np.flatnonzero(hit).tolist()]


# The connection events that precede anything sent on the connection by SQLAlchemy.
GUARDED_EVENTS = ("before_cursor_execute", "commit", "rollback", "savepoint", "rollback_savepoint",
                  "release_savepoint")

INSERT_VARYING = ("id", "subject_kind", "subject_key", "natural_key_hash", "content_hash", "data", "person_keys",
                  "row_no")
INSERT_CONSTANT = ("category_code", "batch_id", "provider_code", "received_at", "is_current", "fetched_via")


def _sqlite_literal(value: object) -> str:
    """An SQL literal for SQLite (quotes doubled; no NUL, which SQLite text literals cannot hold)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(int(value))
    text = str(value)
    if "\x00" in text:
        raise ValueError("NUL in a literal")
    return "'" + text.replace("'", "''") + "'"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: object) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


@dataclass
class ChunkWritten:
    """What one chunk did: the new records with their ids, and which old record each replaced."""

    inserted: list[tuple[int, Shaped]]
    replaced: dict[int, int]  # new record id → superseded record id


@dataclass
class WriteCounts:
    inserted: int = 0
    superseded: int = 0
    unchanged: int = 0
    chunks: int = 0
    record_ids: list[int] = field(default_factory=list)


class RecordWriter:
    """Buffered writer of one category's records for one batch (or one interface fetch)."""

    def __init__(self, session: Session, *, category_code: str, provider_code: str, batch_id: int | None,
                 now: dt.datetime, fetched_via: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 on_chunk: Callable[[ChunkWritten], None] | None = None, keep_ids: bool = False,
                 bulk: bool = False) -> None:
        connection = session.connection()
        self._connection: Connection = connection
        self.dialect = connection.dialect.name
        self.raw = connection.connection.driver_connection
        self.category_code = category_code
        self.provider_code = provider_code
        self.batch_id = batch_id
        self.fetched_via = fetched_via
        self.chunk_rows = max(1, min(chunk_rows, SQLITE_MAX_VARIABLES - 10))
        self.on_chunk = on_chunk
        self.keep_ids = keep_ids
        self.bulk = bulk
        self.counts = WriteCounts()
        self._pending: dict[str, Shaped] = {}
        self._cache_size: int | None = None
        self._copy: Any = None  # the open COPY of PostgreSQL (its context manager), if any
        self._copy_cursor: Any = None
        self._copy_stream: Any = None
        self._copy_ids = False  # does the open COPY carry the ids?
        self._copy_thread: threading.Thread | None = None  # the thread that opened it
        self._guarded = False  # are the connection's statement events listened to (``_guard``)?
        # A batch into a category without current records looks up only the keys it may have written.
        self._written: KeyFilter | None = None
        if bulk and self._scalar(
                "SELECT NOT EXISTS (SELECT 1 FROM records WHERE category_code = "
                + ("%s" if self.dialect == "postgresql" else "?") + " AND is_current)", (category_code,)):
            self._written = KeyFilter()
        if self.dialect == "postgresql":
            self._now: object = now
            self._sequence = self._scalar("SELECT pg_get_serial_sequence('records', 'id')")
        else:
            self._now = now.astimezone(dt.UTC).replace(tzinfo=None).strftime(SQLITE_DATETIME)
            self._next_id = int(self._scalar("SELECT COALESCE(MAX(id), 0) FROM records")) + 1
            constants = (self.category_code, self.batch_id, self.provider_code, self._now, 1, self.fetched_via)
            self._sqlite_insert = (
                f"INSERT INTO records ({', '.join(INSERT_VARYING + INSERT_CONSTANT)}) VALUES "
                f"({', '.join('?' * len(INSERT_VARYING))}, {', '.join(map(_sqlite_literal, constants))})")
            if bulk:
                self._cache_size = int(self._scalar("PRAGMA cache_size"))  # type: ignore[call-overload]
                self._execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")

    # -- public ---------------------------------------------------------------------------------
    def add(self, record: Shaped) -> None:
        if record.natural_key_hash in self._pending:
            self.flush()
        self._pending[record.natural_key_hash] = record
        if len(self._pending) >= self.chunk_rows:
            self.flush()

    def finish(self) -> WriteCounts:
        self.flush()
        self._end_copy()
        self.release()
        return self.counts

    def release(self) -> None:
        """Give the connection back as it was (idempotent): a COPY still open — the batch failed
        before ``finish`` — is ended as failed (its transaction is rolled back anyway); SQLite's own
        page cache size is restored."""
        if self._copy is not None:
            self._end_copy(RuntimeError("ingestion aborted"))
        if self._guarded:
            self._guarded = False
            for name in GUARDED_EVENTS:
                event.remove(self._connection, name, self._before_statement)
        if self._cache_size is not None:
            size, self._cache_size = self._cache_size, None
            self._execute(f"PRAGMA cache_size = {int(size)}")

    def flush(self) -> None:
        if not self._pending:
            return
        chunk = list(self._pending.values())
        self._pending = {}
        keys = [r.natural_key_hash for r in chunk]
        if self._written is not None:
            keys = self._written.seen(keys)
        current = self._current(keys) if keys else {}
        new: list[Shaped] = []
        replaces: list[int | None] = []
        for record in chunk:
            found = current.get(record.natural_key_hash)
            if found is not None and found[1] == record.content_hash:
                self.counts.unchanged += 1
                continue
            new.append(record)
            replaces.append(found[0] if found is not None else None)
        if (self.dialect == "postgresql" and self.on_chunk is None and not self.keep_ids
                and all(old is None for old in replaces)):
            # Nothing needs the new ids: the sequence default numbers the rows as COPY stores them
            # (in file order), and the open COPY goes on without a round trip for ids.
            ids: list[int] = []
            replaced: dict[int, int] = {}
        else:
            ids = self._allocate(len(new))
            replaced = {new_id: old for new_id, old in zip(ids, replaces, strict=True) if old is not None}
        if replaced:
            self._supersede(replaced)
        if new:
            self._insert(ids, new)
        self.counts.inserted += len(new)
        self.counts.superseded += len(replaced)
        self.counts.chunks += 1
        if self.keep_ids:
            self.counts.record_ids.extend(ids)
        log.info("ingest_chunk_written", batch_id=self.batch_id, category=self.category_code,
                 chunk=self.counts.chunks, rows=len(chunk), inserted=len(new), superseded=len(replaced))
        if self.on_chunk is not None or not self.bulk:
            # The callback runs statements of its own on the connection; a writer not in a batch
            # leaves the connection free for its caller between ``add`` calls.
            self._end_copy()
        if self.on_chunk is not None:
            self.on_chunk(ChunkWritten(list(zip(ids, new, strict=True)), replaced))

    # -- dialect-specific statements ----------------------------------------------------------------
    def _cursor(self) -> Any:
        """A cursor for a statement (PostgreSQL: ends the open COPY first, so that the statement
        runs, and sees the rows copied so far)."""
        if self._copy is not None:
            self._end_copy()
        return self.raw.cursor()

    def _scalar(self, sql: str, params: Sequence[object] = ()) -> object:
        cur = self._cursor()
        try:
            if params:
                cur.execute(sql, params)
            else:
                cur.execute(sql)
            return cur.fetchone()[0]
        finally:
            cur.close()

    def _execute(self, sql: str) -> None:
        cur = self._cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()

    def _current(self, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
        cur = self._cursor()
        try:
            if self.dialect == "postgresql":
                # The keys travel as one text parameter split by the server: psycopg dumps a list
                # parameter element by element (≈ 5 µs of CPU a key), the joined string costs next to
                # nothing. Keys are hex digests (never a comma); the partial unique index is probed.
                cur.execute("SELECT natural_key_hash, id, content_hash FROM records WHERE category_code = %s "
                            "AND is_current AND natural_key_hash = ANY(string_to_array(%s, ','))",
                            (self.category_code, ",".join(keys)))
            else:
                marks = ",".join("?" * len(keys))
                # ``AND is_current`` literally, so that SQLite uses the partial unique index.
                cur.execute("SELECT natural_key_hash, id, content_hash FROM records WHERE category_code = ? "
                            f"AND is_current AND natural_key_hash IN ({marks})", (self.category_code, *keys))
            return {nk: (int(rid), ch) for nk, rid, ch in cur.fetchall()}
        finally:
            cur.close()

    def _allocate(self, count: int) -> list[int]:
        if count == 0:
            return []
        if self.dialect == "postgresql":
            cur = self._cursor()
            try:
                cur.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (self._sequence, count))
                return sorted(int(r[0]) for r in cur.fetchall())
            finally:
                cur.close()
        start = self._next_id
        self._next_id += count
        return list(range(start, start + count))

    def _supersede(self, replaced: dict[int, int]) -> None:
        cur = self._cursor()
        try:
            if self.dialect == "postgresql":
                cur.execute("UPDATE records SET is_current = false, superseded_at = %s, superseded_by_id = v.new_id "
                            "FROM unnest(string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::bigint[]) "
                            "AS v(old_id, new_id) WHERE records.id = v.old_id",
                            (self._now, ",".join(map(str, replaced.values())), ",".join(map(str, replaced.keys()))))
            else:
                cur.executemany("UPDATE records SET is_current = 0, superseded_at = ?, superseded_by_id = ? "
                                "WHERE id = ?", [(self._now, new, old) for new, old in replaced.items()])
        finally:
            cur.close()

    def _copy_text(self, ids: Sequence[int], records: Sequence[Shaped]) -> bytes:
        """The rows in COPY text format: columns as ``COLUMNS`` (without ``id`` when ``ids`` is
        empty), tab-separated, ``\\N`` for NULL.
        Hashes, USCCs and blind indexes are hex or code characters; JSON text has no raw control
        character (JSON escapes them), so only its backslashes need escaping."""
        head = f"{_copy_value(self.category_code)}\t"
        batch = f"\t{_copy_value(self.batch_id)}\t"
        tail = f"\t{_copy_value(self.provider_code)}\t{_copy_value(self._now)}\tt\t{_copy_value(self.fetched_via)}\n"
        lines = []
        for r in records:
            data = r.data_json.replace("\\", "\\\\") if "\\" in r.data_json else r.data_json
            keys = "\\N" if r.person_keys_json is None else _copy_value(r.person_keys_json)
            row = "\\N" if r.row_no is None else str(r.row_no)
            lines.append(f"{head}{r.subject_kind}\t{_copy_value(r.subject_key)}\t{r.natural_key_hash}\t"
                         f"{r.content_hash}\t{data}\t{keys}{batch}{row}{tail}")
        if ids:
            lines = [f"{rid}\t{line}" for rid, line in zip(ids, lines, strict=True)]
        return "".join(lines).encode()

    def _before_statement(self, *_args: object, **_kw: object) -> None:
        """Listened to on the session's connection (statements, commit, rollback, savepoints) from the
        first COPY until ``release``. psycopg holds the connection's (non-reentrant) lock for a whole
        COPY, so any other statement on it would wait for ever — in the COPY's thread on itself, in
        another thread on a COPY that only the waiting thread's progress would end. So a statement
        from the COPY's thread (``on_chunk``, an ORM autoflush, a hook) ends the COPY first, and sees
        the rows copied so far; one from another thread while that thread is alive fails at once."""
        if self._copy is None:
            return
        owner = self._copy_thread
        if owner is threading.current_thread() or owner is None or not owner.is_alive():
            self._end_copy()
            return
        raise RuntimeError(f"a statement on the connection of batch {self.batch_id} while its records are "
                           f"being copied by thread {owner.name!r}: run it from that thread or after the "
                           "writer's finish()")

    def _guard(self) -> None:
        if not self._guarded:
            for name in GUARDED_EVENTS:
                event.listen(self._connection, name, self._before_statement)
            self._guarded = True

    def _begin_copy(self, with_ids: bool) -> Any:
        self._guard()
        cursor = self.raw.cursor()
        try:
            manager = cursor.copy(f"COPY records ({', '.join(COLUMNS if with_ids else COLUMNS[1:])}) FROM STDIN")
            copy = manager.__enter__()
        except BaseException:
            cursor.close()
            raise
        self._copy, self._copy_cursor, self._copy_stream, self._copy_ids = manager, cursor, copy, with_ids
        self._copy_thread = threading.current_thread()
        return copy

    def _end_copy(self, error: BaseException | None = None) -> None:
        """End the open COPY: normally (the server checks and stores the rows; an error surfaces
        here) or, with ``error``, as failed."""
        manager, cursor = self._copy, self._copy_cursor
        if manager is None:
            return
        self._copy = self._copy_cursor = self._copy_stream = None
        try:
            if error is None:
                manager.__exit__(None, None, None)
            else:
                manager.__exit__(type(error), error, error.__traceback__)
        finally:
            cursor.close()

    def _insert(self, ids: Sequence[int], records: Sequence[Shaped]) -> None:
        if self.dialect == "postgresql":
            data = self._copy_text(ids, records)
            if self._copy is not None and self._copy_ids != bool(ids):
                self._end_copy()
            copy = self._copy_stream if self._copy is not None else self._begin_copy(bool(ids))
            try:
                copy.write(data)
            except BaseException as exc:
                self._end_copy(exc)
                raise
            return
        cur = self.raw.cursor()
        try:
            # The columns every row shares are literals of the statement: fewer values to bind.
            cur.executemany(self._sqlite_insert, [
                (rid, r.subject_kind, r.subject_key, r.natural_key_hash, r.content_hash, r.data_json,
                 r.person_keys_json, r.row_no) for rid, r in zip(ids, records, strict=True)])
        finally:
            cur.close()


class BackgroundWriter:
    """Runs a ``RecordWriter`` in a thread, so that database time (SQLite's B-tree work, PostgreSQL's
    COPY processing — both release the GIL) overlaps the parsing and validation of the next rows.

    Only the writer thread touches the connection until ``finish`` or ``abort`` returns; records are
    handed over in lists through a bounded queue (memory stays bounded).
    """

    _DONE = None

    def __init__(self, writer: RecordWriter, *, batch_rows: int = 1000, depth: int = 8) -> None:
        self.writer = writer
        self.batch_rows = batch_rows
        self._buffer: list[Shaped] = []
        self._queue: queue.Queue[list[Shaped] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            items = self._queue.get()
            if items is self._DONE:
                return
            if self._error is not None:
                continue  # drain, so that the producer never blocks
            try:
                for record in items:
                    self.writer.add(record)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the producer's thread
                self._error = exc

    def _put(self, items: list[Shaped] | None) -> None:
        if self._error is not None:
            self.abort()
            raise self._error
        self._queue.put(items)

    def add(self, record: Shaped) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self.batch_rows:
            items, self._buffer = self._buffer, []
            self._put(items)

    def finish(self) -> WriteCounts:
        if self._buffer:
            self._put(self._buffer)
            self._buffer = []
        self._stop()
        if self._error is not None:
            self.abort()
            raise self._error
        return self.writer.finish()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(self._DONE)
            self._thread.join()

    def abort(self) -> None:
        """Stop the thread (after what was queued), wait for it and restore the connection; idempotent."""
        self._stop()
        self.writer.release()
