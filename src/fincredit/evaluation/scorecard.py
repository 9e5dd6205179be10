"""Credit scorecards (评分卡) trained on loan outcomes, scored from a self-contained JSON model.

Pure module: no FastAPI, ORM or database. Training uses optbinning (weight-of-evidence binning,
with its own missing and special bins) and scikit-learn's logistic regression; scoring, metrics
and PSI only need the JSON tables, numpy and polars. Higher score = better credit (lower risk).
The choices (points scaling, type detection, dropped columns) are documented in docs/models.md.
"""

from __future__ import annotations

import json
import math
import platform
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

import numpy as np
import polars as pl
from cryptography.hazmat.primitives import hashes

from fincredit.errors import Unprocessable

FORMAT = "fincredit.scorecard/1"
MIN_ROWS = 50
MIN_BADS = 10
MIN_GOODS = 10
MAX_CATEGORICAL_CODES = 10  # integer columns with at most this many distinct values are codes
PSI_EPSILON = 1e-4  # floor for empty PSI buckets, so that ln(a/e) stays finite
NULL_VALUES = ["NA", "N/A", "NULL", "null", "NaN", "nan"]
_HASHED_OUT = ("model_hash", "model_version", "created_at")


class ScorecardError(Unprocessable):
    """A bad input to the scorecard: a stable ``code`` and a Chinese message."""

    def __init__(self, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)


# -- frames and values ------------------------------------------------------------------------

def to_frame(data: Any) -> pl.DataFrame:
    """A polars frame from a polars or pandas frame, a list of row dicts, or one row dict."""
    if isinstance(data, pl.DataFrame):
        return data
    if type(data).__module__.startswith("pandas"):
        return pl.from_pandas(data)
    if isinstance(data, dict):
        data = [data]
    if isinstance(data, list):
        return pl.DataFrame(data, infer_schema_length=None, strict=False)
    raise ScorecardError("invalid_frame", "数据应为 polars/pandas 数据框或记录列表")


