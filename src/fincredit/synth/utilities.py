"""Utilities: 14 电费信息 and 31 水费信息 and 32 燃气费信息 (monthly), and the arrears lists
15 用电拖欠费信息, 33 用水拖欠费信息, 34 用气拖欠费信息.

Monthly use is modelled over ``months + 5`` months so that trailing 3- and 6-month averages are
defined from the first reported month on. Firms planted with ``power_falling`` lose 6–15 % of
their electricity use a month; arrears firms stop paying in their last one to three months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fincredit.synth import agencies
from fincredit.synth.context import Chunk, band, dates, fmt, frame, money, zfill
from fincredit.synth.regions import CITIES

HISTORY = 5


@dataclass(frozen=True, slots=True)
class Utility:
    key: str  # flag of the firms that have an account
    arrears: str  # flag of the firms in arrears
    per_head: dict[str, float]  # monthly use per employee by section letter ("" = default)
    price: float  # 元 per unit
    falling: str | None  # flag of firms whose use falls
    account_salt: int
    account_digits: int


POWER = Utility("powered", "power_arrears", {"C": 2400, "D": 6000, "A": 900, "F": 180, "": 260}, 0.68,
                "power_falling", 3, 10)
WATER = Utility("watered", "water_arrears", {"C": 9, "H": 14, "A": 30, "": 2.5}, 4.1, None, 7, 8)
GAS = Utility("gassed", "gas_arrears", {"C": 120, "H": 160, "": 20}, 3.6, None, 11, 8)


@dataclass
class Series:
    firms: pl.DataFrame
    row: np.ndarray  # firm-month rows: row in ``firms``
    t: np.ndarray  # month index
    start: np.ndarray  # month start
    use: np.ndarray  # use per firm-month row
    fee: np.ndarray
    avg3: np.ndarray  # trailing averages of the fee (元) and of the use, per row
    avg6: np.ndarray
    use3: np.ndarray
    use6: np.ndarray
    overdue: np.ndarray  # unpaid month
    account: pl.Series  # per firm in ``firms``
    opened: np.ndarray  # account opening date per firm in ``firms``


def _series(chunk: Chunk, utility: Utility) -> Series:
    def build(rng: np.random.Generator) -> Series:
        f = chunk.where(utility.key)
        n, m = f.height, len(chunk.months)
        section = f["industry"].str.slice(0, 1).to_numpy()
        per_head = np.full(n, utility.per_head[""])
        for letter, value in utility.per_head.items():
            if letter:
                per_head[section == letter] = value
        level = f["employees"].to_numpy() * per_head * np.exp(rng.normal(0, 0.6, n))
        steps = np.arange(m + HISTORY - 1, -1, -1)[None, :]
        falling = f[utility.falling].to_numpy() if utility.falling else np.zeros(n, dtype=bool)
        decline = rng.uniform(0.06, 0.15, n)
        months = (np.array(chunk.months[-1], dtype="datetime64[M]") - steps[0].astype("timedelta64[M]"))
        season = 1 + 0.15 * np.isin(months.astype(int) % 12, [6, 7]) + 0.08 * np.isin(months.astype(int) % 12, [0, 11])
        factor = np.where(falling[:, None], (1 + decline[:, None]) ** steps, 1 + rng.normal(0, 0.06, (n, m + HISTORY)))
        use_all = np.round(level[:, None] * factor * season[None, :], 1)
        fee_all = use_all * utility.price
        avg = {k: (np.stack([fee_all[:, HISTORY + i - k + 1: HISTORY + i + 1].mean(axis=1) for i in range(m)], 1),
                   np.stack([use_all[:, HISTORY + i - k + 1: HISTORY + i + 1].mean(axis=1) for i in range(m)], 1))
               for k in (3, 6)}
        row, t, start = chunk.panel(f)
        arrears = f[utility.arrears].to_numpy()
        overdue = arrears[row] & (t >= m - rng.integers(1, 4, len(row)))
        idx = f["idx"].to_numpy()
        account = (idx * 7_919 + 104_729 * utility.account_salt) % 10 ** (utility.account_digits - 2)
        prefix = np.array([int(c.code[2:4]) for c in CITIES])[f["city_idx"].to_numpy()]
        opened = f["established"].to_numpy() + rng.integers(10, 200, n).astype("timedelta64[D]")
        return Series(f, row, t, start, use_all[row, HISTORY + t], fee_all[row, HISTORY + t],
                      avg[3][0][row, t], avg[6][0][row, t], avg[3][1][row, t], avg[6][1][row, t], overdue,
                      fmt("{p}{a}", p=zfill(prefix, 2), a=zfill(account, utility.account_digits - 2)),
                      np.minimum(opened, chunk.as_of))

    return chunk.shared(utility.key, build)


def _month_end(start: np.ndarray) -> np.ndarray:
    return (start.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1


def electricity(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("14")
    s = _series(chunk, POWER)
    firms = chunk.rows(s.firms, s.row, "industry", "established", "health")
    n = len(s.row)
    opened = s.opened[s.row]
    kind = np.where(firms["industry"].str.starts_with("A").to_numpy(), 0, np.where(s.use > 40_000, 1, 2))
    value = np.select([s.avg6 > 30_000, s.avg6 > 3_000], [0, 1], 2)
    risk_score = firms["health"].to_numpy() - 2 * s.overdue
    risk = np.select([risk_score < -1.5, risk_score < -0.5], [0, 1], 2)
    city_names = pl.Series([c.name + "市" for c in CITIES])
    return frame({
        **chunk.subject(firms),
        "电网户号": s.account.gather(s.row),
        "开户日期": dates(opened),
        "用电类型": pl.Series(["农业生产用电", "大工业用电", "一般工商业用电"]).gather(kind),
        "地区地方名(市级)": city_names.gather(firms["city_idx"].to_numpy()),
        "计量开始日期": dates(s.start),
        "计量截止日期": dates(_month_end(s.start)),
        "使用量(区间)": band(s.use, [0, 500, 1000, 5000, 10000, 50000, 100000, 500000]),
        "计量单位": "千瓦时",
        "交费金额(元)": money(np.where(s.overdue, 0.0, s.fee)),
        "缴纳日期": dates(np.where(s.overdue, np.datetime64("NaT"), _month_end(s.start) - rng.integers(0, 10, n).astype(
            "timedelta64[D]"))),
        "价值等级": pl.Series(["高价值", "中价值", "一般"]).gather(value),
        "风险等级": pl.Series(["高风险", "中风险", "低风险"]).gather(risk),
        "近3个月月均用电量(元)": money(s.avg3),
        "近6个月月均用电量(元)": money(s.avg6),
        "当前是否欠费": pl.Series(s.overdue),
    }, n)


def _metered(chunk: Chunk, utility: Utility, code: str, use_field: str, detail_field: str,
             detail: str, avg_fields: tuple[str, str]) -> pl.DataFrame:
    rng = chunk.rng(code)
    s = _series(chunk, utility)
    firms = chunk.rows(s.firms, s.row)
    n = len(s.row)
    fee = money(s.fee)
    paid = np.where(s.overdue, np.datetime64("NaT"), _month_end(s.start) - rng.integers(0, 12, n).astype("timedelta64[D]"))
    return frame({
        **chunk.subject(firms),
        "户名": firms["name"],
        "户号": s.account.gather(s.row),
        "计量开始日期": dates(s.start),
        "计量截止日期": dates(_month_end(s.start)),
        use_field: np.round(s.use, 1),
        "计量单位": "立方米",
        "交费金额(元)": money(np.where(s.overdue, 0.0, fee)),
        "缴纳日期": dates(paid),
        detail_field: fmt(detail, a=money(fee * 0.7), b=money(fee * 0.3)),
        avg_fields[0]: np.round(s.use3, 1),
        avg_fields[1]: np.round(s.use6, 1),
        "当前是否欠费": pl.Series(s.overdue),
    }, n)


def water(chunk: Chunk) -> pl.DataFrame:
    return _metered(chunk, WATER, "31", "用水量", "缴纳水费明细", "水费{a}元，污水处理费{b}元",
                    ("近3个月月均用水量", "近6个月月均用水量"))


def gas(chunk: Chunk) -> pl.DataFrame:
    return _metered(chunk, GAS, "32", "用气量", "缴纳燃气费明细", "燃气费{a}元，附加费{b}元",
                    ("近3个月月均燃气用量", "近6个月月均燃气用量"))


def _arrears(chunk: Chunk, utility: Utility, code: str, agency: str) -> tuple[pl.DataFrame, dict]:
    """The arrears firms and the columns common to 15, 33 and 34 (plus ``_begin``, ``_end``,
    ``_amount`` arrays for the caller)."""
    rng = chunk.rng(code)
    f = chunk.where(utility.arrears)
    n = f.height
    months = rng.integers(1, 4, n)
    begin = (chunk.as_of.astype("datetime64[M]") - months.astype("timedelta64[M]")).astype("datetime64[D]")
    begin = np.maximum(begin, f["established"].to_numpy().astype("datetime64[D]"))
    repaid = rng.random(n) < 0.2
    end = np.where(repaid, np.minimum(begin + rng.integers(20, 80, n).astype("timedelta64[D]"), chunk.as_of),
                   np.datetime64("NaT"))
    names, codes = agencies.per_city(agency, "91")
    city = f["city_idx"].to_numpy()
    return f, {
        **chunk.subject(f),
        "是否补缴": pl.Series(repaid),
        "认定机构": names.gather(city),
        "认定日期": dates(np.minimum(begin + rng.integers(30, 60, n).astype("timedelta64[D]"), chunk.as_of)),
        "_codes": codes.gather(city),
        "_begin": begin,
        "_end": end,
        "_amount": rng.lognormal(np.log(3_000), 1.1, n) * (1 + f["employees"].to_numpy() / 50),
    }


def _public(columns: dict) -> dict:
    return {k: v for k, v in columns.items() if not k.startswith("_") or k.startswith("__")}


def power_arrears(chunk: Chunk) -> pl.DataFrame:
    f, c = _arrears(chunk, POWER, "15", "国网江苏省电力有限公司{city}供电分公司")
    return frame({
        **_public(c),
        "拖欠缴开始日期": dates(c["_begin"]),
        "拖欠缴截止日期": dates(c["_end"]),
        "欠费金额(元)(区间)": band(c["_amount"], [0, 1000, 5000, 10000, 50000, 100000]),
        "认定机构统一代码": c["_codes"],
    }, f.height)


def _bill_arrears(chunk: Chunk, utility: Utility, code: str, agency: str) -> pl.DataFrame:
    f, c = _arrears(chunk, utility, code, agency)
    counted = (c["_begin"].astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    return frame({
        **_public(c),
        "拖欠截止日期": dates(counted),
        "拖欠金额(元)": money(c["_amount"]),
        "认定机构统一社会信用代码": c["_codes"],
    }, f.height)


def water_arrears(chunk: Chunk) -> pl.DataFrame:
    return _bill_arrears(chunk, WATER, "33", "{city}水务集团有限公司")


def gas_arrears(chunk: Chunk) -> pl.DataFrame:
    return _bill_arrears(chunk, GAS, "34", "{city}燃气集团有限公司")


GENERATORS = {"14": electricity, "15": power_arrears, "31": water, "32": gas, "33": water_arrears,
              "34": gas_arrears}
