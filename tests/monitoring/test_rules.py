"""The risk rules as data: the packaged file loads, malformed rules are refused clearly, matching, trends."""

from __future__ import annotations

import pytest

from fincredit.catalog.definitions import load_annex
from fincredit.monitoring.rules import RuleSetError, load_rules, parse_rules, record_matches, render_evidence
from fincredit.monitoring.trends import MEASURES, drop_percent, series

HEAD = "ruleset: 测试规则\nversion: 1\nrules:\n"


def one(rule: str) -> str:
    return HEAD + "  - " + rule + "\n"


def test_packaged_rules_cover_the_notice_signals():
    rules = load_rules()
    by_category = {r.category for r in rules.rules}
    assert {"1", "2", "3", "5", "6", "7", "8", "10", "11", "14", "15", "23", "33", "34", "36", "37"} <= by_category
    assert [r.id for r in rules.grade_rules] == ["grade_downgrade"]
    assert all(r.version >= 1 for r in rules.rules)


@pytest.mark.parametrize(("text", "expected"), [
    ("rules: [", "不是有效的 YAML"),
    ("- just a list", "应为一个映射"),
    (HEAD + "  - {id: x1, version: 1, type: record, category: '2', severity: urgent, title: t, evidence: e}",
     "第 1 条规则（x1）的 severity"),
    (one("{id: x1, version: 1, type: record, category: '2', severity: high, title: t, evidence: e, "
         "conditions: [{field: 欠税金额, op: is_true}]}"), "字段“欠税金额”不在信息类 2（欠税信息）中"),
    (one("{id: x1, version: 1, type: record, category: '99', severity: high, title: t, evidence: e}"),
     "信息类“99”不在共享清单中"),
    (one("{id: x1, version: 1, type: record, category: '2', severity: high, title: t, evidence: '欠{欠税金额(元)}元'}"),
     "不能引用：欠税金额(元)"),
    (one("{id: x1, version: 1, type: record, category: '8', severity: high, title: t, evidence: '{姓名}'}"),
     "subjects: [legal_representative]"),
    (one("{id: x1, version: 1, type: trend, category: '10', severity: high, title: t, evidence: e, measure: "
         "stock_price, compare: lag, periods: 3, min_drop_percent: 30}"), "未知的趋势指标“stock_price”"),
    (one("{id: x1, version: 1, type: trend, category: '10', severity: high, title: t, evidence: e}"),
     "趋势规则缺少"),
    (one("{id: x1, version: 1, type: record, category: '2', severity: high, title: t, evidence: e, "
         "conditions: [{field: 当前是否欠税, op: equals}]}"), "需要给出 value"),
    (HEAD + "  - {id: x1, version: 1, type: grade, severity: high, title: t, evidence: e, min_steps: 1}\n"
     "  - {id: x1, version: 1, type: grade, severity: high, title: t, evidence: e, min_steps: 2}\n", "id“x1”重复"),
    (one("{id: x1, version: 0, type: grade, severity: high, title: t, evidence: e, min_steps: 1}"), "version"),
    (one("{id: x1, version: 1, type: grade, severity: high, title: t, evidence: e, min_steps: 1, colour: red}"),
     "colour"),
])
def test_malformed_rules_are_refused_with_a_clear_message(text, expected):
    with pytest.raises(RuleSetError) as caught:
        parse_rules(text, "bad.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("规则文件 bad.yaml")


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(RuleSetError, match="无法读取规则文件"):
        load_rules(tmp_path / "missing.yaml")


def test_matching_treats_yes_and_true_alike_and_respects_conditions():
    rules = {r.id: r for r in load_rules().rules}
    assert record_matches(rules["tax_arrears"], {"当前是否欠税": True})
    assert record_matches(rules["tax_arrears"], {"当前是否欠税": "是"})
    assert not record_matches(rules["tax_arrears"], {"当前是否欠税": False})
    assert record_matches(rules["court_hearing_defendant"], {"诉讼地位": "被告"})
    assert not record_matches(rules["court_hearing_defendant"], {"诉讼地位": "原告"})
    assert not record_matches(rules["legal_rep_consumption_restriction"], {"是否取消": True})
    assert record_matches(rules["legal_rep_consumption_restriction"], {})


def test_evidence_quotes_only_public_non_personal_fields():
    annex = {c.code: c for c in load_annex().categories}
    rules = {r.id: r for r in load_rules().rules}
    text = render_evidence(rules["tax_arrears"], {"欠税金额(元)": "123456.78", "税种": "增值税"}, annex["2"])
    assert text == "新增欠税记录"
    text = render_evidence(rules["court_hearing_defendant"], {"开庭日期": "2024-05-06", "当事人名称": "张三"},
                           annex["7"])
    assert "2024-05-06" in text and "张三" not in text


def test_trends_give_percentages_only():
    headcount = MEASURES["social_insurance_headcount"]
    rows = [{"缴费年月": m, "参保人数": n, "险种类别": "企业职工基本养老保险"}
            for m, n in [("2024-01", 100), ("2024-02", 98), ("2024-03", 90), ("2024-04", 65)]]
    rows.append({"缴费年月": "2024-04", "参保人数": 60, "险种类别": "失业保险"})  # same month, another kind
    period, drop = drop_percent(headcount, series(headcount, rows), "lag", 3)
    assert period == "2024-04" and round(drop) == 35
    rules = {r.id: r for r in load_rules().rules}
    assert render_evidence(rules["social_insurance_headcount_drop"], {"periods": 3, "drop": int(drop)}) == \
        "参保人数近3个月下降35%"

    power = MEASURES["electricity_use"]
    months = [{"计量开始日期": f"2024-{m:02d}-01", "使用量(区间)": {"low": "900", "high": "1100"}} for m in range(1, 7)]
    months.append({"计量开始日期": "2024-07-01", "使用量(区间)": {"low": "300", "high": "500"}})
    _, drop = drop_percent(power, series(power, months), "mean", 6)
    assert round(drop) == 60

    tax = MEASURES["tax_paid"]
    versions = [{"近一年增值税实际缴税金额(元)": "100000", "近一年企业所得税实际缴税金额(元)": "20000"},
                {"近一年增值税实际缴税金额(元)": "60000", "近一年企业所得税实际缴税金额(元)": "12000"}]
    _, drop = drop_percent(tax, series(tax, versions), "lag", 1)
    assert round(drop) == 40
    assert drop_percent(tax, series(tax, versions[:1]), "lag", 1) is None
