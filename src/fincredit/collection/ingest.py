"""The fast insert path of collection (入库): shaped records → ``records``, in chunks, with supersede.

``RecordWriter`` runs on the caller's connection and transaction (it never commits). Per chunk of
``chunk_rows`` records it

1. looks up the *current* records with the chunk's natural keys (one query, the partial unique
   index ``(category_code, natural_key_hash) WHERE is_current``);
2. skips records identical to the current one (same content hash → ``unchanged``);
3. allocates ids for the new records (PostgreSQL: ``nextval`` in one round trip; SQLite: max+1,
   safe because the transaction holds SQLite's single write lock), marks the records they replace
   ``is_current = false`` with ``superseded_at`` / ``superseded_by_id`` — before inserting, since
   the partial unique index allows one current record per natural key;
4. inserts the chunk: PostgreSQL ``COPY … FROM STDIN``, SQLite ``executemany`` on the driver.

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
        self.dialect = connection.dialect.name
        self.raw = connection.connection.driver_connection
        self.category_code = category_code
        self.provider_code = provider_code
        self.batch_id = batch_id
        self.fetched_via = fetched_via
        self.chunk_rows = max(1, min(chunk_rows, SQLITE_MAX_VARIABLES - 10))
        self.on_chunk = on_chunk
        self.keep_ids = keep_ids
        self.counts = WriteCounts()
        self._pending: dict[str, Shaped] = {}
        self._cache_size: int | None = None
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
        self.release()
        return self.counts

    def release(self) -> None:
        """Give the connection its own page cache size back (idempotent)."""
        if self._cache_size is not None:
            size, self._cache_size = self._cache_size, None
            self._execute(f"PRAGMA cache_size = {int(size)}")

    def flush(self) -> None:
        if not self._pending:
            return
        chunk = list(self._pending.values())
        self._pending = {}
        current = self._current([r.natural_key_hash for r in chunk])
        new: list[Shaped] = []
        replaces: list[int | None] = []
        for record in chunk:
            found = current.get(record.natural_key_hash)
            if found is not None and found[1] == record.content_hash:
                self.counts.unchanged += 1
                continue
            new.append(record)
            replaces.append(found[0] if found is not None else None)
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
        if self.on_chunk is not None:
            self.on_chunk(ChunkWritten(list(zip(ids, new, strict=True)), replaced))

    # -- dialect-specific statements ----------------------------------------------------------------
    def _scalar(self, sql: str) -> object:
        cur = self.raw.cursor()
        try:
            cur.execute(sql)
            return cur.fetchone()[0]
        finally:
            cur.close()

    def _execute(self, sql: str) -> None:
        cur = self.raw.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()

    def _current(self, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
        cur = self.raw.cursor()
        try:
            if self.dialect == "postgresql":
                cur.execute("SELECT natural_key_hash, id, content_hash FROM records WHERE category_code = %s "
                            "AND is_current AND natural_key_hash = ANY(%s)", (self.category_code, list(keys)))
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
            cur = self.raw.cursor()
            try:
                cur.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (self._sequence, count))
                return sorted(int(r[0]) for r in cur.fetchall())
            finally:
                cur.close()
        start = self._next_id
        self._next_id += count
        return list(range(start, start + count))

    def _supersede(self, replaced: dict[int, int]) -> None:
        cur = self.raw.cursor()
        try:
            if self.dialect == "postgresql":
                cur.execute("UPDATE records SET is_current = false, superseded_at = %s, superseded_by_id = v.new_id "
                            "FROM unnest(%s::bigint[], %s::bigint[]) AS v(old_id, new_id) WHERE records.id = v.old_id",
                            (self._now, list(replaced.values()), list(replaced.keys())))
            else:
                cur.executemany("UPDATE records SET is_current = 0, superseded_at = ?, superseded_by_id = ? "
                                "WHERE id = ?", [(self._now, new, old) for new, old in replaced.items()])
        finally:
            cur.close()

    def _copy_text(self, ids: Sequence[int], records: Sequence[Shaped]) -> bytes:
        """The rows in COPY text format: columns as ``COLUMNS``, tab-separated, ``\\N`` for NULL.
        Hashes, USCCs and blind indexes are hex or code characters; JSON text has no raw control
        character (JSON escapes them), so only its backslashes need escaping."""
        head = f"\t{_copy_value(self.category_code)}\t"
        batch = f"\t{_copy_value(self.batch_id)}\t"
        tail = f"\t{_copy_value(self.provider_code)}\t{_copy_value(self._now)}\tt\t{_copy_value(self.fetched_via)}\n"
        lines = []
        for rid, r in zip(ids, records, strict=True):
            data = r.data_json.replace("\\", "\\\\") if "\\" in r.data_json else r.data_json
            keys = "\\N" if r.person_keys_json is None else _copy_value(r.person_keys_json)
            row = "\\N" if r.row_no is None else str(r.row_no)
            lines.append(f"{rid}{head}{r.subject_kind}\t{_copy_value(r.subject_key)}\t{r.natural_key_hash}\t"
                         f"{r.content_hash}\t{data}\t{keys}{batch}{row}{tail}")
        return "".join(lines).encode()

    def _insert(self, ids: Sequence[int], records: Sequence[Shaped]) -> None:
        cur = self.raw.cursor()
        try:
            if self.dialect == "postgresql":
                with cur.copy(f"COPY records ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    copy.write(self._copy_text(ids, records))
            else:
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
