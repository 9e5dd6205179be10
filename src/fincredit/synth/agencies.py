"""The agencies, utilities and banks named in the records, with stable valid USCCs.

Government organs get registration authority 1 / type 1 (``11…``), public institutions ``12…``,
companies ``91…``; the organization part is derived from a hash of the name (``codes.fixed_uscc``),
so the same agency always has the same code. The codes are synthetic.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

from fincredit.synth.codes import fixed_uscc
from fincredit.synth.regions import CITIES, DISTRICTS

PROVINCE = "320000"


@lru_cache(maxsize=4096)
def uscc_of(name: str, region: str, kind: str = "11") -> str:
    return fixed_uscc(name, region, kind[0], kind[1])


def per_city(template: str, kind: str = "11") -> tuple[pl.Series, pl.Series]:
    """Names (``template`` with ``{city}`` = 南京市) and USCCs, indexed by city."""
    names = [template.format(city=c.name + "市", short=c.name) for c in CITIES]
    return pl.Series(names), pl.Series([uscc_of(n, c.code, kind) for n, c in zip(names, CITIES, strict=True)])


def per_district(template: str, kind: str = "11") -> tuple[pl.Series, pl.Series]:
    """Names (``template`` with ``{district}`` = 南京市玄武区 / 江阴市 / 沛县) and USCCs, by district."""
    full = DISTRICTS.full_names()
    names = [template.format(district=d) for d in full]
    return pl.Series(names), pl.Series([uscc_of(n, c, kind) for n, c in zip(names, DISTRICTS.codes, strict=True)])


def provincial(name: str, kind: str = "11") -> tuple[str, str]:
    return name, uscc_of(name, PROVINCE, kind)


BANK_NAMES: tuple[str, ...] = (
    "中国工商银行股份有限公司{city}分行", "中国农业银行股份有限公司{city}分行", "中国银行股份有限公司{city}分行",
    "中国建设银行股份有限公司{city}分行", "交通银行股份有限公司{city}分行", "江苏银行股份有限公司{city}分行",
    "南京银行股份有限公司{city}分行", "中国邮政储蓄银行股份有限公司{city}分行", "招商银行股份有限公司{city}分行",
    "兴业银行股份有限公司{city}分行", "{short}农村商业银行股份有限公司",
)
BANK_SHORT: tuple[str, ...] = ("工行", "农行", "中行", "建行", "交行", "苏银", "宁银", "邮储", "招行", "兴业", "农商")


class Banks:
    """Bank branches by (bank, city): names, USCCs and the short names used in contract numbers."""

    def __init__(self) -> None:
        names, codes = [], []
        for template in BANK_NAMES:
            for city in CITIES:
                name = template.format(city=city.name + "市" if "农村" not in template else city.name,
                                       short=city.name)
                names.append(name)
                codes.append(uscc_of(name, city.code, "91"))
        self.names = pl.Series(names)
        self.codes = pl.Series(codes)
        self.count = len(BANK_NAMES)
        self.short = pl.Series(BANK_SHORT)

    def pick(self, rng: np.random.Generator, city_idx: np.ndarray) -> tuple[pl.Series, pl.Series, pl.Series]:
        bank = rng.choice(self.count, size=len(city_idx), p=_BANK_WEIGHTS)
        flat = bank * len(CITIES) + city_idx
        return self.names.gather(flat), self.codes.gather(flat), self.short.gather(bank)


_BANK_WEIGHTS = np.array([14, 12, 10, 13, 6, 12, 7, 6, 5, 5, 10], dtype=float)
_BANK_WEIGHTS /= _BANK_WEIGHTS.sum()
BANKS = Banks()
