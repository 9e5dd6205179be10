"""Property-based tests of the provider-file parsers and of ingestion with hostile files.

Whatever the bytes, the parser either yields rows (each a value dict or a ``RowError`` with a
code and a Chinese message) or refuses the file with a ``ParseError`` — a ``DomainError`` with a
stable code and a Chinese message — and never fails otherwise. Ingestion stores a batch whole
or not at all: the records counted before and after differ by exactly what the batch says it kept.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fincredit.collection import provider_service, service
from fincredit.collection.models import Batch, Record
from fincredit.collection.parsers import ParseError, iter_records
from fincredit.collection.validators import RowError
from fincredit.db import session_scope
from fincredit.errors import DomainError
from tests.hardening.hostile import CATEGORY, assert_clear, chinese, deep_json, mangled, valid_file, zip_bomb

PARSER = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
INGEST = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def parse(data: bytes, filename: str, encoding: str | None = None) -> tuple[int, ParseError | None]:
    """Read the whole file; (rows seen, the refusal or None). Any other exception fails the test."""
    rows = 0
    try:
        with iter_records(io.BytesIO(data), fields=CATEGORY.fields, filename=filename, encoding=encoding) as parsed:
            for _row, raw in parsed:
                rows += 1
                if isinstance(raw, RowError):
                    assert raw.code and chinese(raw.message), raw
                else:
                    assert isinstance(raw, dict)
    except ParseError as exc:
        assert_clear(exc)
        return rows, exc
    return rows, None


@PARSER
@given(data=st.binary(max_size=4096), filename=st.sampled_from(["a.csv", "a.xlsx", "a.jsonl", "a.txt", "a"]),
       encoding=st.sampled_from([None, None, "gbk", "utf-8"]))
def test_random_bytes_are_read_or_refused_clearly(data, filename, encoding):
    parse(data, filename, encoding)


@PARSER
@given(file=mangled())
def test_mangled_files_are_read_or_refused_clearly(file):
    parse(file[1], file[0])


@pytest.mark.parametrize("kind", ["csv-utf8", "csv-gbk", "jsonl", "xlsx"])
def test_the_unmangled_files_are_read(kind):
    rows, error = parse(valid_file(kind), f"a.{kind.split('-')[0]}")
    assert error is None and rows == 6


def test_a_huge_field_is_a_row_error_not_a_crash():
    good = valid_file("csv-utf8").decode()
    header, first, rest = good.split("\r\n", 2)
    cells = first.split(",")
    cells[1] = '"' + "长" * (1024 * 1024 + 10) + '"'
    rows, error = parse("\r\n".join([header, ",".join(cells), rest]).encode(), "a.csv")
    assert error is not None or rows >= 1  # a row error for that cell, or the whole file refused


def test_an_unbalanced_quote_at_the_end_is_truncated_file():
    rows, error = parse(valid_file("csv-gbk") + b'"unclosed,1,2\r\n', "a.csv")
    assert error is not None and error.code == "truncated_file"


def test_deeply_nested_json_lines_are_row_errors():
    data = deep_json(100_000) + valid_file("jsonl")
    rows, error = parse(data, "a.jsonl")
    assert error is None and rows == 7  # the hostile line is one bad row; the six good ones read


def test_an_xlsx_zip_bomb_is_refused_before_it_is_inflated():
    bomb = zip_bomb(64)  # ~64 KiB on the wire, 64 MiB of worksheet XML
    assert len(bomb) < 1_000_000
    rows, error = parse(bomb, "a.xlsx")
    assert error is not None and error.code == "xlsx_too_large" and rows == 0


# --- ingestion: all or nothing ------------------------------------------------------------------


@pytest.fixture
def tax(db):  # type: ignore[no-untyped-def]
    with session_scope() as s:
        provider_service.register_provider(s, code="tax", name="省税务局", categories=["1"])
    return "tax"


def _records() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(Record))


def _ingest(tmp_path, name: str, data: bytes) -> tuple[Batch | None, DomainError | None]:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    try:
        with session_scope() as s:
            result = service.ingest(s, provider_code="tax", category_code="1",
                                    upload=service.uploaded_file(path, name))
            s.expunge(result.batch)
            if result.file_error is not None:
                assert_clear(result.file_error)
            return (result.batch if result.created else None), result.file_error
    except DomainError as exc:  # refused before a batch existed: nothing was committed
        assert_clear(exc)
        return None, exc


@INGEST
@given(file=mangled())
def test_ingesting_a_mangled_file_stores_all_of_the_batch_or_none_of_it(tax, tmp_path, file):
    before = _records()
    batch, _error = _ingest(tmp_path, *file)
    stored = _records() - before
    if batch is None or batch.status == "rejected":
        assert stored == 0
    else:
        with session_scope() as s:
            own = s.scalar(select(func.count()).select_from(Record).where(Record.batch_id == batch.id))
        assert stored == own == batch.accepted - batch.unchanged
        assert batch.accepted + batch.rejected == batch.rows_total


def test_a_good_file_after_hostile_ones_is_stored_once(tax, tmp_path):
    for name, data in (("a.csv", valid_file("csv-gbk") + '"未闭合的引号,1'.encode("gbk")), ("a.xlsx", zip_bomb(1)[:5000]),
                       ("a.jsonl", deep_json(50_000))):
        before = _records()
        _ingest(tmp_path, name, data)
        assert _records() == before
    batch, error = _ingest(tmp_path, "a.csv", valid_file("csv-gbk", rows=6, start=500))
    assert error is None and batch is not None and batch.status == "accepted" and batch.accepted == 6
    again, _ = _ingest(tmp_path, "a.csv", valid_file("csv-gbk", rows=6, start=500))
    assert again is None  # the same content: the first batch, nothing stored twice
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Record).where(Record.batch_id == batch.id)) == 6
