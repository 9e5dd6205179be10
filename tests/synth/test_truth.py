"""The ground truth: planted risky firms have more negative records in the files themselves."""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from pathlib import Path

from fincredit.synth import Manifest

from .readers import read_file

YES = ("是", True)


def _negative_records(province: Manifest) -> Counter:
    """Negative records per USCC, counted from the provider files."""
    count: Counter = Counter()

    def rows(code: str) -> list[dict[str, object]]:
        return read_file(province, province.file(code))[1]

    def key(row: dict[str, object], name: str) -> str:
        return str(next(v for k, v in row.items() if k.replace("（", "(").replace("）", ")") == name))

    for code, flag in (("2", "当前是否欠税"), ("3", "是否非正常纳税户"), ("11", "当前是否欠费")):
        count.update(key(r, "统一社会信用代码") for r in rows(code) if key(r, flag) in YES)
    for code in ("5", "6", "15", "23", "33", "34", "36"):
        count.update(key(r, "统一社会信用代码") for r in rows(code))
    count.update(str(r["当事人证件号码"]) for r in rows("7")
                 if r["诉讼地位"] == "被告" and r["当事人证件类型"] == "统一社会信用代码")
    firms_of: dict[str, list[str]] = {}
    for r in rows("base"):
        firms_of.setdefault(str(r["法定代表人证件号码"]), []).append(str(r["统一社会信用代码"]))
    for code in ("8", "37"):
        for r in rows(code):
            count.update(firms_of.get(str(r["证件号码"]), []))
    return count


def _truth(province: Manifest) -> list[dict[str, str]]:
    with (Path(province.directory) / province.truth["path"]).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_risky_firms_have_more_negative_records(province: Manifest) -> None:
    truth = _truth(province)
    risky = set(province.truth["risky"])
    assert len(risky) == province.truth["risky_count"] == sum(r["risky"] == "1" for r in truth)
    assert 0.09 <= len(risky) / province.enterprises <= 0.11
    negatives = _negative_records(province)
    in_risky = [negatives[r["uscc"]] for r in truth if r["uscc"] in risky]
    in_rest = [negatives[r["uscc"]] for r in truth if r["uscc"] not in risky]
    assert statistics.mean(in_risky) > 3 * statistics.mean(in_rest)
    share_risky = sum(n > 0 for n in in_risky) / len(in_risky)
    share_rest = sum(n > 0 for n in in_rest) / len(in_rest)
    assert share_risky > 2 * share_rest
    # a rank check: a random risky firm has more negative records than a random other firm
    # far more often than the reverse (Mann–Whitney U as a probability)
    wins = sum((a > b) + 0.5 * (a == b) for a in in_risky for b in in_rest)
    assert wins / (len(in_risky) * len(in_rest)) > 0.7


def test_health_orders_defaults_and_recognitions(province: Manifest) -> None:
    truth = _truth(province)
    risky = [r for r in truth if r["risky"] == "1"]
    rest = [r for r in truth if r["risky"] == "0"]

    def rate(rows: list[dict[str, str]], column: str) -> float:
        return sum(r[column] == "1" for r in rows) / len(rows)

    assert rate(risky, "defaulted_within_12m") > 2 * rate(rest, "defaulted_within_12m")
    for positive in ("high_tech", "specialised", "fiscal_funds"):
        assert rate(risky, positive) <= rate(rest, positive), positive
    # every planted dishonest firm is on list 36
    listed = {str(r["统一社会信用代码"]) for r in read_file(province, province.file("36"))[1]}
    assert listed == {r["uscc"] for r in truth if r["dishonest_firm"] == "1"}


def test_planted_falls_show_in_the_monthly_files(province: Manifest) -> None:
    truth = {r["uscc"]: r for r in _truth(province)}
    heads: dict[str, list[int]] = {}
    for r in read_file(province, province.file("10"))[1]:
        if r["险种类别"] == "企业职工基本养老保险":
            heads.setdefault(str(r["统一社会信用代码"]), []).append(int(str(r["参保人数"])))
    falling = [h for u, h in heads.items() if truth[u]["headcount_falling"] == "1" and len(h) == 3]
    steady = [h for u, h in heads.items() if truth[u]["headcount_falling"] == "0" and len(h) == 3]
    assert falling and steady
    assert statistics.mean(h[-1] / h[0] for h in falling) < 0.95
    assert abs(statistics.mean(h[-1] / h[0] for h in steady) - 1) < 0.05
