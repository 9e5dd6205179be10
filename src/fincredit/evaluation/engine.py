"""The scoring engine of the basic evaluation: vectorised over a polars frame of features.

No web, ORM or database. ``score_frame(features, guideline)`` takes one row per enterprise —
``uscc``, a column ``x_<indicator>`` per indicator (Float64, or String for categorical bins) and a
Boolean ``has_<category>`` per category that contributed data — and returns one row per enterprise
with ``score``, ``grade``, ``thin_file`` and the stored explanation:

* ``bins`` — one character per indicator in guideline order: ``0`` no data, ``1``…``9`` the bin
  (1-based); with the guideline version it explains every point of the score (``breakdown``);
* ``reasons`` — JSON ``{"against": [[indicator, bin, points_lost], …], "for": [indicator, bin,
  points_earned] | null}`` (bins 0-based, −1 = no data): the principal reasons against —
  indicators below ``reasons.for_min_share`` of their maximum, those capping the grade first, then
  by points lost, at most ``reasons.max_against`` (bonus indicators never) — and the strongest
  reason for (the highest points earned among indicators at or above that share; penalty
  indicators never);
* ``coverage`` — JSON array of the categories that contributed data.

Binning is polars expressions; the row-wise reductions (sum, grade caps, top reasons) run on numpy
columns in cache-sized chunks. Texts are built once per distinct reason set or coverage mask and
mapped back, because building tens of millions of small strings dominates otherwise. Nothing
loops over enterprises in Python.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl

from fincredit.evaluation.guideline import Guideline, Indicator

MAX_INDICATORS = 99
_CHUNK = 1 << 16
# Ranking keys pack (caps the grade, points lost × 10, indicator, bin) into one int64.
_CAP, _LOST, _IND = 10**12, 10**6, 10**3
# A reason set packs up to 5 (indicator + 1, bin + 1) slots of 11 bits into one int64.
_SLOT_BITS = 11


def feature_column(indicator: Indicator) -> str:
    return f"x_{indicator.id}"


def coverage_column(category: str) -> str:
    return f"has_{category}"


def bin_slots(indicator: Indicator, values: pl.Series) -> np.ndarray:
    """Bin slot of each value: 0 = no value (or a value no categorical bin names), k + 1 = bin k.

    Numeric bins tile the domain (validated), so only upper bounds matter; a value below the
    first bin's lower bound falls into the first bin. A count is never missing (no record = 0).
    """
    bins = indicator.bins
    if indicator.categorical:
        old = [v for b in bins for v in b.values or []]
        new = [k + 1 for k, b in enumerate(bins) for _ in b.values or []]
        return values.cast(pl.String).replace_strict(old, new, default=0, return_dtype=pl.UInt8).to_numpy()
    x = values.cast(pl.Float64).fill_nan(None)
    if not indicator.may_be_missing:
        x = x.fill_null(0)
    array = x.to_numpy()
    uppers = np.array([b.hi for b in bins[:-1]], dtype=np.float64)
    slots = (np.searchsorted(uppers, array, side="right") + 1).astype(np.uint8)
    slots[np.isnan(array)] = 0
    return slots


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class _Tables:
    """Per indicator and bin slot (bin + 1; slot 0 = no data): score points, ceilings, reason keys."""

    def __init__(self, g: Guideline) -> None:
        self.g = g
        self.earned, self.ceiling, self.against, self.best = [], [], [], []
        self.lost_text: list[list[str]] = []
        self.earned_text: list[list[str]] = []
        for i, ind in enumerate(g.indicators):
            full = g.full_value(ind)
            points = np.array([ind.missing_points] + [b.points for b in ind.bins], dtype=np.float64)
            earned = points / ind.max_points * full
            ceiling = np.array([g.score.max] + [g.grade_ceiling(b.max_grade) if b.max_grade else g.score.max
                                                for b in ind.bins], dtype=np.float64)
            slot = (MAX_INDICATORS - i) * _IND + np.arange(len(points), dtype=np.int64)
            lost10 = np.rint((full - earned) * 10).astype(np.int64)
            capped = (ceiling < g.score.max).astype(np.int64)
            # a good result (at least for_min_share of the maximum) is never a reason against
            good = points >= g.reasons.for_min_share * ind.max_points
            against = np.where((lost10 > 0) & ~good, capped * _CAP + lost10 * _LOST + slot, 0)
            earned10 = np.rint(earned * 10).astype(np.int64)
            good &= earned10 > 0
            self.earned.append(earned)
            self.ceiling.append(ceiling if capped.any() else None)
            self.against.append(against if ind.role != "bonus" and against.any() else None)
            self.best.append(np.where(good, earned10 * _LOST + slot, 0) if ind.role != "penalty" else None)
            # JSON pieces [indicator, bin, points] per slot: points lost (against) and earned (for)
            self.lost_text.append([_compact([ind.id, k - 1, round(float(full - e), 1)]) for k, e in enumerate(earned)])
            self.earned_text.append([_compact([ind.id, k - 1, round(float(e), 1)]) for k, e in enumerate(earned)])


def _reduce_chunk(t: _Tables, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score and packed reason set of a chunk of rows (``slots``: rows × indicators, bin + 1)."""
    g = t.g
    n = slots.shape[0]
    raw = np.full(n, float(g.score.min))
    ceiling = np.full(n, float(g.score.max))
    top = [np.zeros(n, dtype=np.int64) for _ in range(g.reasons.max_against)]
    best = np.zeros(n, dtype=np.int64)
    for i in range(slots.shape[1]):
        s = slots[:, i]
        raw += t.earned[i][s]
        if t.ceiling[i] is not None:
            np.minimum(ceiling, t.ceiling[i][s], out=ceiling)
        if t.against[i] is not None:
            x = t.against[i][s]
            for k in range(len(top) if x.any() else 0):  # insert into the running top-k, branch-free
                hi = np.maximum(top[k], x)
                np.minimum(top[k], x, out=x)
                top[k] = hi
        if t.best[i] is not None:
            np.maximum(best, t.best[i][s], out=best)
    score = np.rint(np.minimum(raw, ceiling)).astype(np.int32)
    code = np.zeros(n, dtype=np.int64)
    for k, key in enumerate([*top, best]):
        pair = np.where(key > 0, (MAX_INDICATORS - (key // _IND) % _IND + 1) << 4 | (key % _IND), 0)
        code |= pair << (_SLOT_BITS * k)
    return score, code


def _reasons_json(t: _Tables, code: int) -> str:
    mask = (1 << _SLOT_BITS) - 1
    pairs = [code >> (_SLOT_BITS * k) & mask for k in range(t.g.reasons.max_against + 1)]
    against = ",".join(t.lost_text[(p >> 4) - 1][p & 15] for p in pairs[:-1] if p)
    best = t.earned_text[(pairs[-1] >> 4) - 1][pairs[-1] & 15] if pairs[-1] else "null"
    return f'{{"against":[{against}],"for":{best}}}'


def _map_unique(values: np.ndarray, render) -> pl.Series:  # type: ignore[no-untyped-def]
    """Render each distinct value once and map the rendering back onto every row."""
    series = pl.Series(values)
    uniques = series.unique()
    texts = pl.Series([render(int(v)) for v in uniques.to_list()], dtype=pl.String)
    return series.replace_strict(uniques, texts, return_dtype=pl.String)


def _bits(has: np.ndarray) -> np.ndarray:
    mask = np.zeros(has.shape[0], dtype=np.int64)
    for k in range(has.shape[1]):
        mask |= has[:, k].astype(np.int64) << k
    return mask


def _coverage_texts(has: np.ndarray, codes: list[str]) -> pl.Series:
    """JSON arrays of the covered categories, rendered once per distinct mask; when masks are very
    diverse, per distinct group of 8 categories (at most 256 each) and joined."""
    if len(codes) <= 62:
        mask = _bits(has)
        if pl.Series(mask).n_unique() <= 20_000:
            return _map_unique(mask, lambda m: _compact([c for k, c in enumerate(codes) if m >> k & 1]))
    parts = []
    for start in range(0, len(codes), 8):
        group = codes[start:start + 8]
        bits = _bits(has[:, start:start + 8])
        parts.append(_map_unique(bits, lambda m, grp=group: ",".join(
            json.dumps(c) for k, c in enumerate(grp) if m >> k & 1) or None).alias(f"g{start}"))
    frame = pl.DataFrame(parts)
    inner = pl.concat_str([pl.col(p.name) for p in parts], separator=",", ignore_nulls=True).fill_null("")
    return frame.select(pl.concat_str([pl.lit("["), inner, pl.lit("]")])).to_series()


def _ensure_columns(features: pl.DataFrame, g: Guideline) -> pl.DataFrame:
    missing = []
    for ind in g.indicators:
        if feature_column(ind) not in features.columns:
            dtype = pl.String if ind.categorical else pl.Float64
            missing.append(pl.lit(None, dtype=dtype).alias(feature_column(ind)))
    for code in g.categories():
        if coverage_column(code) not in features.columns:
            missing.append(pl.lit(False).alias(coverage_column(code)))
    return features.with_columns(missing) if missing else features


def score_frame(features: pl.DataFrame, g: Guideline, *, details: bool = False) -> pl.DataFrame:
    """Score every row of ``features``; ``details`` adds a ``b_<indicator>`` column (bin, −1 no data)."""
    if len(g.indicators) > MAX_INDICATORS:
        raise ValueError("too many indicators")
    frame = _ensure_columns(features, g)
    indicators = g.indicators
    tables = _Tables(g)
    bins = np.zeros((frame.height, len(indicators)), dtype=np.uint8, order="F")
    for i, ind in enumerate(indicators):
        bins[:, i] = bin_slots(ind, frame.get_column(feature_column(ind)))
    n = bins.shape[0]
    score = np.empty(n, dtype=np.int32)
    code = np.empty(n, dtype=np.int64)
    for start in range(0, n, _CHUNK):
        chunk = np.asfortranarray(bins[start:start + _CHUNK], dtype=np.intp)
        score[start:start + _CHUNK], code[start:start + _CHUNK] = _reduce_chunk(tables, chunk)
    codes = g.categories()
    has = frame.select([coverage_column(c) for c in codes]).to_numpy().astype(bool, copy=False)
    key = [codes.index(c) for c in g.thin_file.key_categories]
    thin = has[:, key].sum(axis=1) < g.thin_file.min_key_categories
    cutoffs = np.array([x.min_score for x in g.grades][::-1])
    names = pl.Series([x.grade for x in g.grades][::-1], dtype=pl.String)
    grade_index = np.clip(np.searchsorted(cutoffs, score, side="right") - 1, 0, len(cutoffs) - 1)
    # one ASCII digit per indicator: fixed-width bytes, no per-element strings
    digits = (bins.astype(np.uint8) + ord("0")).copy(order="C")
    bin_codes = pl.Series(digits.view(f"S{len(indicators)}").ravel(), dtype=pl.Binary).cast(pl.String) \
        if n else pl.Series([], dtype=pl.String)
    out = pl.DataFrame({
        "uscc": frame.get_column("uscc"),
        "score": score,
        "grade": names.gather(grade_index),
        "thin_file": thin,
        "bins": bin_codes,
        "reasons": _map_unique(code, lambda c: _reasons_json(tables, c)),
        "coverage": _coverage_texts(has, codes) if n else pl.Series([], dtype=pl.String),
    })
    if details:
        out = out.with_columns([pl.Series(f"b_{ind.id}", bins[:, i].astype(np.int16) - 1)
                                for i, ind in enumerate(indicators)])
    return out


def decode_bins(bins: str) -> list[int]:
    """Stored bin codes → 0-based bin indexes (−1 = no data)."""
    return [int(ch) - 1 for ch in bins]


def explain(g: Guideline, reasons: dict[str, Any]) -> dict[str, Any]:
    """Chinese reasons (for the API) from a stored result: ``{"against": [...], "for": {...} | None}``."""
    by_id = {ind.id: ind for ind in g.indicators}

    def label(ind: Indicator, b: int) -> str:
        return ind.missing_label if b < 0 else ind.bins[b].label

    against = []
    for ind_id, b, lost in reasons.get("against") or []:
        ind = by_id.get(ind_id)
        if ind is None:
            continue
        cap = ind.bins[b].max_grade if b >= 0 else None
        text = f"{label(ind, b)}（扣 {lost:g} 分{f'，等级不高于 {cap}' if cap else ''}）"
        against.append({"indicator": ind_id, "name": ind.name, "dimension": g.dimension_of(ind_id).name,
                        "points_lost": lost, "max_grade": cap, "text": text})
    best = None
    if reasons.get("for"):
        ind_id, b, earned = reasons["for"]
        ind = by_id.get(ind_id)
        if ind is not None:
            best = {"indicator": ind_id, "name": ind.name, "dimension": g.dimension_of(ind_id).name,
                    "points_earned": earned, "text": f"{label(ind, b)}（得 {earned:g} 分）"}
    return {"against": against, "for": best}


def breakdown(g: Guideline, bins: list[int]) -> list[dict[str, Any]]:
    """Per dimension: points earned of its maximum, from the stored bin indices."""
    out = []
    position = 0
    for d in g.dimensions:
        earned = 0.0
        for ind in d.indicators:
            b = bins[position] if position < len(bins) else -1
            points = ind.missing_points if b < 0 else ind.bins[b].points
            earned += points / ind.max_points * g.full_value(ind)
            position += 1
        out.append({"dimension": d.id, "name": d.name, "aspect": g.aspects[d.aspect],
                    "points": round(earned, 1), "max_points": round(d.weight * g.points_per_weight, 1)})
    return out
