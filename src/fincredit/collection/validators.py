"""Validation of a record against its category (记录校验): the pure core of collection.

Pure Python (no web, ORM or database imports). A category's fields are described as in
``catalog/annex.yaml`` — dicts or ``catalog.FieldDef`` objects with ``name``, ``type`` and the
optional ``required``, ``max_length``, ``min``, ``max``, ``values``, ``id_type_field``,
``personal``. Usage::

    validator = compile_fields(category.fields)      # once per category: precompiled checks
    clean, errors = validator.validate(raw, row=7)   # per record
    clean, errors = validate_row(fields, raw)        # one-off convenience (compiles each call)

``raw`` maps field names (not file headers — see ``headers.match_headers``) to cell values
(``str``, or ``int``/``float``/``bool``/``date``/``datetime`` from XLSX and JSON). ``None``, ``""``
and whitespace-only values are *missing*: a ``required`` error when the field is required, else
simply absent from ``clean``. ``clean`` is ``None`` whenever ``errors`` is not empty.

Clean values by type (details in ``values``, ``temporal``, ``identifiers``, ``bands``):
``text`` str · ``uscc`` 18-char upper-case str · ``resident_id`` str (15 digits stay 15) ·
``id_type`` canonical label (居民身份证, 统一社会信用代码, 护照, …) · ``id_number`` str ·
``date`` ``YYYY-MM-DD`` · ``year_month`` ``YYYY-MM`` · ``year`` int · ``datetime`` ISO with
``+08:00`` · ``amount_yuan``/``amount_wan``/``number``/``percent`` canonical decimal str ·
``count``/``months`` int · ``boolean`` bool · ``enum`` catalog spelling · ``range``
``{"text", "low", "high"}`` · ``phone``, ``region_code``, ``industry_code`` normalised str.

``id_number`` fields are checked after the others, by the canonical type found in their
``id_type_field``: 居民身份证 (and 港澳台居民居住证) by GB 11643, 统一社会信用代码 by GB 32100,
组织机构代码 by GB 11714, any other type as text of at most 64 characters. When the type is
absent the number must be a valid USCC or resident ID; the inferred type is then written into
``clean[id_type_field]`` (when the category has that field). If the type field itself is invalid
the number is not checked (the row is rejected anyway).

Error codes (``RowError.code``), stable: ``required``, ``too_long``, ``control_characters``,
``formula_injection``, ``bad_value``, ``bad_uscc_format``, ``bad_uscc_check_digit``,
``bad_resident_id_format``, ``bad_resident_id_area_code``, ``bad_resident_id_birth_date``,
``bad_resident_id_check_digit``, ``bad_org_code``, ``bad_id_type``, ``bad_id_number``,
``bad_date``, ``impossible_date``, ``date_out_of_range``, ``bad_year_month``, ``bad_year``,
``bad_datetime``, ``bad_amount``, ``negative_amount``, ``too_many_decimals``, ``bad_number``,
``bad_integer``, ``out_of_range``, ``bad_boolean``, ``not_in_enum``, ``bad_range``, ``bad_phone``,
``bad_region_code``, ``bad_industry_code``; from the parsers (row-level, ``field`` usually
``""``): ``bad_csv``, ``field_too_large``, ``extra_columns``, ``bad_json``, ``unknown_field``,
``duplicate_field``, ``line_too_long``; ``unparseable_value`` should never occur (a safety net). Messages are Chinese: the reason, then the value truncated to 20
characters, masked (``3201************34``) for ``personal`` fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fincredit.collection.bands import parse_range
from fincredit.collection.headers import field_spec
from fincredit.collection.identifiers import CHECKS as IDENTIFIER_CHECKS
from fincredit.collection.identifiers import parse_id_number
from fincredit.collection.temporal import parse_date, parse_datetime, parse_year, parse_year_month
from fincredit.collection.values import (
    COUNT_SUFFIXES,
    MISSING,
    MONTHS_SUFFIXES,
    Check,
    FieldError,
    make_amount,
    make_decimal,
    make_enum,
    make_integer,
    make_percent,
    make_text,
    parse_boolean,
)

__all__ = [
    "FIELD_TYPES", "MISSING", "FieldError", "FieldValidator", "RowError", "RowValidator", "compile_field",
    "compile_fields", "describe_value", "iter_validated", "validate_row",
]

DEFAULT_MAX_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class RowError:
    """One rejected value or row. ``row`` as counted by the parser (see ``parsers``); ``field`` is
    the field name, or ``""`` for a row-level problem."""

    row: int | None
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}


def _bound(spec: Mapping[str, Any], key: str, default: Decimal | None) -> Decimal | None:
    value = spec.get(key)
    return default if value is None else Decimal(str(value))


def _int_bound(spec: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = spec.get(key)
    return default if value is None else int(value)


def _build_check(spec: Mapping[str, Any]) -> Check:
    kind = spec["type"]
    if kind == "text":
        return make_text(int(spec.get("max_length") or DEFAULT_MAX_LENGTH))
    if kind in IDENTIFIER_CHECKS:
        return IDENTIFIER_CHECKS[kind]
    if kind == "amount_yuan":
        return make_amount("yuan")
    if kind == "amount_wan":
        return make_amount("wan")
    if kind == "number":
        return make_decimal(minimum=_bound(spec, "min", Decimal(0)), maximum=_bound(spec, "max", None))
    if kind == "percent":
        return make_percent()
    if kind == "count":
        return make_integer(_int_bound(spec, "min", 0), _int_bound(spec, "max", None), COUNT_SUFFIXES)
    if kind == "months":
        return make_integer(_int_bound(spec, "min", 0), _int_bound(spec, "max", 1200), MONTHS_SUFFIXES)
    if kind == "boolean":
        return parse_boolean
    if kind == "enum":
        if not spec.get("values"):
            raise ValueError(f"enum field {spec['name']!r} has no values")
        return make_enum(spec["values"])
    simple = {"date": parse_date, "year_month": parse_year_month, "year": parse_year,
              "datetime": parse_datetime, "range": parse_range}
    if kind in simple:
        return simple[kind]
    raise ValueError(f"unknown field type {kind!r} for field {spec.get('name')!r}")


FIELD_TYPES = frozenset({
    "text", "uscc", "resident_id", "id_type", "id_number", "date", "year_month", "year", "datetime",
    "amount_yuan", "amount_wan", "count", "months", "number", "percent", "boolean", "enum", "range",
    "phone", "region_code", "industry_code",
})


@dataclass(frozen=True, slots=True)
class FieldValidator:
    """One precompiled field: ``check(value)`` returns the clean value or ``MISSING`` or raises
    ``FieldError``. ``id_number`` fields have no standalone check (``check`` is ``None``)."""

    name: str
    type: str
    required: bool
    personal: bool
    check: Check | None
    id_type_field: str | None = None


# Types whose values repeat a lot in real files (dates, small integers, codes, flags): their
# checks are memoised per compiled field for text input (bounded, successes only). Text only,
# because 1 == 1.0 == True would alias different inputs.
MEMO_TYPES = frozenset({"date", "year_month", "year", "months", "count", "boolean", "enum", "id_type",
                        "region_code", "industry_code", "percent"})
MEMO_SIZE = 4096


def _memoised(check: Check) -> Check:
    memo: dict[str, object] = {}
    recall = memo.get

    def run(value: object) -> object:
        if type(value) is not str:
            return check(value)
        result = recall(value)  # type: ignore[arg-type]
        if result is None:
            result = check(value)
            if len(memo) < MEMO_SIZE:
                memo[value] = result  # type: ignore[index]
        return result

    return run


def compile_field(field: object) -> FieldValidator:
    spec = field_spec(field)
    kind = spec["type"]
    check = None if kind == "id_number" else _build_check(spec)
    if check is not None and kind in MEMO_TYPES:
        check = _memoised(check)
    return FieldValidator(name=spec["name"], type=kind, required=bool(spec.get("required")),
                          personal=bool(spec.get("personal")), check=check,
                          id_type_field=spec.get("id_type_field") if kind == "id_number" else None)


def _escape(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def describe_value(value: object, personal: bool = False, limit: int = 20) -> str:
    """The value as shown in an error message: truncated, escaped, masked when personal."""
    text = value.strip() if isinstance(value, str) else repr(value)
    if personal:
        if len(text) >= 8:
            text = text[:4] + "*" * min(len(text) - 6, 12) + text[-2:]
        else:
            text = text[:1] + "*" * max(len(text) - 1, 1)
    if len(text) > limit:
        text = text[:limit] + "…"
    return text if text.isprintable() else _escape(text)


class RowValidator:
    """A category's fields compiled once; ``validate(raw, row)`` checks one record."""

    __slots__ = ("_dependent", "_index", "_plan", "fields")

    def __init__(self, fields: Iterable[object]) -> None:
        self.fields: tuple[FieldValidator, ...] = tuple(compile_field(f) for f in fields)
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("duplicate field names")
        self._index = {f.name: f for f in self.fields}
        self._plan = tuple((f.name, f.check, f.required) for f in self.fields if f.check is not None)
        self._dependent = tuple(f for f in self.fields if f.check is None)

    def _error(self, row: int | None, name: str, exc: FieldError, value: object) -> RowError:
        personal = self._index[name].personal
        return RowError(row, name, exc.code, f"{exc.reason}：“{describe_value(value, personal)}”")

    def validate(self, raw: Mapping[str, object], row: int | None = None
                 ) -> tuple[dict[str, object] | None, list[RowError]]:
        clean: dict[str, object] = {}
        errors: list[RowError] = []
        for name, check, required in self._plan:
            value = raw.get(name)
            if value is None or value == "":
                if required:
                    errors.append(RowError(row, name, "required", f"必填项“{name}”为空"))
                continue
            try:
                result = check(value)
            except FieldError as exc:
                errors.append(self._error(row, name, exc, value))
                continue
            except (ValueError, TypeError, ArithmeticError, KeyError, IndexError):
                errors.append(RowError(row, name, "unparseable_value",
                                       f"无法解析的值：“{describe_value(value, True)}”"))
                continue
            if result is MISSING:
                if required:
                    errors.append(RowError(row, name, "required", f"必填项“{name}”为空"))
                continue
            clean[name] = result
        for field in self._dependent:
            self._check_id_number(field, raw, row, clean, errors)
        if errors:
            return None, errors
        return clean, errors

    __call__ = validate

    def _check_id_number(self, field: FieldValidator, raw: Mapping[str, object], row: int | None,
                         clean: dict[str, object], errors: list[RowError]) -> None:
        type_field = field.id_type_field
        id_type = clean.get(type_field) if type_field else None
        if type_field and id_type is None and any(e.field == type_field for e in errors):
            return
        value = raw.get(field.name)
        number: object = MISSING
        if value is not None and value != "":
            try:
                number, inferred = parse_id_number(value, id_type, prefer_person=field.personal)
            except FieldError as exc:
                errors.append(self._error(row, field.name, exc, value))
                return
            except (ValueError, TypeError, ArithmeticError, KeyError, IndexError):
                errors.append(RowError(row, field.name, "unparseable_value", "无法解析的证件号码"))
                return
        if number is MISSING:
            if field.required:
                errors.append(RowError(row, field.name, "required", f"必填项“{field.name}”为空"))
            return
        clean[field.name] = number
        if type_field and id_type is None and type_field in self._index:
            clean[type_field] = inferred


def compile_fields(fields: Iterable[object]) -> RowValidator:
    """Precompile a category's fields (raises ``ValueError`` for an unknown type)."""
    return RowValidator(fields)


def validate_row(fields: Sequence[object] | RowValidator, raw: Mapping[str, object], row: int | None = None
                 ) -> tuple[dict[str, object] | None, list[RowError]]:
    """Validate one record; ``fields`` may be a precompiled ``RowValidator``."""
    validator = fields if isinstance(fields, RowValidator) else RowValidator(fields)
    return validator.validate(raw, row)


def iter_validated(records: Iterable[tuple[int, Mapping[str, object] | RowError]], validator: RowValidator
                   ) -> Iterator[tuple[int, dict[str, object] | None, list[RowError]]]:
    """Validate a parser's records (``parsers.ParsedFile``): yields ``(row, clean, errors)``;
    a record the parser could not read arrives as a ``RowError`` and is passed through."""
    validate = validator.validate
    for row, raw in records:
        if isinstance(raw, RowError):
            yield row, None, [raw]
        else:
            yield (row, *validate(raw, row))
