"""Labour and social security: 10 社会保险费缴纳情况 (monthly), 11 社保欠缴信息,
12 劳动保障监察书面审查信息, 13 住房公积金缴纳情况 (monthly).

Monthly headcounts are shared by 10 and 13: steady with small noise, or falling 5–12 % a month
for firms planted with ``headcount_falling`` (the latest month equals the registered headcount).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fincredit.synth import agencies
from fincredit.synth.context import Chunk, dates, frame, money, null_where

PENSION, MEDICAL = "企业职工基本养老保险", "职工基本医疗保险"
PENSION_RATE, MEDICAL_RATE = 0.24, 0.10  # employer + employee shares
BASE_MIN, BASE_MAX = 4_494.0, 24_042.0  # Jiangsu's contribution base bounds (元 a month)


def _workforce(chunk: Chunk) -> dict[str, np.ndarray]:
    def build(rng: np.random.Generator) -> dict[str, np.ndarray]:
        f = chunk.firms
        n, m = f.height, len(chunk.months)
        emp = f["employees"].to_numpy().astype(float)
        falling = f["headcount_falling"].to_numpy()
        decline = rng.uniform(0.05, 0.12, n)
        steps = np.arange(m - 1, -1, -1)[None, :]  # months before the latest
        factor = np.where(falling[:, None], (1 + decline[:, None]) ** steps,
                          1 + rng.normal(0, 0.03, (n, m)) * (steps > 0))
        heads = np.maximum(1, np.round(emp[:, None] * factor)).astype(np.int64)
        back = np.arange(11, -1, -1)  # trailing twelve months, as factors
        year_factor = np.where(falling[:, None], (1 + decline[:, None]) ** back[None, :], 1.0).mean(axis=1)
        wage = np.clip(np.exp(rng.normal(np.log(6800), 0.35, n) + 0.05 * f["health"].to_numpy()), 2600, 60000)
        return {"heads": heads, "year_avg": emp * year_factor, "wage": wage,
                "base": np.clip(wage, BASE_MIN, BASE_MAX), "medical": rng.random(n) < 0.2}

    return chunk.shared("workforce", build)


def social_insurance(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("10")
    f = chunk.where("insured")
    wf = _workforce(chunk)
    local = chunk.local(f)
    row, t, start = chunk.panel(f)
    # a pension row for every firm-month, a medical row for some firms
    kinds = np.concatenate([np.zeros(len(row), dtype=np.int8), np.ones(len(row), dtype=np.int8)])
    row, t, start = (np.concatenate([a, a]) for a in (row, t, start))
    keep = (kinds == 0) | wf["medical"][local[row]]
    row, t, start, kinds = row[keep], t[keep], start[keep], kinds[keep]
    order = np.lexsort((kinds, t, row))
    row, t, start, kinds = row[order], t[order], start[order], kinds[order]
    g = local[row]
    heads = wf["heads"][g, t]
    base = wf["base"][g] * (1 + 0.01 * t)
    wages = heads * wf["wage"][g]
    unit_base = heads * base
    due = unit_base * np.where(kinds == 0, PENSION_RATE, MEDICAL_RATE)
    m = len(chunk.months)
    arrears = f["ss_arrears"].to_numpy()[row] & (t >= m - rng.integers(1, 4, len(row)))
    paid = np.where(arrears, due * rng.uniform(0, 0.6, len(row)), due)
    pension = kinds == 0
    office, _ = agencies.per_district("{district}社会保险基金管理中心")
    n = len(row)
    firms = chunk.rows(f, row)
    return frame({
        **chunk.subject(firms),
        "缴费年月": chunk.month_labels(t),
        "险种类别": pl.Series([PENSION, MEDICAL]).gather(kinds),
        "职工工资总额": money(wages),
        "单位缴费基数": money(unit_base),
        "参保人数": heads,
        "本月应缴金额合计(元)": money(due),
        "本月实缴金额合计(元)": money(paid),
        "企业职工基本养老保险近一年月均参保人数": null_where(np.round(wf["year_avg"][g], 1), ~pension),
        "企业职工基本养老保险近一年月均单位缴费基数": null_where(money(wf["base"][g]), ~pension),
        "缴费基数": money(base),
        "经办机构名称": office.gather(firms["district_idx"].to_numpy()),
        "缴纳日期": dates(np.where(arrears & (paid == 0), np.datetime64("NaT"),
                               start + rng.integers(5, 25, n).astype("timedelta64[D]"))),
    }, n)


def social_arrears(chunk: Chunk) -> pl.DataFrame:
    f = chunk.where("insured")
    return frame({**chunk.subject(f), "当前是否欠费": f["ss_arrears"]}, f.height)


def labour_inspection(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("12")
    f = chunk.where("inspected")
    n = f.height
    year = int(str(chunk.as_of)[:4]) - 1
    result = np.where(f["labour_failed"].to_numpy(), 2, np.where(rng.random(n) < 0.85, 0, 1))
    handled = np.datetime64(f"{year + 1}-03-01") + rng.integers(0, 120, n).astype("timedelta64[D]")
    bureau, _ = agencies.per_district("{district}人力资源和社会保障局")
    return frame({
        **chunk.subject(f),
        "年末从业人员总数": np.maximum(1, np.round(f["employees"].to_numpy() * rng.uniform(0.9, 1.1, n))).astype(int),
        "审查年度": year,
        "审查结果": pl.Series(["合格", "基本合格", "不合格"]).gather(result),
        "经办日期": dates(np.minimum(handled, chunk.as_of)),
        "经办机构全称": bureau.gather(f["district_idx"].to_numpy()),
    }, n)


def housing_fund(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("13")
    f = chunk.where("housing_fund")
    wf = _workforce(chunk)
    local = chunk.local(f)
    k = f.height
    ratio = np.array([5, 8, 10, 12], dtype=float)[rng.choice(4, size=k, p=[0.35, 0.2, 0.15, 0.3])]
    share = rng.uniform(0.5, 1.0, k)
    registered = np.minimum(f["established"].to_numpy() + rng.integers(30, 700, k).astype("timedelta64[D]"),
                            chunk.as_of - np.timedelta64(400, "D"))
    registered = np.maximum(registered, f["established"].to_numpy())
    weak = f["ss_arrears"].to_numpy() | f["headcount_falling"].to_numpy()
    streak = np.where(weak, rng.integers(0, 6, k), 12)
    row, t, start = chunk.panel(f)
    g = local[row]
    persons = np.maximum(1, np.round(wf["heads"][g, t] * share[row])).astype(np.int64)
    monthly = persons * wf["base"][g] * ratio[row] / 100 * 2
    subsidy = np.where(rng.random(len(row)) < 0.05, persons * rng.uniform(100, 600, len(row)), 0.0)
    ym = chunk.month_labels(t)
    center, _ = agencies.per_city("{city}住房公积金管理中心", "12")
    firms = chunk.rows(f, row)
    n = len(row)
    paid_on = start + rng.integers(3, 20, n).astype("timedelta64[D]")
    return frame({
        **chunk.subject(firms),
        "初次登记日期": dates(registered[row]),
        "缴存年月起": ym,
        "缴存年月至": ym,
        "缴存比例": ratio[row],
        "缴存人数": persons,
        "公积金缴存总额(元)": money(monthly),
        "住房补贴缴存总额(元)": money(subsidy),
        "近一年月均缴存人数(人)": np.round(wf["year_avg"][g] * share[row], 1),
        "近一年住房公积金缴存总额(元)": money(monthly * 12 * rng.uniform(0.9, 1.02, n)),
        "近一年连续正常缴纳周期(月)": streak[row],
        "最近一次正常缴费日期": dates(np.where(weak[row], paid_on - np.timedelta64(60, "D"), paid_on)),
        "征缴单位全称": center.gather(firms["city_idx"].to_numpy()),
        "征缴日期": dates(paid_on),
    }, n)


GENERATORS = {"10": social_insurance, "11": social_arrears, "12": labour_inspection, "13": housing_fund}
