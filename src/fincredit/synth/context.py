"""What a category generator gets: one chunk of the population, its random streams, and helpers.

A generator is ``fn(chunk) -> pl.DataFrame`` whose columns are named by the catalog's field
names (it may know their meaning by name). ``conform`` then orders the columns as the catalog
says, fills fields the generator does not know (a catalog change) with plausible values by type,
and drops columns the catalog no longer has. Helper columns ``__uscc``, ``__name``, ``__rid`` and
``__person`` (the record's enterprise and legal representative) feed that filling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from fincredit.catalog.definitions import CategoryDef, FieldDef
from fincredit.synth.population import Population, random_dates, stream

HELPERS = ("__uscc", "__name", "__rid", "__person")


@dataclass
class Chunk:
    pop: Population
    number: int
    lo: int
    hi: int
    firms: pl.DataFrame  # the chunk's firms, with the planted event flags and ``idx``
    months: list[np.datetime64]  # first days of the monthly categories' months, oldest first
    _shared: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of(self) -> np.datetime64:
        return self.pop.as_of64

    def rng(self, key: str) -> np.random.Generator:
        return stream(self.pop.seed, key, self.number)

    def shared(self, key: str, build: Callable[[np.random.Generator], Any]) -> Any:
        """A table built once per chunk and used by several categories (e.g. court cases)."""
        if key not in self._shared:
            self._shared[key] = build(self.rng("shared:" + key))
        return self._shared[key]

    def where(self, flag: str | np.ndarray | pl.Series) -> pl.DataFrame:
        mask = self.firms[flag] if isinstance(flag, str) else pl.Series(flag)
        return self.firms.filter(mask)

    def panel(self, firms: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Firm-month rows of a monthly category: (row in ``firms``, month index, month start),
        only for months from the firm's founding month on; ordered by firm, then month."""
        m = len(self.months)
        row = np.repeat(np.arange(firms.height), m)
        t = np.tile(np.arange(m), firms.height)
        start = np.array(self.months, dtype="datetime64[D]")[t]
        founded = firms["established"].to_numpy().astype("datetime64[M]").astype("datetime64[D]")
        keep = start >= founded[row]
        return row[keep], t[keep], start[keep]

    def month_labels(self, t: np.ndarray) -> pl.Series:
        """``YYYY-MM`` of month index ``t``."""
        labels = [str(np.datetime64(m, "M")) for m in self.months]
        return pl.Series(labels).gather(t)

    def rows(self, firms: pl.DataFrame, row: np.ndarray, *extra: str) -> pl.DataFrame:
        """``firms`` repeated per ``row`` (only the columns ``subject`` needs, plus ``extra``)."""
        return firms.select(["idx", "name", "uscc", "person", "district_idx", "city_idx", *extra])[row]

    def local(self, firms: pl.DataFrame) -> np.ndarray:
        """Positions of ``firms`` rows within this chunk (for per-chunk shared arrays)."""
        return firms["idx"].to_numpy() - self.lo

    def reps(self, firms: pl.DataFrame) -> pl.DataFrame:
        """The legal representatives of ``firms`` (name, id_number, male, birth), row-aligned."""
        return self.pop.persons[firms["person"].to_numpy()]

    def subject(self, firms: pl.DataFrame) -> dict[str, pl.Series]:
        """Helper columns for ``conform`` plus the usual 企业名称 / 统一社会信用代码 columns."""
        reps = self.reps(firms)
        return {
            "企业名称": firms["name"], "统一社会信用代码": firms["uscc"],
            "__uscc": firms["uscc"], "__name": firms["name"], "__rid": reps["id_number"], "__person": reps["name"],
        }

    def past_dates(self, rng: np.random.Generator, n: int, days: int = 1095,
                   start: np.ndarray | None = None) -> np.ndarray:
        """Dates within the last ``days`` before the reference date (not before ``start``)."""
        earliest = self.as_of - np.timedelta64(days, "D")
        if start is not None:
            earliest = np.minimum(np.maximum(start.astype("datetime64[D]"), earliest), self.as_of)
        return random_dates(rng, earliest, self.as_of, n)


def pick(rng: np.random.Generator, labels: Sequence[str], n: int, p: Sequence[float] | None = None) -> pl.Series:
    weights = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return pl.Series(list(labels)).gather(rng.choice(len(labels), size=n, p=weights))


def dates(values: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(values, dtype="datetime64[D]"))


def money(values: np.ndarray) -> np.ndarray:
    return np.round(np.maximum(values, 0.0), 2)


