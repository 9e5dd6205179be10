"""Hostile provider files for the hardening tests: valid files of every format, and the ways
real deliveries get mangled (cut short, flipped bytes, NUL, a BOM in the middle, stray quotes)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from hypothesis import strategies as st

from fincredit.errors import DomainError
from tests.collection import factories

CATEGORY = factories.CATEGORIES["1"]
CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def assert_clear(error: DomainError) -> None:
    """A refusal a provider can act on: a stable snake_case code and a Chinese message."""
    assert isinstance(error, DomainError), repr(error)
    assert CODE.match(error.code), error.code
    assert chinese(error.message), error.message
    assert 400 <= error.status_code < 500, error.status_code


def valid_file(kind: str, rows: int = 6, start: int = 0) -> bytes:
    data = factories.rows("1", rows, start=start)
    if kind.startswith("csv"):
        return factories.to_csv(data, _scratch("f.csv"), encoding="gbk" if kind == "csv-gbk" else "utf-8").read_bytes()
    if kind == "jsonl":
        return factories.to_jsonl(data, _scratch("f.jsonl")).read_bytes()
    return factories.to_xlsx(data, _scratch("f.xlsx")).read_bytes()


_SCRATCH: list[Path] = []


def _scratch(name: str) -> Path:
    import tempfile

    if not _SCRATCH:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="fincredit-hostile-")))
    return _SCRATCH[0] / name


KINDS = ("csv-utf8", "csv-gbk", "jsonl", "xlsx")
FILENAMES = {"csv-utf8": "数据.csv", "csv-gbk": "数据.csv", "jsonl": "数据.jsonl", "xlsx": "数据.xlsx"}
_VALID = {kind: valid_file(kind) for kind in KINDS}

SNIPPETS = [b"\x00", b"\xef\xbb\xbf", b'"', b'""', b'"\r\n', b"\xff\xfe", b"\x81", b"\xa1", b"\r", b"\n\n",
            b",,,,,,,,", b"\t", "\u4e2d".encode("gbk"), "\u4e2d".encode(), b"{", b"}", b"[", b"\\u0000",
            b"PK\x03\x04", b"\xe4\xb8"]


@st.composite
def mangled(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file name, bytes): a valid file of some format, mangled a few times."""
    kind = draw(st.sampled_from(KINDS))
    data = bytearray(_VALID[kind])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("truncate", "flip", "insert", "delete")))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "truncate":
            del data[pos:]
        elif op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(SNIPPETS)) * draw(st.integers(1, 3))
        elif op == "delete":
            del data[pos:pos + draw(st.integers(1, 16))]
    name = draw(st.sampled_from((FILENAMES[kind], "data.txt", "data.xlsx", "data.jsonl")))
    return name, bytes(data)


def zip_bomb(inflated_mib: int = 64) -> bytes:
    """An .xlsx whose worksheet inflates ~1000× (blank rows): a small upload, a big parse."""
    buf = io.BytesIO()
    row = b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>x</t></is></c></row>'
    header = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              b'spreadsheetml/2006/main"><sheetData>')
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        template = zipfile.ZipFile(io.BytesIO(_VALID["xlsx"]))
        for info in template.infolist():
            if info.filename.startswith("xl/worksheets/"):
                with archive.open(info.filename, "w", force_zip64=True) as sheet:
                    sheet.write(header)
                    filler = b"<row/>" * (1024 * 1024 // 6)
                    for _ in range(inflated_mib):
                        sheet.write(filler)
                    sheet.write(row % (10**7, 10**7) + b"</sheetData></worksheet>")
            else:
                archive.writestr(info, template.read(info.filename))
    return buf.getvalue()


def deep_json(depth: int) -> bytes:
    return b'{"a":' + b"[" * depth + b"]" * depth + b"}\n"
