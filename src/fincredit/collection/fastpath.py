"""Column-wise validation and shaping of a chunk of records (批量快速校验): the fast path of collection.

Pure Python (no web, ORM or database imports). ``ChunkProcessor(category, validator, shaper)``
turns a chunk of parser output ``[(row, raw dict | RowError), …]`` into ``[(row, Shaped | None,
errors), …]`` — exactly what validating each row with ``RowValidator.validate`` and shaping it with
``RecordShaper.shape`` gives, only faster:

* every field is checked over the whole column at once with C-level primitives (a regular
  expression over the column for text, USCCs, amounts and integers; the field's own memoised check
  for dates, flags, enumerations and codes). The fast checks accept only values whose clean form is
  obvious (``"1234.50"`` → ``"1234.5"``); anything else — blanks where a value is required, spaces
  to trim, full-width digits, formulas, bad check digits … — sends the row to the per-row validator,
  so that every rejected row gets the very message the per-row path gives, and every accepted row
  the very clean value;
* the canonical JSON of the clean record is assembled from per-column JSON fragments in sorted key
  order (byte-identical to ``shaping.canonical_json``), and the two keyed hashes reuse the prepared
  HMAC-SM3 state.

Categories whose records need per-row work anyway (identifier numbers typed by another field,
encrypted personal or verification-only values, the registration base that keeps clean rows) use
the fast checks for validation and the per-row shaper for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # the C encoder
from typing import Any

from fincredit.catalog.definitions import CategoryDef
from fincredit.collection.identifiers import USCC_ALPHABET, uscc_check_digit
from fincredit.collection.shaping import RecordShaper, Shaped, canonical_json
from fincredit.collection.validators import FieldValidator, RowError, RowValidator
from fincredit.collection.values import _CONTROL_RE, _EDGE_INVISIBLE, MISSING
from fincredit.crypto import sm4_encrypt_many

Result = tuple[int, Shaped | None, list[RowError]]


class _Slow:
    """Marks a value the fast checks leave to the per-row validator."""

    __slots__ = ()


SLOW: Any = _Slow()


# -- text --------------------------------------------------------------------------------------

def _safe_text_class() -> str:
    """A character class of characters that ``make_text`` keeps unchanged anywhere in a value:
    printable, not whitespace (so never trimmed), no control, bidi or invisible character.
    Built from a few common blocks and checked against this Python's Unicode database."""
    blocks = [(0x21, 0x7E), (0xA1, 0x17F), (0x2010, 0x2027), (0x2030, 0x205E), (0x2160, 0x2188),
              (0x2460, 0x24FF), (0x3001, 0x303F), (0x3041, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
              (0xFF01, 0xFF5E), (0xFFE0, 0xFFE6)]
    ranges: list[tuple[int, int]] = []
    for low, high in blocks:
        for code in range(low, high + 1):
            char = chr(code)
            keep = (char.isprintable() and not char.isspace() and char not in _EDGE_INVISIBLE
                    and not _CONTROL_RE.match(char) and char.strip() == char)
            if not keep:
                continue
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


_SAFE = _safe_text_class()
# First character never a formula lead (= + - @); inner spaces allowed; nothing to trim at the ends.
_SAFE_TEXT_RE = re.compile(f"(?![=+\\-@])[{_SAFE}](?:[{_SAFE} ]*[{_SAFE}])?")


def _text_column(max_length: int) -> Callable[[list[Any]], list[Any]]:
    fullmatch = _SAFE_TEXT_RE.fullmatch

    def run(values: list[Any]) -> list[Any]:
        return [v if m is not None and len(v) <= max_length else SLOW
                for v, m in zip(values, map(fullmatch, values), strict=True)]

    return run


# -- USCC --------------------------------------------------------------------------------------

_USCC_CHARS = re.escape(USCC_ALPHABET)
_USCC_RE = re.compile(f"[1-9ANY][1-9][0-9]{{6}}[{_USCC_CHARS}]{{10}}")


def _uscc_column(values: list[Any]) -> list[Any]:
    fullmatch = _USCC_RE.fullmatch
    return [v if m is not None and v[17] == uscc_check_digit(v) else SLOW
            for v, m in zip(values, map(fullmatch, values), strict=True)]


# -- decimals and integers ---------------------------------------------------------------------

def _decimal_column(int_digits: int, decimals: int) -> Callable[[list[Any]], list[Any]]:
    """Plain non-negative decimals (``0``, ``12``, ``1234.50``): the canonical text drops trailing
    fractional zeros (``values.plain_decimal``). Signs, separators, units, exponents: per row."""
    pattern = re.compile(f"(?:0|[1-9][0-9]{{0,{int_digits - 1}}})(?:\\.[0-9]{{1,{decimals}}})?")
    fullmatch = pattern.fullmatch

    def run(values: list[Any]) -> list[Any]:
        return [SLOW if m is None else (v.rstrip("0").rstrip(".") if "." in v else v)
                for v, m in zip(values, map(fullmatch, values), strict=True)]

    return run


_INTEGER_RE = re.compile("[0-9]{1,15}")


def _integer_column(minimum: int | None, maximum: int | None) -> Callable[[list[Any]], list[Any]]:
    low = -1 if minimum is None else minimum
    high = 10**16 if maximum is None else maximum

    def run(values: list[Any]) -> list[Any]:
        fullmatch = _INTEGER_RE.fullmatch
        out: list[Any] = []
        for v, m in zip(values, map(fullmatch, values), strict=True):
            if m is None:
                out.append(SLOW)
                continue
            number = int(v)
            out.append(number if low <= number <= high else SLOW)
        return out

    return run


# -- any other type: the field's own (memoised) check ------------------------------------------

_UNSEEN: Any = object()


def _checked_column(check: Callable[[object], object]) -> Callable[[list[Any]], list[Any]]:
    """Each distinct text of the column is checked once (types the validator does not memoise,
    such as ranges, repeat a handful of values over a whole file); a dict or list result is copied
    for every row, so that no two clean rows share a mutable value."""
    def run(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        seen: dict[str, Any] = {}
        recall = seen.get
        for v in values:
            clean = recall(v, _UNSEEN)
            if clean is _UNSEEN:
                try:
                    clean = check(v)
                except Exception:  # noqa: BLE001 - the per-row validator reports it exactly
                    clean = SLOW
                seen[v] = clean
            out.append(dict(clean) if type(clean) is dict else list(clean) if type(clean) is list else clean)
        return out

    return run


def _column_check(field: FieldValidator, spec: Any) -> Callable[[list[Any]], list[Any]]:
    """The fast check of one field over a column of non-empty strings."""
    assert field.check is not None
    kind = field.type
    if kind == "text":
        return _text_column(int(spec.max_length or 2000))
    if kind == "uscc":
        return _uscc_column
    if kind == "amount_yuan":
        return _decimal_column(15, 2)
    if kind == "amount_wan":
        return _decimal_column(11, 6)
    if kind == "number" and (spec.min is None or spec.min <= 0) and spec.max is None:
        return _decimal_column(18, 8)
    if kind == "count":
        return _integer_column(0 if spec.min is None else int(spec.min), None if spec.max is None else int(spec.max))
    if kind == "months":
        return _integer_column(0 if spec.min is None else int(spec.min), 1200 if spec.max is None else int(spec.max))
    return _checked_column(field.check)


# -- JSON fragments ------------------------------------------------------------------------------

def _fragment(prefix: str, value: Any) -> str:
    kind = type(value)
    if kind is str:
        return prefix + encode_basestring(value)
    if kind is bool:
        return prefix + ("true" if value else "false")
    if kind is int:
        return prefix + int.__repr__(value)
    return prefix + canonical_json(value)


def _encoded(values: list[Any]) -> list[str]:
    """JSON text of each value, as ``canonical_json`` writes it (no value is missing)."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(encode_basestring, values))
    if kinds == {int}:
        return list(map(int.__repr__, values))
    return [_fragment("", v) for v in values]


def _fragments(prefix: str, values: list[Any]) -> list[str]:
    """``"name":value`` for each value (``""`` for a missing one), as ``canonical_json`` writes it."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return [prefix + text for text in map(encode_basestring, values)]
    if kinds == {int}:
        return [prefix + text for text in map(int.__repr__, values)]
    return ["" if v is MISSING else _fragment(prefix, v) for v in values]


class ChunkProcessor:
    """A category's fast path, compiled once; ``process(chunk)`` as described in the module."""

    def __init__(self, category: CategoryDef, validator: RowValidator, shaper: RecordShaper) -> None:
        self.validator = validator
        self.shaper = shaper
        specs = {f.name: f for f in category.fields}
        self.fields = [f for f in validator.fields if f.check is not None]
        self.checks = [_column_check(f, specs[f.name]) for f in self.fields]
        self.dependent = bool([f for f in validator.fields if f.check is None])
        # Fields in canonical JSON order (json's sort_keys: by code point).
        order = sorted(range(len(self.fields)), key=lambda i: self.fields[i].name)
        self.json_order = order
        self.prefixes = [encode_basestring(self.fields[i].name) + ":" for i in order]
        self.template = "{" + ",".join(prefix.replace("%", "%%") + "%s" for prefix in self.prefixes) + "}"
        position = {f.name: i for i, f in enumerate(self.fields)}
        self.natural_key = [position.get(name) for name in category.natural_key]
        self.subject_index = position.get(category.subject_field.name)
        self.subject_is_uscc = category.subject_field.type == "uscc"
        # Verification-only values (数据核验) are sealed column by column: positions in JSON order.
        # Identifier numbers (blind index, USCC or not) are left to the per-row shaper.
        sealed = set(shaper.verification_fields)
        self.sealed = [j for j, i in enumerate(order) if self.fields[i].name in sealed]
        self.fast_shape = (not self.dependent and not shaper.identifier_fields and not shaper.keep_clean
                           and sealed <= {f.name for f in self.fields}
                           and self.subject_index is not None and self.fields[self.subject_index].required)
        self.enabled = not self.dependent

    # -- validation ---------------------------------------------------------------------------
    def _columns(self, raws: Sequence[dict[str, Any]]) -> tuple[list[list[Any]], list[bool]]:
        """Clean columns (``MISSING`` where blank and optional) and which rows need the slow path."""
        slow = [False] * len(raws)
        columns: list[list[Any]] = []
        for field, check in zip(self.fields, self.checks, strict=True):
            name = field.name
            values = [raw.get(name) for raw in raws]
            if set(map(type, values)) == {str} and "" not in values:
                column = check(values)
            else:
                column = [MISSING] * len(values)
                present = []
                for i, v in enumerate(values):
                    if type(v) is str and v != "":
                        present.append(i)
                    elif v is None or v == "":
                        if field.required:
                            slow[i] = True
                    else:
                        slow[i] = True
                if present:
                    for i, clean in zip(present, check([values[i] for i in present]), strict=True):
                        column[i] = clean
            if SLOW in column or (field.required and MISSING in column):
                for i, clean in enumerate(column):
                    if clean is SLOW or (clean is MISSING and field.required):
                        slow[i] = True
            columns.append(column)
        return columns, slow

    # -- the chunk ------------------------------------------------------------------------------
    def process(self, chunk: Sequence[tuple[int, object]]) -> list[Result]:
        validator, shaper = self.validator, self.shaper
        good: list[int] = [i for i, (_row, raw) in enumerate(chunk) if not isinstance(raw, RowError)]
        raws = [chunk[i][1] for i in good]
        columns, slow = self._columns(raws)  # type: ignore[arg-type]
        fast_rows = [k for k, s in enumerate(slow) if not s]
        shaped = self._shape(columns, fast_rows, [chunk[good[k]][0] for k in fast_rows])
        results: list[Result | None] = [None] * len(chunk)
        for k, record in zip(fast_rows, shaped, strict=True):
            i = good[k]
            results[i] = (chunk[i][0], record, [])
        slow_rows: list[tuple[int, list[RowError]]] = []
        cleans: list[tuple[dict[str, Any], int]] = []
        for i, (row, raw) in enumerate(chunk):
            if results[i] is not None:
                continue
            if isinstance(raw, RowError):
                results[i] = (row, None, [raw])
                continue
            clean, errors = validator.validate(raw, row)  # type: ignore[arg-type]
            if clean is None:
                results[i] = (row, None, errors)
            else:
                slow_rows.append((i, errors))
                cleans.append((clean, row))
        for (i, errors), record in zip(slow_rows, shaper.shape_many(cleans), strict=True):
            results[i] = (chunk[i][0], record, errors)
        return results  # type: ignore[return-value]

    def _shape(self, columns: list[list[Any]], rows: list[int], row_numbers: list[int]) -> list[Shaped]:
        if not rows:
            return []
        if not self.fast_shape:
            names = [f.name for f in self.fields]
            return self.shaper.shape_many([
                ({name: col[k] for name, col in zip(names, columns, strict=True) if col[k] is not MISSING}, row)
                for k, row in zip(rows, row_numbers, strict=True)])
        every = len(rows) == len(columns[0])
        # JSON text, in key order: one template when every value is present, else fragments.
        ordered = [columns[index] if every else [columns[index][k] for k in rows] for index in self.json_order]
        if not any(MISSING in column for column in ordered):
            encoded = [_encoded(column) for column in ordered]
            texts = list(map(self.template.__mod__, zip(*encoded, strict=True)))
            if self.sealed:  # ``data``: the sealed columns' JSON text encrypted, as a JSON string
                for j in self.sealed:
                    encoded[j] = list(map(encode_basestring, sm4_encrypt_many(encoded[j], self.shaper.data_key)))
                data = list(map(self.template.__mod__, zip(*encoded, strict=True)))
        else:
            fragments = [_fragments(prefix, column) for prefix, column in zip(self.prefixes, ordered, strict=True)]
            texts = ["{" + ",".join(filter(None, parts)) + "}" for parts in zip(*fragments, strict=True)]
            if self.sealed:
                for j in self.sealed:
                    prefix, column = self.prefixes[j], fragments[j]
                    present = [k for k, part in enumerate(column) if part]
                    sealed = sm4_encrypt_many([column[k][len(prefix):] for k in present], self.shaper.data_key)
                    column = column.copy()
                    for k, value in zip(present, sealed, strict=True):
                        column[k] = prefix + encode_basestring(value)
                    fragments[j] = column
                data = ["{" + ",".join(filter(None, parts)) + "}" for parts in zip(*fragments, strict=True)]
        if not self.sealed:
            data = texts
        # Natural key: the category code and the values, unit-separated (``RecordShaper.natural_key_hash``).
        parts = [[self.shaper.code] * len(rows)]
        for index in self.natural_key:
            if index is None:
                parts.append(["\x00"] * len(rows))
                continue
            column = columns[index] if every else [columns[index][k] for k in rows]
            if set(map(type, column)) != {str}:
                column = ["\x00" if v is MISSING else v if type(v) is str else canonical_json(v) for v in column]
            parts.append(column)
        natural = list(map("\x1f".join, zip(*parts, strict=True)))
        assert self.subject_index is not None
        subject_column = columns[self.subject_index] if every else [columns[self.subject_index][k] for k in rows]
        if self.subject_is_uscc:
            subjects: list[tuple[str, str]] = [("enterprise", key) for key in subject_column]
        else:
            name = self.fields[self.subject_index].name
            subjects = [self.shaper.subject({name: key}) for key in subject_column]
        natural_hashes = self.shaper.hasher.hex_many(natural)
        content_hashes = self.shaper.hasher.hex_many(texts)
        return list(map(Shaped, row_numbers, *zip(*subjects, strict=True), natural_hashes, content_hashes, data,
                        [None] * len(rows)))
