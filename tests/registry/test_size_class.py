"""Size classes per 工信部联企业〔2011〕300号."""

import pytest

from fincredit.registry.size_class import industry_band, size_class


@pytest.mark.parametrize(("industry", "employees", "revenue", "expected"), [
    # 工业: 1000 人 / 40000 万; medium ≥300 人 and ≥2000 万; small ≥20 人 and ≥300 万
    ("C3911", 1000, 40000, "大型"),
    ("C3911", 999, 50000, "中型"),
    ("C3911", 300, 2000, "中型"),
    ("C3911", 299, 2000, "小型"),
    ("C3911", 20, 300, "小型"),
    ("C3911", 19, 5000, "微型"),
    ("C3911", 500, 100, "微型"),
    ("B0610", 50, 500, "小型"),
    ("D4411", 5000, 100000, "大型"),
    # 批发业: 200 人 / 40000 万; medium ≥20 and ≥5000; small ≥5 and ≥1000
    ("F5131", 20, 5000, "中型"),
    ("F5131", 5, 1000, "小型"),
    ("F5131", 4, 1000, "微型"),
    ("F5131", 200, 40000, "大型"),
    # 零售业: 300 / 20000; medium ≥50 and ≥500; small ≥10 and ≥100
    ("F5211", 50, 500, "中型"),
    ("F5211", 10, 100, "小型"),
    ("F5211", 9, 100, "微型"),
    # 交通运输业, 仓储业, 邮政业
    ("G5411", 300, 3000, "中型"),
    ("G5411", 20, 200, "小型"),
    ("G5951", 100, 1000, "中型"),
    ("G6010", 300, 2000, "中型"),
    ("G6010", 20, 100, "小型"),
    # 住宿业, 餐饮业
    ("H6110", 100, 2000, "中型"),
    ("H6210", 10, 100, "小型"),
    ("H6210", 300, 10000, "大型"),
    # 信息传输业, 软件和信息技术服务业
    ("I6311", 2000, 100000, "大型"),
    ("I6311", 100, 1000, "中型"),
    ("I6510", 10, 50, "小型"),
    ("I6510", 10, 49, "微型"),
    # 房地产开发经营 (revenue only: assets unknown), 物业管理
    ("K7010", None, 200000, "大型"),
    ("K7010", 5, 1000, "中型"),
    ("K7010", 5, 100, "小型"),
    ("K7010", 5, 99, "微型"),
    ("K7020", 300, 1000, "中型"),
    ("K7020", 100, 500, "小型"),
    ("K7020", 99, 5000, "微型"),
    # 农、林、牧、渔业: revenue only
    ("A0111", 5000, 20000, "大型"),
    ("A0111", 5000, 500, "中型"),
    ("A0111", 1, 50, "小型"),
    ("A0111", 1, 49.9, "微型"),
    # 建筑业: revenue only (assets unknown)
    ("E4710", None, 80000, "大型"),
    ("E4710", None, 6000, "中型"),
    ("E4710", None, 300, "小型"),
    # 租赁和商务服务业: employees only (assets unknown)
    ("L7211", 300, None, "大型"),
    ("L7211", 100, 1, "中型"),
    ("L7211", 9, 1_000_000, "微型"),
    # 其他未列明行业
    ("M7310", 300, None, "大型"),
    ("M7310", 100, None, "中型"),
    ("M7310", 10, None, "小型"),
    ("M7310", 9, None, "微型"),
    # one criterion unknown: the other decides
    ("C3911", None, 50000, "大型"),
    ("C3911", 25, None, "小型"),
])
def test_size_class(industry, employees, revenue, expected):
    assert size_class(industry, employees, revenue) == expected


def test_unknown_data_and_code_forms():
    assert size_class("C3911", None, None) is None
    assert size_class("M7310", None, 100) is None  # other industries are classed on employees only
    assert industry_band("3911").name == industry_band("C3911").name == industry_band("C").name == "工业"
    assert industry_band("F").name == "零售业"
    assert industry_band(None).name == "其他未列明行业"
    assert industry_band("K7030").name == "其他未列明行业"