def fmt(template: str, **columns: pl.Series | np.ndarray) -> pl.Series:
    """Vectorised ``str.format``-like: ``fmt("{a}号{b}", a=…, b=…)`` (plain ``{name}`` only)."""
    parts: list[pl.Expr] = []
    rest = template
    frame = pl.DataFrame({k: pl.Series(v) for k, v in columns.items()})
    while "{" in rest:
        head, _, tail = rest.partition("{")
        key, _, rest = tail.partition("}")
        if head:
            parts.append(pl.lit(head))
        parts.append(pl.col(key).cast(pl.String))
    if rest:
        parts.append(pl.lit(rest))
    return frame.select(pl.concat_str(parts).alias("v")).to_series()


def text_where(mask: np.ndarray, values: pl.Series | str) -> pl.Series:
    """``values`` where ``mask``, else null (a String Series)."""
    n = len(mask)
    column = values if isinstance(values, pl.Series) else pl.repeat(values, n, eager=True, dtype=pl.String)
    data = pl.DataFrame({"m": pl.Series(mask, dtype=pl.Boolean), "v": column})
    return data.select(pl.when(pl.col("m")).then(pl.col("v")).otherwise(None).alias("v")).to_series()


def null_where(values: np.ndarray, mask: np.ndarray) -> pl.Series:
    """Float ``values`` with nulls where ``mask``."""
    return pl.Series(np.where(mask, np.nan, values), nan_to_null=True)


def band(values: np.ndarray, edges: Sequence[float], unit: str = "") -> pl.Series:
    """Range text (区间) of each value: ``1000-5000``, the last band ``500000以上``."""
    edges = list(edges)
    labels = [f"{int(lo)}-{int(hi)}{unit}" for lo, hi in zip(edges[:-1], edges[1:], strict=False)]
    labels.append(f"{int(edges[-1])}{unit}以上")
    idx = np.clip(np.searchsorted(np.asarray(edges), values, side="right") - 1, 0, len(labels) - 1)
    return pl.Series(labels).gather(idx)


def zfill(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(np.asarray(values, dtype=np.int64)).cast(pl.String).str.zfill(width)


def frame(columns: dict[str, Any], height: int) -> pl.DataFrame:
    """A DataFrame from Series, arrays and scalars (broadcast to ``height``)."""
    out = {}
    for name, value in columns.items():
        if isinstance(value, pl.Series):
            out[name] = value.alias(name)
        elif isinstance(value, np.ndarray):
            out[name] = pl.Series(name, value, dtype=pl.String if value.dtype == object else None)
        else:
            out[name] = pl.repeat(value, height, eager=True).alias(name) if value is not None else \
                pl.Series(name, [None] * height, dtype=pl.String)
    return pl.DataFrame(out, height=height) if out else pl.DataFrame(height=height)


def conform(category: CategoryDef, data: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The category's columns in catalog order (see the module docstring)."""
    cols = []
    for fd in category.fields:
        if fd.name in data.columns:
            cols.append(data[fd.name].alias(fd.name))
        else:
            cols.append(fill(fd, data, rng).alias(fd.name))
    return pl.DataFrame(cols, height=data.height)


def fill(fd: FieldDef, data: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    """A plausible value of ``fd``'s type for fields no generator knows."""
    n = data.height
    has = data.columns
    kind = fd.type
    if kind == "uscc" and "__uscc" in has:
        return data["__uscc"]
    if kind == "resident_id" and "__rid" in has:
        return data["__rid"]
    if kind == "id_type":
        return pl.repeat("居民身份证" if "__rid" in has else None, n, eager=True, dtype=pl.String)
    if kind == "id_number":
        return data["__rid"] if "__rid" in has else pl.Series([None] * n, dtype=pl.String)
    if kind == "text":
        if fd.required:
            base = data["__name"] if "__name" in has else pl.repeat(fd.name, n, eager=True)
            return fmt("{b}-{i}", b=base, i=np.arange(1, n + 1))
        return pl.Series([None] * n, dtype=pl.String)
    if kind in ("date", "datetime"):
        return dates(random_dates(rng, np.datetime64("2024-01-01"), np.datetime64("2025-12-31"), n))
    if kind == "year_month":
        return pl.repeat("2025-12", n, eager=True)
    if kind == "year":
        return pl.repeat(2025, n, eager=True)
    if kind in ("amount_yuan", "amount_wan", "number"):
        return pl.Series(money(np.exp(rng.normal(5, 1.5, n))))
    if kind == "percent":
        return pl.Series(np.round(rng.uniform(0, 100, n), 2))
    if kind in ("count", "months"):
        return pl.Series(rng.integers(0, 50, n))
    if kind == "boolean":
        return pl.repeat(False, n, eager=True)
    if kind == "enum":
        return pick(rng, fd.values or [""], n)
    if kind == "range":
        return pl.repeat("0-100", n, eager=True)
    if kind == "phone":
        return pl.repeat("025-83334444", n, eager=True)
    if kind == "region_code":
        return pl.repeat("320100", n, eager=True)
    if kind == "industry_code":
        return pl.repeat("F5199", n, eager=True)
    return pl.Series([None] * n, dtype=pl.String)
