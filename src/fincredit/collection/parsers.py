"""Streaming readers for provider files (CSV, XLSX, JSON Lines): the file side of collection.

Pure Python (csv, openpyxl). Memory stays bounded whatever the file size: records are produced
one at a time, lines are read with a length limit, and a non-seekable stream is first spooled to
a temporary file (in memory up to 8 MiB, on disk beyond)::

    with iter_records(path_or_binary_stream, filename="纳税.csv", fields=category.fields) as parsed:
        parsed.format, parsed.encoding, parsed.headers, parsed.mapping
        for row, raw in parsed:            # raw: {field name: cell value} or a RowError
            ...                            # see validators.iter_validated

``iter_records`` reads the header eagerly, so ``HeaderError`` (``bad_headers``) and the other
``ParseError`` codes — ``bad_filename``, ``empty_file``, ``binary_file``, ``unsupported_format``,
``bad_encoding``, ``unsupported_encoding``, ``corrupt_xlsx``, ``xlsx_too_large`` — are raised
before any record. While iterating, ``ParseError`` can still end the file (``bad_encoding`` for an
undecodable byte further on, ``truncated_file`` for a CSV cut inside a quoted cell,
``line_too_long``, ``corrupt_xlsx``); problems confined to one record are yielded as ``RowError``
(``bad_csv``, ``field_too_large``, ``extra_columns``, ``bad_json``, ``unknown_field``).

Row numbers are what a person sees: the spreadsheet row in XLSX (the header is usually row 1, so
the first record is row 2), the record number in CSV counting the header record as 1 (a quoted
cell spanning lines stays one row, as in Excel), and the line number in JSON Lines (no header
line: the first object is row 1). Blank rows are skipped but still counted.

CSV encodings: UTF-8 with or without BOM, GBK/GB18030 (decoded with the GB18030 codec, a superset
of GBK), and UTF-16 with BOM (Excel's "Unicode text"); detected, or declared with ``encoding=``
(``utf-8``, ``gbk``, ``gb18030``). Detection reads the file as UTF-8 until it has seen 64 KiB of
non-ASCII text or the end; failing that, GB18030 is tried on the first 1 MiB (unless the file was
plainly UTF-8 up to a corrupt byte: then ``bad_encoding``, never mojibake). The delimiter is a
comma, or a tab when the header line has tabs and no commas.

Cell values: CSV cells are ``str``; XLSX cells keep their type (``str``, ``int``, ``float``,
``bool``, ``datetime``; percent-formatted numbers become text like ``"7%"``, times become text);
JSON values keep theirs (numbers with a fraction as ``Decimal``, so amounts stay exact). The
validators accept all of these.
"""

from __future__ import annotations

import codecs
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Literal

from fincredit.collection.headers import HeaderError, ParseError, match_headers
from fincredit.collection.readers import jsonl_rows, open_csv, open_xlsx
from fincredit.collection.validators import RowError

__all__ = [
    "HeaderError", "ParseError", "ParsedFile", "RowError", "detect_encoding", "detect_format", "iter_records",
    "safe_filename",
]

Format = Literal["csv", "xlsx", "jsonl"]
Row = tuple[int, "dict[str, object] | RowError"]

HEAD_BYTES = 8192
SPOOL_BYTES = 8 * 1024 * 1024
ENCODING_SCAN_CHUNK = 1024 * 1024
UTF8_EVIDENCE_BYTES = 64 * 1024
UTF8_CORRUPT_EVIDENCE_BYTES = 1024
GB_SAMPLE_BYTES = 1024 * 1024

_DECLARED_ENCODINGS = {
    "utf-8": "utf-8-sig", "utf8": "utf-8-sig", "utf-8-sig": "utf-8-sig", "gbk": "gb18030",
    "gb2312": "gb18030", "cp936": "gb18030", "gb18030": "gb18030", "utf-16": "utf-16",
}
_BINARY_MAGIC = {
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "旧版 Excel（.xls）或加密的工作簿不受支持，请另存为 .xlsx 或 CSV",
    b"%PDF": "PDF 文件不受支持，请提交 CSV、XLSX 或 JSON Lines 文件",
    b"\x1f\x8b": "压缩文件不受支持，请解压后提交",
    b"Rar!": "压缩文件不受支持，请解压后提交",
    b"7z\xbc\xaf": "压缩文件不受支持，请解压后提交",
    b"\x89PNG": "图片文件不受支持，请提交 CSV、XLSX 或 JSON Lines 文件",
    b"\xff\xd8\xff": "图片文件不受支持，请提交 CSV、XLSX 或 JSON Lines 文件",
}
_UNSAFE_NAME_CHARS = re.compile(r'[<>:"|?*\\/]')
_WINDOWS_RESERVED = re.compile(r"(?i)(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")