def _labels(s: pl.Series) -> pl.Series:
    """Category labels as strings: ``1``, ``1.0`` and ``"1"`` are the same code; null stays null."""
    if s.dtype.is_float():
        f = pl.col("v").fill_nan(None)
        expr = (pl.when(f == f.floor()).then(f.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(f.cast(pl.String)))
        return pl.DataFrame({"v": s}).select(expr.alias(s.name)).to_series()
    if s.dtype == pl.String:
        return s.str.strip_chars()
    return s.cast(pl.String)


def _label_of(value: Any) -> str:
    """The label of one value (the ``--bad`` value), normalised like ``_labels``."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return text
        return str(int(number)) if number.is_integer() else text
    return _labels(pl.Series("v", [value])).item()


def _numbers(s: pl.Series) -> np.ndarray:
    """Float values with NaN for missing or unparsable entries."""
    if s.dtype == pl.String:
        s = s.str.strip_chars().cast(pl.Float64, strict=False)
    out = s.cast(pl.Float64, strict=False).fill_nan(None).to_numpy()
    return np.asarray(out, dtype=float)


def _detect_kind(s: pl.Series) -> str:
    """``categorical`` for text, booleans and integer codes with few values; else ``numerical``."""
    if s.dtype.is_numeric():
        values = _numbers(s)
        values = values[~np.isnan(values)]
        codes = values.size and np.all(values == np.floor(values))
        if codes and np.unique(values).size <= MAX_CATEGORICAL_CODES:
            return "categorical"
        return "numerical"
    return "categorical"


def _plain(x: Any) -> Any:
    """numpy scalars to Python; non-finite floats to None (the JSON stays strict)."""
    if isinstance(x, (np.integer, int)) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else None
    return x


# -- training -----------------------------------------------------------------------------------

def _target(frame: pl.DataFrame, target: str, bad_value: Any) -> tuple[np.ndarray, pl.Series]:
    if target not in frame.columns:
        raise ScorecardError("target_missing", f"数据中没有目标列“{target}”",
                             details={"columns": frame.columns[:50]})
    labels = _labels(frame[target])
    values = sorted(labels.drop_nulls().unique().to_list())
    if len(values) != 2:
        raise ScorecardError("target_not_binary",
                             f"目标列“{target}”应恰有两个不同取值，实际有 {len(values)} 个",
                             details={"values": values[:20]})
    bad = _label_of(bad_value)
    if bad not in values:
        raise ScorecardError("bad_value_not_found",
                             f"坏样本取值“{bad_value}”不在目标列“{target}”的取值 {values} 中")
    keep = labels.is_not_null()
    return (labels.filter(keep) == bad).to_numpy().astype(int), keep


def _choose_features(frame: pl.DataFrame, target: str, features: list[str] | None,
                     exclude: list[str], categorical: list[str], numerical: list[str],
                     warnings: list[str], dropped: dict[str, str]) -> dict[str, str]:
    named = (features or []) + exclude + categorical + numerical
    absent = [c for c in named if c not in frame.columns]
    if absent:
        raise ScorecardError("feature_missing", f"数据中没有这些列：{'、'.join(absent)}")
    candidates = [c for c in (features or frame.columns) if c != target and c not in exclude]
    kinds: dict[str, str] = {}
    for name in candidates:
        s = frame[name]
        distinct = (_labels(s) if s.dtype.is_float() else s).drop_nulls().n_unique()
        if distinct <= 1:
            dropped[name] = "constant"
            warnings.append(f"列“{name}”取值恒定（或全部缺失），已忽略")
            continue
        kind = ("categorical" if name in categorical else
                "numerical" if name in numerical else _detect_kind(s))
        if kind == "numerical" and np.isnan(_numbers(s)).all():
            raise ScorecardError("feature_not_numeric", f"列“{name}”不是数值列")
        if kind == "categorical" and distinct > max(50, frame.height // 2) and name not in categorical:
            dropped[name] = "high_cardinality"
            warnings.append(f"列“{name}”取值过多（{distinct} 个，疑似编号），已忽略")
            continue
        kinds[name] = kind
    if not kinds:
        raise ScorecardError("no_usable_feature", "没有可用的特征列（其余列为常量、编号或被排除）",
                             details={"dropped": dropped})
    return kinds


def _pandas_features(frame: pl.DataFrame, kinds: dict[str, str]) -> Any:
    import pandas as pd

    columns = {}
    for name, kind in kinds.items():
        if kind == "numerical":
            columns[name] = _numbers(frame[name])
        else:
            columns[name] = np.array(_labels(frame[name]).to_list(), dtype=object)
    return pd.DataFrame(columns)


def _fit_scorecard(x: Any, y: np.ndarray, kinds: dict[str, str], scaling: dict[str, float]) -> Any:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    names = list(kinds)
    process = BinningProcess(variable_names=names,
                             categorical_variables=[n for n in names if kinds[n] == "categorical"])
    card = Scorecard(process, LogisticRegression(max_iter=1000), scaling_method="pdo_odds",
                     scaling_method_params={"pdo": scaling["pdo"], "odds": scaling["base_odds"],
                                            "scorecard_points": scaling["base_points"]})
    return card.fit(x[names], y, metric_special="empirical", metric_missing="empirical")


def _bin_row(row: Any) -> dict[str, Any]:
    return {"label": str(row["Bin"]), "count": _plain(row["Count"]),
            "bads": _plain(row["Event"]), "bad_rate": _plain(row["Event rate"]),
            "woe": _plain(row["WoE"]), "points": _plain(row["Points"])}


def _binning_tables(card: Any, kinds: dict[str, str]) -> dict[str, dict[str, Any]]:
    table = card.table(style="detailed")
    out: dict[str, dict[str, Any]] = {}
    for name in card.binning_process_.get_support(names=True):
        rows = table[table["Variable"] == name].to_dict("records")
        *regular, special, missing = rows
        optb = card.binning_process_.get_binned_variable(name)
        bins = [_bin_row(r) for r in regular]
        spec: dict[str, Any] = {"kind": kinds[name], "iv": _plain(sum(r["IV"] for r in rows)),
                                "coefficient": _plain(regular[0]["Coefficient"])}
        if kinds[name] == "numerical":
            spec["splits"] = [_plain(v) for v in optb.splits]
        else:
            for b, r in zip(bins, regular, strict=True):
                b["categories"] = [str(c) for c in r["Bin"]]
                b["label"] = "、".join(b["categories"])
        spec.update(bins=bins, special=_bin_row(special), missing=_bin_row(missing))
        out[str(name)] = spec
    return out


def train_scorecard(frame: Any, target: str, bad_value: Any, *, features: list[str] | None = None,
                    exclude: list[str] | None = None, categorical: list[str] | None = None,
                    numerical: list[str] | None = None, min_iv: float = 0.02,
                    base_points: float = 600, base_odds: float = 50, pdo: float = 20,
                    min_rows: int = MIN_ROWS, min_bads: int = MIN_BADS) -> tuple[dict[str, Any], Any]:
    """Train; return the JSON model and the fitted optbinning ``Scorecard`` (for checks)."""
    frame = to_frame(frame)
    y, keep = _target(frame, target, bad_value)
    warnings: list[str] = []
    dropped: dict[str, str] = {}
    if not keep.all():
        warnings.append(f"目标列缺失的 {int((~keep).sum())} 行已忽略")
        frame = frame.filter(keep)
    n_bad = int(y.sum())
    if frame.height < min_rows:
        raise ScorecardError("too_few_rows", f"样本过少：{frame.height} 行，至少需要 {min_rows} 行")
    if n_bad < min_bads:
        raise ScorecardError("too_few_bads", f"坏样本过少：{n_bad} 个，至少需要 {min_bads} 个")
    if frame.height - n_bad < MIN_GOODS:
        raise ScorecardError("too_few_goods", f"好样本过少：{frame.height - n_bad} 个，至少需要 {MIN_GOODS} 个")
    kinds = _choose_features(frame, target, features, exclude or [], categorical or [],
                             numerical or [], warnings, dropped)
    x = _pandas_features(frame, kinds)
    scaling = {"base_points": base_points, "base_odds": base_odds, "pdo": pdo}

    from optbinning import BinningProcess

    screen = BinningProcess(variable_names=list(kinds),
                            categorical_variables=[n for n, k in kinds.items() if k == "categorical"])
    summary = screen.fit(x, y).summary()
    ivs = {str(n): _plain(float(v)) or 0.0 for n, v in zip(summary["name"], summary["iv"], strict=True)}
    for name in [n for n in kinds if ivs[n] < min_iv]:
        dropped[name] = "low_iv"
        del kinds[name]
    while True:  # refit without any feature whose coefficient has the wrong sign
        if not kinds:
            raise ScorecardError("no_predictive_feature",
                                 f"没有预测力足够的特征（信息值 IV ≥ {min_iv} 且系数方向正确）",
                                 details={"iv": ivs, "dropped": dropped})
        card = _fit_scorecard(x, y, kinds, scaling)
        coefs = dict(zip(map(str, card.binning_process_.get_support(names=True)),
                         card.estimator_.coef_.ravel(), strict=True))
        wrong = {n: c for n, c in coefs.items() if c > 0}
        if not wrong:
            break
        worst = str(max(wrong, key=lambda n: wrong[n]))
        dropped[worst] = "wrong_sign"
        del kinds[worst]
    why = {"low_iv": f"信息值 IV 低于 {min_iv}", "wrong_sign": "系数方向与风险相反"}
    warnings += [f"列“{n}”未进入模型：{why[r]}" for n, r in dropped.items() if r in why]
    factor = pdo / math.log(2)
    model: dict[str, Any] = {
        "format": FORMAT,
        "target": {"name": target, "bad_value": _label_of(bad_value)},
        "features": list(coefs),
        "scaling": {"method": "pdo_odds", **scaling, "factor": factor,
                    "offset": base_points - factor * math.log(base_odds),
                    "orientation": "higher score = lower risk"},
        "estimator": {"type": "sklearn.linear_model.LogisticRegression",
                      "coefficients": {n: float(c) for n, c in coefs.items()},
                      "intercept": float(card.estimator_.intercept_[0])},
        "binning": _binning_tables(card, kinds),
    }
    scores = score(model, frame)
    reference = card.score(x)
    if not np.allclose(scores, reference, rtol=0, atol=1e-6):  # the JSON must reproduce optbinning
        raise RuntimeError("scorecard JSON scores differ from optbinning's")
    model["score_distribution"] = score_distribution(scores)
    model["training"] = {"n": frame.height, "n_bad": n_bad, "bad_rate": n_bad / frame.height,
                         **metrics(y, scores), "iv": ivs, "dropped": dropped, "warnings": warnings}
    model["libraries"] = {"python": platform.python_version(),
                          **{p: version(p) for p in ("optbinning", "scikit-learn", "numpy", "polars",
                                                     "pandas")}}
    model["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    digest = model_hash(model)
    model.update(model_hash=digest, model_version=f"sc-{digest[:12]}")
    return model, card


def train(frame: Any, target: str, bad_value: Any, *, features: list[str] | None = None,
          **options: Any) -> dict[str, Any]:
    """Train a scorecard on a frame with a binary outcome; return the self-contained JSON model."""
    return train_scorecard(frame, target, bad_value, features=features, **options)[0]


# -- the JSON model -----------------------------------------------------------------------------

def model_hash(model: dict[str, Any]) -> str:
    """SM3 of the canonical JSON of the model, less its hash, version and creation time."""
    content = {k: v for k, v in model.items() if k not in _HASHED_OUT}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    digest = hashes.Hash(hashes.SM3())
    digest.update(text.encode())
    return digest.finalize().hex()


def validate_model(model: Any) -> dict[str, Any]:
    """Check a loaded model's shape and hash; raise ``ScorecardError`` when it is unusable."""
    def bad(why: str) -> ScorecardError:
        return ScorecardError("model_invalid", f"模型文件无效：{why}")

    if not isinstance(model, dict) or model.get("format") != FORMAT:
        raise bad(f"不是 {FORMAT} 格式")
    try:
        features, binning = model["features"], model["binning"]
        for name in features:
            spec = binning[name]
            if spec["kind"] == "numerical" and len(spec["splits"]) + 1 != len(spec["bins"]):
                raise bad(f"特征“{name}”的分箱与切分点不一致")
            if spec["kind"] == "categorical" and any("categories" not in b for b in spec["bins"]):
                raise bad(f"特征“{name}”的分箱缺少类别")
            if not all(isinstance(b["points"], (int, float)) for b in [*spec["bins"], spec["missing"]]):
                raise bad(f"特征“{name}”的分值不是数值")
        if not (isinstance(model["score_distribution"]["edges"], list) and model["target"]["name"]):
            raise bad("缺少评分分布或目标列")
        recorded = model["model_hash"]
    except (KeyError, TypeError, ValueError) as exc:
        raise bad(f"缺少或错误的字段 {exc}") from exc
    if model_hash(model) != recorded:
        raise ScorecardError("model_hash_mismatch", "模型文件内容与其哈希不符（可能被修改）")
    return model


# -- scoring ------------------------------------------------------------------------------------

def _bin_indices(spec: dict[str, Any], s: pl.Series) -> np.ndarray:
    """Bin index per row; ``len(bins)`` is the missing bin (also for unseen categories)."""
    n_bins = len(spec["bins"])
    if spec["kind"] == "numerical":
        values = _numbers(s)
        idx = np.digitize(values, np.asarray(spec["splits"], dtype=float), right=False)
        idx[np.isnan(values)] = n_bins
        return idx
    lookup = {c: i for i, b in enumerate(spec["bins"]) for c in b["categories"]}
    mapped = _labels(s).replace_strict(lookup, default=n_bins, return_dtype=pl.Int64)
    return mapped.fill_null(n_bins).to_numpy()


def _points(spec: dict[str, Any]) -> np.ndarray:
    return np.array([b["points"] for b in spec["bins"]] + [spec["missing"]["points"]], dtype=float)


def score(model: dict[str, Any], frame: Any) -> np.ndarray:
    """Scores of the rows (a frame or row dicts) from the model's JSON tables alone."""
    frame = to_frame(frame)
    absent = [f for f in model["features"] if f not in frame.columns]
    if absent:
        raise ScorecardError("feature_missing", f"数据缺少模型所需的列：{'、'.join(absent)}")
    total = np.zeros(frame.height)
    for name in model["features"]:
        spec = model["binning"][name]
        total += _points(spec)[_bin_indices(spec, frame[name])]
    return total


def reason_codes(model: dict[str, Any], row: Any, top: int = 4) -> list[dict[str, Any]]:
    """The features where this row loses the most points against the feature's best bin."""
    frame = to_frame(row).head(1)
    out = []
    for name in model["features"]:
        spec = model["binning"][name]
        points = _points(spec)
        i = int(_bin_indices(spec, frame[name])[0])
        best = float(points[:-1].max())
        label = spec["bins"][i]["label"] if i < len(spec["bins"]) else "缺失"
        out.append({"feature": name, "bin": label, "points": float(points[i]), "max_points": best,
                    "points_lost": best - float(points[i])})
    out = [r for r in out if r["points_lost"] > 1e-9]
    return sorted(out, key=lambda r: -r["points_lost"])[:top]


# -- metrics and stability ----------------------------------------------------------------------

def metrics(y_bad: Any, scores: Any) -> dict[str, float]:
    """AUC, KS and Gini with bad = 1 and higher score = lower risk (a useful model has AUC > 0.5)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(y_bad).astype(int)
    s = np.asarray(scores, dtype=float)
    if np.unique(y).size != 2:
        raise ScorecardError("target_not_binary", "评估数据需同时包含好样本和坏样本")
    auc = float(roc_auc_score(y, -s))
    fpr, tpr, _ = roc_curve(y, -s)
    return {"auc": auc, "ks": float(np.max(np.abs(tpr - fpr))), "gini": 2 * auc - 1}


def score_distribution(scores: Any, buckets: int = 10) -> dict[str, Any]:
    """Decile edges of the scores and the share of scores in each bucket (for PSI)."""
    s = np.asarray(scores, dtype=float)
    edges = np.unique(np.quantile(s, np.linspace(0, 1, buckets + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, s, side="left"), minlength=edges.size + 1)
    return {"edges": edges.tolist(), "proportions": (counts / s.size).tolist(), "n": int(s.size),
            "min": float(s.min()), "max": float(s.max()), "mean": float(s.mean()),
            "buckets": "(-inf, e1], (e1, e2], ..., (ek, +inf)"}


def psi(expected: dict[str, Any], scores: Any) -> float:
    """Population stability index of ``scores`` against a stored ``score_distribution``."""
    edges = np.asarray(expected["edges"], dtype=float)
    e = np.maximum(np.asarray(expected["proportions"], dtype=float), PSI_EPSILON)
    s = np.asarray(scores, dtype=float)
    if s.size == 0:
        raise ScorecardError("empty_sample", "没有可计算 PSI 的评分")
    counts = np.bincount(np.searchsorted(edges, s, side="left"), minlength=edges.size + 1)
    a = np.maximum(counts / s.size, PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_status(value: float) -> str:
    """``stable`` below 0.1, ``watch`` from 0.1 to 0.25, ``shift`` above 0.25."""
    return "stable" if value < 0.1 else "watch" if value <= 0.25 else "shift"


def evaluate(model: dict[str, Any], frame: Any, target: str | None = None,
             bad_value: Any = None) -> dict[str, Any]:
    """Performance and stability of the model on a labelled sample."""
    frame = to_frame(frame)
    target = target or model["target"]["name"]
    y, keep = _target(frame, target, model["target"]["bad_value"] if bad_value is None else bad_value)
    scores = score(model, frame.filter(keep))
    value = psi(model["score_distribution"], scores)
    return {"model_version": model.get("model_version"), "n": int(y.size), "n_bad": int(y.sum()),
            "bad_rate": float(y.mean()), **metrics(y, scores), "psi": value,
            "psi_status": psi_status(value), "score_mean": float(scores.mean())}
