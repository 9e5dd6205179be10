"""The column-wise fast path gives exactly what the per-row validator and shaper give.

For every catalog category, valid rows and rows with awkward or wrong values (spaces to trim,
full-width digits, formulas, separators, impossible dates, bad check digits, blanks, numbers as
JSON numbers …) go through both paths; every accepted row must come out with the same clean
content and hashes, and every rejected row with the same errors, in the same order.
"""

from __future__ import annotations

import random

import pytest

from fincredit.collection.fastpath import ChunkProcessor
from fincredit.collection.pipeline import _process
from fincredit.collection.shaping import RecordShaper
from fincredit.collection.validators import RowError, compile_fields
from tests.collection.factories import CATEGORIES, rows

LOOKUP_KEY = bytes(range(32))
DATA_KEY = bytes(range(16))

AWKWARD = [
    "", " ", "  x  ", "\u3000中文\u3000", "=cmd|' /C calc'!A0", "+86 25 8888 8888", "-12.5", "@SUM(A1)",
    "1,234.50", "1,23,4", "１２３", "¥1,000", "1000元", "12万元", "1e3", "0.00", "00012", "100.000", "7.1234567",
    "-0", "12%", "2024-02-30", "2024/3/5", "20240305", "2024年3月5日", "1899-01-01", "2024-13", "是", "否",
    "Y", "true", "maybe", "9132010000000000XX", "91320100000000001a", "913201000000000011", "x" * 2100,
    "a\tb", "a\nb", "a\rb", "a\x07b", "\u202eabc", "\ufeffabc", "abc\u200b", "“引号”", 'quo"te', "back\\slash",
    "1200", "1201", "-1", "36个月", "0", "3.0", "320102", "C3911", "13812345678", "100-500", "其他",
]


def _variants(code: str, count: int, seed: int) -> list[tuple[int, object]]:
    rng = random.Random(seed)
    out: list[tuple[int, object]] = []
    base = rows(code, count)
    for i, row in enumerate(base):
        raw: dict[str, object] = {k: ("" if v is None else str(v)) for k, v in row.items()}
        if i % 3:  # two rows in three carry one to three awkward values
            for name in rng.sample(list(raw), k=min(len(raw), rng.randint(1, 3))):
                raw[name] = rng.choice(AWKWARD)
        if i % 7 == 0:  # JSON-like cells: numbers and missing keys
            for name, value in list(row.items()):
                if isinstance(value, int) and rng.random() < 0.5:
                    raw[name] = value
            raw.pop(rng.choice(list(raw)), None)
        if i % 11 == 0:
            raw = {k: (f" {v} " if isinstance(v, str) and v else v) for k, v in raw.items()}
        out.append((i + 2, raw))
    out.append((count + 2, RowError(count + 2, "", "bad_csv", "CSV 格式错误")))
    return out


def _comparable(results, protects: bool):  # type: ignore[no-untyped-def]
    out = []
    for row, shaped, errors in results:
        if shaped is not None:
            shaped = shaped._replace(data_json=None) if protects else shaped
        out.append((row, shaped, errors))
    return out


@pytest.mark.parametrize("code", sorted(CATEGORIES))
def test_fast_path_matches_row_by_row(code: str) -> None:
    category = CATEGORIES[code]
    validator = compile_fields(category.fields)
    keep_clean = code == "base"
    slow_shaper = RecordShaper(category, lookup_key=LOOKUP_KEY, data_key=DATA_KEY, keep_clean=keep_clean)
    fast_shaper = RecordShaper(category, lookup_key=LOOKUP_KEY, data_key=DATA_KEY, keep_clean=keep_clean)
    processor = ChunkProcessor(category, validator, fast_shaper)
    chunk = _variants(code, 300, seed=int.from_bytes(code.encode(), "big") % 1000)
    slow = _process(chunk, validator, slow_shaper)
    fast = _process(chunk, validator, fast_shaper, processor)
    assert _comparable(fast, slow_shaper.protects) == _comparable(slow, slow_shaper.protects)
    accepted = sum(1 for _, shaped, _ in slow if shaped is not None)
    assert 0 < accepted < len(chunk)  # both kinds of rows were exercised


def test_fast_path_is_used_for_enterprise_categories() -> None:
    category = CATEGORIES["1"]
    validator = compile_fields(category.fields)
    processor = ChunkProcessor(category, validator,
                               RecordShaper(category, lookup_key=LOOKUP_KEY, data_key=DATA_KEY))
    assert processor.enabled and processor.fast_shape
