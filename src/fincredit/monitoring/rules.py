"""The risk rules (风险研判规则) as validated, versioned data, and matching a record against them.

Pure: no ORM, no web. ``load_rules(path)`` reads ``rules.yaml`` (or another file) and checks every
rule against the catalog — a malformed rule is refused with a ``RuleSetError`` naming the rule and
the problem, so a bad file never half-loads. ``record_matches`` and ``render_evidence`` are what the
evaluation job applies to each new record.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fincredit.catalog.definitions import AnnexDocument, CategoryDef, load_annex
from fincredit.monitoring.trends import MEASURES

RULES_PATH = Path(__file__).parent / "rules.yaml"
Severity = Literal["high", "medium", "low"]
Op = Literal["is_true", "not_true", "equals", "not_equals", "in", "present"]
TRUE_TEXTS = frozenset({"是", "y", "yes", "true", "1"})
TREND_PLACEHOLDERS = frozenset({"periods", "drop"})
GRADE_PLACEHOLDERS = frozenset({"from_grade", "to_grade"})


class RuleSetError(ValueError):
    """A rules file that cannot be used; the message says which rule and why (Chinese)."""


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1)
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _value(self) -> Condition:
        needs_value = self.op in ("equals", "not_equals", "in")
        if needs_value and self.value is None:
            raise ValueError(f"条件“{self.field} {self.op}”需要给出 value")
        if self.op == "in" and not isinstance(self.value, list):
            raise ValueError(f"条件“{self.field} in”的 value 必须是列表")
        if not needs_value and self.value is not None:
            raise ValueError(f"条件“{self.field} {self.op}”不接受 value")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    version: int = Field(ge=1)
    type: Literal["record", "trend", "grade"]
    title: str = Field(min_length=1, max_length=100)
    severity: Severity
    evidence: str = Field(min_length=1, max_length=200)
    category: str | None = None
    subjects: list[Literal["enterprise", "legal_representative"]] = Field(default_factory=lambda: ["enterprise"])
    conditions: list[Condition] = Field(default_factory=list)
    transition: bool = False
    measure: str | None = None
    compare: Literal["lag", "mean"] | None = None
    periods: int | None = Field(default=None, ge=1, le=36)
    min_drop_percent: float | None = Field(default=None, gt=0, le=100)
    min_steps: int | None = Field(default=None, ge=1, le=10)

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if self.type in ("record", "trend") and not self.category:
            raise ValueError(f"{self.type} 类规则必须指定信息类 category")
        if self.type == "trend":
            missing = [k for k in ("measure", "compare", "periods", "min_drop_percent") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"趋势规则缺少：{'、'.join(missing)}")
        elif self.type == "grade":
            if self.category or self.conditions or self.min_steps is None:
                raise ValueError("等级下调规则只需 min_steps，不能指定 category 或 conditions")
        if self.type != "trend" and any(getattr(self, k) is not None
                                        for k in ("measure", "compare", "periods", "min_drop_percent")):
            raise ValueError("measure、compare、periods、min_drop_percent 只用于趋势规则")
        if self.type != "record" and (self.transition or self.subjects != ["enterprise"]):
            raise ValueError("transition 和 subjects 只用于记录规则")
        return self

    @property
    def placeholders(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.evidence) if name is not None}


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ruleset: str
    version: int = Field(ge=1)
    rules: list[Rule] = Field(min_length=1)

    def for_category(self, code: str) -> list[Rule]:
        return [r for r in self.rules if r.category == code]

    @property
    def grade_rules(self) -> list[Rule]:
        return [r for r in self.rules if r.type == "grade"]


def _check_against_catalog(rule: Rule, annex: AnnexDocument) -> None:
    if rule.type == "grade":
        bad = rule.placeholders - GRADE_PLACEHOLDERS
        if bad:
            raise ValueError(f"证据文字中的占位符不可用：{'、'.join(sorted(bad))}")
        return
    cat = next((c for c in annex.categories if c.code == rule.category), None)
    if cat is None:
        raise ValueError(f"信息类“{rule.category}”不在共享清单中")
    names = {f.name for f in cat.fields}
    for cond in rule.conditions:
        if cond.field not in names:
            raise ValueError(f"字段“{cond.field}”不在信息类 {cat.code}（{cat.name}）中")
    if "legal_representative" in rule.subjects and cat.subject != "person":
        raise ValueError(f"法定代表人规则只能用于自然人信息类，信息类 {cat.code} 的主体是 {cat.subject}")
    if "enterprise" in rule.subjects and cat.subject == "person":
        raise ValueError(f"信息类 {cat.code} 的主体是自然人，请用 subjects: [legal_representative]")
    if rule.type == "trend":
        measure = MEASURES.get(rule.measure or "")
        if measure is None:
            raise ValueError(f"未知的趋势指标“{rule.measure}”，可选：{'、'.join(sorted(MEASURES))}")
        if measure.category != cat.code:
            raise ValueError(f"趋势指标“{rule.measure}”取自信息类 {measure.category}，与规则的信息类不符")
        bad = rule.placeholders - TREND_PLACEHOLDERS
    else:
        bad = {p for p in rule.placeholders if p not in names or cat.disclosure_class != "public"}
        if cat.disclosure_class == "public":
            bad |= {p for p in rule.placeholders if p in names and cat.field(p).personal}
    if bad:
        raise ValueError(f"证据文字只能引用公开信息类的非个人字段，不能引用：{'、'.join(sorted(bad))}")


def _format_errors(exc: ValidationError, doc: dict) -> str:
    parts = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = ""
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = doc.get("rules") or []
            rid = rules[loc[1]].get("id") if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) else None
            where = f"第 {loc[1] + 1} 条规则（{rid or '无 id'}）"
            loc = loc[2:]
        field = ".".join(str(p) for p in loc)
        message = re.sub(r"^Value error, ", "", err.get("msg", ""))
        label = f"{where}的 {field}" if where and field else (where or (f"字段 {field}" if field else "文件"))
        parts.append(f"{label}：{message}")
    return "；".join(parts)


def parse_rules(text: str, source: str = "rules.yaml", annex: AnnexDocument | None = None) -> RuleSet:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleSetError(f"规则文件 {source} 不是有效的 YAML：{exc}") from None
    if not isinstance(doc, dict):
        raise RuleSetError(f"规则文件 {source} 应为一个映射（ruleset、version、rules）")
    try:
        ruleset = RuleSet.model_validate(doc)
    except ValidationError as exc:
        raise RuleSetError(f"规则文件 {source} 有误：{_format_errors(exc, doc)}") from None
    annex = annex or load_annex()
    seen: set[str] = set()
    for index, rule in enumerate(ruleset.rules, start=1):
        if rule.id in seen:
            raise RuleSetError(f"规则文件 {source} 有误：规则 id“{rule.id}”重复")
        seen.add(rule.id)
        try:
            _check_against_catalog(rule, annex)
        except ValueError as exc:
            raise RuleSetError(f"规则文件 {source} 有误：第 {index} 条规则（{rule.id}）：{exc}") from None
    return ruleset


def load_rules(path: Path | str = RULES_PATH) -> RuleSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSetError(f"无法读取规则文件 {path}：{exc.strerror}") from None
    return parse_rules(text, path.name)


@lru_cache
def current_rules() -> RuleSet:
    return load_rules()


# -- matching -------------------------------------------------------------------------------------

def is_true(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str | int) and str(value).strip().lower() in TRUE_TEXTS


def _plain(value: object) -> object:
    if isinstance(value, bool):
        return "是" if value else "否"
    return value.strip() if isinstance(value, str) else value


def condition_holds(cond: Condition, data: dict[str, Any]) -> bool:
    value = data.get(cond.field)
    if cond.op == "is_true":
        return is_true(value)
    if cond.op == "not_true":
        return not is_true(value)
    if cond.op == "present":
        return value not in (None, "")
    if cond.op == "equals":
        return _plain(value) == _plain(cond.value)
    if cond.op == "not_equals":
        return _plain(value) != _plain(cond.value)
    return _plain(value) in [_plain(v) for v in cond.value]


def record_matches(rule: Rule, data: dict[str, Any]) -> bool:
    return all(condition_holds(c, data) for c in rule.conditions)


def render_evidence(rule: Rule, values: dict[str, Any], category: CategoryDef | None = None) -> str:
    """The evidence text; a record rule may quote only the public, non-personal fields it names."""
    allowed: dict[str, Any] = {}
    for name in rule.placeholders:
        value = values.get(name)
        if category is not None and rule.type == "record":
            try:
                field = category.field(name)
            except KeyError:
                value = None
            else:
                if category.disclosure_class != "public" or field.personal:
                    value = None
        allowed[name] = "—" if value in (None, "") else _plain(value)
    return rule.evidence.format(**allowed)
