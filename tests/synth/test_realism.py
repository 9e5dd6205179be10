"""The population looks like Jiangsu: cities, industries, size classes, statuses, dates."""

from __future__ import annotations

import statistics
from collections import Counter

import numpy as np

from fincredit.collection.identifiers import parse_industry_code, parse_region_code
from fincredit.synth import Manifest
from fincredit.synth.industries import size_class, size_rule_name

from .readers import read_file


def _base(province: Manifest) -> list[dict[str, object]]:
    return read_file(province, province.file("base"))[1]


def test_thirteen_cities_suzhou_and_nanjing_largest(province: Manifest) -> None:
    rows = _base(province)
    cities = Counter(str(r["住所所在地行政区划代码"])[:4] + "00" for r in rows)
    assert set(cities) == {f"32{i:02d}00" for i in range(1, 14)}
    top = [code for code, _ in cities.most_common(2)]
    assert set(top) == {"320500", "320100"}  # 苏州, 南京
    assert all(parse_region_code(r["住所所在地行政区划代码"]) for r in rows)


def test_industry_mix(province: Manifest) -> None:
    rows = _base(province)
    codes = [str(r["行业代码"]) for r in rows]
    assert all(parse_industry_code(c) == c and len(c) == 5 for c in codes)
    sections = Counter(c[0] for c in codes)
    assert sections.most_common(1)[0][0] == "F"
    assert sections["F"] / len(codes) > 0.25 and sections["C"] / len(codes) > 0.1
    assert len(sections) >= 12


def test_status_dates_and_amounts(province: Manifest) -> None:
    rows = _base(province)
    status = Counter(r["登记状态"] for r in rows)
    assert status["存续"] / len(rows) > 0.75
    assert status["注销"] > 0 and status["吊销"] > 0
    years = [int(str(r["成立日期"])[:4]) for r in rows]
    assert min(years) >= 1995 and max(years) <= 2025
    assert statistics.median(years) >= 2014  # registrations grew fast
    capital = np.array([float(str(r["注册资本(万元)"])) for r in rows])
    revenue = np.array([float(str(r["营业收入(万元)"])) for r in rows])
    assert (capital > 0).all() and (revenue > 0).all()
    for values in (capital, revenue):  # log-normal: heavy right tail
        assert np.mean(values) > 1.5 * np.median(values)
    assert all(str(r["登记机关"]).endswith("市场监督管理局") for r in rows)


def test_size_classes_follow_the_2011_thresholds() -> None:
    rules = np.array([size_rule_name(c) for c in ("C3911", "C3911", "F5191", "F5191", "F5292", "I6513",
                                                  "I6513", "L7243", "L7243", "A0111")])
    employees = np.array([1200, 19, 30, 4, 60, 120, 9, 350, 12, 0])
    revenue = np.array([50000, 5000, 6000, 5000, 600, 1500, 500, 0, 10, 600])
    labels = ["大型", "中型", "小型", "微型"]
    assert [labels[i] for i in size_class(rules, employees, revenue)] == [
        "大型", "微型", "中型", "微型", "中型", "中型", "微型", "大型", "小型", "中型"]


def test_size_classes_of_the_population(province: Manifest) -> None:
    import csv
    from pathlib import Path

    with (Path(province.directory) / "truth.csv").open(encoding="utf-8") as fh:
        sizes = Counter(r["size"] for r in csv.DictReader(fh))
    assert sizes["微型"] > sizes["小型"] > sizes["中型"] >= sizes["大型"]
    assert sizes["微型"] / sum(sizes.values()) > 0.5
