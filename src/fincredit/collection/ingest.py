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
                 on_chunk: Callable[[ChunkWritten], None] | None = None, keep_ids: bool = False) -> None:
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
        if self.dialect == "postgresql":
            self._now: object = now
            self._sequence = self._scalar("SELECT pg_get_serial_sequence('records', 'id')")
        else:
            self._now = now.astimezone(dt.UTC).replace(tzinfo=None).strftime(SQLITE_DATETIME)
            self._next_id = int(self._scalar("SELECT COALESCE(MAX(id), 0) FROM records")) + 1

    # -- public ---------------------------------------------------------------------------------
    def add(self, record: Shaped) -> None:
        if record.natural_key_hash in self._pending:
            self.flush()
        self._pending[record.natural_key_hash] = record
        if len(self._pending) >= self.chunk_rows:
            self.flush()

    def finish(self) -> WriteCounts:
        self.flush()
        return self.counts

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

    def _rows(self, ids: Sequence[int], records: Sequence[Shaped]) -> list[tuple]:
        current = True if self.dialect == "postgresql" else 1
        cat, prov, batch, now, via = self.category_code, self.provider_code, self.batch_id, self._now, self.fetched_via
        return [(rid, cat, r.subject_kind, r.subject_key, r.natural_key_hash, r.content_hash, r.data_json,
                 r.person_keys_json, batch, r.row_no, prov, now, current, via)
                for rid, r in zip(ids, records, strict=True)]

    def _insert(self, ids: Sequence[int], records: Sequence[Shaped]) -> None:
        rows = self._rows(ids, records)
        cur = self.raw.cursor()
        try:
            if self.dialect == "postgresql":
                with cur.copy(f"COPY records ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ",".join("?" * len(COLUMNS))
                cur.executemany(f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({marks})", rows)
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
        self.abort()
        if self._error is not None:
            raise self._error
        return self.writer.finish()

    def abort(self) -> None:
        """Stop the thread (after what was queued) and wait for it; idempotent."""
        if self._thread.is_alive():
            self._queue.put(self._DONE)
            self._thread.join()
