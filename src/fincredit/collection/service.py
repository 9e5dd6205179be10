"""Collection (归集) orchestration: one file → one batch → one transaction. Never commits.

``ingest(session, …)`` validates every row against the category of the catalog version current at
upload, writes the valid rows through ``ingest.RecordWriter`` and records the batch, its errors and
a ``batch_accepted`` ledger entry — all in the caller's transaction, so that a crash at any point
leaves none or all of it. The caller (HTTP request, ``fincredit ingest``) commits.

Records are written under a savepoint: when the file turns out unusable half-way (truncated, bad
encoding further on) or an ``all_or_nothing`` batch has an invalid row, the records are rolled
back and the batch stays, as ``rejected``, with its errors — visible to the provider, storing no
record. Identical content from the same provider for the same category returns the first batch.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from fincredit.catalog.definitions import CategoryDef
from fincredit.catalog.service import CatalogSnapshot, get_catalog, get_catalog_by_id
from fincredit.collection import repository
from fincredit.collection.headers import HeaderError, ParseError
from fincredit.collection.ingest import (
    DEFAULT_CHUNK_ROWS,
    BackgroundWriter,
    ChunkWritten,
    RecordWriter,
    WriteCounts,
)
from fincredit.collection.models import Batch
from fincredit.collection.parsers import iter_records, safe_filename
from fincredit.collection.pipeline import auto_workers, shaped_rows
from fincredit.collection.provider_service import require_assignment, require_provider
from fincredit.collection.validators import RowError, RowValidator, compile_fields
from fincredit.db import as_utc, utcnow
from fincredit.errors import DomainError, Unprocessable
from fincredit.ledger import service as ledger
from fincredit.logs import get_logger
from fincredit.monitoring.service import notify_batch_committed
from fincredit.registry.service import upsert_from_base_rows

log = get_logger(__name__)

MODES = ("store_valid", "all_or_nothing")
MAX_STORED_ERRORS = 100_000
SAVEPOINT = "fincredit_batch_records"
LEDGER_KIND = "batch_accepted"


@dataclass(frozen=True)
class UploadedFile:
    """A received file: where it is, its (sanitised) name, size and SM3 digest."""

    path: Path
    filename: str
    size: int
    content_hash: str


@dataclass
class IngestResult:
    batch: Batch
    created: bool  # False: the same content was already delivered; ``batch`` is the first one
    file_error: DomainError | None = None  # the file as a whole was unusable (batch rejected)


def file_digest(path: Path, chunk: int = 1024 * 1024) -> tuple[int, str]:
    """(size, SM3 hex) of a file, streamed."""
    h = hashlib.new("sm3")
    size = 0
    with open(path, "rb") as fh:
        while data := fh.read(chunk):
            size += len(data)
            h.update(data)
    return size, h.hexdigest()


def uploaded_file(path: Path, filename: str | None = None) -> UploadedFile:
    size, digest = file_digest(path)
    return UploadedFile(path=path, filename=safe_filename(filename or path.name), size=size, content_hash=digest)


_VALIDATORS: dict[tuple[int, str], RowValidator] = {}


def _validator(snapshot: CatalogSnapshot, category: CategoryDef) -> RowValidator:
    key = (snapshot.id, category.code)
    if key not in _VALIDATORS:
        if len(_VALIDATORS) > 256:
            _VALIDATORS.clear()
        _VALIDATORS[key] = compile_fields(category.fields)
    return _VALIDATORS[key]


def check_delivery(session: Session, *, provider_code: str, category_code: str,
                   mode: str = "store_valid") -> tuple[CatalogSnapshot, CategoryDef]:
    """May this provider deliver this category now? Raises 404 / 403 / 422 otherwise."""
    if mode not in MODES:
        raise Unprocessable(f"未知的入库模式“{mode[:30]}”（可选 store_valid、all_or_nothing）", code="bad_mode")
    provider = require_provider(session, provider_code)
    snapshot = get_catalog(session)
    category = snapshot.category(category_code)
    if category.retired:
        raise Unprocessable(f"信息类“{category_code}”已停止归集", code="category_retired")
    require_assignment(provider, category.code)
    return snapshot, category


def ingest(session: Session, *, provider_code: str, category_code: str, upload: UploadedFile,
           mode: str = "store_valid", encoding: str | None = None, uploaded_by: str = "",
           chunk_rows: int = DEFAULT_CHUNK_ROWS, workers: int | None = None) -> IngestResult:
    """Ingest one file as one batch (see the module docstring). ``workers``: validation processes
    (``None``: chosen by file size, ``pipeline.auto_workers``)."""
    snapshot, category = check_delivery(session, provider_code=provider_code, category_code=category_code,
                                        mode=mode)
    repository.lock_category(session, category.code)
    existing = repository.find_batch_by_content(session, provider_code, category.code, upload.content_hash)
    if existing is not None:
        log.info("batch_duplicate", batch_id=existing.id, provider=provider_code, category=category.code)
        return IngestResult(existing, created=False)
    now = utcnow()
    batch = Batch(provider_code=provider_code, category_code=category.code, catalog_version_id=snapshot.id,
                  content_hash=upload.content_hash, filename=upload.filename[:255], file_format="unknown",
                  encoding=None, size_bytes=upload.size, mode=mode, status="rejected", received_at=now,
                  uploaded_by=(uploaded_by or provider_code)[:100])
    session.add(batch)
    session.flush()
    run = _BatchRun(session, batch, snapshot, category, mode, chunk_rows)
    connection = session.connection()
    connection.exec_driver_sql(f"SAVEPOINT {SAVEPOINT}")
    try:
        run.load(upload, encoding, auto_workers(upload.size) if workers is None else workers)
    except ParseError as exc:
        run.file_error = exc
    # A header-only file is a valid delivery of "nothing new" (it counts for timeliness).
    keep = (run.file_error is None and (run.valid > 0 or run.rows_total == 0)
            and not (mode == "all_or_nothing" and run.rejected))
    connection.exec_driver_sql(f"RELEASE SAVEPOINT {SAVEPOINT}" if keep else f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
    run.finish(keep)
    return IngestResult(batch, created=True, file_error=run.file_error)


class _BatchRun:
    """The state of one batch while its rows stream through validation into the writer."""

    def __init__(self, session: Session, batch: Batch, snapshot: CatalogSnapshot, category: CategoryDef,
                 mode: str, chunk_rows: int) -> None:
        self.session, self.batch, self.snapshot, self.category = session, batch, snapshot, category
        self.mode, self.chunk_rows = mode, chunk_rows
        self.rows_total = self.valid = self.rejected = 0
        self.errors: list[RowError] = []
        self.error_codes: Counter[str] = Counter()
        self.counts = WriteCounts()
        self.file_error: ParseError | None = None
        self.file_format = "unknown"
        self.encoding: str | None = None

    def _base_chunk(self, written: ChunkWritten) -> None:
        upsert_from_base_rows(self.session, [(rid, shaped.clean) for rid, shaped in written.inserted
                                             if shaped.clean is not None])

    def load(self, upload: UploadedFile, encoding: str | None, workers: int) -> None:
        is_base = self.category.code == "base"
        validator = _validator(self.snapshot, self.category)
        writer = BackgroundWriter(RecordWriter(
            self.session, category_code=self.category.code, provider_code=self.batch.provider_code,
            batch_id=self.batch.id, now=as_utc(self.batch.received_at), chunk_rows=self.chunk_rows,
            on_chunk=self._base_chunk if is_base else None, bulk=True))
        strict = self.mode == "all_or_nothing"
        try:
            with iter_records(upload.path, fields=self.category.fields, filename=upload.filename,
                              encoding=encoding) as parsed:
                self.file_format, self.encoding = parsed.format, parsed.encoding
                add = writer.add
                for _row, shaped, errors in shaped_rows(parsed, self.category, validator=validator,
                                                        keep_clean=is_base, workers=workers):
                    self.rows_total += 1
                    if errors:
                        self._reject(errors)
                        continue
                    self.valid += 1
                    if not (strict and self.rejected):
                        add(shaped)  # type: ignore[arg-type]
            self.counts = writer.finish()
        finally:
            writer.abort()  # the connection is this thread's again before any rollback

    def _reject(self, errors: list[RowError]) -> None:
        self.rejected += 1
        for error in errors:
            self.error_codes[error.code] += 1
        if len(self.errors) < MAX_STORED_ERRORS:
            self.errors.extend(errors)

    def _file_errors(self) -> list[RowError]:
        exc = self.file_error
        if exc is None:
            return []
        out = [RowError(None, "", exc.code, exc.message)]
        if isinstance(exc, HeaderError):
            out += [RowError(None, h[:100], "unknown_column", f"无法识别的列“{h[:40]}”") for h in exc.unknown]
            out += [RowError(None, h, "missing_column", f"缺少必填列“{h}”") for h in exc.missing]
            out += [RowError(None, h[:100], "duplicate_column", f"重复的列“{h[:40]}”") for h in exc.duplicate]
        return out

    def _summary(self) -> str | None:
        parts = []
        if self.file_error is not None:
            parts.append(f"{self.file_error.code}：{self.file_error.message}")
        elif self.mode == "all_or_nothing" and self.rejected:
            parts.append(f"all_or_nothing：{self.rejected} 行未通过校验，整批未入库")
        elif self.rows_total and not self.valid:
            parts.append("没有通过校验的行，整批未入库")
        if self.error_codes:
            parts.append("；".join(f"{code} × {n}" for code, n in self.error_codes.most_common(10)))
        if len(self.errors) >= MAX_STORED_ERRORS:
            parts.append(f"仅保存前 {MAX_STORED_ERRORS} 条错误明细")
        return "\n".join(parts)[:4000] or None

    def finish(self, kept: bool) -> None:
        batch = self.batch
        batch.file_format, batch.encoding = self.file_format, self.encoding
        batch.rows_total, batch.rejected = self.rows_total, self.rejected
        if kept:
            batch.status = "accepted" if self.rejected == 0 else "partially_accepted"
            batch.accepted, batch.superseded, batch.unchanged = self.valid, self.counts.superseded, self.counts.unchanged
        else:
            batch.status, batch.accepted, batch.superseded, batch.unchanged = "rejected", 0, 0, 0
        batch.error_summary = self._summary()
        batch.completed_at = utcnow()
        repository.add_errors(self.session, batch.id, self._file_errors() + self.errors)
        if kept:
            entry = ledger.append(self.session, LEDGER_KIND, {
                "batch_id": batch.id, "provider": batch.provider_code, "category": batch.category_code,
                "content_hash": batch.content_hash, "accepted": batch.accepted, "rejected": batch.rejected,
                "catalog_version": self.snapshot.version,
            }, [f"provider:{batch.provider_code}", "admin"])
            batch.ledger_index = entry.index
            notify_batch_committed(self.session, batch.id)  # risk rules run once this commits
        self.session.flush()
        log.info("batch_done", batch_id=batch.id, provider=batch.provider_code, category=batch.category_code,
                 status=batch.status, rows=self.rows_total, accepted=batch.accepted, rejected=self.rejected,
                 inserted=self.counts.inserted, superseded=batch.superseded, unchanged=batch.unchanged)


def batch_dict(session: Session, batch: Batch) -> dict:
    version = get_catalog_by_id(session, batch.catalog_version_id).version
    return {
        "id": batch.id, "status": batch.status, "provider": batch.provider_code, "category": batch.category_code,
        "catalog_version": version, "rows_total": batch.rows_total, "accepted": batch.accepted,
        "rejected": batch.rejected, "superseded": batch.superseded, "unchanged": batch.unchanged,
        "mode": batch.mode, "filename": batch.filename, "file_format": batch.file_format,
        "encoding": batch.encoding, "size_bytes": batch.size_bytes, "content_hash": batch.content_hash,
        "error_summary": batch.error_summary, "received_at": as_utc(batch.received_at).isoformat(),
        "completed_at": as_utc(batch.completed_at).isoformat() if batch.completed_at else None,
        "ledger_index": batch.ledger_index,
    }
