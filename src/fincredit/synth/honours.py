"""Ratings, recognitions and support: 16 环保信用评价, 17 科技研发, 18 高新技术企业认定,
19 专精特新, 20 新型农业经营主体, 21 获得财政资金项目, 22 法人知识产权质押, 26 示范信息.

Strong firms are more often recognized (see ``events.py``); the environmental grade follows
health, so weak plants are more often 红色 or 黑色.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fincredit.synth import agencies
from fincredit.synth.codes import patent_numbers
from fincredit.synth.context import Chunk, dates, fmt, frame, money, pick, zfill
from fincredit.synth.names import mobile_numbers
from fincredit.synth.regions import CITIES

RID_TYPE = "居民身份证"
ENV_GRADES = ("绿色", "蓝色", "黄色", "红色", "黑色")


def _year_of(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[Y]").astype(int) + 1970


def environment(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("16")
    f = chunk.where("environment_rated")
    n = f.height
    score = np.clip(np.round(82 + 9 * f["health"].to_numpy() + rng.normal(0, 5, n), 1), 0, 100)
    grade = np.select([score >= 90, score >= 75, score >= 60, score >= 45], [0, 1, 2, 3], 4)
    year = int(str(chunk.as_of)[:4]) - 1
    rated = np.datetime64(f"{year}-04-01") + rng.integers(0, 180, n).astype("timedelta64[D]")
    return frame({**chunk.subject(f), "评价分值": score, "评价等级": pl.Series(ENV_GRADES).gather(grade),
                  "评价时间": dates(rated)}, n)


SUPPORT = ("省级工程技术研究中心", "市级企业技术中心", "省科技成果转化专项资金", "参与制定行业标准", "省“双创人才”认定",
           "企业研究开发费用加计扣除")


def research(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("17")
    f = chunk.where(chunk.firms["tech_support"] | chunk.firms["high_tech"])
    n = f.height
    a, b = pick(rng, SUPPORT, n), pick(rng, SUPPORT, n)
    two = rng.random(n) < 0.4
    support = pl.Series(np.where(two & (a.to_numpy() != b.to_numpy()), fmt("{a}；{b}", a=a, b=b).to_numpy(), a.to_numpy()))
    return frame({**chunk.subject(f), "是否属于国家级高新技术企业": f["high_tech"], "获得科研支持信息": support}, n)


def _certified(chunk: Chunk, rng: np.random.Generator, f: pl.DataFrame) -> np.ndarray:
    """Year of the current three-year certificate (the latest of 2017, 2020, 2023 … cycles)."""
    year_now = int(str(chunk.as_of)[:4])
    founded = _year_of(f["established"].to_numpy())
    latest = year_now - 1 - rng.integers(0, 3, f.height)
    return np.maximum(latest, np.minimum(founded + 2, year_now - 1))


def high_tech(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("18")
    f = chunk.where("high_tech")
    n = f.height
    year = _certified(chunk, rng, f)
    issued = np.array([np.datetime64(f"{y}-11-01") for y in year], dtype="datetime64[D]") + rng.integers(
        0, 50, n).astype("timedelta64[D]")
    return frame({
        **chunk.subject(f),
        "认定证书编号": fmt("GR{y}32{s}", y=year, s=zfill(rng.integers(0, 1_000_000, n), 6)),
        "发证日期": dates(issued),
        "有效期": dates(issued + np.timedelta64(1095, "D") - 1),
        "认定机关": "江苏省科学技术厅、江苏省财政厅、国家税务总局江苏省税务局",
    }, n)


LEVELS = ("国家级专精特新“小巨人”企业", "省级专精特新中小企业", "市级专精特新中小企业")


def specialised(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("19")
    f = chunk.where("specialised")
    n = f.height
    level = np.where(f["health"].to_numpy() + rng.normal(0, 0.5, n) > 2.2, 0, np.where(rng.random(n) < 0.5, 1, 2))
    year = _certified(chunk, rng, f)
    granted = np.array([np.datetime64(f"{y}-07-01") for y in year], dtype="datetime64[D]") + rng.integers(
        0, 120, n).astype("timedelta64[D]")
    city = f["city_idx"].to_numpy()
    city_bureau, _ = agencies.per_city("{city}工业和信息化局")
    authority = np.select([level == 0, level == 1], ["工业和信息化部", "江苏省工业和信息化厅"],
                          city_bureau.gather(city).to_numpy())
    return frame({
        **chunk.subject(f),
        "认定证书编号": fmt("ZJTX-{y}-{c}-{s}", y=year, c=pl.Series([c.code[:4] for c in CITIES]).gather(city),
                        s=zfill(rng.integers(0, 100_000, n), 5)),
        "等级": pl.Series(LEVELS).gather(level),
        "认定内容": "专业化、精细化、特色化、新颖化中小企业认定",
        "有效起始日期": dates(granted),
        "有效截止日期": dates(granted + np.timedelta64(1095, "D") - 1),
        "认定机关": pl.Series(authority),
        "认定日期": dates(granted),
    }, n)


AGRI_CONTENT = ("水稻种植、销售", "蔬菜种植、销售", "水果种植、采摘", "生猪养殖", "水产养殖", "农机作业服务")


def agriculture(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("20")
    f = chunk.where("agri_entity")
    n = f.height
    reps = chunk.reps(f)
    full = agencies.per_district("{district}")[0].gather(f["district_idx"].to_numpy())
    registered = np.minimum(f["established"].to_numpy() + rng.integers(30, 400, n).astype("timedelta64[D]"), chunk.as_of)
    land = fmt("流转土地{a}亩，流转期限至{y}年", a=rng.integers(50, 2000, n), y=rng.integers(2028, 2040, n))
    return frame({
        "新型农业经营主体名称": f["name"], "统一社会信用代码": f["uscc"],
        "__uscc": f["uscc"], "__name": f["name"], "__rid": reps["id_number"], "__person": reps["name"],
        "类别": pick(rng, ("农业企业", "农民专业合作社", "家庭农场", "农业社会化服务组织"), n, [0.6, 0.2, 0.1, 0.1]),
        "负责人": reps["name"], "负责人证件类型": RID_TYPE, "负责人证件号码": reps["id_number"],
        "所在地": full,
        "经营内容": pick(rng, AGRI_CONTENT, n),
        "农村土地经营权信息": land,
        "农民住房财产权信息": pl.Series([None] * n, dtype=pl.String),
        "登记日期": dates(registered),
        "登记机关": fmt("{d}农业农村局", d=full),
    }, n)


FUNDS = (("省级工业和信息化产业转型升级专项资金", "江苏省工业和信息化厅", "智能化改造和数字化转型项目"),
         ("省科技成果转化专项资金", "江苏省科学技术厅", "关键技术研发及产业化项目"),
         ("省知识产权专项资金", "江苏省知识产权局", "高价值专利培育项目"),
         ("省体育产业发展专项资金", "江苏省体育局", "体育产业发展项目"))


def fiscal_funds(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("21")
    f = chunk.where("fiscal_funds")
    n = f.height
    which = rng.choice(len(FUNDS), size=n, p=[0.5, 0.3, 0.15, 0.05])
    approved = chunk.past_dates(rng, n, 1095, f["established"].to_numpy())
    reps = chunk.reps(f)
    contact = chunk.pop.persons[rng.integers(0, chunk.pop.persons.height, n)]["name"]
    return frame({
        **chunk.subject(f),
        "年度": _year_of(approved),
        "资金名称": pl.Series([FUNDS[w][0] for w in which], dtype=pl.String),
        "项目名称": fmt("{n}{p}", n=f["name"].str.replace("有限责任公司|股份有限公司|有限公司", ""),
                    p=pl.Series([FUNDS[w][2] for w in which], dtype=pl.String)),
        "获得资金金额(万元)": money(np.round(rng.lognormal(np.log(80), 0.8, n), 0)),
        "起始日期": dates(approved),
        "截止日期": dates(approved + np.timedelta64(730, "D")),
        "项目负责人姓名": reps["name"], "项目负责人证件类型": RID_TYPE, "项目负责人证件号码": reps["id_number"],
        "联系人": contact, "联系电话": mobile_numbers(rng, n),
        "批准机关全称": pl.Series([FUNDS[w][1] for w in which], dtype=pl.String),
        "批准日期": dates(approved),
    }, n)


def ip_pledges(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("22")
    f = chunk.where("ip_pledge")
    n = f.height
    patent = rng.random(n) < 0.8
    filed = rng.integers(2012, int(str(chunk.as_of)[:4]), n)
    number = pl.Series(np.where(patent, patent_numbers(rng, filed, np.where(rng.random(n) < 0.6, 1, 2)).to_numpy(),
                                zfill(rng.integers(10_000_000, 80_000_000, n), 8).to_numpy()))
    banks, bank_codes, _ = agencies.BANKS.pick(rng, f["city_idx"].to_numpy())
    published = chunk.past_dates(rng, n, 1095)
    return frame({
        "出质人名称": f["name"], "出质人统一社会信用代码": f["uscc"], "__uscc": f["uscc"], "__name": f["name"],
        "出质知识产权申请号或注册号": number,
        "知识产权种类": pl.Series(np.where(patent, "专利权", "商标专用权")),
        "质权人名称": banks, "质权人统一社会信用代码": bank_codes,
        "质权人登记期限": fmt("{a}至{b}", a=dates(published), b=dates(published + 1095)),
        "状态": pl.Series(np.where(published + 1095 < chunk.as_of, "已注销", "有效")),
        "公示日期": dates(published),
    }, n)


DEMONSTRATIONS = (("江苏省服务型制造示范企业", "江苏省工业和信息化厅"), ("江苏省智能制造示范工厂", "江苏省工业和信息化厅"),
                  ("江苏省电子商务示范企业", "江苏省商务厅"), ("江苏省信用管理示范企业", "江苏省发展和改革委员会"),
                  ("江苏省和谐劳动关系模范企业", "江苏省人力资源和社会保障厅"))


def demonstrations(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("26")
    f = chunk.where("demonstration")
    n = f.height
    which = rng.integers(0, len(DEMONSTRATIONS), n)
    return frame({
        "机构全称(中文)": f["name"], "统一社会信用代码": f["uscc"], "__uscc": f["uscc"], "__name": f["name"],
        "示范项目名称": pl.Series([DEMONSTRATIONS[w][0] for w in which], dtype=pl.String),
        "认定(评定)示范日期": dates(chunk.past_dates(rng, n, 1460, f["established"].to_numpy())),
        "认定(评定)部门": pl.Series([DEMONSTRATIONS[w][1] for w in which], dtype=pl.String),
    }, n)


GENERATORS = {"16": environment, "17": research, "18": high_tech, "19": specialised, "20": agriculture,
              "21": fiscal_funds, "22": ip_pledges, "26": demonstrations}
