"""Semantic checks of a guideline against a catalog (pure; see ``guideline.py`` for the codes).

Each check adds ``{path, code, message}`` problems; ``check_guideline`` returns all of them so that
an operator sees every mistake of an edited guideline at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from fincredit.catalog.definitions import CategoryDef
from fincredit.evaluation.guideline import (
    ASPECTS,
    DATE_TYPES,
    NUMERIC_TYPES,
    SIZE_CLASSES,
    WEIGHT_TOLERANCE,
    Condition,
    Guideline,
    Indicator,
)


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.items.append({"path": path, "code": code, "message": message})


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= WEIGHT_TOLERANCE * max(1.0, abs(a), abs(b))


def _check_weights(g: Guideline, out: _Problems) -> None:
    total = sum(d.weight for d in g.dimensions)
    if not _close(total, g.total_weight):
        out.add("dimensions", "weights_mismatch", f"各维度权重之和为 {total:g}，应等于 total_weight {g.total_weight:g}")
    for d in g.dimensions:
        inner = sum(i.weight for i in d.indicators)
        if not _close(inner, d.weight):
            out.add(f"dimensions.{d.id}", "weights_mismatch",
                    f"维度“{d.name}”的指标权重之和为 {inner:g}，应等于维度权重 {d.weight:g}")


def _check_ids(g: Guideline, out: _Problems) -> None:
    for kind, ids in (("维度", [d.id for d in g.dimensions]), ("指标", [i.id for i in g.indicators]),
                      ("等级", [x.grade for x in g.grades])):
        for dup in sorted({x for x in ids if ids.count(x) > 1}):
            out.add(dup, "duplicate_id", f"{kind}编号“{dup}”重复")


def _check_grades(g: Guideline, out: _Problems) -> None:
    scores = [x.min_score for x in g.grades]
    if any(a <= b for a, b in zip(scores, scores[1:], strict=False)):
        out.add("grades", "grade_order", "等级须从高到低排列，且最低分数线严格递减")
    if scores[-1] != g.score.min:
        out.add("grades", "grade_order", f"最低一级的分数线应为评分下限 {g.score.min:g}")
    if scores[0] > g.score.max:
        out.add("grades", "grade_order", f"最高一级的分数线不能高于满分 {g.score.max:g}")
    if g.reasons.max_against < 1:
        out.add("reasons", "schema_error", "max_against 至少为 1")


def _field(cats: Mapping[str, CategoryDef], code: str, name: str | None, path: str, out: _Problems,
           types: tuple[str, ...] | None = None) -> None:
    if name is None or code not in cats:
        return
    try:
        fd = cats[code].field(name)
    except KeyError:
        out.add(path, "unknown_field", f"信息类 {code}（{cats[code].name}）没有字段“{name}”")
        return
    if types and fd.type not in types:
        out.add(path, "field_type_mismatch", f"字段“{name}”的类型为 {fd.type}，此处需要 {'/'.join(types)}")


def _check_conditions(cats: Mapping[str, CategoryDef], code: str, conds: list[Condition], path: str,
                      out: _Problems) -> None:
    for k, c in enumerate(conds):
        _field(cats, code, c.field, f"{path}.where[{k}]", out)
        if c.op in ("in", "not_in") and not isinstance(c.value, list):
            out.add(f"{path}.where[{k}]", "bad_source", f"条件 {c.op} 的取值应为列表")
        if code in cats and c.op in ("eq", "ne", "in", "not_in"):
            try:
                fd = cats[code].field(c.field)
            except KeyError:
                continue
            values = c.value if isinstance(c.value, list) else [c.value]
            if fd.type == "enum" and any(v not in (fd.values or []) for v in values):
                out.add(f"{path}.where[{k}]", "field_type_mismatch", f"字段“{c.field}”没有取值 {values}")
            if fd.type == "boolean" and any(not isinstance(v, bool) for v in values):
                out.add(f"{path}.where[{k}]", "field_type_mismatch", f"是/否字段“{c.field}”的条件取值应为 true/false")


def _check_source(ind: Indicator, cats: Mapping[str, CategoryDef], path: str, out: _Problems) -> None:
    s = ind.source
    for code in s.categories():
        if code not in cats:
            out.add(path, "unknown_category", f"信息类“{code}”不在共享清单中")
    if s.kind == "count":
        if not s.parts:
            out.add(path, "bad_source", "count 指标至少要有一个 parts")
        for k, p in enumerate(s.parts):
            pp = f"{path}.parts[{k}]"
            _field(cats, p.category, p.date_field, pp, out, DATE_TYPES)
            _field(cats, p.category, p.active_until_field, pp, out, ("date",))
            _check_conditions(cats, p.category, p.where, pp, out)
            if p.recent_days and not p.date_field:
                out.add(pp, "bad_source", "recent_days 需要同时给出 date_field")
            if p.match == "legal_rep" and p.category in cats and cats[p.category].subject == "enterprise":
                out.add(pp, "bad_source", f"信息类 {p.category} 的主体是企业，不能按法定代表人匹配")
        return
    code = s.category or ""
    if not s.value_fields:
        out.add(path, "bad_source", "需要给出 field、fields 或 ratio 之一")
    if sum(bool(x) for x in (s.field, s.fields, s.ratio)) > 1:
        out.add(path, "bad_source", "field、fields、ratio 只能给出一个")
    numeric = NUMERIC_TYPES + ("date",) if s.transform == "age_years" else NUMERIC_TYPES
    types = None if (ind.categorical or s.transform == "size_class") else numeric
    for name in s.value_fields:
        _field(cats, code, name, path, out, types)
    _field(cats, code, s.order_by, f"{path}.order_by", out, DATE_TYPES)
    _field(cats, code, s.active_until_field, f"{path}.active_until_field", out, ("date",))
    _check_conditions(cats, code, s.where, path, out)
    if s.kind == "base" and code != "base":
        out.add(path, "bad_source", "base 指标只能取自登记注册基础信息（base）")
    if s.kind == "trend" and (s.history is None or not s.order_by):
        out.add(path, "bad_source", "trend 指标需要 history 和 order_by")
    if s.history and s.history.min_gap_days >= s.history.max_gap_days:
        out.add(path, "bad_source", "history.min_gap_days 应小于 max_gap_days")
    if s.recent_days and not s.order_by:
        out.add(path, "bad_source", "recent_days 需要同时给出 order_by")
    if s.agg == "best" and not ind.categorical:
        out.add(path, "bad_source", "agg: best 只适用于分类分档")


def _enum_domain(ind: Indicator, cats: Mapping[str, CategoryDef]) -> list[str] | None:
    s = ind.source
    if s.transform == "size_class":
        return list(SIZE_CLASSES)
    if s.kind == "count" or not s.field or s.category not in cats:
        return None
    try:
        fd = cats[s.category or ""].field(s.field)
    except KeyError:
        return None
    return list(fd.values or []) if fd.type == "enum" else None


def _check_bins(ind: Indicator, cats: Mapping[str, CategoryDef], grades: set[str], path: str,
                out: _Problems) -> None:
    for k, b in enumerate(ind.bins):
        if not 0 <= b.points <= ind.max_points:
            out.add(f"{path}.bins[{k}]", "points_out_of_range",
                    f"分档得分 {b.points:g} 超出 [0, {ind.max_points:g}]")
        if b.max_grade is not None and b.max_grade not in grades:
            out.add(f"{path}.bins[{k}]", "unknown_grade", f"等级上限“{b.max_grade}”不在等级表中")
    if not 0 <= ind.missing_points <= ind.max_points:
        out.add(path, "points_out_of_range", f"无数据得分 {ind.missing_points:g} 超出 [0, {ind.max_points:g}]")
    kinds = {b.categorical for b in ind.bins}
    if len(kinds) > 1:
        out.add(path, "bins_mixed", "分档不能同时使用数值区间和分类取值")
        return
    if ind.categorical:
        seen: set[str] = set()
        for k, b in enumerate(ind.bins):
            for v in b.values or []:
                if v in seen:
                    out.add(f"{path}.bins[{k}]", "bins_overlap", f"取值“{v}”出现在多个分档中")
                seen.add(v)
        domain = _enum_domain(ind, cats)
        if domain is not None:
            missing = [v for v in domain if v not in seen]
            if missing:
                out.add(path, "bins_values_missing", f"分档未覆盖取值：{'、'.join(missing)}")
            extra = sorted(seen - set(domain))
            if extra:
                out.add(path, "bins_values_missing", f"分档含有字段不存在的取值：{'、'.join(extra)}")
        return
    lo_d, hi_d = ind.domain or (None, None)
    lows = [-math.inf if b.lo is None else b.lo for b in ind.bins]
    highs = [math.inf if b.hi is None else b.hi for b in ind.bins]
    for k, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
        if lo >= hi:
            out.add(f"{path}.bins[{k}]", "bins_overlap", f"分档下限 {lo:g} 不小于上限 {hi:g}")
    for k in range(1, len(lows)):
        if lows[k] > highs[k - 1]:
            out.add(f"{path}.bins[{k}]", "bins_gap", f"区间 [{highs[k - 1]:g}, {lows[k]:g}) 未被任何分档覆盖")
        elif lows[k] < highs[k - 1]:
            out.add(f"{path}.bins[{k}]", "bins_overlap", f"分档与前一分档重叠（{lows[k]:g} < {highs[k - 1]:g}）")
    want_lo = -math.inf if lo_d is None else lo_d
    want_hi = math.inf if hi_d is None else hi_d
    if lows[0] > want_lo:
        out.add(path, "bins_domain", f"分档未覆盖取值范围的下端（{want_lo:g} 至 {lows[0]:g}）")
    if highs[-1] < want_hi:
        out.add(path, "bins_domain", f"分档未覆盖取值范围的上端（{highs[-1]:g} 以上）")


def check_guideline(g: Guideline, categories: Mapping[str, CategoryDef]) -> list[dict[str, str]]:
    """Every semantic problem of a structurally valid guideline against a catalog."""
    out = _Problems()
    _check_ids(g, out)
    _check_weights(g, out)
    _check_grades(g, out)
    grades = {x.grade for x in g.grades}
    for code in g.thin_file.key_categories:
        if code not in categories:
            out.add("thin_file.key_categories", "unknown_category", f"信息类“{code}”不在共享清单中")
    if g.thin_file.min_key_categories > len(g.thin_file.key_categories):
        out.add("thin_file", "schema_error", "min_key_categories 不能大于关键信息类的个数")
    if set(g.aspects) != set(ASPECTS):
        out.add("aspects", "schema_error", f"aspects 应恰好给出 {'、'.join(ASPECTS)}")
    for d in g.dimensions:
        for ind in d.indicators:
            path = f"dimensions.{d.id}.{ind.id}"
            _check_source(ind, categories, f"{path}.source", out)
            _check_bins(ind, categories, grades, path, out)
    return out.items
