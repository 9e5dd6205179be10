"""Deliberate defects for collection tests (only with ``--defects``).

Each is planted in the first record of one file, in place (row counts do not change):
a wrong USCC check digit (category 1, GBK CSV), an impossible date (category 7, JSON Lines) and a
spreadsheet formula (category 24, UTF-8 CSV). The manifest lists them under ``planted_defects``.
"""

from __future__ import annotations

import polars as pl

from fincredit.synth.codes import USCC_ALPHABET

DEFECTS: dict[str, tuple[str, str]] = {
    "1": ("统一社会信用代码", "bad_uscc_check_digit"),
    "7": ("开庭日期", "impossible_date"),
    "24": ("承诺事由", "formula_injection"),
}
FORMULA = '=HYPERLINK("http://example.invalid/x","点击查看")'


def _broken(kind: str, value: object) -> str:
    if kind == "bad_uscc_check_digit":
        text = str(value)
        wrong = USCC_ALPHABET[(USCC_ALPHABET.index(text[-1]) + 7) % len(USCC_ALPHABET)]
        return text[:-1] + wrong
    if kind == "impossible_date":
        return f"{str(value)[:4]}-02-30"
    return FORMULA


def plant(code: str, data: pl.DataFrame, path: str, file_format: str) -> tuple[pl.DataFrame, list[dict]]:
    """Break the first record of ``data`` if ``code`` carries a defect. ``row`` in the result is
    the row number a reader reports (the header counts as row 1 in CSV and XLSX; JSON Lines
    has no header)."""
    if code not in DEFECTS or data.height == 0:
        return data, []
    field, kind = DEFECTS[code]
    if field not in data.columns:
        return data, []
    value = _broken(kind, data[field][0])
    column = data[field].cast(pl.String).scatter(0, value)
    return data.with_columns(column.alias(field)), [
        {"category": code, "path": path, "record": 1, "row": 1 if file_format == "jsonl" else 2, "field": field,
         "kind": kind, "value": value}]
