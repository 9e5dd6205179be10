"""Reading the synthetic province's files back, independently of the collection parsers."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl

from fincredit.synth import Manifest, ManifestFile


def read_file(manifest: Manifest, entry: ManifestFile) -> tuple[list[str], list[dict[str, object]]]:
    """(headers as written, records keyed by those headers)."""
    path = Path(manifest.directory or ".") / entry.path
    if entry.format == "xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        rows = list(book.active.iter_rows(values_only=True))
        book.close()
        headers = [str(h) for h in rows[0]]
        # trailing empty cells are not stored: pad short rows
        return headers, [dict(zip(headers, (*row, *[None] * (len(headers) - len(row))), strict=True))
                         for row in rows[1:]]
    text = path.read_bytes().decode(entry.encoding or "utf-8")
    if entry.format == "jsonl":
        records = [json.loads(line) for line in text.splitlines() if line]
        headers = list(records[0]) if records else []
        return headers, records
    reader = csv.reader(io.StringIO(text, newline=""))
    headers = next(reader)
    return headers, [dict(zip(headers, row, strict=True)) for row in reader]


def read_header(manifest: Manifest, entry: ManifestFile) -> list[str]:
    """The header row (for JSON Lines: the keys of the first record, if any)."""
    path = Path(manifest.directory or ".") / entry.path
    if entry.format == "csv":
        with path.open(encoding=entry.encoding, newline="") as fh:
            return next(csv.reader(fh))
    return read_file(manifest, entry)[0]
