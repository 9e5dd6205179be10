"""Taxation (省税务局): 1 纳税信息, 2 欠税信息, 3 非正常纳税户信息, 4 纳税信用等级信息."""

from __future__ import annotations

import numpy as np
import polars as pl

from fincredit.synth.context import Chunk, dates, frame, money

ARREARS_TAXES = ("增值税", "企业所得税", "城市维护建设税", "房产税", "城镇土地使用税")
SETTLED_TAXES = ("印花税", "个人所得税", "教育费附加")


def _month_day(chunk: Chunk, months_back: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A filing date (1st–15th) ``months_back`` months before the reference month."""
    month = chunk.as_of.astype("datetime64[M]") - months_back.astype("timedelta64[M]")
    return month.astype("datetime64[D]") + rng.integers(0, 15, len(months_back)).astype("timedelta64[D]")


def tax_payments(chunk: Chunk) -> pl.DataFrame:
    f = chunk.where("taxpayer")
    rng = chunk.rng("1")
    n = f.height
    revenue = f["revenue_wan"].to_numpy() * 10_000
    health = f["health"].to_numpy()
    section = f["industry"].str.slice(0, 1).to_numpy()
    general = revenue >= 5_000_000
    rate = np.where(general, np.select([section == "F", section == "C"], [0.012, 0.03], 0.025), 0.01)
    vat_due = np.where(revenue < 1_200_000, 0.0, revenue * rate * np.exp(rng.normal(0, 0.25, n)))
    arrears = f["tax_arrears"].to_numpy()
    paid_share = np.where(arrears, rng.uniform(0.2, 0.9, n), 1.0)
    margin = np.clip(0.03 + 0.035 * health + rng.normal(0, 0.03, n), 0, 0.3)
    profit = revenue * margin
    cit_rate = np.where(profit <= 3_000_000, 0.05, 0.25)
    cit_due = profit * cit_rate
    age_months = ((chunk.as_of - f["established"].to_numpy()).astype(np.int64) // 30).clip(0)
    streak = np.where(arrears | f["abnormal_taxpayer"].to_numpy(), rng.integers(0, 7, n),
                      np.minimum(age_months, rng.integers(24, 121, n)))
    back = np.where(arrears, rng.integers(2, 9, n), np.where(rng.random(n) < 0.9, 0, 1))
    return frame({
        **chunk.subject(f),
        "近一年增值税应纳税金额(元)": money(vat_due),
        "近一年增值税实际缴税金额(元)": money(vat_due * paid_share),
        "近一年企业所得税应纳税金额(元)": money(cit_due),
        "近一年企业所得税实际缴税金额(元)": money(cit_due * paid_share),
        "连续正常缴税周期(月)": streak,
        "最近一次正常缴税日期": dates(np.maximum(_month_day(chunk, back, rng), f["established"].to_numpy())),
    }, n)


def tax_arrears(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("2")
    current = chunk.where("tax_arrears")
    settled = chunk.where("tax_arrears_settled")
    parts = []
    n = current.height
    first = rng.integers(0, len(ARREARS_TAXES), n)
    parts.append((current, first, True, rng.lognormal(np.log(30_000), 1.2, n)))
    two = rng.random(n) < 0.35
    second = (first + rng.integers(1, len(ARREARS_TAXES), n)) % len(ARREARS_TAXES)
    parts.append((current.filter(pl.Series(two)), second[two], True, rng.lognormal(np.log(8_000), 1.0, int(two.sum()))))
    m = settled.height
    parts.append((settled, rng.integers(0, len(SETTLED_TAXES), m) + len(ARREARS_TAXES), False,
                  rng.lognormal(np.log(2_000), 1.0, m)))
    kinds = pl.Series([*ARREARS_TAXES, *SETTLED_TAXES])
    frames = [
        frame({**chunk.subject(firms), "税种": kinds.gather(kind), "欠税金额(元)": money(amount),
               "当前是否欠税": flag, "__idx": firms["idx"]}, firms.height)
        for firms, kind, flag, amount in parts
    ]
    return pl.concat(frames).sort("__idx", maintain_order=True)


def abnormal_taxpayers(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("3")
    f = chunk.firms
    abnormal = f["abnormal_taxpayer"].to_numpy()
    recovered = f["taxpayer"].to_numpy() & ~abnormal & (rng.random(f.height) < 0.02)
    rows = chunk.where(abnormal | recovered)
    return frame({**chunk.subject(rows), "是否非正常纳税户": rows["abnormal_taxpayer"]}, rows.height)


GRADES = ("A", "B", "M", "C", "D")


def tax_ratings(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("4")
    f = chunk.where(chunk.firms["taxpayer"] | chunk.firms["abnormal_taxpayer"])
    year_now = int(str(chunk.as_of)[:4])
    established = f["established"].dt.year().to_numpy()
    frames = []
    for year in (year_now - 2, year_now - 1):
        rated = established <= year
        g = f.filter(pl.Series(rated))
        n = g.height
        score = g["health"].to_numpy() + rng.normal(0, 0.55, n)
        grade = np.select([score > 0.75, score > -1.0, score > -1.9], [0, 1, 3], 4)
        grade = np.where(g["tax_arrears"].to_numpy() & (grade < 3), 3, grade)
        grade = np.where(g["abnormal_taxpayer"].to_numpy(), 4, grade)
        new = (year - established[rated] <= 1) & (grade <= 1)  # 新设立企业 are rated M
        grade = np.where(new, 2, grade)
        frames.append(frame({**chunk.subject(g), "评级年度": year, "纳税信用等级": pl.Series(GRADES).gather(grade),
                             "__idx": g["idx"]}, n))
    return pl.concat(frames).sort("__idx", maintain_order=True)


GENERATORS = {"1": tax_payments, "2": tax_arrears, "3": abnormal_taxpayers, "4": tax_ratings}
