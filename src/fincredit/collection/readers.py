"""Format-specific record readers used by ``parsers.iter_records`` (CSV, XLSX, JSON Lines).

Each ``open_*`` function reads up to the header eagerly and returns ``(headers, rows)`` where
``rows(mapping_or_fields, close)`` is a generator of ``(row number, raw dict | RowError)`` that
calls ``close`` when it ends. Resources to release are appended to ``closers``. Row numbering and
error codes are described in ``parsers``.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import time, timedelta
from decimal import Decimal
from typing import IO, Any

from fincredit.collection.headers import IGNORED_HEADERS, ParseError, field_labels, normalize_header
from fincredit.collection.validators import RowError

MAX_LINE_CHARS = 4 * 1024 * 1024
MAX_FIELD_CHARS = 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 256 * 1024 * 1024
# A zip member inflating more than this (and past 8 MiB) is a compression bomb, not a spreadsheet:
# real worksheets deflate 5–30×; a few KiB of "<row/>" can inflate to minutes of parsing.
MAX_INFLATION_RATIO = 200
INFLATION_CHECK_BYTES = 8 * 1024 * 1024
MAX_ERRORS_BEFORE_FIRST_OBJECT = 1000

Row = tuple[int, "dict[str, object] | RowError"]
Rows = Callable[[Any, Callable[[], None]], Iterator[Row]]


def _text_stream(stream: IO[bytes], codec: str, closers: list[Callable[[], None]]) -> io.TextIOWrapper:
    text = io.TextIOWrapper(stream, encoding=codec, newline="")  # type: ignore[arg-type]

    def detach() -> None:
        try:
            text.detach()  # leave the caller's stream open
        except ValueError:
            pass

    closers.append(detach)
    return text


def _bounded_lines(text: io.TextIOWrapper, label: str, position: list[int]) -> Iterator[str]:
    """Lines of at most MAX_LINE_CHARS; ``position[0]`` is the current row, for messages."""
    readline = text.readline
    while True:
        try:
            line = readline(MAX_LINE_CHARS)
        except UnicodeDecodeError:
            raise ParseError("bad_encoding", f"第 {position[0] + 1} 行附近有无法按 {label} 解码的字节，"
                             "请确认文件编码（UTF-8 或 GBK）") from None
        if not line:
            return
        if len(line) >= MAX_LINE_CHARS and line[-1] not in "\r\n":
            raise ParseError("line_too_long", f"第 {position[0] + 1} 行过长（超过 {MAX_LINE_CHARS} 个字符）")
        yield line


# -- CSV ---------------------------------------------------------------------------------------

def open_csv(stream: IO[bytes], codec: str, label: str, closers: list[Callable[[], None]]
             ) -> tuple[list[str], Rows]:
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    text = _text_stream(stream, codec, closers)
    position = [0]
    lines = _bounded_lines(text, label, position)
    first = next(lines, "")
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(_chain(first, lines), delimiter=delimiter, strict=True)
    headers: list[str] | None = None
    for record in _records(reader, position):
        if isinstance(record, RowError):
            raise ParseError("bad_headers", f"表头行无法解析：{record.message}")
        if any(cell.strip() for cell in record):
            headers = [cell.strip() for cell in record]
            break
    if headers is None:
        raise ParseError("empty_file", "文件没有表头和数据")
    header_cells = headers

    def rows(mapping: dict[str, str], close: Callable[[], None]) -> Iterator[Row]:
        try:
            yield from _csv_rows(reader, position, header_cells, mapping)
        finally:
            close()

    return headers, rows


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _records(reader: Any, position: list[int]) -> Iterator[list[str] | RowError]:
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            position[0] += 1
            row, message = position[0], str(exc)
            if "unexpected end of data" in message:
                raise ParseError("truncated_file", f"第 {row} 行：文件在带引号的单元格中途结束，可能不完整") from None
            if "field larger than field limit" in message:
                yield RowError(row, "", "field_too_large", f"单元格超过 {MAX_FIELD_CHARS} 个字符")
            else:
                yield RowError(row, "", "bad_csv", f"CSV 格式错误（{message}），请检查引号")
            continue
        position[0] += 1
        yield record


def _csv_rows(reader: Any, position: list[int], headers: list[str], mapping: dict[str, str]
              ) -> Iterator[Row]:
    width = len(headers)
    columns = [(i, mapping[h]) for i, h in enumerate(headers) if h in mapping]
    unnamed = [i for i, h in enumerate(headers) if not normalize_header(h)]
    names = [name for _, name in columns]
    in_order = [i for i, _ in columns] == list(range(width))
    for record in _records(reader, position):
        row = position[0]
        if isinstance(record, RowError):
            yield row, record
            continue
        if not any(record):
            continue
        if len(record) != width:
            if len(record) > width and any(cell.strip() for cell in record[width:]):
                yield row, RowError(row, "", "extra_columns", f"该行有 {len(record)} 列，多于表头的 {width} 列")
                continue
            record = (record + [""] * width)[:width]
        if unnamed and any(record[i].strip() for i in unnamed):
            yield row, RowError(row, "", "extra_columns", "表头为空的列中有数据")
            continue
        if in_order:
            yield row, dict(zip(names, record, strict=True))
        else:
            yield row, {name: record[i] for i, name in columns}


# -- XLSX --------------------------------------------------------------------------------------

_XLSX_ERRORS = (zipfile.BadZipFile, zlib.error, KeyError, OSError, EOFError, ValueError, TypeError, IndexError,
                AttributeError, SyntaxError)  # SyntaxError covers xml.etree's ParseError


def _check_zip(stream: IO[bytes]) -> None:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
                raise ParseError("corrupt_xlsx", "压缩包不是 Excel 工作簿（.xlsx）")
            if "xl/sharedStrings.xml" in names:
                if archive.getinfo("xl/sharedStrings.xml").file_size > MAX_SHARED_STRINGS_BYTES:
                    raise ParseError("xlsx_too_large", "工作簿的共享字符串表过大，请拆分文件或改用 CSV")
            for info in archive.infolist():
                if (info.file_size > INFLATION_CHECK_BYTES
                        and info.file_size > MAX_INFLATION_RATIO * max(info.compress_size, 1)):
                    raise ParseError("xlsx_too_large", "工作簿解压后体积异常（疑似压缩炸弹），请改用 CSV 或拆分文件")
    except zipfile.BadZipFile:
        raise ParseError("corrupt_xlsx", "Excel 文件已损坏或不完整（压缩结构无法读取）") from None
    finally:
        stream.seek(0)


def _cell_value(cell: Any) -> object:
    value = cell.value
    if value is None or type(value) is str:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "%" in (getattr(cell, "number_format", None) or ""):
            return _percent_text(value)
        return value
    if isinstance(value, time | timedelta):
        return str(value)
    return value


def _percent_text(value: float) -> str:
    number = (Decimal(format(value, ".15g")) * 100).normalize()
    return format(number, "f") + "%"


def _xlsx_rows(iterator: Iterator[Any], position: list[int]) -> Iterator[list[object]]:
    while True:
        try:
            cells = next(iterator)
        except StopIteration:
            return
        except ParseError:
            raise
        except _XLSX_ERRORS as exc:
            raise ParseError("corrupt_xlsx", f"Excel 文件第 {position[0] + 1} 行附近已损坏：{type(exc).__name__}") from None
        position[0] += 1
        yield [_cell_value(cell) for cell in cells]


def _blank(values: Sequence[object]) -> bool:
    return all(v is None or (type(v) is str and not v.strip()) for v in values)


def open_xlsx(stream: IO[bytes], closers: list[Callable[[], None]]) -> tuple[list[str], Rows]:
    import openpyxl  # imported here: only XLSX files pay for it

    _check_zip(stream)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except _XLSX_ERRORS + (openpyxl.utils.exceptions.InvalidFileException,) as exc:
        raise ParseError("corrupt_xlsx", f"Excel 文件无法打开：{type(exc).__name__}") from None
    closers.append(workbook.close)
    if not workbook.worksheets:
        raise ParseError("corrupt_xlsx", "工作簿中没有工作表")
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # some writers record wrong dimensions; read what is there
    position = [0]
    values = _xlsx_rows(iter(sheet.iter_rows(min_row=1, min_col=1)), position)
    headers: list[str] | None = None
    for cells in values:
        if not _blank(cells):
            while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
                cells.pop()
            headers = ["" if v is None else str(v).strip() for v in cells]
            break
    if headers is None:
        raise ParseError("empty_file", "工作表没有表头和数据")
    header_cells = headers

    def rows(mapping: dict[str, str], close: Callable[[], None]) -> Iterator[Row]:
        try:
            width = len(header_cells)
            columns = [(i, mapping[h]) for i, h in enumerate(header_cells) if h in mapping]
            unnamed = [i for i, h in enumerate(header_cells) if not normalize_header(h)]
            for cells in values:
                row = position[0]
                if _blank(cells):
                    continue
                if len(cells) > width and not _blank(cells[width:]) or any(
                        not _blank(cells[i:i + 1]) for i in unnamed):
                    yield row, RowError(row, "", "extra_columns", "该行在表头以外的列中有数据")
                    continue
                yield row, {name: cells[i] for i, name in columns if i < len(cells)}
        finally:
            close()

    return headers, rows


# -- JSON Lines --------------------------------------------------------------------------------

def _json_lines(text: io.TextIOWrapper, label: str) -> Iterator[tuple[int, object]]:
    """(line number, decoded value or RowError) for every non-blank line."""
    number = 0
    position = [0]
    for line in _bounded_lines_lenient(text, label, position):
        number += 1
        position[0] = number
        if line is None:
            yield number, RowError(number, "", "line_too_long", f"该行超过 {MAX_LINE_CHARS} 个字符")
            continue
        if not line.strip():
            continue
        try:
            yield number, json.loads(line, parse_float=Decimal)
        except (ValueError, RecursionError) as exc:
            yield number, RowError(number, "", "bad_json", f"不是有效的 JSON（{str(exc)[:60]}）")


def _bounded_lines_lenient(text: io.TextIOWrapper, label: str, position: list[int]) -> Iterator[str | None]:
    """Like ``_bounded_lines`` but an overlong line becomes ``None`` and reading goes on."""
    for line in _line_chunks(text, label, position):
        if len(line) >= MAX_LINE_CHARS and line[-1] not in "\r\n":
            for rest in _line_chunks(text, label, position):
                if rest[-1] in "\r\n":
                    break
            yield None
        else:
            yield line


def _line_chunks(text: io.TextIOWrapper, label: str, position: list[int]) -> Iterator[str]:
    while True:
        try:
            line = text.readline(MAX_LINE_CHARS)
        except UnicodeDecodeError:
            raise ParseError("bad_encoding", f"第 {position[0] + 1} 行附近有无法按 {label} 解码的字节") from None
        if not line:
            return
        yield line


def jsonl_rows(stream: IO[bytes], codec: str, label: str, closers: list[Callable[[], None]]
               ) -> tuple[list[str], Rows]:
    text = _text_stream(stream, codec, closers)
    lines = _json_lines(text, label)
    pending: list[tuple[int, RowError]] = []
    first: tuple[int, dict[str, object]] | None = None
    for number, value in lines:
        if isinstance(value, dict):
            first = (number, value)
            break
        error = value if isinstance(value, RowError) else RowError(number, "", "bad_json", "每行应为一个 JSON 对象")
        pending.append((number, error))
        if len(pending) >= MAX_ERRORS_BEFORE_FIRST_OBJECT:
            break
    if first is None:
        if pending:
            raise ParseError("bad_json", "文件中没有可解析的 JSON 对象（应为 JSON Lines：每行一个对象）")
        raise ParseError("empty_file", "文件没有数据")
    headers = [str(key) for key in first[1]]

    def rows(fields: Sequence[object], close: Callable[[], None]) -> Iterator[Row]:
        labels = field_labels(fields)
        ignored = {normalize_header(h) for h in IGNORED_HEADERS}
        names: dict[str, str | None] = {}

        def convert(number: int, obj: dict[str, object]) -> dict[str, object] | RowError:
            raw: dict[str, object] = {}
            for key, value in obj.items():
                name = names.get(key, "")
                if name == "":
                    normal = normalize_header(key)
                    name = labels.get(normal)
                    if name is None and normal not in ignored and normal:
                        return RowError(number, str(key)[:40], "unknown_field", f"未知字段“{str(key)[:40]}”")
                    if len(names) < 10_000:
                        names[key] = name
                if name is None:
                    continue
                if name in raw:
                    return RowError(number, name, "duplicate_field", f"字段“{name}”重复出现")
                raw[name] = value
            return raw

        try:
            yield from pending
            yield first[0], convert(*first)
            for number, value in lines:
                if isinstance(value, RowError):
                    yield number, value
                elif isinstance(value, dict):
                    yield number, convert(number, value)
                else:
                    yield number, RowError(number, "", "bad_json", "每行应为一个 JSON 对象")
        finally:
            close()

    return headers, rows
