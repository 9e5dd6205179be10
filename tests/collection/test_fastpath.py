"""The column-wise fast path gives exactly what the per-row validator and shaper give.

For every catalog category, valid rows and rows with awkward or wrong values (spaces to trim,
full-width digits, formulas, separators, impossible dates, bad check digits, blanks, numbers as
JSON numbers …) go through both paths; every accepted row must come out with the same clean
content and hashes, and every rejected row with the same errors, in the same order.
"""

from __future__ import annotations

import hmac
import json
import random

import pytest

from fincredit.collection.fastpath import SLOW, ChunkProcessor, _checked_column
from fincredit.collection.pipeline import _process
from fincredit.collection.shaping import RecordShaper, is_uscc
from fincredit.collection.validators import RowError, compile_fields
from fincredit.crypto import sm4_decrypt
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


def _opened(data_json: str) -> list[tuple[str, object]]:
    """The stored ``data`` with every SM4-GCM value decrypted (marked as sealed), in stored key order:
    ciphertexts differ run to run (random nonces), what they seal must not."""
    return [(name, ("sealed", sm4_decrypt(value, DATA_KEY))
             if isinstance(value, str) and value.startswith("sm4gcm:") else value)
            for name, value in json.loads(data_json).items()]


def _comparable(results, protects: bool):  # type: ignore[no-untyped-def]
    out = []
    for row, shaped, errors in results:
        if shaped is not None and protects:
            shaped = shaped._replace(data_json=_opened(shaped.data_json))
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


PROTECTED = sorted(code for code, category in CATEGORIES.items()
                   if RecordShaper(category, lookup_key=LOOKUP_KEY, data_key=DATA_KEY).protects)


def _sm3_hmac(text: str) -> str:
    return hmac.new(LOOKUP_KEY, text.encode(), "sm3").hexdigest()


@pytest.mark.parametrize("blanks", [False, True], ids=["all values", "some blanks"])
@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "per row"])
@pytest.mark.parametrize("code", PROTECTED)
def test_protected_values_are_sealed_as_documented(code: str, fast: bool, blanks: bool) -> None:
    """Checked against the rules themselves (``shaping`` docstring), not against the other path:
    personal identifier numbers that are not USCCs are encrypted as typed and blind-indexed;
    verification-only values are encrypted as their JSON text (an identifier as typed); everything
    else is stored as cleaned; the content hash covers the plain record; every nonce is fresh."""
    category = CATEGORIES[code]
    validator = compile_fields(category.fields)
    shaper = RecordShaper(category, lookup_key=LOOKUP_KEY, data_key=DATA_KEY, keep_clean=code == "base")
    processor = ChunkProcessor(category, validator, shaper) if fast else None
    # Text cells, as a CSV file gives them (the fast checks take strings).
    chunk = [(i + 2, {k: "" if v is None else str(v) for k, v in raw.items()}) for i, raw in enumerate(rows(code, 120))]
    for i, (_row, raw) in enumerate(chunk):  # some optional values left blank
        optional = [f.name for f in category.fields if not f.required and f.name in raw]
        if blanks and i % 4 == 1 and optional:
            raw[optional[i % len(optional)]] = ""
    identifiers = {f.name for f in category.fields if f.personal and f.type in ("id_number", "resident_id")}
    verification = set(category.verification_fields)
    nonces = []
    results = _process(chunk, validator, shaper, processor)
    assert all(shaped is not None for _row, shaped, _errors in results)
    for (row, raw), (out_row, shaped, errors) in zip(chunk, results, strict=True):
        clean, expected_errors = validator.validate(raw, row)
        assert clean is not None and (out_row, errors) == (row, expected_errors)
        plain = json.dumps(clean, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        assert shaped.content_hash == _sm3_hmac(plain)
        stored = json.loads(shaped.data_json)
        assert list(stored) == sorted(clean)
        person_keys = set()
        for name, value in clean.items():
            if name in identifiers and isinstance(value, str) and not is_uscc(value):
                expected = ("sealed", value)
                person_keys.add(_sm3_hmac(value.strip().upper()))
            elif name in verification:
                typed = name in identifiers
                expected = ("sealed", value if typed else json.dumps(value, ensure_ascii=False))
            else:
                expected = value
            opened = dict(_opened(shaped.data_json))[name]
            assert opened == expected, (name, value, opened)
            if isinstance(opened, tuple):
                nonces.append(stored[name][7:23])
        assert shaped.person_keys_json == (json.dumps(sorted(person_keys)) if person_keys else None)
    assert nonces and len(set(nonces)) == len(nonces)


def test_fast_path_seals_verification_columns() -> None:
    """Category 10 (社会保险费缴纳情况, with verification-only amounts) is shaped column-wise."""
    category = CATEGORIES["10"]
    processor = ChunkProcessor(category, compile_fields(category.fields),
                               RecordShaper(category, lookup_key=LOOKUP_KEY, data_key=DATA_KEY))
    assert processor.enabled and processor.fast_shape and processor.sealed


def test_repeated_values_are_checked_once_and_share_nothing() -> None:
    """A column's repeated texts (ranges: a handful of distinct values in a whole file) cost one check
    each; every row still gets its own clean value, and a failed check sends each of its rows to the
    per-row validator."""
    calls: list[str] = []

    def check(value: object) -> object:
        calls.append(str(value))
        if value == "bad":
            raise ValueError(value)
        return {"text": value, "low": "1", "high": "2"}

    out = _checked_column(check)(["1-2", "1-2", "bad", "1-2", "bad"])
    assert calls == ["1-2", "bad"]
    assert out[0] == out[1] == out[3] == {"text": "1-2", "low": "1", "high": "2"}
    assert out[0] is not out[1] and out[1] is not out[3]
    assert out[2] is SLOW and out[4] is SLOW
