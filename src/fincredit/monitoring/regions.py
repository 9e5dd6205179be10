"""Subscription filters: Jiangsu's administrative divisions (GB/T 2260) and industries (GB/T 4754-2017).

Pure. A region code selects itself and everything under it: ``320000`` the province, ``320100``
南京 and its districts, ``320102`` one district. Only Jiangsu's current divisions are known here
(the province, its 13 cities and their county-level divisions). An industry is a section letter
(``C``) or a code at any level (``C39``, ``C391``, ``C3911``; digits alone get their section).
"""

from __future__ import annotations

from functools import lru_cache

from fincredit.collection.identifiers import parse_industry_code
from fincredit.collection.values import FieldError

PROVINCE = ("320000", "江苏省")


@lru_cache
def jiangsu_regions() -> dict[str, str]:
    """Known codes → names (市 for cities, 市+区 for districts)."""
    from fincredit.synth.regions import CITIES

    known = {PROVINCE[0]: PROVINCE[1]}
    for city in CITIES:
        known[city.code] = f"{city.name}市"
        for code, name in city.districts:
            known[code] = f"{city.name}市{name}"
    return known


def normalize_region(code: str) -> str | None:
    code = str(code).strip()
    return code if code in jiangsu_regions() else None


def region_prefix(code: str) -> str:
    """The prefix an enterprise's region code must start with to fall under ``code``."""
    if code == PROVINCE[0]:
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_matches(enterprise_region: str | None, codes: list[str]) -> bool:
    if not codes:
        return True
    return bool(enterprise_region) and any(str(enterprise_region).startswith(region_prefix(c)) for c in codes)


def normalize_industry(value: str) -> str | None:
    try:
        code = parse_industry_code(value)
    except FieldError:
        return None
    return code if isinstance(code, str) and code else None


def industry_matches(enterprise_industry: str | None, codes: list[str]) -> bool:
    if not codes:
        return True
    return bool(enterprise_industry) and any(str(enterprise_industry).startswith(c) for c in codes)
