"""Scalar value parsers for collected records (归集数据的字段取值): text, numbers, amounts, flags.

Pure Python. Every ``parse_*``/``make_*`` check takes one raw cell value — ``str`` from CSV,
or ``int``/``float``/``bool``/``datetime``/``date`` from XLSX and JSON Lines — and either returns
the clean value, returns ``MISSING`` when the value is blank after trimming, or raises
``FieldError(code, reason)``. ``reason`` is Chinese and never contains the value itself: the row
validator (``validators.py``) appends a short, masked or truncated rendering of the value.

Clean forms:
- text: ``str``, trimmed, CR/CRLF folded to LF;
- amounts, ``number``, ``percent``: a canonical decimal **string** (no sign, separators, exponent
  or trailing fractional zeros: ``"1,234.50"`` → ``"1234.5"``, ``"100.00"`` → ``"100"``), exact
  and JSON-safe; ``Decimal(s)`` restores the number. Units are never converted;
- ``count``, ``months``, ``year``: ``int``; ``boolean``: ``bool``; ``enum``: the catalog's spelling.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation


class FieldError(Exception):
    """One invalid value: a stable snake_case ``code`` and a Chinese ``reason``."""

    __slots__ = ("code", "reason")

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()
"""Returned by a check when the value is blank (empty or whitespace only)."""

Check = Callable[[object], object]


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def as_text(value: object) -> str:
    """Render a non-text cell (XLSX/JSON number, date, bool) as text; reject containers."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError("bad_value", "不是有效的数值")
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    raise FieldError("bad_value", "不支持的取值类型（应为文本、数字或日期）")


# -- text ------------------------------------------------------------------------------------

