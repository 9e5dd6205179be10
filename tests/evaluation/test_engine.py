"""The scoring engine on hand-made frames: binning of every kind, points, caps, grades, reasons,
thin files and coverage — no database."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from fincredit.evaluation.engine import breakdown, decode_bins, explain, score_frame
from fincredit.evaluation.guideline import Guideline, annex_categories, load_guideline, parse_guideline

TINY: dict[str, Any] = {
    "version": "t1", "title": "测试指引", "issued_by": "测试", "effective_from": "2025-01-01",
    "aspects": {"willingness": "守信意愿", "capability": "守信能力", "performance": "守信表现"},
    "score": {"min": 0, "max": 100}, "total_weight": 10,
    "reasons": {"max_against": 2, "for_min_share": 0.8},
    "thin_file": {"key_categories": ["1", "4"], "min_key_categories": 2, "note": "数据不足"},
    "grades": [{"grade": "A", "min_score": 80}, {"grade": "B", "min_score": 50}, {"grade": "C", "min_score": 0}],
    "dimensions": [
        {"id": "ops", "name": "经营", "aspect": "capability", "weight": 6, "indicators": [
            {"id": "paid", "name": "缴税", "weight": 4, "domain": [0, None], "missing_points": 25,
             "missing_label": "无纳税信息",
             "source": {"kind": "latest", "category": "1", "field": "连续正常缴税周期(月)"},
             "bins": [{"lo": 0, "hi": 6, "points": 0, "label": "不足半年"},
                      {"lo": 6, "hi": 12, "points": 50, "label": "半年至一年"},
                      {"lo": 12, "hi": None, "points": 100, "label": "一年以上"}]},
            {"id": "rating", "name": "纳税信用", "weight": 2, "missing_points": 40, "missing_label": "无评级",
             "source": {"kind": "latest", "category": "4", "field": "纳税信用等级", "order_by": "评级年度"},
             "bins": [{"values": ["A", "B"], "points": 100, "label": "A或B级"},
                      {"values": ["M"], "points": 60, "label": "M级"},
                      {"values": ["C", "D"], "points": 0, "label": "C或D级", "max_grade": "B"}]}]},
        {"id": "law", "name": "司法", "aspect": "performance", "weight": 4, "indicators": [
            {"id": "dishonest", "name": "失信", "role": "penalty", "weight": 3, "domain": [0, None],
             "source": {"kind": "count", "parts": [{"category": "36"}]},
             "bins": [{"lo": 0, "hi": 1, "points": 100, "label": "无失信"},
                      {"lo": 1, "hi": None, "points": 0, "label": "严重失信", "max_grade": "C"}]},
            {"id": "honour", "name": "荣誉", "role": "bonus", "weight": 1, "domain": [0, None],
             "source": {"kind": "count", "parts": [{"category": "26"}]},
             "bins": [{"lo": 0, "hi": 1, "points": 0, "label": "无示范"},
                      {"lo": 1, "hi": None, "points": 100, "label": "示范企业"}]}]},
    ],
}


@pytest.fixture(scope="module")
def tiny() -> Guideline:
    return parse_guideline(TINY, annex_categories())


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {"uscc": pl.String, "x_paid": pl.Float64, "x_rating": pl.String, "x_dishonest": pl.Float64,
              "x_honour": pl.Float64, "has_1": pl.Boolean, "has_4": pl.Boolean, "has_36": pl.Boolean,
              "has_26": pl.Boolean}
    return pl.DataFrame([{k: r.get(k, False if k.startswith("has_") else None) for k in schema} for r in rows],
                        schema=schema)


def scored(g: Guideline, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = score_frame(frame(rows), g, details=True).to_dicts()
    for r in out:
        r["reasons"] = json.loads(r["reasons"])
        r["coverage"] = json.loads(r["coverage"])
    return out


def test_numeric_bins_are_left_closed(tiny: Guideline) -> None:
    rows = scored(tiny, [{"uscc": str(v), "x_paid": v} for v in (0, 5.99, 6, 11.9, 12, 400, -3)])
    assert [r["b_paid"] for r in rows] == [0, 0, 1, 1, 2, 2, 0]  # below the domain → first bin


def test_missing_values_score_the_declared_missing_points(tiny: Guideline) -> None:
    (row,) = scored(tiny, [{"uscc": "x", "x_paid": None, "x_rating": None, "x_dishonest": None, "x_honour": None}])
    assert row["b_paid"] == -1 and row["b_rating"] == -1
    # counts are never missing: no record is a count of 0
    assert row["b_dishonest"] == 0 and row["b_honour"] == 0
    # paid 25 % of 40 + rating 40 % of 20 + dishonest full 30 + honour 0
    assert row["score"] == 10 + 8 + 30 + 0
    assert decode_bins(row["bins"]) == [-1, -1, 0, 0]


def test_categorical_bins_and_unknown_values(tiny: Guideline) -> None:
    rows = scored(tiny, [{"uscc": v, "x_rating": v} for v in ("A", "B", "M", "D", "Z")])
    assert [r["b_rating"] for r in rows] == [0, 0, 1, 2, -1]


def test_score_is_the_weighted_sum_and_grades_follow_cutoffs(tiny: Guideline) -> None:
    best = {"x_paid": 30, "x_rating": "A", "x_dishonest": 0, "x_honour": 2}
    rows = scored(tiny, [{"uscc": "top", **best}, {"uscc": "mid", **best, "x_paid": 8, "x_honour": 0},
                         {"uscc": "edge", **best, "x_paid": 7, "x_rating": "M", "x_honour": 0}])
    assert [r["score"] for r in rows] == [100, 70, 62]
    assert [r["grade"] for r in rows] == ["A", "B", "B"]
    (at_cut,) = scored(tiny, [{"uscc": "cut", **best, "x_honour": 0, "x_rating": "M"}])
    assert at_cut["score"] == 82 and at_cut["grade"] == "A"


def test_caps_limit_score_and_grade(tiny: Guideline) -> None:
    good = {"x_paid": 30, "x_rating": "A", "x_honour": 1}
    rows = scored(tiny, [{"uscc": "d", **good, "x_dishonest": 2}, {"uscc": "r", **good, "x_rating": "D"}])
    dishonest, low_rating = rows
    assert dishonest["grade"] == "C" and dishonest["score"] == 49  # C tops out just under B's cut-off
    assert low_rating["grade"] == "B" and low_rating["score"] == 79


def test_reasons_against_rank_caps_first_then_points_lost(tiny: Guideline) -> None:
    (row,) = scored(tiny, [{"uscc": "x", "x_paid": 3, "x_rating": "D", "x_dishonest": 0}])
    against = row["reasons"]["against"]
    # rating caps the grade (lost 20) and comes before paid (lost 40); at most max_against = 2
    assert against == [["rating", 2, 20.0], ["paid", 0, 40.0]]
    assert row["reasons"]["for"] is None  # nothing scored well; a clean penalty list is never "for"


def test_reason_for_is_the_best_non_penalty_indicator(tiny: Guideline) -> None:
    (row,) = scored(tiny, [{"uscc": "x", "x_paid": 20, "x_rating": "M", "x_dishonest": 0, "x_honour": 1}])
    assert row["reasons"]["for"] == ["paid", 2, 40.0]  # 40 > honour 10; dishonest is a penalty: never "for"
    # rating at 60 % is below the 80 % share: it is a reason against; full marks never are
    assert row["reasons"]["against"] == [["rating", 1, 8.0]]
    (bare,) = scored(tiny, [{"uscc": "y", "x_paid": 20, "x_rating": "A", "x_dishonest": 0}])
    assert bare["reasons"]["against"] == []  # a missing honour (bonus) is not a reason against


def test_thin_file_and_coverage(tiny: Guideline) -> None:
    rows = scored(tiny, [{"uscc": "full", "has_1": True, "has_4": True},
                         {"uscc": "thin", "has_1": True, "has_36": True}])
    assert [r["thin_file"] for r in rows] == [False, True]
    assert rows[0]["coverage"] == ["1", "4"] and rows[1]["coverage"] == ["1", "36"]


def test_explain_and_breakdown_from_stored_values(tiny: Guideline) -> None:
    (row,) = scored(tiny, [{"uscc": "x", "x_paid": 3, "x_rating": "D", "x_dishonest": 0, "x_honour": 1}])
    text = explain(tiny, row["reasons"])
    assert text["against"][0]["text"] == "C或D级（扣 20 分，等级不高于 B）"
    assert text["against"][1]["text"] == "不足半年（扣 40 分）"
    assert text["for"]["text"] == "示范企业（得 10 分）"
    dims = breakdown(tiny, decode_bins(row["bins"]))
    assert [(d["name"], d["points"], d["max_points"]) for d in dims] == [("经营", 0.0, 60.0), ("司法", 40.0, 40.0)]


def test_shipped_guideline_caps_and_reasons() -> None:
    g = load_guideline()
    clean = {"x_tax_paid": 500_000, "x_tax_payment_months": 30, "x_tax_credit_rating": "A", "x_insured_headcount": 30,
             "x_size_class": "小型", "x_enterprise_age": 8, "has_1": True, "has_4": True, "has_10": True}
    rows = score_frame(pl.DataFrame([{"uscc": "ok", **clean},
                                     {"uscc": "bad", **clean, "x_serious_dishonesty": 1.0, "x_tax_arrears": 2.0}]),
                       g).to_dicts()
    ok, bad = rows
    assert not ok["thin_file"] and ok["score"] > bad["score"]
    assert bad["grade"] == "CC" and bad["score"] <= 399
    against = json.loads(bad["reasons"])["against"]
    assert [a[0] for a in against[:2]] == ["serious_dishonesty", "tax_arrears"]
    assert len(against) == 4


def test_empty_and_large_frames() -> None:
    g = load_guideline()
    empty = score_frame(pl.DataFrame({"uscc": []}, schema={"uscc": pl.String}), g)
    assert empty.height == 0 and "grade" in empty.columns
    big = pl.DataFrame({"uscc": [f"{i:018d}" for i in range(70_000)],
                        "x_tax_payment_months": [float(i % 40) for i in range(70_000)]})
    out = score_frame(big, g)  # spans two engine chunks
    assert out.height == 70_000 and out["score"].n_unique() == 5
