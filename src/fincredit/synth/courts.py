"""Courts (省法院): 7 开庭信息, 8 失信限制高消费信息 (legal representatives), 9 知识产权涉诉信息.

Parties are enterprises (USCC, 统一社会信用代码) or natural persons (resident ID, 居民身份证);
one row per party of a case. Firms planted with ``court_defendant`` are sued (by banks, suppliers
or employees; their legal representative is often sued with them); firms with ``court_plaintiff``
sue natural persons, so the truth of who is a defendant stays exact.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fincredit.synth import agencies
from fincredit.synth.codes import patent_numbers
from fincredit.synth.context import Chunk, dates, fmt, frame, pick
from fincredit.synth.regions import DISTRICTS

USCC_TYPE, RID_TYPE = "统一社会信用代码", "居民身份证"
FIRM_CAUSES = ("买卖合同纠纷", "承揽合同纠纷", "服务合同纠纷", "建设工程施工合同纠纷", "租赁合同纠纷")
PERSON_CAUSES = ("劳动争议", "追索劳动报酬纠纷", "民间借贷纠纷", "买卖合同纠纷")


def _court_names() -> tuple[pl.Series, pl.Series]:
    names, _ = agencies.per_district("{district}人民法院")
    return names, pl.Series([f"苏{c[2:6]}" for c in DISTRICTS.codes])


def _persons(chunk: Chunk, rng: np.random.Generator, n: int) -> pl.DataFrame:
    return chunk.pop.persons[rng.integers(0, chunk.pop.persons.height, n)]


def _case_numbers(chunk: Chunk, year: np.ndarray, court: np.ndarray, kind: str, offset: int) -> pl.Series:
    _, codes = _court_names()
    seq = (chunk.lo * 3 + offset + np.arange(len(year))) % 40_000 + 1
    return fmt("({y}){c}{k}{s}号", y=year, c=codes.gather(court), k=pl.repeat(kind, len(year), eager=True), s=seq)


def hearings(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("7")
    courts, _ = _court_names()
    sued = chunk.where("court_defendant")
    count = np.minimum(rng.geometric(0.6, sued.height), 4)
    d = sued[np.repeat(np.arange(sued.height), count)]
    n = d.height
    when = chunk.past_dates(rng, n, 365) + rng.integers(0, 45, n).astype("timedelta64[D]")
    year = when.astype("datetime64[Y]").astype(int) + 1970
    court = d["district_idx"].to_numpy()
    number = _case_numbers(chunk, year, court, "民初", 0)
    kind = rng.choice(3, size=n, p=[0.3, 0.4, 0.3])  # bank, firm, person plaintiff
    banks, bank_codes, _ = agencies.BANKS.pick(rng, d["city_idx"].to_numpy())
    other = chunk.pop.firms[rng.integers(0, chunk.pop.size, n)]
    people = _persons(chunk, rng, n)
    cause = np.where(kind == 0, "金融借款合同纠纷", np.where(
        kind == 1, pick(rng, FIRM_CAUSES, n).to_numpy(), pick(rng, PERSON_CAUSES, n).to_numpy()))
    plaintiff_name = np.where(kind == 0, banks.to_numpy(), np.where(kind == 1, other["name"].to_numpy(),
                                                                    people["name"].to_numpy()))
    plaintiff_id = np.where(kind == 0, bank_codes.to_numpy(), np.where(kind == 1, other["uscc"].to_numpy(),
                                                                      people["id_number"].to_numpy()))
    reps = chunk.reps(d)
    with_rep = (kind == 0) & (rng.random(n) < 0.7) | (rng.random(n) < 0.15)
    common = {"案号": number, "案由": pl.Series(cause), "开庭日期": dates(when), "受理法院": courts.gather(court)}
    parts = [
        frame({**common, "当事人名称": pl.Series(plaintiff_name), "当事人证件类型": pl.Series(
            np.where(kind == 2, RID_TYPE, USCC_TYPE)), "当事人证件号码": pl.Series(plaintiff_id),
            "诉讼地位": "原告", "_case": np.arange(n), "_role": 0}, n),
        frame({**common, "当事人名称": d["name"], "当事人证件类型": USCC_TYPE, "当事人证件号码": d["uscc"],
               "诉讼地位": "被告", "_case": np.arange(n), "_role": 1}, n),
        frame({**common, "当事人名称": reps["name"], "当事人证件类型": RID_TYPE, "当事人证件号码": reps["id_number"],
               "诉讼地位": "被告", "_case": np.arange(n), "_role": 2}, n).filter(pl.Series(with_rep)),
    ]
    # firms suing natural persons
    p = chunk.where("court_plaintiff")
    m = p.height
    when = chunk.past_dates(rng, m, 365) + rng.integers(0, 45, m).astype("timedelta64[D]")
    year = when.astype("datetime64[Y]").astype(int) + 1970
    court = p["district_idx"].to_numpy()
    people = _persons(chunk, rng, m)
    common = {"案号": _case_numbers(chunk, year, court, "民初", n + 7), "案由": pick(rng, ("买卖合同纠纷", "民间借贷纠纷"), m),
              "开庭日期": dates(when), "受理法院": courts.gather(court)}
    parts += [
        frame({**common, "当事人名称": p["name"], "当事人证件类型": USCC_TYPE, "当事人证件号码": p["uscc"],
               "诉讼地位": "原告", "_case": np.arange(n, n + m), "_role": 0}, m),
        frame({**common, "当事人名称": people["name"], "当事人证件类型": RID_TYPE,
               "当事人证件号码": people["id_number"], "诉讼地位": "被告", "_case": np.arange(n, n + m), "_role": 1}, m),
    ]
    out = pl.concat([x.with_columns(pl.col("_case").cast(pl.Int64), pl.col("_role").cast(pl.Int64)) for x in parts])
    return out.sort(["_case", "_role"]).unique(["案号", "当事人证件号码"], keep="first", maintain_order=True)


def restricted_persons(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("8")
    f = chunk.where(chunk.firms["dishonest_rep"] & chunk.firms["primary"])
    count = np.where(rng.random(f.height) < 0.25, 2, 1)
    f = f[np.repeat(np.arange(f.height), count)]
    n = f.height
    reps = chunk.reps(f)
    courts, _ = _court_names()
    listed = chunk.past_dates(rng, n, 1460)
    cancelled = rng.random(n) < 0.15
    return frame({
        "姓名": reps["name"], "证件类型": RID_TYPE, "证件号码": reps["id_number"],
        "列入日期": dates(listed),
        "执行法院": courts.gather(f["district_idx"].to_numpy()),
        "是否取消": pl.Series(cancelled),
        "取消日期": dates(np.where(cancelled, np.minimum(listed + rng.integers(30, 400, n).astype("timedelta64[D]"),
                                                      chunk.as_of), np.datetime64("NaT"))),
        "__uscc": f["uscc"], "__name": f["name"], "__rid": reps["id_number"], "__person": reps["name"],
    }, n).unique(["证件号码", "执行法院", "列入日期"], keep="first", maintain_order=True)


PATENT_KINDS = ("发明", "实用新型", "外观设计")
PATENT_OBJECTS = ("数据处理", "检测", "自动上料", "散热", "密封", "节能控制", "定位夹紧", "过滤", "传感", "图像识别")


def ip_cases(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("9")
    f = chunk.where("ip_litigation")
    n = f.height
    other = chunk.pop.firms[rng.integers(0, chunk.pop.size, n)]
    kind = rng.choice(3, size=n, p=[0.35, 0.45, 0.2])
    filed = rng.integers(2012, int(str(chunk.as_of)[:4]), n)
    number = patent_numbers(rng, filed, kind + 1)
    title = fmt("一种{o}{t}", o=pick(rng, PATENT_OBJECTS, n), t=pick(rng, ("装置", "方法", "系统", "设备"), n))
    title = pl.Series(np.where(kind == 2, fmt("{o}外观", o=pick(rng, ("包装盒", "灯具", "控制面板"), n)).to_numpy(),
                               title.to_numpy()))
    court_names, _ = agencies.per_city("{city}中级人民法院")
    court = court_names.gather(f["city_idx"].to_numpy())
    closed = chunk.past_dates(rng, n, 900)
    owner_sues = rng.random(n) < 0.6
    result = pick(rng, ("判决侵权成立，赔偿经济损失", "驳回诉讼请求", "调解结案", "原告撤诉"), n, [4, 2, 3, 1])
    common = {"案由": fmt("侵害{k}专利权纠纷", k=pl.Series(PATENT_KINDS).gather(kind)), "涉案专利名称": title,
              "涉案专利号": number, "涉案专利类型": pl.Series(PATENT_KINDS).gather(kind), "处理结果": result,
              "受理法院名称": court, "结案日期": dates(closed)}
    first = frame({**common, "当事人名称": f["name"], "当事人证件类型": USCC_TYPE, "当事人证件号码": f["uscc"],
                   "当事人请求地位": pl.Series(np.where(owner_sues, "原告", "被告")), "_case": np.arange(n), "_role": 0}, n)
    # the other party: an enterprise, or an individual inventor (a natural person)
    person = rng.random(n) < 0.2
    people = _persons(chunk, rng, n)
    second = frame({**common,
                    "当事人名称": pl.select(pl.when(pl.lit(pl.Series(person))).then(pl.lit(people["name"]))
                                        .otherwise(pl.lit(other["name"]))).to_series(),
                    "当事人证件类型": pl.Series(np.where(person, RID_TYPE, USCC_TYPE)),
                    "当事人证件号码": pl.select(pl.when(pl.lit(pl.Series(person))).then(pl.lit(people["id_number"]))
                                          .otherwise(pl.lit(other["uscc"]))).to_series(),
                    "当事人请求地位": pl.Series(np.where(owner_sues, "被告", "原告")), "_case": np.arange(n), "_role": 1}, n)
    out = pl.concat([first, second]).sort(["_case", "_role"])
    return out.unique(["当事人证件号码", "涉案专利号", "受理法院名称"], keep="first", maintain_order=True)


GENERATORS = {"7": hearings, "8": restricted_persons, "9": ip_cases}
