"""Reading provider files: CSV in every encoding, XLSX, JSON Lines, row numbers, hostile files."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from fincredit.collection import parsers
from fincredit.collection.parsers import ParseError, detect_format, iter_records, safe_filename
from fincredit.collection.readers import MAX_FIELD_CHARS, MAX_LINE_CHARS
from fincredit.collection.validators import RowError, compile_fields, iter_validated

from .test_identifiers import make_rid
from .test_validators import PERSON_FIELDS, TAX_FIELDS, USCC

HEADER = "企业名称,统一社会信用代码,近一年增值税应纳税金额（元）,连续正常缴税周期(月),最近一次正常缴税日期"
NAMES = [f["name"] for f in TAX_FIELDS]


def csv_bytes(body: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO((HEADER + "\n" + body).encode(encoding))


def read(source, **kwargs) -> tuple[parsers.ParsedFile, list]:
    kwargs.setdefault("fields", TAX_FIELDS)
    kwargs.setdefault("filename", "file.csv")
    with iter_records(source, **kwargs) as parsed:
        return parsed, list(parsed)


# -- CSV encodings ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "reported", "name"), [
    ("utf-8", "utf-8", "江苏某某科技有限公司"),
    ("utf-8-sig", "utf-8-sig", "江苏某某科技有限公司"),
    ("gbk", "gb18030", "江苏某某科技有限公司（南京）"),
    ("gb18030", "gb18030", "𠀀䶮记商行"),           # outside GBK: needs real GB18030
    ("utf-16", "utf-16", "𠀀䶮记商行"),
])
def test_csv_encodings_detected(encoding: str, reported: str, name: str) -> None:
    parsed, rows = read(csv_bytes(f"{name},{USCC},100,12,2024-01-01\r\n", encoding))
    assert parsed.format == "csv" and parsed.encoding == reported
    assert parsed.headers[0] == "企业名称"  # no BOM left in the first header
    assert rows == [(2, dict(zip(NAMES, [name, USCC, "100", "12", "2024-01-01"], strict=True)))]


def test_gb18030_character_outside_gbk_is_not_encodable_in_gbk() -> None:
    with pytest.raises(UnicodeEncodeError):
        "𠀀".encode("gbk")


@pytest.mark.parametrize("declared", ["gbk", "GBK", "gb18030", "gb2312"])
def test_declared_gbk_family(declared: str) -> None:
    parsed, rows = read(csv_bytes(f"䶮记,{USCC},1,1,2024-01-01\n", "gb18030"), encoding=declared)
    assert parsed.encoding == declared.lower() and rows[0][1]["企业名称"] == "䶮记"


def test_declared_utf8_but_gbk_bytes() -> None:
    with pytest.raises(ParseError) as info:
        read(csv_bytes(f"江苏,{USCC},1,1,2024-01-01\n", "gbk"), encoding="utf-8")
    assert info.value.code == "bad_encoding"


def test_unsupported_declared_encoding() -> None:
    with pytest.raises(ParseError) as info:
        read(csv_bytes("", "utf-8"), encoding="latin-1")
    assert info.value.code == "unsupported_encoding"


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_multibyte_characters_split_across_chunks(encoding: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "ENCODING_SCAN_CHUNK", 7)
    names = [f"江苏{'某' * (i % 13)}𠀀公司{i}" for i in range(3000)]  # ~150 KB, every alignment
    body = "".join(f"{name},{USCC},{i},1,2024-01-01\n" for i, name in enumerate(names))
    parsed, rows = read(csv_bytes(body, encoding))
    assert parsed.encoding == encoding
    assert [raw["企业名称"] for _, raw in rows] == names
    assert rows[-1][0] == 3001


def test_long_ascii_prefix_then_gbk() -> None:
    body = "".join(f"company {i},{USCC},1,1,2024-01-01\n" for i in range(40000)) + f"江苏,{USCC},1,1,2024-01-01\n"
    assert len(body) > parsers.GB_SAMPLE_BYTES
    parsed, rows = read(csv_bytes(body, "gbk"))
    assert parsed.encoding == "gb18030" and rows[-1][1]["企业名称"] == "江苏"


def test_utf8_with_a_corrupt_byte_is_not_read_as_gbk() -> None:
    body = "".join(f"江苏某某科技有限公司{i},{USCC},1,1,2024-01-01\n" for i in range(200)).encode()
    data = HEADER.encode() + b"\n" + body + b"\xff" + body
    with pytest.raises(ParseError) as info:
        read(io.BytesIO(data))
    assert info.value.code == "bad_encoding" and "UTF-8" in info.value.message


def test_gbk_far_after_an_ascii_sample_is_a_clear_error_when_declared_utf8() -> None:
    body = "".join(f"c{i},{USCC},1,1,2024-01-01\n" for i in range(100)) + f"江苏,{USCC},1,1,2024-01-01\n"
    with pytest.raises(ParseError) as info:
        read(csv_bytes(body, "gbk"), encoding="utf-8")
    assert info.value.code == "bad_encoding" and "行" in info.value.message


# -- CSV structure ---------------------------------------------------------------------------------

def test_row_numbers_blank_lines_and_multiline_cells() -> None:
    body = f'甲,{USCC},1,1,2024-01-01\n\n,,,,\n"乙\n第二行",{USCC},2,2,2024-01-02\n丙,{USCC},3,3,2024-01-03'
    _, rows = read(csv_bytes(body))
    assert [(row, raw["企业名称"]) for row, raw in rows] == [(2, "甲"), (5, "乙\n第二行"), (6, "丙")]


def test_tab_delimited_and_reordered_columns_with_ignored_index() -> None:
    text = f"序号\t最近一次正常缴税日期\t统一社会信用代码\t企业名称\n1\t2024/1/2\t{USCC}\t甲\n"
    _, rows = read(io.BytesIO(text.encode()))
    assert rows == [(2, {"最近一次正常缴税日期": "2024/1/2", "统一社会信用代码": USCC, "企业名称": "甲"})]


def test_short_rows_are_padded_and_extra_cells_refused() -> None:
    _, rows = read(csv_bytes(f"甲,{USCC}\n乙,{USCC},1,1,2024-01-01,surprise\n丙,{USCC},1,1,2024-01-01,,\n"))
    assert rows[0] == (2, dict(zip(NAMES, ["甲", USCC, "", "", ""], strict=True)))
    assert isinstance(rows[1][1], RowError) and rows[1][1].code == "extra_columns"
    assert rows[2][1]["企业名称"] == "丙"


def test_data_under_an_empty_header_is_refused() -> None:
    text = f"企业名称,,统一社会信用代码\n甲,,{USCC}\n乙,oops,{USCC}\n"
    _, rows = read(io.BytesIO(text.encode()))
    assert rows[0][1] == {"企业名称": "甲", "统一社会信用代码": USCC}
    assert rows[1][1].code == "extra_columns"


def test_truncated_inside_quotes() -> None:
    with pytest.raises(ParseError) as info:
        read(csv_bytes(f'甲,{USCC},1,1,2024-01-01\n"乙,{USCC},1,1,20'))
    assert info.value.code == "truncated_file" and "第 3 行" in info.value.message


def test_bad_quoting_is_a_row_error_and_reading_goes_on() -> None:
    _, rows = read(csv_bytes(f'"甲"x,{USCC},1,1,2024-01-01\n乙,{USCC},1,1,2024-01-01\n'))
    assert rows[0][1].code == "bad_csv" and rows[0][0] == 2
    assert rows[1] == (3, dict(zip(NAMES, ["乙", USCC, "1", "1", "2024-01-01"], strict=True)))


def test_huge_field_is_a_row_error() -> None:
    body = f'"{"x" * (MAX_FIELD_CHARS + 10)}",{USCC},1,1,2024-01-01\n乙,{USCC},1,1,2024-01-01\n'
    _, rows = read(csv_bytes(body))
    assert rows[0][1].code == "field_too_large" and rows[-1][1]["企业名称"] == "乙"


def test_big_field_within_limits_is_refused_by_the_validator() -> None:
    parsed_rows = read(csv_bytes(f'{"长" * 100_000},{USCC},1,1,2024-01-01\n'))[1]
    (row, clean, errors), = iter_validated(parsed_rows, compile_fields(TAX_FIELDS))
    assert clean is None and errors[0].code == "too_long" and len(errors[0].message) < 100


def test_overlong_line_ends_the_file() -> None:
    with pytest.raises(ParseError) as info:
        read(csv_bytes("x" * (MAX_LINE_CHARS + 1)))
    assert info.value.code == "line_too_long"


def test_formula_injection_reaches_the_validator() -> None:
    rows = read(csv_bytes(f"=cmd|' /C calc'!A0,{USCC},1,1,2024-01-01\n"))[1]
    (_, clean, errors), = iter_validated(rows, compile_fields(TAX_FIELDS))
    assert errors[0].code == "formula_injection"


def test_non_seekable_stream_and_caller_stream_left_open() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer) -> int:
            chunk = self.data.read(min(len(buffer), 5))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    pipe = Pipe((HEADER + f"\n甲,{USCC},1,1,2024-01-01\n").encode("gbk"))
    parsed, rows = read(pipe)
    assert parsed.encoding == "gb18030" and rows[0][1]["企业名称"] == "甲"
    stream = csv_bytes(f"甲,{USCC},1,1,2024-01-01\n")
    read(stream)
    assert not stream.closed


def test_path_source(tmp_path: Path) -> None:
    path = tmp_path / "纳税信息.csv"
    path.write_bytes((HEADER + f"\n甲,{USCC},1,1,2024-01-01\n").encode("utf-8-sig"))
    parsed, rows = read(path, filename=None)
    assert parsed.encoding == "utf-8-sig" and len(rows) == 1


# -- header errors ---------------------------------------------------------------------------------

def test_header_errors_list_unknown_missing_duplicate() -> None:
    text = "企业名称,企业 名称,注册资本,最近一次正常缴税日期\n"
    with pytest.raises(parsers.HeaderError) as info:
        read(io.BytesIO(text.encode()))
    error = info.value
    assert error.code == "bad_headers" and error.status_code == 422
    assert error.unknown == ["注册资本"] and error.missing == ["统一社会信用代码"] and error.duplicate == ["企业 名称"]
    assert "注册资本" in error.message and "统一社会信用代码" in error.message
    assert error.details == {"unknown": ["注册资本"], "missing": ["统一社会信用代码"], "duplicate": ["企业 名称"]}


def test_file_of_another_category() -> None:
    text = "姓名,证件类型,证件号码,列入日期,执行法院\n"
    with pytest.raises(parsers.HeaderError) as info:
        read(io.BytesIO(text.encode()))
    assert "其他信息类" in info.value.message and len(info.value.unknown) == 5


# -- XLSX ------------------------------------------------------------------------------------------

def xlsx_bytes(rows: list[list[object]], percent_cells: tuple[tuple[int, int], ...] = ()) -> io.BytesIO:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for values in rows:
        sheet.append(values)
    for row, column in percent_cells:
        sheet.cell(row=row, column=column).number_format = "0.00%"
    workbook.create_sheet("第二页").append(["不读这一页"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def test_xlsx_types_and_row_numbers() -> None:
    rid = make_rid("320106", "19661212")
    book = xlsx_bytes([
        [None], ["姓名", "证件类型", "证件号码", "是否取消"],
        ["王某", "身份证", rid, "否"], [None, None], ["李某", 111, make_rid("320404", "19610101"), True],
    ])
    parsed, rows = read(book, filename="失信.xlsx", fields=PERSON_FIELDS)
    assert parsed.format == "xlsx" and parsed.encoding is None and parsed.headers[0] == "姓名"
    assert [row for row, _ in rows] == [3, 5]
    assert rows[1][1]["证件类型"] == 111 and rows[1][1]["是否取消"] is True
    results = list(iter_validated(rows, compile_fields(PERSON_FIELDS)))
    assert [errors for _, _, errors in results] == [[], []]
    assert results[1][1]["证件类型"] == "居民身份证"


def test_xlsx_dates_numbers_and_percent_cells() -> None:
    fields = TAX_FIELDS + [{"name": "缴存比例", "type": "percent"}]
    book = xlsx_bytes([NAMES + ["缴存比例"], ["甲", USCC, 1234.5, 36, datetime(2024, 3, 5), 0.07]],
                      percent_cells=((2, 6),))
    _, rows = read(book, fields=fields, filename="x.xlsx")
    raw = rows[0][1]
    assert raw["最近一次正常缴税日期"] == datetime(2024, 3, 5) and raw["缴存比例"] == "7%"
    (_, clean, errors), = iter_validated(rows, compile_fields(fields))
    assert errors == [] and clean["最近一次正常缴税日期"] == "2024-03-05" and clean["缴存比例"] == "7"
    assert clean["近一年增值税应纳税金额(元)"] == "1234.5" and clean["连续正常缴税周期(月)"] == 36


def test_xlsx_extra_cells_outside_the_header() -> None:
    book = xlsx_bytes([NAMES, ["甲", USCC, 1, 1, "2024-01-01", "多余"]])
    _, rows = read(book, filename="x.xlsx")
    assert rows[0][1].code == "extra_columns"


def test_truncated_xlsx() -> None:
    data = xlsx_bytes([NAMES, ["甲", USCC, 1, 1, "2024-01-01"]]).getvalue()
    for cut in (len(data) // 2, len(data) - 30, 100):
        with pytest.raises(ParseError) as info:
            read(io.BytesIO(data[:cut]), filename="x.xlsx")
        assert info.value.code == "corrupt_xlsx"


def test_xlsx_with_a_corrupted_sheet() -> None:
    import zipfile

    rows = [NAMES] + [[f"企业{i}", USCC, i, 1, "2024-01-01"] for i in range(2000)]
    data = bytearray(xlsx_bytes(rows).getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in range(start + 200, start + info.compress_size - 200, 97):
        data[offset] ^= 0xFF
    with pytest.raises(ParseError) as info_error:
        read(io.BytesIO(bytes(data)), filename="x.xlsx")
    assert info_error.value.code == "corrupt_xlsx"


def test_zip_that_is_not_a_workbook() -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    buffer.seek(0)
    with pytest.raises(ParseError) as info:
        read(buffer, filename="x.xlsx")
    assert info.value.code == "corrupt_xlsx"


# -- JSON Lines ------------------------------------------------------------------------------------

def test_jsonl() -> None:
    lines = [
        json.dumps({"企业名称": "甲", "统一社会信用代码": USCC, "近一年增值税应纳税金额（元）": 1234.56}, ensure_ascii=False),
        "",
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"企业名称": "乙", "统一社会信用代码": USCC, "注册资本": 1}, ensure_ascii=False),
        json.dumps({"企业名称": "丙", "统一社会信用代码": USCC, "连续正常缴税周期(月)": 12}, ensure_ascii=False),
    ]
    data = io.BytesIO(("\ufeff" + "\n".join(lines) + "\n").encode())
    parsed, rows = read(data, filename="tax.jsonl")
    assert parsed.format == "jsonl" and parsed.headers[2] == "近一年增值税应纳税金额（元）"
    assert [row for row, _ in rows] == [1, 3, 4, 5, 6]
    assert str(rows[0][1]["近一年增值税应纳税金额(元)"]) == "1234.56"
    assert [raw.code for _, raw in rows[1:4]] == ["bad_json", "bad_json", "unknown_field"]
    results = list(iter_validated(rows, compile_fields(TAX_FIELDS)))
    assert results[0][1]["近一年增值税应纳税金额(元)"] == "1234.56" and results[-1][1]["连续正常缴税周期(月)"] == 12


def test_jsonl_first_object_with_unknown_keys_is_a_header_error() -> None:
    with pytest.raises(parsers.HeaderError):
        read(io.BytesIO(b'{"a": 1, "b": 2}\n'), filename="x.jsonl")


def test_jsonl_without_any_object() -> None:
    with pytest.raises(ParseError) as info:
        read(io.BytesIO(b"{oops\n{still not\n"), filename="x.jsonl")
    assert info.value.code == "bad_json"


# -- format detection and file names ---------------------------------------------------------------

@pytest.mark.parametrize(("head", "name", "expected"), [
    (b"PK\x03\x04rest", "a.csv", "xlsx"), (b"\xef\xbb\xbf  {\"a\":1}", "a.txt", "jsonl"), (b"a,b\n", "a.xlsx?", "csv"),
    ("企业名称,统一社会信用代码".encode("gbk"), None, "csv"), (b"\xff\xfea\x00,\x00", "a.csv", "csv"),
])
def test_detect_format(head: bytes, name: str | None, expected: str) -> None:
    assert detect_format(name, head) == expected


@pytest.mark.parametrize(("head", "name", "code"), [
    (b"", "a.csv", "empty_file"), (b"ab\x00\x01\x02garbage", "a.csv", "binary_file"),
    (b"abc\xff\xff\xff\xfe", "a.csv", "binary_file"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1....", "a.xls", "unsupported_format"),
    (b"%PDF-1.7", "a.csv", "unsupported_format"), (b"\x1f\x8b\x08", "a.csv.gz", "unsupported_format"),
    (b"[{\"a\": 1}]", "a.json", "unsupported_format"), (b"a,b\n", "a.xlsx", "corrupt_xlsx"), (b"PK\x05\x06", "a.xlsx", "corrupt_xlsx"),
])
def test_detect_format_refusals(head: bytes, name: str, code: str) -> None:
    with pytest.raises(ParseError) as info:
        detect_format(name, head)
    assert info.value.code == code and info.value.message


def test_random_binary_garbage_never_crashes() -> None:
    import random

    rng = random.Random(7)
    for _ in range(50):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        try:
            read(io.BytesIO(blob))
        except ParseError:
            pass


@pytest.mark.parametrize(("name", "safe"), [
    ("纳税信息.csv", "纳税信息.csv"), ("../../etc/passwd", "passwd"), ("/etc/passwd", "passwd"),
    ("C:\\Users\\张三\\纳税.xlsx", "纳税.xlsx"), (".htaccess", "htaccess"), ("a:b?.csv", "a_b_.csv"), ("CON.csv", "_CON.csv"),
])
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@pytest.mark.parametrize("name", ["", "..", "../", "a\x00.csv", "a\n.csv", "x" * 300 + ".csv", None])
def test_bad_filenames(name: object) -> None:
    with pytest.raises(ParseError) as info:
        safe_filename(name)
    assert info.value.code == "bad_filename"


def test_iter_records_checks_the_filename() -> None:
    with pytest.raises(ParseError) as info:
        iter_records(csv_bytes(""), filename="a\x00.csv", fields=TAX_FIELDS)
    assert info.value.code == "bad_filename"
