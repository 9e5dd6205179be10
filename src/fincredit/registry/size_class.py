"""Enterprise size classes (企业规模) per 工信部联企业〔2011〕300号《中小企业划型标准规定》.

Pure Python. ``size_class(industry_code, employees, revenue_wan)`` returns 大型, 中型, 小型 or 微型
(or ``None`` when neither employees nor revenue is known).

The rules of the notice, per industry: an enterprise is small-or-medium when it is under *either*
upper limit (``从业人员 X 人以下或营业收入 Y 万元以下``); within that it is medium when it reaches
*both* medium thresholds, small when it reaches both small thresholds, else micro. Thresholds
that the notice states on total assets (construction, real estate development, leasing and
business services) cannot be applied — the registration base carries no assets — so those
industries are classified on the criterion they have (revenue or employees). When one of
employees / revenue is unknown, only the known one is used.

The industry is the GB/T 4754-2017 code (``C3911``, ``3911``, ``C``): a bare section letter that
spans several of the notice's industries is read as its most common one (F → retail, G → transport,
H → accommodation and catering, I → information transmission).
"""

from __future__ import annotations

from dataclasses import dataclass

LARGE, MEDIUM, SMALL, MICRO = "大型", "中型", "小型", "微型"


@dataclass(frozen=True)
class Band:
    """Limits of one industry: ``(employees, revenue in 10 000 yuan)``; ``None`` = not a criterion."""

    name: str
    upper: tuple[int | None, float | None]
    medium: tuple[int | None, float | None]
    small: tuple[int | None, float | None]


BANDS: dict[str, Band] = {
    "agriculture": Band("农、林、牧、渔业", (None, 20000), (None, 500), (None, 50)),
    "industry": Band("工业", (1000, 40000), (300, 2000), (20, 300)),
    "construction": Band("建筑业", (None, 80000), (None, 6000), (None, 300)),
    "wholesale": Band("批发业", (200, 40000), (20, 5000), (5, 1000)),
    "retail": Band("零售业", (300, 20000), (50, 500), (10, 100)),
    "transport": Band("交通运输业", (1000, 30000), (300, 3000), (20, 200)),
    "warehousing": Band("仓储业", (200, 30000), (100, 1000), (20, 100)),
    "postal": Band("邮政业", (1000, 30000), (300, 2000), (20, 100)),
    "accommodation": Band("住宿业", (300, 10000), (100, 2000), (10, 100)),
    "catering": Band("餐饮业", (300, 10000), (100, 2000), (10, 100)),
    "telecom": Band("信息传输业", (2000, 100000), (100, 1000), (10, 100)),
    "software": Band("软件和信息技术服务业", (300, 10000), (100, 1000), (10, 50)),
    "real_estate": Band("房地产开发经营", (None, 200000), (None, 1000), (None, 100)),
    "property_management": Band("物业管理", (1000, 5000), (300, 1000), (100, 500)),
    "leasing_business": Band("租赁和商务服务业", (300, None), (100, None), (10, None)),
    "other": Band("其他未列明行业", (300, None), (100, None), (10, None)),
}

# GB/T 4754-2017 divisions (2 digits) → the notice's industry.
_DIVISIONS: list[tuple[int, int, str]] = [
    (1, 5, "agriculture"), (6, 46, "industry"), (47, 50, "construction"), (51, 51, "wholesale"),
    (52, 52, "retail"), (53, 58, "transport"), (59, 59, "warehousing"), (60, 60, "postal"),
    (61, 61, "accommodation"), (62, 62, "catering"), (63, 64, "telecom"), (65, 65, "software"),
    (71, 72, "leasing_business"),
]
_SECTIONS = {
    "A": "agriculture", "B": "industry", "C": "industry", "D": "industry", "E": "construction",
    "F": "retail", "G": "transport", "H": "accommodation", "I": "telecom", "L": "leasing_business",
}


def industry_band(industry_code: str | None) -> Band:
    """The notice's industry for a GB/T 4754-2017 code (unknown or unlisted → 其他未列明行业)."""
    code = (industry_code or "").strip().upper()
    letter = code[:1] if code[:1].isalpha() else ""
    digits = code[1:] if letter else code
    if len(digits) >= 2 and digits[:2].isdigit():
        division = int(digits[:2])
        if division == 70:  # 房地产业: 701 development, 702 property management, the rest unlisted
            group = digits[:3]
            return BANDS["real_estate" if group == "701" else "property_management" if group == "702" else "other"]
        for low, high, key in _DIVISIONS:
            if low <= division <= high:
                return BANDS[key]
        return BANDS["other"]
    return BANDS[_SECTIONS.get(letter, "other")]


def _reaches(limits: tuple[int | None, float | None], employees: int | None, revenue: float | None) -> bool:
    """Both applicable thresholds reached (a criterion with no limit or no value is skipped)."""
    emp_limit, rev_limit = limits
    checks = []
    if emp_limit is not None and employees is not None:
        checks.append(employees >= emp_limit)
    if rev_limit is not None and revenue is not None:
        checks.append(revenue >= rev_limit)
    return bool(checks) and all(checks)


def size_class(industry_code: str | None, employees: int | None, revenue_wan: float | None) -> str | None:
    """大型 / 中型 / 小型 / 微型 for an enterprise, or ``None`` when nothing applicable is known."""
    band = industry_band(industry_code)
    emp_known = employees is not None and band.upper[0] is not None
    rev_known = revenue_wan is not None and band.upper[1] is not None
    if not emp_known and not rev_known:
        return None
    if _reaches(band.upper, employees, revenue_wan):
        return LARGE
    if _reaches(band.medium, employees, revenue_wan):
        return MEDIUM
    if _reaches(band.small, employees, revenue_wan):
        return SMALL
    return MICRO
