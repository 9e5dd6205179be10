"""Real estate and guarantees (13 cities): 27 企业名下不动产登记情况, 28 企业名下房产抵押信息,
29 自然人不动产登记信息, 30 自然人不动产抵押信息 (verification only), 35 担保信息.

A unit number (不动产单元号) is 28 characters: district code, 街道 and 街坊 codes, ``GB`` and the
parcel number, ``F`` and building/room number. Mortgages (28, 30) are on units of 27 and 29.
Persons are the legal representatives (keyed by resident ID).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fincredit.synth import agencies
from fincredit.synth.context import Chunk, dates, fmt, frame, money, pick, text_where, zfill
from fincredit.synth.industries import GUARANTOR_INDUSTRY, INDUSTRIES
from fincredit.synth.population import random_dates
from fincredit.synth.regions import DISTRICTS, ROAD_NAMES

USCC_TYPE, RID_TYPE = "统一社会信用代码", "居民身份证"


def _registries() -> pl.Series:
    urban = np.char.endswith(DISTRICTS.names, "区")
    place = np.where(urban, DISTRICTS.city_names[DISTRICTS.city_idx], DISTRICTS.names)
    return pl.Series(np.char.add(place, "不动产登记中心"))


def _units(chunk: Chunk, rng: np.random.Generator, f: pl.DataFrame, person: bool) -> pl.DataFrame:
    count = np.where(rng.random(f.height) < (0.2 if person else 0.3), 2, 1)
    f = f[np.repeat(np.arange(f.height), count)]
    n = f.height
    district = f["district_idx"].to_numpy()
    unit = fmt("{d}{s}{b}GB{p}F{h}{r}", d=f["district"], s=zfill(rng.integers(1, 30, n), 3),
               b=zfill(rng.integers(1, 60, n), 3), p=zfill(rng.integers(1, 99_999, n), 5),
               h=zfill(rng.integers(1, 60, n), 4), r=zfill(rng.integers(1, 3000, n), 4))
    registered = chunk.past_dates(rng, n, 7300, None if person else f["established"].to_numpy())
    year = registered.astype("datetime64[Y]").astype(int) + 1970
    place = np.where(np.char.endswith(DISTRICTS.names, "区"), DISTRICTS.city_names[DISTRICTS.city_idx],
                     DISTRICTS.names)[district]
    use = pick(rng, ("住宅", "商业"), n, [0.92, 0.08]) if person else \
        pick(rng, ("工业", "商业", "办公", "仓储"), n, [0.45, 0.2, 0.25, 0.1])
    years = np.select([use.to_numpy() == "住宅", use.to_numpy() == "工业"], [70, 50], 40)
    area = np.round(rng.lognormal(np.log(110 if person else 900), 0.35 if person else 1.0, n), 2)
    location = fmt("{full}{road}路{no}号", full=agencies.per_district("{district}")[0].gather(district),
                   road=pick(rng, ROAD_NAMES, n), no=rng.integers(1, 600, n))
    if person:
        location = fmt("{l}{b}幢{r}室", l=location, b=rng.integers(1, 40, n), r=rng.integers(101, 3200, n))
    return frame({
        "_row": f["idx"], "_name": f["name"], "_uscc": f["uscc"], "_person": f["person"], "_city": f["city_idx"],
        "不动产单元号": unit,
        "不动产权证书号": fmt("苏({y}){p}不动产权第{k}号", y=year, p=pl.Series(place), k=zfill(rng.integers(1, 9_999_999, n), 7)),
        "用途": use,
        "坐落": location,
        "面积": area,
        "使用期限": fmt("{a}起{b}止", a=dates(registered),
                    b=dates(registered + np.round(years * 365.25).astype("timedelta64[D]"))),
        "登记机构": _registries().gather(district),
        "登记时间": dates(registered),
        "_place": pl.Series(place),
    }, n)


def _firm_units(chunk: Chunk) -> pl.DataFrame:
    return chunk.shared("firm_units", lambda rng: _units(chunk, rng, chunk.where("property"), person=False))


def _person_units(chunk: Chunk) -> pl.DataFrame:
    owners = chunk.firms["person_property"] & chunk.firms["primary"]
    return chunk.shared("person_units", lambda rng: _units(chunk, rng, chunk.where(owners), person=True))


def firm_property(chunk: Chunk) -> pl.DataFrame:
    u = _firm_units(chunk)
    return u.with_columns(权利人名称=u["_name"], 证件类型=pl.lit(USCC_TYPE), 权利人证件号=u["_uscc"],
                          __uscc=u["_uscc"], __name=u["_name"])


def person_property(chunk: Chunk) -> pl.DataFrame:
    u = _person_units(chunk)
    reps = chunk.pop.persons[u["_person"].to_numpy()]
    return u.with_columns(姓名=reps["name"], 证件类型=pl.lit(RID_TYPE), 证件号码=reps["id_number"],
                          不动产登记证号=u["不动产权证书号"], **{"面积(平方米)": u["面积"]},
                          __rid=reps["id_number"], __person=reps["name"])


def _mortgages(chunk: Chunk, units: pl.DataFrame, flag: str, key: str) -> pl.DataFrame:
    rng = chunk.rng(key)
    flagged = set(chunk.where(flag)["idx"].to_list())
    m = units.filter(pl.col("_row").is_in(list(flagged))).unique("_row", keep="first", maintain_order=True)
    n = m.height
    banks, codes, _ = agencies.BANKS.pick(rng, m["_city"].to_numpy())
    registered = random_dates(rng, m["登记时间"].to_numpy(), chunk.as_of, n)
    year = registered.astype("datetime64[Y]").astype(int) + 1970
    return m.with_columns(
        不动产登记证号=fmt("苏({y}){p}不动产证明第{k}号", y=year, p=m["_place"], k=zfill(rng.integers(1, 9_999_999, n), 7)),
        权利类型=pick(rng, ("抵押权", "最高额抵押权"), n, [0.6, 0.4]),
        抵押权人=banks, 抵押权人证件类型=pl.lit(USCC_TYPE), 抵押权人证件号=codes,
        抵押登记时间=dates(registered),
    )


def firm_mortgages(chunk: Chunk) -> pl.DataFrame:
    m = _mortgages(chunk, _firm_units(chunk), "mortgage", "28")
    return m.with_columns(抵押人=m["_name"], 抵押人证件类型=pl.lit(USCC_TYPE), 抵押人证件号=m["_uscc"],
                          __uscc=m["_uscc"], __name=m["_name"])


def person_mortgages(chunk: Chunk) -> pl.DataFrame:
    m = _mortgages(chunk, _person_units(chunk), "person_mortgage", "30")
    reps = chunk.pop.persons[m["_person"].to_numpy()]
    return m.with_columns(抵押人=reps["name"], 抵押人证件类型=pl.lit(RID_TYPE), 抵押人证件号=reps["id_number"],
                          __rid=reps["id_number"], __person=reps["name"])


PRODUCTS = ("流动资金贷款担保", "固定资产贷款担保", "银行承兑汇票担保", "诉讼保全担保", "履约担保")
COUNTER = ("法定代表人个人连带责任保证", "房产抵押", "应收账款质押", "股权质押", "设备抵押")


def _same_city(rng: np.random.Generator, guarantor_city: np.ndarray, city: np.ndarray) -> np.ndarray:
    """A guarantor per firm: one of its own city when there is one, else any."""
    pick_any = rng.integers(0, len(guarantor_city), len(city))
    order = np.argsort(guarantor_city, kind="stable")
    first = np.searchsorted(guarantor_city[order], city, side="left")
    count = np.searchsorted(guarantor_city[order], city, side="right") - first
    local = order[np.minimum(first + (rng.random(len(city)) * np.maximum(count, 1)).astype(np.int64),
                             len(order) - 1)]
    return np.where(count > 0, local, pick_any)


def guarantees(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("35")
    f = chunk.where(chunk.firms["guaranteed"] & ~chunk.firms["guarantor"])
    n = f.height
    guarantors = chunk.shared("guarantors", lambda _: chunk.pop.firms.filter(pl.col("guarantor")))
    g = guarantors[_same_city(rng, guarantors["city_idx"].to_numpy(), f["city_idx"].to_numpy())]
    banks, _, short = agencies.BANKS.pick(rng, f["city_idx"].to_numpy())
    amount = np.round(rng.lognormal(np.log(300), 0.8, n), 0)
    start = chunk.past_dates(rng, n, 1095, f["established"].to_numpy())
    end = start + rng.integers(180, 1095, n).astype("timedelta64[D]")
    reps = chunk.reps(f)
    names = pl.Series([i.name for i in (*INDUSTRIES, GUARANTOR_INDUSTRY)])
    third = rng.random(n) < 0.4
    return frame({
        "企业名称(担保人)": g["name"], "统一社会信用代码(担保人)": g["uscc"], "__uscc": g["uscc"], "__name": g["name"],
        "贷款银行": banks,
        "企业规模": f["size"],
        "被担保人": f["name"], "被担保人统一社会信用代码/身份证": f["uscc"],
        "所在行业": names.gather(f["industry_idx"].to_numpy()),
        "业务品种": pick(rng, PRODUCTS, n, [0.6, 0.15, 0.1, 0.05, 0.1]),
        "新增担保额(万元)": amount,
        "贷款银行与受保企业贷款合同号": fmt("{b}{y}年借字第{k}号", b=short, y=start.astype("datetime64[Y]").astype(int) + 1970,
                                 k=zfill(rng.integers(1, 99_999, n), 5)),
        "担保责任发生时间": dates(start),
        "担保责任解除时间": dates(np.where(end <= chunk.as_of, end, np.datetime64("NaT"))),
        "是否关联担保": pl.Series(rng.random(n) < 0.03),
        "反担保措施": pick(rng, COUNTER, n, [0.5, 0.2, 0.15, 0.1, 0.05]),
        "第三方担保人": text_where(third, reps["name"]),
        "第三方担保人证件类型": text_where(third, RID_TYPE),
        "第三方担保人证件号码": text_where(third, reps["id_number"]),
        "缴纳的单笔存出保证金(万元)": money(amount * rng.choice([0.0, 0.05, 0.1], size=n, p=[0.5, 0.3, 0.2])),
        "收取存入保证金(万元)": money(amount * rng.choice([0.0, 0.1, 0.2], size=n, p=[0.4, 0.4, 0.2])),
        "担保费收入(万元)": money(amount * rng.uniform(0.008, 0.02, n)),
        "备注": None,
    }, n)


GENERATORS = {"27": firm_property, "28": firm_mortgages, "29": person_property, "30": person_mortgages,
              "35": guarantees}
