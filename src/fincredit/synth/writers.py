"""Streaming writers for provider files: CSV (UTF-8, UTF-8 with BOM, GBK), JSON Lines, XLSX.

Each writer takes polars frames chunk by chunk (columns already in catalog order), writes the
header at once (so a category with no records still yields a file with its header), and on
``close`` returns the row count and SHA-256. Booleans become 是/否. Output is byte-identical for
identical input: XLSX files are re-zipped with fixed timestamps and document properties.

CSV and JSON Lines bytes are produced by polars on the calling thread, then transcoded (GBK),
hashed and written by one background thread (``Pipeline``): hashing and file writes release the
GIL, so on two cores they overlap with the generation of the next frames. One worker keeps each
file's pieces in order; at most ``Pipeline.limit`` bytes wait in the queue.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fincredit.synth.formats import DATE_FORMATS, FileSpec

BOM = b"\xef\xbb\xbf"
FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Written:
    rows: int
    bytes: int
    sha256: str


def display(frame: pl.DataFrame) -> pl.DataFrame:
    """Booleans as 是/否 (nulls stay empty)."""
    bools = [c for c, t in frame.schema.items() if t == pl.Boolean]
    if not bools:
        return frame
    return frame.with_columns(
        pl.when(pl.col(c)).then(pl.lit("是")).when(pl.col(c).is_not_null()).then(pl.lit("否"))
        .otherwise(pl.lit(None, dtype=pl.String)).alias(c) for c in bools)


class Pipeline:
    """A single background worker with a bound on the bytes waiting for it."""

    def __init__(self, limit: int = 256 * 1024 * 1024) -> None:
        self.limit = limit
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synth-writer")
        self._pending: deque[tuple[Future[None], int]] = deque()
        self._waiting = 0

    def submit(self, size: int, fn: Callable[..., None], *args: object) -> None:
        while self._pending and self._waiting + size > self.limit:
            self._pop()
        self._pending.append((self._pool.submit(fn, *args), size))
        self._waiting += size

    def _pop(self) -> None:
        future, size = self._pending.popleft()
        future.result()
        self._waiting -= size

    def drain(self) -> None:
        while self._pending:
            self._pop()

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True)


def rounded(frame: pl.DataFrame) -> pl.DataFrame:
    """Floats rounded to 2 decimals (written in their shortest form: 1234.5, 100.0)."""
    floats = [c for c, t in frame.schema.items() if t in (pl.Float64, pl.Float32)]
    return frame.with_columns(pl.col(floats).round(2)) if floats else frame


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\r\n') else text


class CsvWriter:
    def __init__(self, path: Path, spec: FileSpec, headers: list[str], pipeline: Pipeline) -> None:
        self.path, self.spec, self.headers, self._pipeline = path, spec, headers, pipeline
        self._fh = path.open("wb")
        self._hash = hashlib.sha256()
        self.rows = 0
        self._size = 0
        head = ",".join(_csv_cell(h) for h in headers) + spec.line_terminator
        self._sink((BOM if spec.encoding == "utf-8-sig" else b"") + self._encode(head.encode()))

    def _encode(self, data: bytes) -> bytes:
        if self.spec.encoding == "gbk":
            return data.decode("utf-8").encode("gbk")
        return data

    def _sink(self, data: bytes, transcode: bool = False) -> None:
        if transcode:
            data = self._encode(data)
        self._hash.update(data)
        self._fh.write(data)
        self._size += len(data)

    def _emit(self, data: bytes) -> None:
        self._pipeline.submit(len(data), self._sink, data, True)

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        buffer = io.BytesIO()
        display(rounded(frame)).write_csv(buffer, include_header=False, line_terminator=self.spec.line_terminator,
                                          date_format=DATE_FORMATS[self.spec.date_style])
        self._emit(buffer.getvalue())
        self.rows += frame.height

    def close(self) -> Written:
        self._pipeline.drain()
        self._fh.close()
        return Written(self.rows, self._size, self._hash.hexdigest())


class JsonlWriter(CsvWriter):
    def __init__(self, path: Path, spec: FileSpec, headers: list[str], pipeline: Pipeline) -> None:
        self.path, self.spec, self.headers, self._pipeline = path, spec, headers, pipeline
        self._fh = path.open("wb")
        self._hash = hashlib.sha256()
        self.rows = 0
        self._size = 0

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        buffer = io.BytesIO()
        out = display(frame)
        out = out.rename(dict(zip(out.columns, self.headers, strict=True)))
        rounded(out).write_ndjson(buffer)
        self._emit(buffer.getvalue())
        self.rows += frame.height


class XlsxWriter:
    """openpyxl in write-only mode; dates as date cells, codes as text."""

    def __init__(self, path: Path, spec: FileSpec, headers: list[str], title: str, as_of: dt.date) -> None:
        from openpyxl import Workbook

        self.path, self.spec = path, spec
        self._wb = Workbook(write_only=True)
        stamp = dt.datetime(as_of.year, as_of.month, as_of.day)
        self._wb.properties.creator = "fincredit synth"
        self._wb.properties.created = stamp
        self._stamp = stamp
        self._ws = self._wb.create_sheet(title=re.sub(r"[\\/*?:\[\]]", "", title)[:31] or "Sheet1")
        self._ws.append(headers)
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        for row in display(frame).iter_rows():
            self._ws.append(list(row))
        self.rows += frame.height

    def close(self) -> Written:
        tmp = self.path.with_suffix(".tmp.xlsx")
        self._wb.save(tmp)
        _normalize_zip(tmp, self.path, self._stamp)
        tmp.unlink()
        data = self.path.read_bytes()
        return Written(self.rows, len(data), hashlib.sha256(data).hexdigest())


def _normalize_zip(source: Path, target: Path, stamp: dt.datetime) -> None:
    """Re-zip with fixed entry times and a fixed modification date in docProps/core.xml."""
    fixed = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + fixed + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, data)


def open_writer(path: Path, spec: FileSpec, headers: list[str], title: str, as_of: dt.date,
                pipeline: Pipeline) -> CsvWriter | JsonlWriter | XlsxWriter:
    if spec.format == "csv":
        return CsvWriter(path, spec, headers, pipeline)
    if spec.format == "jsonl":
        return JsonlWriter(path, spec, headers, pipeline)
    if spec.format == "xlsx":
        return XlsxWriter(path, spec, headers, title, as_of)
    raise ValueError(f"unknown format {spec.format!r}")


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
