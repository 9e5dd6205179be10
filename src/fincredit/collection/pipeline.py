"""Validation and shaping of a file's records: in this process, or in worker processes for big files.

``shaped_rows(records, category, workers=N)`` turns the parser's ``(row, raw | RowError)`` into
``(row, Shaped | None, errors)`` in file order, chunk by chunk through ``fastpath.ChunkProcessor``
(column-wise checks; per-row validation only for the rows they leave; identical results). With
``workers > 0`` the records are sent in chunks to a pool of spawned processes (validation and
encryption are CPU-bound and Python holds one core per process), while this process keeps parsing
and writing. At most ``2 × workers`` chunks are in
flight, so memory stays bounded whatever the file size; results come back in order, so the batch
is the same as with ``workers = 0``.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from fincredit.catalog.definitions import CategoryDef
from fincredit.collection.fastpath import ChunkProcessor
from fincredit.collection.shaping import RecordShaper, Shaped
from fincredit.collection.validators import RowError, RowValidator, compile_fields
from fincredit.crypto import get_keyring
from fincredit.logs import get_logger

log = get_logger(__name__)

CHUNK_ROWS = 2000
LOCAL_CHUNK_ROWS = 1000
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
MAX_WORKERS = 8

Result = tuple[int, Shaped | None, list[RowError]]
_STATE: tuple[RowValidator, RecordShaper, ChunkProcessor] | None = None


PARALLEL_MIN_CPUS = 4


def auto_workers(size_bytes: int) -> int:
    """Worker processes worth starting for a file of this size (0: validate in this process).

    With the column-wise fast path (``fastpath``) validating and shaping a row costs about as much
    CPU as sending it to a worker and its result back, so workers pay only where there are spare
    cores: none below ``PARALLEL_MIN_CPUS`` CPUs (the parser, the fast path and the database writer
    thread already keep two cores busy)."""
    cpus = os.cpu_count() or 1
    if size_bytes < PARALLEL_MIN_BYTES or cpus < PARALLEL_MIN_CPUS:
        return 0
    return min(cpus - 1, MAX_WORKERS)


def _init(category: dict, lookup_key: bytes, data_key: bytes, keep_clean: bool) -> None:
    global _STATE
    cat = CategoryDef.model_validate(category)
    validator = compile_fields(cat.fields)
    shaper = RecordShaper(cat, lookup_key=lookup_key, data_key=data_key, keep_clean=keep_clean)
    _STATE = (validator, shaper, ChunkProcessor(cat, validator, shaper))


def _process(chunk: list[tuple[int, object]], validator: RowValidator, shaper: RecordShaper,
             processor: ChunkProcessor | None = None) -> list[Result]:
    if processor is not None and processor.enabled:
        return processor.process(chunk)
    out: list[Result] = []
    validate = validator.validate
    valid: list[int] = []  # positions in ``out`` of the rows to shape, shaped together (one encryption run)
    cleans: list[tuple[dict, int]] = []
    for row, raw in chunk:
        if isinstance(raw, RowError):
            out.append((row, None, [raw]))
            continue
        clean, errors = validate(raw, row)  # type: ignore[arg-type]
        if clean is not None:
            valid.append(len(out))
            cleans.append((clean, row))
        out.append((row, None, errors))
    for position, record in zip(valid, shaper.shape_many(cleans), strict=True):
        row, _none, errors = out[position]
        out[position] = (row, record, errors)
    return out


def _work(chunk: list[tuple[int, object]]) -> list[Result]:
    assert _STATE is not None
    return _process(chunk, *_STATE)


def _chunks(records: Iterable[tuple[int, object]], size: int) -> Iterator[list[tuple[int, object]]]:
    chunk: list[tuple[int, object]] = []
    for item in records:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def shaped_rows(records: Iterable[tuple[int, object]], category: CategoryDef, *, validator: RowValidator,
                keep_clean: bool = False, workers: int = 0) -> Iterator[Result]:
    local: tuple[RecordShaper, ChunkProcessor] | None = None

    def here(chunk: list[tuple[int, object]]) -> list[Result]:
        nonlocal local
        if local is None:
            shaper = RecordShaper(category, keep_clean=keep_clean)
            local = (shaper, ChunkProcessor(category, validator, shaper))
        return _process(chunk, validator, *local)

    if workers <= 0:
        for chunk in _chunks(records, LOCAL_CHUNK_ROWS):
            yield from here(chunk)
        return
    ring = get_keyring()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init,
                               initargs=(category.model_dump(mode="json"), ring.lookup_key, ring.data_key, keep_clean))
    pending: deque[tuple[Future[list[Result]], list[tuple[int, object]]]] = deque()
    broken = False

    def take() -> list[Result]:
        nonlocal broken
        future, chunk = pending.popleft()
        if not broken:
            try:
                return future.result()
            except BrokenProcessPool:  # e.g. a script without a ``__main__`` guard: carry on here
                log.warning("validation_workers_unavailable", workers=workers)
                broken = True
        return here(chunk)

    finished = False
    try:
        for chunk in _chunks(records, CHUNK_ROWS):
            if broken:
                pending.append((Future(), chunk))
            else:
                try:
                    pending.append((pool.submit(_work, chunk), chunk))
                except BrokenProcessPool:
                    broken = True
                    pending.append((Future(), chunk))
            while len(pending) >= 2 * workers:
                yield from take()
        while pending:
            yield from take()
        finished = True
    finally:
        pool.shutdown(wait=finished, cancel_futures=True)
