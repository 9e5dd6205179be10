"""Every generated value is valid for its field type: no row of any file is rejected by the
collection validators; with ``--defects`` exactly the planted defects are."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fincredit.catalog.definitions import load_annex
from fincredit.collection.headers import match_headers
from fincredit.collection.validators import compile_fields
from fincredit.synth import Manifest

from .readers import read_file


def _rejections(manifest: Manifest) -> dict[str, Counter]:
    categories = {c.code: c for c in load_annex().categories}
    out: dict[str, Counter] = {}
    for entry in manifest.files:
        category = categories[entry.category]
        validator = compile_fields(category.fields)
        headers, rows = read_file(manifest, entry)
        mapping = match_headers(headers, category.fields, require_all=entry.format != "jsonl")
        found: Counter = Counter()
        for number, raw in enumerate(rows, start=1):
            _, errors = validator.validate({mapping[k]: v for k, v in raw.items() if k in mapping}, number)
            found.update((e.field, e.code, number) for e in errors)
        out[entry.category] = found
    return out


def test_no_generated_row_is_rejected(province: Manifest) -> None:
    rejected = {code: dict(found) for code, found in _rejections(province).items() if found}
    assert rejected == {}


def test_the_collection_parser_accepts_every_file(province: Manifest) -> None:
    parsers = pytest.importorskip("fincredit.collection.parsers")
    from fincredit.collection.validators import iter_validated

    categories = {c.code: c for c in load_annex().categories}
    for entry in province.files:
        category = categories[entry.category]
        with parsers.iter_records(Path(province.directory) / entry.path, fields=category.fields) as parsed:
            results = list(iter_validated(parsed, compile_fields(category.fields)))
        assert len(results) == entry.rows, entry.path
        assert [errors for _, _, errors in results if errors] == [], entry.path


def test_planted_defects_are_exactly_what_is_rejected(defective: Manifest) -> None:
    planted = defective.planted_defects
    assert {d["kind"] for d in planted} == {"bad_uscc_check_digit", "impossible_date", "formula_injection"}
    rejected = {code: found for code, found in _rejections(defective).items() if found}
    assert set(rejected) == {d["category"] for d in planted}
    for defect in planted:
        assert list(rejected[defect["category"]]) == [(defect["field"], defect["kind"], defect["record"])]


def test_no_defects_unless_asked(province: Manifest) -> None:
    assert province.defects is False and province.planted_defects == []
