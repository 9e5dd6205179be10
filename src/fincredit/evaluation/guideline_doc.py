"""The guideline as a readable document (in Chinese), generated from ``guideline.yaml``.

Pure. ``to_markdown`` writes ``docs/guideline.md`` (``fincredit evaluate guideline-doc``) so that the
published text cannot drift from the data the engine scores with (a test regenerates and compares);
``to_json`` serves ``GET /api/v1/guideline``. The HTML page ``/guideline`` (web.pages.public) renders
the same ``Guideline`` object.
"""

from __future__ import annotations

from typing import Any

from fincredit.catalog.definitions import load_annex
from fincredit.evaluation.guideline import Bin, Guideline, Indicator, Source

Block = tuple[str, Any]
ROLE_LABELS = {"standard": "加减分", "penalty": "只扣分（负面清单）", "bonus": "只加分（荣誉）"}
OPS = {"eq": "为", "ne": "不为", "in": "为", "not_in": "不为"}


def _num(value: float, unit: str | None = None) -> str:
    if unit == "变化率":
        return f"{value * 100:g}%"
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
    return text + (unit if unit and unit not in ("条", "次") else "")


def _names() -> dict[str, str]:
    return {c.code: c.name for c in load_annex().categories}


def _value_text(v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, list):
        return "、".join(_value_text(x) for x in v)
    return str(v)


def _conditions(where: list, active_until: str | None, date_field: str | None, days: int | None) -> str:
    parts = [f"“{c.field}”{OPS[c.op]}{_value_text(c.value)}" for c in where]
    if date_field and days:
        parts.append(f"“{date_field}”在评价日前 {days} 天内")
    if active_until:
        parts.append(f"“{active_until}”为空或不早于评价日")
    return "，".join(parts)


def describe_source(s: Source, names: dict[str, str]) -> str:
    def cat(code: str | None) -> str:
        return f"{names.get(code or '', code)}（{code}）"

    if s.kind == "base":
        what = {"age_years": "按成立日期计算的年数", "size_class": "按从业人数、营业收入和行业划分的企业规模"}
        return f"{cat(s.category)}：{what.get(s.transform or '', '“' + (s.field or '') + '”')}"
    if s.kind == "count":
        items = []
        for p in s.parts:
            who = "法定代表人" if p.match == "legal_rep" else "企业"
            cond = _conditions(p.where, p.active_until_field, p.date_field, p.recent_days)
            items.append(f"{cat(p.category)}中关于{who}的记录" + (f"（{cond}）" if cond else ""))
        return "记录条数之和：" + "；".join(items)
    if s.ratio:
        value = f"“{s.ratio[0]}”合计 ÷ “{s.ratio[1]}”合计 − 1"
    else:
        value = " + ".join(f"“{f}”" for f in s.value_fields)
    pick = f"取“{s.order_by}”最新的记录" if s.order_by else "取全部当前记录"
    if s.agg == "best":
        pick += "中得分最高的取值"
    elif s.order_by and s.agg == "sum" and not s.ratio and not s.field:
        pick += "（多条时相加）"
    elif s.order_by and s.agg == "sum" and not s.ratio and s.category in ("14", "31", "32"):
        pick += "（多个户号时相加）"
    cond = _conditions(s.where, s.active_until_field, s.order_by if s.recent_days else None, s.recent_days)
    text = f"{cat(s.category)}：{value}，{pick}" + (f"；限{cond}" if cond else "")
    if s.kind == "trend" and s.history:
        text += (f"；与“{s.order_by}”早 {s.history.min_gap_days}～{s.history.max_gap_days} 天的历史记录"
                 f"（已被更新的记录）相比的变化率")
    return text


def bin_condition(ind: Indicator, b: Bin) -> str:
    if b.values is not None:
        return "、".join(b.values)
    if b.lo is None and b.hi is None:
        return "任意值"
    if b.lo is None:
        return f"< {_num(b.hi, ind.unit)}"  # type: ignore[arg-type]
    if b.hi is None:
        return f"≥ {_num(b.lo, ind.unit)}"
    return f"≥ {_num(b.lo, ind.unit)} 且 < {_num(b.hi, ind.unit)}"


