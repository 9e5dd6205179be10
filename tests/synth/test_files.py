"""One file per catalog category, in the providers' formats, with the catalog's headers."""

from __future__ import annotations

import json
from pathlib import Path

from fincredit.catalog.definitions import load_annex, normalize_name
from fincredit.collection.temporal import parse_date
from fincredit.synth import Manifest

from .readers import read_file, read_header


def test_manifest_lists_one_file_per_category(province: Manifest) -> None:
    annex = load_annex()
    codes = [c.code for c in annex.categories if not c.retired]
    assert [f.category for f in province.files] == codes
    assert len(province.files) == 38 and codes[0] == "base"
    for entry in province.files:
        category = next(c for c in annex.categories if c.code == entry.category)
        assert entry.provider == category.provider
        assert entry.provider_name == annex.providers[category.provider]
        assert (Path(province.directory) / entry.path).is_file()


def test_headers_normalise_to_catalog_field_names(province: Manifest) -> None:
    annex = {c.code: c for c in load_annex().categories}
    full_width = 0
    for entry in province.files:
        headers = read_header(province, entry)
        expected = [f.name for f in annex[entry.category].fields]
        if entry.format == "jsonl" and not headers:
            continue
        assert [normalize_name(h) for h in headers] == [normalize_name(n) for n in expected], entry.path
        full_width += any("（" in h for h in headers)
    assert full_width >= 3  # a few providers use the annex's （元） spelling


def test_row_counts_match_the_manifest(province: Manifest) -> None:
    for entry in province.files:
        _, rows = read_file(province, entry)
        assert len(rows) == entry.rows, entry.path
        assert entry.rows > 0, entry.path  # every category has records, even in a small province
    assert province.file("base").rows == province.enterprises


def test_formats_and_encodings(province: Manifest) -> None:
    kinds = {(f.format, f.encoding) for f in province.files}
    assert {("csv", "gbk"), ("csv", "utf-8"), ("csv", "utf-8-sig"), ("jsonl", "utf-8"), ("xlsx", None)} <= kinds
    assert province.file("1").encoding == "gbk" and province.file("7").format == "jsonl"
    for entry in province.files:
        data = (Path(province.directory) / entry.path).read_bytes()
        if entry.format == "xlsx":
            assert data[:2] == b"PK"
        elif entry.encoding == "gbk":
            text = data.decode("gbk")
            assert any("\u4e00" <= c <= "\u9fff" for c in text)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                raise AssertionError(f"{entry.path} is valid UTF-8")
            assert b"\r\n" in data[:4096]
        elif entry.encoding == "utf-8-sig":
            assert data.startswith(b"\xef\xbb\xbf")
            data.decode("utf-8")
        else:
            assert not data.startswith(b"\xef\xbb\xbf")
            data.decode("utf-8")


def test_date_styles(province: Manifest) -> None:
    styles = {f.date_style for f in province.files}
    assert {"iso", "slash", "cn"} <= styles
    _, rows = read_file(province, province.file("10"))
    assert "/" in str(rows[0]["缴纳日期"])
    _, rows = read_file(province, province.file("25"))
    assert "年" in str(rows[0]["承诺作出日期"])


def test_monthly_categories_cover_the_months(province: Manifest) -> None:
    assert province.months == 3 and province.as_of == "2026-10"
    _, rows = read_file(province, province.file("10"))
    assert {r["缴费年月"] for r in rows} == {"2026-08", "2026-09", "2026-10"}
    _, rows = read_file(province, province.file("13"))
    assert {r["缴存年月至"] for r in rows} == {"2026-08", "2026-09", "2026-10"}
    for code in ("14", "31", "32"):
        _, rows = read_file(province, province.file(code))
        assert {parse_date(r["计量开始日期"])[:7] for r in rows} == {"2026-08", "2026-09", "2026-10"}, code


def test_manifest_round_trips(province: Manifest) -> None:
    path = Path(province.directory) / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema"] == "fincredit.synth/1"
    assert data["seed"] == 11 and data["enterprises"] == 1500
    again = Manifest.load(path)
    assert again.files == province.files and again.truth == province.truth
    truth = Path(province.directory) / province.truth["path"]
    assert truth.read_text(encoding="utf-8").count("\n") == province.enterprises + 1
