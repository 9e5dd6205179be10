"""Credit supervision lists: 23 行政强制信息, 24 信用承诺信息, 25 信用承诺履约践诺情况信息,
36 企业严重失信惩戒名单信息, 37 自然人严重违法惩戒名单信用信息.

Commitments (24) and their fulfilment (25) come from one shared table, so every fulfilment row
refers to a commitment actually made; firms planted with ``commitment_broken`` did not keep it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fincredit.synth import agencies
from fincredit.synth.context import Chunk, dates, fmt, frame, pick, text_where
from fincredit.synth.regions import CITIES

RID_TYPE = "居民身份证"


@dataclass(frozen=True, slots=True)
class Enforcer:
    agency: str  # template with {city}
    abbr: str  # in document numbers: 宁市监强决〔2025〕12号
    reason: str
    basis: str
    ways: tuple[str, ...]


ENFORCERS = (
    Enforcer("{city}市场监督管理局", "市监强决", "涉嫌生产、销售不符合安全标准的产品", "《中华人民共和国行政强制法》第二十二条",
             ("查封场所、设施或者财物", "扣押财物")),
    Enforcer("国家税务总局{city}税务局", "税强执", "逾期未缴纳税款及滞纳金，经催告仍未履行", "《中华人民共和国税收征收管理法》第四十条",
             ("冻结存款、汇款", "划拨存款、汇款", "加处罚款或者滞纳金")),
    Enforcer("{city}生态环境局", "环强决", "违法排放污染物，造成或者可能造成严重污染", "《中华人民共和国环境保护法》第二十五条",
             ("查封场所、设施或者财物", "扣押财物")),
    Enforcer("{city}应急管理局", "应急强决", "存在重大事故隐患且拒不整改", "《中华人民共和国安全生产法》第七十条",
             ("查封场所、设施或者财物",)),
)


def _year(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[Y]").astype(int) + 1970


def enforcement(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("23")
    f = chunk.where("enforcement")
    n = f.height
    reps = chunk.reps(f)
    which = rng.choice(len(ENFORCERS), size=n, p=[0.35, 0.4, 0.15, 0.1])
    city = f["city_idx"].to_numpy()
    short = pl.Series([c.short for c in CITIES]).gather(city)
    names, codes = [], []
    for e in ENFORCERS:
        a, b = agencies.per_city(e.agency)
        names.append(a.gather(city).to_numpy())
        codes.append(b.gather(city).to_numpy())
    pick_of = np.arange(n)
    when = chunk.past_dates(rng, n, 1095, f["established"].to_numpy())
    ways = np.array([rng.choice(ENFORCERS[w].ways) for w in which]) if n else np.array([], dtype=str)
    return frame({
        **chunk.subject(f),
        "法定代表人姓名": reps["name"], "法定代表人证件类型": RID_TYPE, "法定代表人证件号码": reps["id_number"],
        "行政强制决定书名称": pl.Series(np.where(np.isin(ways, ["冻结存款、汇款", "划拨存款、汇款"]), "行政强制执行决定书",
                                             "查封（扣押）决定书") if n else []),
        "行政强制文书号": fmt("{s}{a}〔{y}〕{k}号", s=short, a=pl.Series([ENFORCERS[w].abbr for w in which], dtype=pl.String),
                         y=_year(when), k=rng.integers(1, 900, n)),
        "行政强制执行理由": pl.Series([ENFORCERS[w].reason for w in which], dtype=pl.String),
        "行政强制执行依据": pl.Series([ENFORCERS[w].basis for w in which], dtype=pl.String),
        "行政强制执行方式": pl.Series(ways, dtype=pl.String),
        "执行时间": dates(when),
        "行政机关名称": pl.Series(np.array(names)[which, pick_of] if n else [], dtype=pl.String),
        "行政机关统一社会信用代码": pl.Series(np.array(codes)[which, pick_of] if n else [], dtype=pl.String),
    }, n)


KINDS = ("审批替代型", "容缺受理型", "信用修复型", "行业自律型", "主动型")
PERMITS = ("食品经营许可", "道路货物运输经营许可", "建筑业企业资质", "排污许可", "公众聚集场所投入使用、营业前消防安全检查")


def _commitments(chunk: Chunk) -> pl.DataFrame:
    def build(rng: np.random.Generator) -> pl.DataFrame:
        f = chunk.where("commitment")
        count = np.where(rng.random(f.height) < 0.3, 2, 1)
        f = f[np.repeat(np.arange(f.height), count)]
        n = f.height
        weak = f["health"].to_numpy() < -1
        kind = np.where(weak & (rng.random(n) < 0.5), 2, rng.choice(5, size=n, p=[0.45, 0.2, 0.05, 0.15, 0.15]))
        permit = pick(rng, PERMITS, n)
        reason = np.select([kind == 0, kind == 1, kind == 2, kind == 3],
                           [fmt("办理{p}（告知承诺制）", p=permit).to_numpy(), fmt("申请{p}容缺受理", p=permit).to_numpy(),
                            np.full(n, "申请行政处罚信息信用修复"), np.full(n, "行业自律信用承诺")], "主动公开信用承诺")
        made = chunk.past_dates(rng, n, 1095, f["established"].to_numpy())
        office, office_codes = agencies.per_district("{district}行政审批局")
        district = f["district_idx"].to_numpy()
        broken = f["commitment_broken"].to_numpy()
        status = np.where(broken, np.where(rng.random(n) < 0.8, 1, 3), np.where(rng.random(n) < 0.85, 0, 2))
        evaluated = broken | (rng.random(n) < 0.6)
        return frame({
            **chunk.subject(f), "__idx": f["idx"],
            "承诺人名称": f["name"], "承诺人代码(统一社会信用代码)": f["uscc"],
            "承诺类别": pl.Series(KINDS).gather(kind), "承诺类型": pl.Series(KINDS).gather(kind),
            "承诺事由": pl.Series(reason),
            "承诺内容": "本单位承诺所提交的材料真实、合法、有效，严格遵守相关法律法规，自觉接受监管。",
            "违约责任": "如违反承诺，自愿承担相应法律责任，接受依法依规作出的处理，并记入信用记录。",
            "承诺作出日期": dates(made),
            "承诺有效期": pl.Series(np.where(rng.random(n) < 0.3, "长期",
                                         fmt("{a}至{b}", a=dates(made), b=dates(made + 365)).to_numpy())),
            "承诺受理单位": office.gather(district), "承诺受理单位统一社会信用代码": office_codes.gather(district),
            "公开类型": pick(rng, ("社会公开", "政务共享"), n, [0.8, 0.2]),
            "承诺书文件": text_where(rng.random(n) < 0.5, "信用承诺书.pdf"),
            "备注": None,
            "_status": status, "_evaluated": evaluated,
        }, n).unique(["承诺人代码(统一社会信用代码)", "承诺类别", "承诺作出日期"], keep="first", maintain_order=True)

    return chunk.shared("commitments", build)


def commitments(chunk: Chunk) -> pl.DataFrame:
    return _commitments(chunk)


STATUS = ("已履行", "未履行", "履行中", "部分履行")


def fulfilment(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("25")
    c = _commitments(chunk).filter(pl.col("_evaluated"))
    n = c.height
    status = c["_status"].to_numpy()
    failed = np.isin(status, [1, 3])
    made = c["承诺作出日期"].to_numpy()
    judged = np.minimum(made + rng.integers(30, 365, n).astype("timedelta64[D]"), chunk.as_of)
    return c.with_columns(
        承诺履行状态=pl.Series(STATUS).gather(status),
        未履行的承诺内容=text_where(failed, "未在承诺期限内补齐相关材料或达到承诺条件"),
        违约责任追究内容=text_where(failed, "依法撤销相关许可决定，记入失信记录"),
        履约践诺情况认定日期=dates(judged),
        履约践诺情况认定单位=c["承诺受理单位"],
        履约践诺情况认定单位统一社会信用代码=c["承诺受理单位统一社会信用代码"],
    )


LISTS = (  # list, agency template, document abbreviation, basis
    ("失信被执行人", "{district}人民法院", "执", "《最高人民法院关于公布失信被执行人名单信息的若干规定》"),
    ("重大税收违法失信主体", "国家税务总局{district}税务局", "税稽罚", "《重大税收违法失信主体信息公布管理办法》"),
    ("严重违法失信主体名单", "{district}市场监督管理局", "市监信", "《市场监督管理严重违法失信名单管理办法》"),
    ("拖欠农民工工资失信联合惩戒对象名单", "{district}人力资源和社会保障局", "人社欠薪", "《拖欠农民工工资失信联合惩戒对象名单管理暂行办法》"),
)


def _listing(chunk: Chunk, f: pl.DataFrame, rng: np.random.Generator, p: list[float]) -> dict[str, pl.Series]:
    n = f.height
    which = rng.choice(len(LISTS), size=n, p=p)
    district = f["district_idx"].to_numpy()
    names, codes = [], []
    for _, template, _, _ in LISTS:
        a, b = agencies.per_district(template)
        names.append(a.gather(district).to_numpy())
        codes.append(b.gather(district).to_numpy())
    confirmed = chunk.past_dates(rng, n, 1095, f["established"].to_numpy())
    year = _year(confirmed)
    doc = np.array([lst[2] for lst in LISTS])[which]
    short = pl.Series([c.short for c in CITIES]).gather(f["city_idx"].to_numpy())
    number = np.where(doc == "执", fmt("({y})苏{c}执{k}号", y=year, c=f["district"].str.slice(2, 4),
                                       k=rng.integers(1, 9000, n)).to_numpy(),
                      fmt("{s}{d}〔{y}〕{k}号", s=short, d=pl.Series(doc, dtype=pl.String), y=year,
                          k=rng.integers(1, 500, n)).to_numpy())
    facts = np.array(["有履行能力而拒不履行生效法律文书确定的义务", "虚开增值税专用发票，偷逃税款",
                      "提交虚假材料取得登记，情节严重", "拖欠农民工工资数额较大，经责令仍不支付"])[which]
    idx = np.arange(n)
    return {
        "失信名单类别": pl.Series(np.array([lst[0] for lst in LISTS])[which], dtype=pl.String),
        "认定文号": pl.Series(number, dtype=pl.String),
        "认定依据": pl.Series(np.array([lst[3] for lst in LISTS])[which], dtype=pl.String),
        "行政处罚处罚或法院判决决定的主要内容": pl.Series(np.where(doc == "执", "判令被告支付货款及利息", "处以罚款并责令改正"),
                                              dtype=pl.String),
        "违法失信行为事实": pl.Series(facts, dtype=pl.String),
        "确认严重违法失信日期": dates(confirmed),
        "认定部门": pl.Series(np.array(names)[which, idx] if n else [], dtype=pl.String),
        "认定部门统一社会信用代码": pl.Series(np.array(codes)[which, idx] if n else [], dtype=pl.String),
        "公示截止日期": dates(confirmed + np.timedelta64(1095, "D")),
        "备注": pl.Series([None] * n, dtype=pl.String),
    }


def dishonest_firms(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("36")
    f = chunk.where("dishonest_firm")
    reps = chunk.reps(f)
    return frame({
        **chunk.subject(f), **_listing(chunk, f, rng, [0.55, 0.15, 0.2, 0.1]),
        "法定代表人": reps["name"], "法定代表人证件类型": RID_TYPE, "法定代表人证件号码": reps["id_number"],
    }, f.height)


def serious_persons(chunk: Chunk) -> pl.DataFrame:
    rng = chunk.rng("37")
    f = chunk.where(chunk.firms["serious_person"] & chunk.firms["primary"])
    reps = chunk.reps(f)
    return frame({
        "姓名": reps["name"], "证件类型": RID_TYPE, "证件号码": reps["id_number"],
        **_listing(chunk, f, rng, [0.7, 0.1, 0.05, 0.15]),
        "__uscc": f["uscc"], "__name": f["name"], "__rid": reps["id_number"], "__person": reps["name"],
    }, f.height)


GENERATORS = {"23": enforcement, "24": commitments, "25": fulfilment, "36": dishonest_firms, "37": serious_persons}
