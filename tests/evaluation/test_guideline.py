"""The guideline file: it validates, bad edits are refused with clear codes, and the published
document is generated from it byte for byte."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fincredit.evaluation.guideline import (
    GuidelineError,
    annex_categories,
    load_guideline,
    parse_guideline,
    read_document,
)
from fincredit.evaluation.guideline_doc import to_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "guideline.md"


def _doc() -> dict[str, Any]:
    return copy.deepcopy(read_document())


def _indicator(doc: dict[str, Any], ind_id: str) -> dict[str, Any]:
    return next(i for d in doc["dimensions"] for i in d["indicators"] if i["id"] == ind_id)


def _codes(doc: dict[str, Any]) -> set[str]:
    with pytest.raises(GuidelineError) as info:
        parse_guideline(doc, annex_categories())
    assert info.value.status_code == 422 and info.value.code == "invalid_guideline"
    assert all(p["message"] and p["path"] for p in info.value.problems)
    return {p["code"] for p in info.value.problems}


def test_shipped_guideline_is_valid_and_complete() -> None:
    g = load_guideline()
    assert sum(d.weight for d in g.dimensions) == g.total_weight == 100
    assert [x.grade for x in g.grades] == ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"]
    assert {d.aspect for d in g.dimensions} == {"willingness", "capability", "performance"}
    used = set(g.categories())
    # the categories the issue names all feed an indicator
    assert {"base", "1", "2", "3", "4", "5", "6", "7", "8", "10", "11", "13", "14", "15", "16", "17", "18", "19",
            "23", "24", "25", "26", "31", "32", "33", "34", "36", "37"} <= used
    assert g.full_value(next(i for i in g.indicators if i.id == "tax_arrears")) == 70


def test_weights_must_sum_as_declared() -> None:
    doc = _doc()
    doc["dimensions"][0]["weight"] = 11
    assert "weights_mismatch" in _codes(doc)
    doc = _doc()
    _indicator(doc, "tax_paid")["weight"] = 8  # the dimension now sums to 26 of 25
    assert _codes(doc) == {"weights_mismatch"}
    doc = _doc()
    doc["total_weight"] = 90
    assert _codes(doc) == {"weights_mismatch"}


def test_unknown_category_and_field_are_refused() -> None:
    doc = _doc()
    _indicator(doc, "tax_paid")["source"]["category"] = "99"
    assert "unknown_category" in _codes(doc)
    doc = _doc()
    _indicator(doc, "tax_paid")["source"]["fields"] = ["近一年增值税实缴金额(元)"]
    assert _codes(doc) == {"unknown_field"}
    doc = _doc()
    _indicator(doc, "tax_arrears")["source"]["parts"][0]["where"][0]["field"] = "是否欠税"
    assert _codes(doc) == {"unknown_field"}
    doc = _doc()
    doc["thin_file"]["key_categories"].append("77")
    assert _codes(doc) == {"unknown_category"}


def test_wrong_field_types_and_values_are_refused() -> None:
    doc = _doc()
    _indicator(doc, "tax_paid")["source"]["fields"] = ["统一社会信用代码"]  # not a number
    assert _codes(doc) == {"field_type_mismatch"}
    doc = _doc()
    _indicator(doc, "hearings_as_defendant")["source"]["parts"][0]["where"][0]["value"] = ["嫌疑人"]
    assert _codes(doc) == {"field_type_mismatch"}


def test_bins_must_tile_the_domain() -> None:
    doc = _doc()
    _indicator(doc, "tax_paid")["bins"][1]["lo"] = 2  # [1, 2) uncovered
    assert _codes(doc) == {"bins_gap"}
    doc = _doc()
    _indicator(doc, "tax_paid")["bins"][2]["lo"] = 5000  # overlaps [1, 10000)
    assert _codes(doc) == {"bins_overlap"}
    doc = _doc()
    _indicator(doc, "tax_paid")["bins"][-1]["hi"] = 10_000_000  # nothing above 10 million
    assert _codes(doc) == {"bins_domain"}
    doc = _doc()
    _indicator(doc, "tax_trend")["bins"][0]["lo"] = -0.5  # falls of 50–100 % uncovered
    assert _codes(doc) == {"bins_domain"}
    doc = _doc()
    _indicator(doc, "tax_paid")["bins"][0] = {"values": ["A"], "points": 0, "label": "x"}
    assert _codes(doc) == {"bins_mixed"}


def test_categorical_bins_must_cover_the_enum_once() -> None:
    doc = _doc()
    _indicator(doc, "tax_credit_rating")["bins"].pop(2)  # M is no longer scored
    assert _codes(doc) == {"bins_values_missing"}
    doc = _doc()
    _indicator(doc, "tax_credit_rating")["bins"][1]["values"] = ["B", "A"]
    assert _codes(doc) == {"bins_overlap"}
    doc = _doc()
    _indicator(doc, "environmental_credit")["bins"][0]["values"] = ["绿色", "紫色"]
    assert _codes(doc) == {"bins_values_missing"}


def test_points_must_lie_between_zero_and_the_maximum() -> None:
    doc = _doc()
    _indicator(doc, "tax_paid")["bins"][-1]["points"] = 120
    assert _codes(doc) == {"points_out_of_range"}
    doc = _doc()
    _indicator(doc, "tax_paid")["missing_points"] = -5
    assert _codes(doc) == {"points_out_of_range"}


def test_duplicate_ids_are_refused() -> None:
    doc = _doc()
    _indicator(doc, "tax_trend")["id"] = "tax_paid"
    assert "duplicate_id" in _codes(doc)
    doc = _doc()
    doc["dimensions"][1]["id"] = doc["dimensions"][0]["id"]
    assert "duplicate_id" in _codes(doc)


def test_grades_must_be_known_and_ordered() -> None:
    doc = _doc()
    _indicator(doc, "serious_dishonesty")["bins"][1]["max_grade"] = "D"
    assert _codes(doc) == {"unknown_grade"}
    doc = _doc()
    doc["grades"][1]["min_score"] = 950  # AA above AAA
    assert _codes(doc) == {"grade_order"}
    doc = _doc()
    doc["grades"][-1]["min_score"] = 100  # scores below 100 would have no grade
    assert _codes(doc) == {"grade_order"}


def test_structural_errors_are_reported_not_raised() -> None:
    doc = _doc()
    del doc["grades"]
    _indicator(doc, "tax_paid")["source"]["kind"] = "median"
    assert _codes(doc) == {"schema_error"}


def test_several_problems_are_reported_together() -> None:
    doc = _doc()
    doc["total_weight"] = 90
    _indicator(doc, "tax_paid")["bins"][-1]["points"] = 120
    _indicator(doc, "tax_credit_rating")["source"]["category"] = "98"
    assert _codes(doc) >= {"weights_mismatch", "points_out_of_range", "unknown_category"}


def test_published_document_is_generated_from_the_yaml() -> None:
    """docs/guideline.md must be exactly what `fincredit evaluate guideline-doc` writes."""
    expected = to_markdown(load_guideline())
    assert DOCS.read_bytes() == expected.encode("utf-8"), \
        "docs/guideline.md is stale: run `uv run fincredit evaluate guideline-doc --out docs/guideline.md`"
    for heading in ("一、总则", "二、评价维度与指标", "三、计分规则", "四、等级划分", "六、数据覆盖与薄档案处理", "七、模型版本"):
        assert f"## {heading}" in expected


def test_guideline_doc_command_writes_the_document(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fincredit.cli import app

    target = tmp_path / "guideline.md"
    result = CliRunner().invoke(app, ["evaluate", "guideline-doc", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == to_markdown(load_guideline())


def test_guideline_api_and_page(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/guideline").json()
    g = load_guideline()
    assert body["version"] == g.version and body["model_version"] == f"guideline-{g.version}"
    assert [d["id"] for d in body["dimensions"]] == [d.id for d in g.dimensions]
    assert body["dimensions"][2]["indicators"][1]["full_value"] == 70
    page = client.get("/guideline")
    assert page.status_code == 200 and g.title in page.text