def safe_filename(name: object) -> str:
    """A harmless basename for an uploaded file name, or ``ParseError("bad_filename")``.

    Directory parts (``../../etc/passwd`` → ``passwd``, ``C:\\Users\\a\\纳税.csv`` → ``纳税.csv``)
    are dropped, leading dots removed, characters unsafe on common file systems replaced by
    ``_``; NUL or other control characters, an empty result and names over 255 bytes are refused.
    """
    if not isinstance(name, str):
        raise ParseError("bad_filename", "文件名无效")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ParseError("bad_filename", "文件名含有控制字符")
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = _UNSAFE_NAME_CHARS.sub("_", base).lstrip(". ").rstrip(" ")
    if not base or base in (".", ".."):
        raise ParseError("bad_filename", "文件名无效")
    if len(base.encode()) > 255:
        raise ParseError("bad_filename", "文件名过长（超过 255 字节）")
    if _WINDOWS_RESERVED.fullmatch(base):
        base = "_" + base
    return base


def detect_format(filename: str | None, head_bytes: bytes) -> Format:
    """``csv``, ``xlsx`` or ``jsonl`` from the first bytes (magic numbers), or ``ParseError``."""
    extension = os.path.splitext(filename or "")[1].lower()
    if not head_bytes:
        raise ParseError("empty_file", "文件为空")
    if head_bytes.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head_bytes.startswith(b"PK"):
        raise ParseError("corrupt_xlsx", "文件不是有效的 Excel 工作簿（压缩结构不完整）")
    for magic, message in _BINARY_MAGIC.items():
        if head_bytes.startswith(magic):
            raise ParseError("unsupported_format", message)
    if extension == ".xlsx":
        raise ParseError("corrupt_xlsx", "文件扩展名为 .xlsx，但内容不是 Excel 工作簿")
    if head_bytes.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "csv"
    if b"\x00" in head_bytes:
        raise ParseError("binary_file", "文件含有二进制内容（NUL 字节），不是文本表格")
    if not _decodes(head_bytes, "utf-8") and not _decodes(head_bytes, "gb18030"):
        raise ParseError("binary_file", "文件内容既不是 UTF-8 也不是 GBK/GB18030 文本")
    stripped = head_bytes.removeprefix(codecs.BOM_UTF8).lstrip()
    if stripped.startswith(b"{"):
        return "jsonl"
    if stripped.startswith(b"["):
        raise ParseError("unsupported_format", "JSON 数组不受支持，请使用 JSON Lines（每行一个 JSON 对象）")
    return "csv"


def _decodes(data: bytes, codec: str) -> bool:
    try:
        codecs.getincrementaldecoder(codec)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(stream: IO[bytes]) -> str:
    """The encoding of a seekable text stream: ``utf-8``, ``utf-8-sig`` (with BOM), ``gb18030``
    or ``utf-16`` (with BOM).

    Reads from the current position and restores it. ``ParseError("bad_encoding")`` when neither
    UTF-8 nor GB18030 decodes the content.
    """
    start = stream.tell()
    try:
        head = stream.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        bom = head.startswith(codecs.BOM_UTF8)
        stream.seek(start)
        decoder = codecs.getincrementaldecoder("utf-8")()
        evidence = consumed = 0
        try:
            while evidence < UTF8_EVIDENCE_BYTES:
                chunk = stream.read(ENCODING_SCAN_CHUNK)
                if not chunk:
                    break
                evidence += len(chunk) - len(decoder.decode(chunk))
                consumed += len(chunk)
        except UnicodeDecodeError as exc:
            if evidence >= UTF8_CORRUPT_EVIDENCE_BYTES:  # plainly UTF-8, with a bad byte: no mojibake
                raise ParseError("bad_encoding", f"文件是 UTF-8 编码，但第 {consumed + exc.start + 1} 字节附近有无效字节"
                                 "（文件可能已损坏）") from None
            stream.seek(start)
            if _decodes(stream.read(GB_SAMPLE_BYTES), "gb18030"):
                return "gb18030"
            raise ParseError("bad_encoding", "无法识别文件编码，请使用 UTF-8 或 GBK") from None
        return "utf-8-sig" if bom else "utf-8"
    finally:
        stream.seek(start)


