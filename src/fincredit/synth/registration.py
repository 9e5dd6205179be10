"""Market regulation (省市场监管局): the registration base and the deregistration and suspension
notices (categories base, 5 简易注销公告, 6 歇业公告)."""

from __future__ import annotations

import numpy as np
import polars as pl

from fincredit.synth.context import Chunk, dates, fmt, frame, pick


def base(chunk: Chunk) -> pl.DataFrame:
    f = chunk.firms
    reps = chunk.reps(f)
    return frame({
        **chunk.subject(f),
        "法定代表人姓名": reps["name"],
        "法定代表人证件类型": "居民身份证",
        "法定代表人证件号码": reps["id_number"],
        "成立日期": f["established"],
        "注册资本(万元)": f["capital_wan"],
        "登记状态": f["status"],
        "行业代码": f["industry"],
        "住所所在地行政区划代码": f["district"],
        "从业人数": f["employees"],
        "营业收入(万元)": f["revenue_wan"],
        "登记机关": f["registrar"],
    }, f.height)


def simple_deregistration(chunk: Chunk) -> pl.DataFrame:
    f = chunk.where("simple_deregistration")
    rng = chunk.rng("5")
    start = chunk.past_dates(rng, f.height, 730, f["established"].to_numpy() + np.timedelta64(90, "D"))
    details = ("全体投资人承诺：企业不存在未结清清算费用、职工工资、社会保险费用、法定补偿金、应缴纳税款"
               "（滞纳金、罚款），不存在未了结的债权债务。")
    return frame({
        **chunk.subject(f),
        "公告日期自": dates(start),
        "公告日期至": dates(start + np.timedelta64(20, "D")),
        "公告详情": details,
        "公告机关全称": f["registrar"],
    }, f.height)


SUSPENSION_REASONS = ("经营困难", "资金周转困难", "公共卫生事件影响", "自然灾害", "事故灾难", "经营场所拆迁")


def suspension(chunk: Chunk) -> pl.DataFrame:
    f = chunk.where("suspension")
    rng = chunk.rng("6")
    n = f.height
    applied = chunk.past_dates(rng, n, 900, f["established"].to_numpy() + np.timedelta64(180, "D"))
    begin = applied + rng.integers(1, 15, n).astype("timedelta64[D]")
    end = begin + rng.integers(180, 1095, n).astype("timedelta64[D]")
    announced = applied + rng.integers(1, 6, n).astype("timedelta64[D]")
    reason = pick(rng, SUSPENSION_REASONS, n, [5, 3, 2, 0.5, 0.3, 0.7])
    return frame({
        **chunk.subject(f),
        "公告内容": fmt("{name}因{reason}申请歇业，歇业期间不得从事经营活动。", name=f["name"], reason=reason),
        "歇业原因": reason,
        "申请日期": dates(applied),
        "歇业开始日期": dates(begin),
        "歇业截止日期": dates(end),
        "公告日期": dates(announced),
        "公告机关全称": f["registrar"],
    }, n)


GENERATORS = {"base": base, "5": simple_deregistration, "6": suspension}
