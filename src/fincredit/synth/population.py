"""The synthetic population: enterprises (the registration base) and their legal representatives.

Every firm has a latent ``health`` (standard normal, better with age and size); the planted
events (``events.py``) and the registration status are drawn from it. ``risky`` marks the weakest
decile by health; ``defaulted`` is a later default drawn from health, for model validation.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from fincredit.synth import codes, names
from fincredit.synth.industries import GUARANTOR_INDUSTRY, INDUSTRIES, SIZE_LABELS, size_class, size_rule_name
from fincredit.synth.regions import DISTRICTS, birthplace_codes

STATUSES = ("存续", "在业", "注销", "吊销", "迁出", "停业", "歇业")
ACTIVE_STATUSES = ("存续", "在业")
USCC_REFORM = np.datetime64("2015-10-01")


def stream(seed: int, key: str, part: int = 0) -> np.random.Generator:
    """An independent PCG64 stream for ``key`` (a category code, a table name) and chunk ``part``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(key.encode()), part])))


def parse_as_of(as_of: str) -> dt.date:
    """``YYYY-MM`` → the last day of that month (the reference date of the province)."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", as_of.strip())
    if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
        raise ValueError(f"参考月份应为 YYYY-MM（2000—2100 年）：{as_of}")
    year, month = int(match[1]), int(match[2])
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def standardize(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def random_dates(rng: np.random.Generator, start: np.ndarray | np.datetime64, end: np.ndarray | np.datetime64,
                 n: int) -> np.ndarray:
    """Uniform dates in ``[start, end]`` (inclusive; arrays or scalars, datetime64[D])."""
    start = np.asarray(start, dtype="datetime64[D]")
    end = np.asarray(end, dtype="datetime64[D]")
    span = np.maximum((end - start).astype(np.int64), 0) + 1
    return start + (rng.random(n) * span).astype(np.int64).astype("timedelta64[D]")


@dataclass
class Population:
    seed: int
    size: int
    as_of: dt.date
    firms: pl.DataFrame
    persons: pl.DataFrame

    @property
    def as_of64(self) -> np.datetime64:
        return np.datetime64(self.as_of, "D")


def _establishment(rng: np.random.Generator, n: int, as_of: dt.date) -> np.ndarray:
    last = min(np.datetime64("2025-12-31"), np.datetime64(as_of, "D") - np.timedelta64(30, "D"))
    last_year = int(str(last)[:4])
    years = np.arange(1995, last_year + 1)
    weights = np.exp(0.11 * (years - 1995))
    year = rng.choice(years, size=n, p=weights / weights.sum())
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    end = np.minimum((year - 1969).astype("datetime64[Y]").astype("datetime64[D]") - 1, last)
    return random_dates(rng, start, end, n)


def _capital(rng: np.random.Generator, employees: np.ndarray) -> np.ndarray:
    raw = np.exp(np.log(60) + 0.45 * np.log(employees) + 1.0 * rng.standard_normal(len(employees)))
    nice = np.array([3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 800, 1000, 2000, 3000, 5000, 10000, 20000])
    snapped = nice[np.abs(np.log(raw)[:, None] - np.log(nice)[None, :]).argmin(axis=1)]
    return np.where(rng.random(len(raw)) < 0.8, snapped, np.round(raw, 2)).astype(float)


def _firm_names(rng: np.random.Generator, n: int, district_idx: np.ndarray, words: list[str],
                provincial: np.ndarray) -> pl.Series:
    city = DISTRICTS.city_names[DISTRICTS.city_idx[district_idx]]
    dname = DISTRICTS.names[district_idx]
    county_city = np.char.endswith(dname, "市")
    pick = rng.random(n)
    prefix = np.where(pick < 0.62, np.char.replace(city, "市", ""), city)
    prefix = np.where(county_city & (pick > 0.85), np.char.replace(dname, "市", ""), prefix)
    prefix = np.where(provincial, "江苏", prefix)
    word_series = pl.Series(words)
    frame = pl.DataFrame({"p": pl.Series(prefix), "w": word_series, "f": names.org_forms(rng, n)})
    lengths = np.full(n, 2)
    out = pl.Series([None] * n, dtype=pl.String)
    redo = np.ones(n, dtype=bool)
    for attempt in range(8):
        trade = names.trade_names(rng, n, lengths)
        candidate = frame.with_columns(t=trade).select(pl.concat_str(["p", "t", "w", "f"])).to_series()
        out = pl.select(pl.when(pl.lit(pl.Series(redo))).then(pl.lit(candidate)).otherwise(pl.lit(out))).to_series()
        redo = (out.is_duplicated() & ~out.is_first_distinct()).to_numpy()
        if not redo.any():
            break
        lengths = np.where(redo, 3 if attempt < 6 else 4, lengths)
        if attempt >= 6:  # last resort: the district name makes it unique
            frame = frame.with_columns(p=pl.Series(np.where(redo, np.char.add(prefix, dname), prefix)))
    return out.alias("name")


def build_population(seed: int, n: int, as_of: dt.date) -> Population:
    if n < 1:
        raise ValueError("企业户数至少为 1")
    rng = stream(seed, "population")
    district = rng.choice(len(DISTRICTS.codes), size=n, p=DISTRICTS.weights)
    iw = np.array([i.weight for i in INDUSTRIES])
    industry = rng.choice(len(INDUSTRIES), size=n, p=iw / iw.sum())
    all_industries = [*INDUSTRIES, GUARANTOR_INDUSTRY]
    guarantor = np.zeros(n, dtype=bool)
    guarantor[rng.choice(n, size=max(1, min(n // 20, round(n * 0.0008) + 2)), replace=False)] = True
    industry = np.where(guarantor, len(INDUSTRIES), industry)
    established = _establishment(rng, n, as_of)
    age = (np.datetime64(as_of, "D") - established).astype(np.int64) / 365.25
    employees = np.maximum(1, np.round(np.exp(np.log(3.5) + 0.22 * np.log1p(age) + 1.05 * rng.standard_normal(n))))
    employees = np.minimum(employees, 20000).astype(np.int64)
    rph = np.array([i.revenue_per_head for i in all_industries])[industry]
    revenue = np.round(employees * rph * np.exp(0.8 * rng.standard_normal(n) - 0.3), 2)
    capital = _capital(rng, employees)
    capital = np.where(guarantor, np.maximum(capital, 10000.0), capital)
    health = standardize(0.85 * rng.standard_normal(n) + 0.35 * standardize(np.log1p(age))
                         + 0.25 * standardize(np.log(employees)) + np.where(guarantor, 1.5, 0.0))
    # Registration status: weak and old firms are more often deregistered or revoked.
    u = rng.random(n)
    p_cancel = sigmoid(-3.6 - 1.1 * health + 0.04 * age)
    p_revoke = sigmoid(-4.6 - 1.4 * health)
    status = np.select(
        [u < p_cancel, u < p_cancel + p_revoke, u > 0.995, u > 0.992, u > 0.989, u > 0.96],
        [2, 3, 4, 5, 6, 1], default=0)
    status = np.where(guarantor, 0, status)
    rules = np.array([size_rule_name(i.code) for i in all_industries])[industry]
    size = size_class(rules, employees, revenue)
    provincial = (size <= 1) & (rng.random(n) < 0.5) | guarantor & (rng.random(n) < 0.3)
    word_idx = [np.flatnonzero(industry == k) for k in range(len(all_industries))]
    firm_words = np.empty(n, dtype=object)
    for k, idx in enumerate(word_idx):
        choices = all_industries[k].words
        firm_words[idx] = np.array(choices, dtype=object)[rng.integers(0, len(choices), len(idx))]
    firm_names = _firm_names(rng, n, district, firm_words.tolist(), provincial)
    orgs = codes.org_codes(np.arange(n, dtype=np.int64), established >= USCC_REFORM, seed % 1_000_003)
    uscc = codes.to_strings(codes.uscc_codes("9", "1", DISTRICTS.code_int[district], orgs))
    full = DISTRICTS.full_names()[district]
    registrar = np.where(provincial, "江苏省市场监督管理局", np.char.add(full, "市场监督管理局"))
    cut = np.quantile(health, 0.10)
    defaulted = rng.random(n) < sigmoid(-3.8 - 1.5 * health)
    persons, person_of, primary = _persons(rng, n, district, established)
    firms = pl.DataFrame({
        "uscc": uscc,
        "name": firm_names,
        "district": pl.Series(DISTRICTS.codes[district]),
        "district_idx": district.astype(np.int32),
        "city_idx": DISTRICTS.city_idx[district].astype(np.int32),
        "industry_idx": industry.astype(np.int32),
        "industry": pl.Series([i.code for i in all_industries]).gather(industry),
        "established": pl.Series(established),
        "capital_wan": capital,
        "status": pl.Series(STATUSES).gather(status),
        "active": np.isin(status, (0, 1)),
        "employees": employees,
        "revenue_wan": revenue,
        "size_idx": size,
        "size": pl.Series(SIZE_LABELS).gather(size),
        "registrar": pl.Series(registrar),
        "guarantor": guarantor,
        "health": health,
        "risky": health <= cut,
        "defaulted": defaulted,
        "person": person_of,
        "primary": primary,
    })
    return Population(seed=seed, size=n, as_of=as_of, firms=firms, persons=persons)


def _persons(rng: np.random.Generator, n: int, district: np.ndarray, established: np.ndarray
             ) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Legal representatives: about 15 % of them represent more than one enterprise."""
    p = max(1, round(n / 1.2)) if n > 1 else 1
    multi = rng.choice(p, size=max(1, round(p * 0.15)), replace=False) if n > p else np.array([], dtype=np.int64)
    extra = n - p
    if extra > 0:
        # each multi person gets one extra firm, the rest go to a random subset of them
        extras = np.concatenate([multi[:extra], rng.choice(multi, size=max(0, extra - len(multi)))])
        owners = np.concatenate([np.arange(p), extras])
    else:
        owners = np.arange(p)
    person_of = rng.permutation(owners)[:n].astype(np.int64)
    order = np.argsort(person_of, kind="stable")
    ranked = person_of[order]
    first = np.ones(n, dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    primary = np.empty(n, dtype=bool)
    primary[order] = first
    # the first firm of each person decides where they live and the earliest founding date
    first_firm = np.empty(p, dtype=np.int64)
    first_firm[person_of[primary]] = np.flatnonzero(primary)
    earliest = np.full(p, np.datetime64("2100-01-01"), dtype="datetime64[D]")
    np.minimum.at(earliest, person_of, established)
    male = rng.random(p) < 0.78
    years = np.arange(1955, 2001)
    weights = np.select([years < 1960, years < 1970, years < 1980, years < 1990], [0.5, 2.4, 2.6, 2.2], 1.0)
    year = rng.choice(years, size=p, p=weights / weights.sum())
    latest = earliest.astype("datetime64[Y]").astype(np.int64) + 1970 - 20
    year = np.where(year > latest, np.maximum(1955, latest - rng.integers(0, 15, p)), year)
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    birth = random_dates(rng, start, start + 364, p)
    city = DISTRICTS.city_idx[district[first_firm]]
    areas = birthplace_codes(rng, city, year)
    ids = codes.unique_resident_ids(rng, areas, birth, male)
    persons = pl.DataFrame({
        "name": names.person_names(rng, male),
        "id_number": ids,
        "male": male,
        "birth": pl.Series(birth),
    })
    return persons, person_of, primary