def resolve_encoding(stream: IO[bytes], declared: str | None) -> tuple[str, str]:
    """(Python codec, name to report) for a declared or detected encoding."""
    if declared:
        codec = _DECLARED_ENCODINGS.get(declared.strip().lower().replace("_", "-"))
        if codec is None:
            raise ParseError("unsupported_encoding", f"不支持的编码“{declared[:20]}”（可选 UTF-8、GBK、GB18030）")
        if codec == "gb18030" and stream.read(3) == codecs.BOM_UTF8:
            codec = "utf-8-sig"  # the bytes say UTF-8 whatever was declared
        stream.seek(0)
        return codec, declared.strip().lower()
    detected = detect_encoding(stream)
    return ("utf-8-sig" if detected == "utf-8" else detected), detected


@dataclass
class ParsedFile:
    """A file being read: metadata, and ``rows`` yielding ``(row, raw or RowError)``."""

    format: Format
    encoding: str | None
    headers: list[str]
    mapping: dict[str, str]
    rows: Iterator[Row]
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def __iter__(self) -> Iterator[Row]:
        return self.rows

    def close(self) -> None:
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> ParsedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _seekable(stream: IO[bytes], closers: list[Callable[[], None]]) -> IO[bytes]:
    try:
        if stream.seekable():
            return stream
    except (AttributeError, ValueError):
        pass
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    while chunk := stream.read(ENCODING_SCAN_CHUNK):
        spool.write(chunk)
    spool.seek(0)
    closers.append(spool.close)
    return spool  # type: ignore[return-value]


def iter_records(source: str | os.PathLike[str] | IO[bytes], *, fields: Sequence[object],
                 filename: str | None = None, encoding: str | None = None) -> ParsedFile:
    """Open a provider file and match its header to ``fields`` (see the module docstring).

    ``source`` is a path (opened and closed here) or a binary stream (read from its beginning
    when seekable, else from where it is; left open). ``filename`` (default: the path's name)
    is checked by ``safe_filename`` and only hints the format; the content decides.
    """
    closers: list[Callable[[], None]] = []
    try:
        if isinstance(source, str | os.PathLike):
            stream: IO[bytes] = open(source, "rb")  # closed by ParsedFile.close or the row generator
            closers.append(stream.close)
            filename = filename or os.path.basename(os.fspath(source))
        else:
            stream = source
        if filename is not None:
            safe_filename(filename)
        stream = _seekable(stream, closers)
        stream.seek(0)
        head = stream.read(HEAD_BYTES)
        stream.seek(0)
        fmt = detect_format(filename, head)
        if fmt == "xlsx":
            headers, rows = open_xlsx(stream, closers)
            mapping = match_headers(headers, fields)
            return ParsedFile(fmt, None, headers, mapping, rows(mapping, _closer(closers)), closers)
        codec, label = resolve_encoding(stream, encoding)
        if fmt == "jsonl":
            headers, rows = jsonl_rows(stream, codec, label, closers)
            mapping = match_headers(headers, fields, require_all=False)
            return ParsedFile(fmt, label, headers, mapping, rows(fields, _closer(closers)), closers)
        headers, rows = open_csv(stream, codec, label, closers)
        mapping = match_headers(headers, fields)
        return ParsedFile(fmt, label, headers, mapping, rows(mapping, _closer(closers)), closers)
    except BaseException:
        while closers:
            closers.pop()()
        raise


def _closer(closers: list[Callable[[], None]]) -> Callable[[], None]:
    def close() -> None:
        while closers:
            closers.pop()()

    return close