def _worth(g: Guideline, ind: Indicator, points: float) -> str:
    return f"{points / ind.max_points * g.full_value(ind):g}"


def blocks(g: Guideline) -> list[Block]:
    names = _names()
    aspect = g.aspects
    out: list[Block] = [
        ("h1", g.title),
        ("p", f"版本 {g.version}；{g.issued_by}发布；自 {g.effective_from.isoformat()} 起施行。"),
        ("note", "本文由 src/fincredit/evaluation/guideline.yaml 生成（fincredit evaluate guideline-doc），"
                 "与平台评分所用的指引数据一致，请勿手工修改。"),
        ("h2", "一、总则"),
        ("p", "为落实《江苏省加强信用信息共享应用促进中小微企业融资若干措施》第 9 条“出台企业信用评价指引，"
              "融资信用服务平台按照指引对平台注册企业开展基础性信用评价，供接入机构参考使用”，制定本指引。"),
        ("p", "评价对象：平台企业总体（企业登记注册基础信息）中登记状态为“存续”或“在业”的全部企业。"
              "评价结果包括信用分、信用等级、主要扣分理由和最强加分理由、数据覆盖情况、指引版本和评价时间，"
              "经企业授权供接入机构参考使用，企业可免费查询自身的评价结果及其历史。"),
        ("p", "依据："), ("ul", g.basis),
        ("p", "主要取舍："), ("ul", g.choices),
        ("h2", "二、评价维度与指标"),
        ("p", f"评价指标分为 {len(g.dimensions)} 个维度、{len(g.indicators)} 项指标，权重合计 {g.total_weight:g}，"
              f"满分 {g.score.max:g} 分；每个维度归入 GB/T 23794-2023 的守信意愿、守信能力或守信表现。"),
        ("table", (["维度", "GB/T 23794-2023 方面", "权重", "满分", "说明"],
                   [[d.name, aspect[d.aspect], f"{d.weight:g}", f"{d.weight * g.points_per_weight:g}", d.description]
                    for d in g.dimensions])),
        ("table", (["方面", "权重合计", "维度"],
                   [[label, f"{sum(d.weight for d in g.dimensions if d.aspect == key):g}",
                     "、".join(d.name for d in g.dimensions if d.aspect == key)] for key, label in aspect.items()])),
    ]
    for n, d in enumerate(g.dimensions, start=1):
        out.append(("h3", f"{n}. {d.name}（{aspect[d.aspect]}，权重 {d.weight:g}）"))
        out.append(("table", (["指标", "编号", "数据来源与口径", "权重", "满分", "性质"],
                              [[i.name, i.id, describe_source(i.source, names) + (f"。{i.description}" if i.description
                                                                                  else ""),
                                f"{i.weight:g}", f"{g.full_value(i):g}", ROLE_LABELS[i.role]] for i in d.indicators])))
    out += [
        ("h2", "三、计分规则"),
        ("p", f"每项指标按下列分档取得分档得分（0 至该指标满档分），折合总分 = 指标权重 × 分档得分 ÷ 满档分 × "
              f"{g.points_per_weight:g}；信用分为各指标折合总分之和，四舍五入取整。数值分档为左闭右开区间"
              "（含下限、不含上限）；低于第一档下限的数值计入第一档。分类分档按字段取值归档，未列明的取值按无数据处理。"),
    ]
    for ind in g.indicators:
        rows = [[str(k + 1), bin_condition(ind, b), b.label, f"{b.points:g}", _worth(g, ind, b.points),
                 b.max_grade or ""] for k, b in enumerate(ind.bins)]
        if ind.may_be_missing:
            rows.append(["无数据", "没有符合口径的记录", ind.missing_label, f"{ind.missing_points:g}",
                         _worth(g, ind, ind.missing_points), ""])
        out.append(("h4", f"{ind.name}（{ind.id}）"))
        out.append(("table", (["分档", "条件", "说明", "分档得分", "折合总分", "等级上限"], rows)))
    caps = [[ind.name, b.label, b.max_grade] for ind in g.indicators for b in ind.bins if b.max_grade]
    grades = g.grades
    out += [
        ("h2", "四、等级划分"),
        ("table", (["等级", "信用分", "含义"],
                   [[x.grade, f"{x.min_score:g}～{(grades[k - 1].min_score - 1 if k else g.score.max):g}", x.meaning]
                    for k, x in enumerate(grades)])),
        ("p", "等级上限：存在下列情形之一的，无论信用分多高，等级不高于所列等级（信用分同时降至该等级的最高分）。"),
        ("table", (["指标", "情形", "等级不高于"], caps)),
        ("h2", "五、评价理由"),
        ("p", f"每个评价结果列出至多 {g.reasons.max_against} 条主要扣分理由：在实得分低于该指标满分 "
              f"{g.reasons.for_min_share:.0%} 的指标中，触发等级上限的在前，其余按扣分（该指标满分与实得折合分之差）"
              "从大到小排列，如“存在欠税记录（扣 70 分）”；荣誉类指标未获得不列为扣分理由。"
              f"另列一条最强加分理由：实得分不低于该指标满分 {g.reasons.for_min_share:.0%} 的非负面清单指标中折合分最高者，"
              "如“连续正常缴税 24 个月以上（得 50 分）”。"),
        ("h2", "六、数据覆盖与薄档案处理"),
        ("p", "每个评价结果报告数据覆盖情况：哪些信息类为本次评价提供了符合口径的记录。负面清单类指标以现有记录计，"
              "没有记录视为未发现该类事项；其余指标没有符合口径的数据时按下表“无数据得分”计分，该分值低于中等水平，"
              "不按平均水平处理。"),
        ("p", f"薄档案：关键信息类（{'、'.join(f'{names.get(c, c)}（{c}）' for c in g.thin_file.key_categories)}）中"
              f"有数据的少于 {g.thin_file.min_key_categories} 类的，标记为薄档案（thin_file），照常计分定级，"
              f"等级后注明“{g.thin_file.note}”，提示接入机构结合其他信息使用。"),
        ("table", (["指标", "无数据时", "无数据得分", "折合总分"],
                   [[i.name, i.missing_label, f"{i.missing_points:g}", _worth(g, i, i.missing_points)]
                    for i in g.indicators if i.may_be_missing])),
        ("h2", "七、模型版本"),
        ("p", f"本指引版本号为 {g.version}，评价结果中的 model_version 为 guideline-{g.version}。"
              "指引的任何改动（指标、分档、得分、权重、等级）都须更换版本号；平台保存每个用过的版本全文，"
              "每个评价结果记录所用版本、评价时间和各指标所在分档，可随时据以解释；重新评价时旧结果保留为历史，不再是当前结果。"),
        ("p", f"内容摘要（SHA-256）：{g.content_hash()}"),
    ]
    return out


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(g: Guideline) -> str:
    lines: list[str] = []
    prefix = {"h1": "# ", "h2": "## ", "h3": "### ", "h4": "#### "}
    for kind, body in blocks(g):
        if kind in prefix:
            lines += [prefix[kind] + body, ""]
        elif kind == "p":
            lines += [body, ""]
        elif kind == "note":
            lines += [f"> {body}", ""]
        elif kind == "ul":
            lines += [f"- {item}" for item in body] + [""]
        elif kind == "table":
            headers, rows = body
            lines.append("| " + " | ".join(headers) + " |")
            lines.append("|" + "|".join("---" for _ in headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def to_json(g: Guideline) -> dict[str, Any]:
    """The guideline for ``GET /api/v1/guideline``: the document plus derived figures."""
    data = g.model_dump(mode="json")
    data["model_version"] = f"guideline-{g.version}"
    data["content_hash"] = g.content_hash()
    data["points_per_weight"] = g.points_per_weight
    for d in data["dimensions"]:
        d["aspect_label"] = g.aspects[d["aspect"]]
        d["max_points"] = d["weight"] * g.points_per_weight
        for i in d["indicators"]:
            i["full_value"] = i["weight"] * g.points_per_weight
    return data