# C0 (except TAB and LF; CR is folded to LF first), DEL, C1, and the bidirectional overrides
# and isolates that can disguise text ("Trojan source").
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_EDGE_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"
_FUNCTION_CALL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\s*\(")
_FORMULA_LEADS = "_(=+-@\"'"


def looks_like_formula(text: str) -> bool:
    """True when trimmed ``text`` would run as a spreadsheet formula (CSV/formula injection).

    ``=`` followed by anything is a formula. ``@``, ``+`` and ``-`` are formulas when followed by
    an ASCII letter, an operator, a quote or a bracket, or when the text contains a function call
    (``SUM(``) or a DDE pipe (``cmd|``). A signed number (``-12.5``), a phone number
    (``+86 25 …``), dash placeholders (``-``, ``--``) and Chinese text after a dash pass.
    """
    head = text[0]
    if head == "=":
        return len(text) > 1
    if head not in "+-@":
        return False
    rest = text[1:].lstrip()
    if not rest or not rest.strip("-—–"):
        return False
    c = rest[0]
    if c.isascii() and (c.isalpha() or c in _FORMULA_LEADS):
        return True
    return "|" in rest or _FUNCTION_CALL_RE.search(rest) is not None


def _clean_unprintable(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip().strip(_EDGE_INVISIBLE).strip()
    if _CONTROL_RE.search(text):
        raise FieldError("control_characters", "含有不可见的控制字符")
    return text


def clean_text(value: object) -> str:
    """Trim, fold CR, refuse control characters; no formula or length check."""
    text = value if type(value) is str else as_text(value)
    text = text.strip()
    if not text.isprintable():
        text = _clean_unprintable(text)
    return text


def make_text(max_length: int = 2000, *, formula_check: bool = True) -> Check:
    def check(value: object) -> object:
        text = value.strip() if type(value) is str else as_text(value).strip()
        if not text.isprintable():
            text = _clean_unprintable(text)
        if not text:
            return MISSING
        if formula_check and text[0] in "=+-@" and looks_like_formula(text):
            raise FieldError("formula_injection", "疑似电子表格公式（以 = + - @ 开头），已拒收")
        if len(text) > max_length:
            raise FieldError("too_long", f"长度 {len(text)} 超过上限 {max_length} 个字符")
        return text

    return check


# -- decimals ---------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_GROUPED_RE = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
_CURRENCY_PREFIXES = ("¥", "RMB", "CNY", "人民币")


def plain_decimal(number: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing fractional zeros, ``0`` for zero."""
    if not number:
        return "0"
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def to_decimal(value: object, *, bad: str = "bad_number", prefixes: Iterable[str] = (),
               suffixes: Iterable[str] = ()) -> Decimal | _Missing:
    """Parse a decimal: ASCII or full-width digits, thousands separators, optional currency
    ``prefixes`` and unit ``suffixes`` (removed, never converted). Raises ``FieldError(bad)``."""
    if isinstance(value, bool):
        raise FieldError(bad, "应为数值")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(bad, "不是有效的数值")
        return Decimal(format(value, ".15g"))  # Excel keeps 15 significant digits
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise FieldError(bad, "不是有效的数值")
        return value
    text = as_text(value).strip()
    if not text:
        return MISSING
    if not text.isascii():
        text = nfkc(text).strip()
    for prefix in prefixes:
        if text.startswith(prefix):
            text = text[len(prefix):].lstrip()
            break
    for suffix in suffixes:
        if text.endswith(suffix):
            text = text[: -len(suffix)].rstrip()
            break
    if "," in text:
        if not _GROUPED_RE.fullmatch(text):
            raise FieldError(bad, "数值格式不正确（千分位分隔符位置有误）")
        text = text.replace(",", "")
    if not _NUMBER_RE.fullmatch(text):
        raise FieldError(bad, "不是有效的数值")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise FieldError(bad, "不是有效的数值") from None


def make_decimal(*, minimum: Decimal | None = Decimal(0), maximum: Decimal | None = None,
                 max_decimals: int | None = None, max_int_digits: int = 18, bad: str = "bad_number",
                 negative: str = "out_of_range", prefixes: tuple[str, ...] = (),
                 suffixes: tuple[str, ...] = ()) -> Check:
    """A decimal check returning the canonical decimal string (see the module docstring)."""
    decimals = max_decimals if max_decimals is not None else 8
    fast = re.compile(rf"(?:0|[1-9][0-9]{{0,{max_int_digits - 1}}})(?:\.[0-9]{{0,{decimals - 1}}}[1-9])?")
    fast_ok = minimum is not None and minimum <= 0 and maximum is None

    def check(value: object) -> object:
        if fast_ok and type(value) is str and fast.fullmatch(value):
            return value
        number = to_decimal(value, bad=bad, prefixes=prefixes, suffixes=suffixes)
        if number is MISSING:
            return MISSING
        assert isinstance(number, Decimal)
        if number.adjusted() >= max_int_digits:
            raise FieldError("out_of_range", f"数值过大（整数部分超过 {max_int_digits} 位）")
        if number < 0 and minimum is not None and minimum >= 0:
            raise FieldError(negative, "不能为负数")
        if minimum is not None and number < minimum:
            raise FieldError("out_of_range", f"不能小于 {plain_decimal(minimum)}")
        if maximum is not None and number > maximum:
            raise FieldError("out_of_range", f"不能大于 {plain_decimal(maximum)}")
        text = plain_decimal(number)
        if max_decimals is not None and "." in text and len(text) - text.index(".") - 1 > max_decimals:
            raise FieldError("too_many_decimals", f"小数位超过 {max_decimals} 位")
        return text

    return check


def make_amount(unit: str) -> Check:
    """``amount_yuan`` (元, 2 decimals) or ``amount_wan`` (万元, 6 decimals); ≥ 0, ¥ allowed."""
    if unit == "yuan":
        return make_decimal(max_decimals=2, max_int_digits=15, bad="bad_amount", negative="negative_amount",
                            prefixes=_CURRENCY_PREFIXES, suffixes=("元",))
    return make_decimal(max_decimals=6, max_int_digits=11, bad="bad_amount", negative="negative_amount",
                        prefixes=_CURRENCY_PREFIXES, suffixes=("万元", "万"))


def make_percent() -> Check:
    """0..100; ``"12%"`` and ``"12 ％"`` → ``"12"``; ``0.12`` stays ``"0.12"`` (no guessing)."""
    return make_decimal(minimum=Decimal(0), maximum=Decimal(100), max_decimals=6, suffixes=("%",))


# -- integers ---------------------------------------------------------------------------------

COUNT_SUFFIXES = ("人", "个", "家", "户", "次", "件", "项", "名", "笔")
MONTHS_SUFFIXES = ("个月", "月")


def make_integer(minimum: int | None = 0, maximum: int | None = None,
                 suffixes: tuple[str, ...] = ()) -> Check:
    """An ``int``; accepts ``"1,234"``, ``12.0`` and the given unit suffixes (``"36个月"``)."""

    def check(value: object) -> object:
        if type(value) is str and value.isascii() and value.isdigit() and len(value) < 16:
            number = int(value)
        elif type(value) is int:
            number = value
        else:
            parsed = to_decimal(value, bad="bad_integer", suffixes=suffixes)
            if parsed is MISSING:
                return MISSING
            assert isinstance(parsed, Decimal)
            if parsed != parsed.to_integral_value() or parsed.adjusted() > 15:
                raise FieldError("bad_integer", "应为整数")
            number = int(parsed)
        if minimum is not None and number < minimum:
            raise FieldError("out_of_range", f"不能小于 {minimum}")
        if maximum is not None and number > maximum:
            raise FieldError("out_of_range", f"不能大于 {maximum}")
        return number

    return check


# -- boolean and enum -------------------------------------------------------------------------

_BOOLEANS = {"是": True, "否": False, "y": True, "n": False, "yes": True, "no": False,
             "1": True, "0": False, "true": True, "false": False}
_BOOLEANS_EXACT = {**_BOOLEANS, "Y": True, "N": False, "TRUE": True, "FALSE": False, "True": True,
                   "False": False}


def parse_boolean(value: object) -> object:
    """是/否, Y/N, yes/no, 1/0, true/false (any case) → ``True``/``False``."""
    if type(value) is str:
        hit = _BOOLEANS_EXACT.get(value)
        if hit is not None:
            return hit
        text = value.strip()
    elif isinstance(value, bool):
        return value
    elif isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    else:
        text = as_text(value).strip()
    if not text:
        return MISSING
    hit = _BOOLEANS.get(nfkc(text).strip().casefold())
    if hit is None:
        raise FieldError("bad_boolean", "应为“是”或“否”")
    return hit


def make_enum(values: Iterable[str]) -> Check:
    """The value must be one of ``values`` after NFKC and trimming; returns the catalog spelling."""
    allowed = list(values)
    exact = {v: v for v in allowed}
    folded = {"".join(nfkc(v).split()).casefold(): v for v in allowed}
    listing = "、".join(allowed)
    if len(listing) > 80:
        listing = listing[:80] + "…"

    def check(value: object) -> object:
        if type(value) is str:
            hit = exact.get(value)
            if hit is not None:
                return hit
        text = as_text(value).strip()
        if not text:
            return MISSING
        hit = folded.get("".join(nfkc(text).split()).casefold())
        if hit is None:
            raise FieldError("not_in_enum", f"不在取值范围内（可选：{listing}）")
        return hit

    return check
