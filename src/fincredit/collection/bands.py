"""Bands (区间) such as ``100-500``, ``0~100``, ``≥1000``, ``1000以上``, ``<50千瓦时``.

Pure Python; ``parse_range`` follows the contract of ``values.py``. The clean value is a dict
``{"text": canonical text, "low": decimal string | None, "high": decimal string | None}``:

| input | text | low | high |
|---|---|---|---|
| ``100-500``, ``100～500``, ``100至500``, ``100万元-500万元`` | ``100-500`` (+ unit) | 100 | 500 |
| ``≥1000``, ``>=1000``, ``1000以上``, ``1000及以上``, ``1000+`` | ``≥1000`` | 1000 | None |
| ``>1000``, ``超过1000`` | ``>1000`` | 1000 | None |
| ``≤100``, ``100以下``, ``不超过100`` | ``≤100`` | None | 100 |
| ``<100``, ``低于100`` | ``<100`` | None | 100 |
| ``300`` | ``300`` | 300 | 300 |

As in Chinese statutory usage (民法典第一千二百五十九条) ``以上``/``以下`` include the number itself.
Bounds are non-negative; a unit written after the numbers is kept in ``text`` (never converted);
``low > high`` and mismatched units are refused with ``bad_range``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from fincredit.collection.values import MISSING, FieldError, as_text, nfkc, plain_decimal

_NUM = r"([0-9]+(?:\.[0-9]+)?)"
_UNIT = r"([^0-9.~\-–—至到<>≤≥+]{0,10}?)"
_BETWEEN_RE = re.compile(rf"{_NUM}{_UNIT}(?:-|~|–|—|至|到){_NUM}{_UNIT}")
_BOUNDED = [
    ("≥", "low", re.compile(rf"(?:≥|>=|不低于|不少于|大于等于|大于或等于){_NUM}{_UNIT}(?:以上)?")),
    ("≥", "low", re.compile(rf"{_NUM}{_UNIT}(?:及以上|或以上|以上|\+)")),
    (">", "low", re.compile(rf"(?:>|大于|超过|高于){_NUM}{_UNIT}")),
    ("≤", "high", re.compile(rf"(?:≤|<=|不超过|不高于|不多于|小于等于|小于或等于){_NUM}{_UNIT}(?:以下)?")),
    ("≤", "high", re.compile(rf"{_NUM}{_UNIT}(?:及以下|或以下|以下)")),
    ("<", "high", re.compile(rf"(?:<|小于|低于|不足|少于){_NUM}{_UNIT}")),
]
_EXACT_RE = re.compile(rf"{_NUM}{_UNIT}")
_THOUSANDS_RE = re.compile(r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))")


def _number(text: str) -> str:
    return plain_decimal(Decimal(text))


def _unit(unit: str) -> str:
    if any(word in unit for word in ("以上", "以下", "不", "大于", "小于")):
        raise FieldError("bad_range", "不是可识别的区间（如 100-500、≥1000、1000以上）")
    return unit


def parse_range(value: object) -> object:
    """``range`` check: ``{"text", "low", "high"}`` (see the module docstring) or ``MISSING``."""
    if isinstance(value, bool):
        raise FieldError("bad_range", "不是可识别的区间（如 100-500、≥1000、1000以上）")
    text = as_text(value).strip()
    if not text:
        return MISSING
    text = _THOUSANDS_RE.sub("", "".join(nfkc(text).split()))
    if len(text) > 64:
        raise FieldError("bad_range", "区间文字过长")
    match = _BETWEEN_RE.fullmatch(text)
    if match:
        low, high = _number(match[1]), _number(match[3])
        first_unit, unit = _unit(match[2]), _unit(match[4])
        if first_unit and unit and first_unit != unit:
            raise FieldError("bad_range", "区间上下限的单位不一致")
        unit = unit or first_unit
        if Decimal(low) > Decimal(high):
            raise FieldError("bad_range", "区间下限大于上限")
        return {"text": f"{low}-{high}{unit}", "low": low, "high": high}
    for symbol, side, pattern in _BOUNDED:
        match = pattern.fullmatch(text)
        if match:
            bound, unit = _number(match[1]), _unit(match[2])
            return {"text": f"{symbol}{bound}{unit}", "low": bound if side == "low" else None,
                    "high": bound if side == "high" else None}
    match = _EXACT_RE.fullmatch(text)
    if match:
        bound, unit = _number(match[1]), _unit(match[2])
        return {"text": f"{bound}{unit}", "low": bound, "high": bound}
    raise FieldError("bad_range", "不是可识别的区间（如 100-500、≥1000、1000以上）")
