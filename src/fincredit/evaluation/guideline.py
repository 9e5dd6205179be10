"""The guideline (企业信用评价指引) as data: its schema, loading and validation.

Pure module (no web, ORM or database). ``guideline.yaml`` beside this file is the shipped
guideline; ``load_guideline()`` parses and validates it against the annex, ``parse_guideline(doc,
categories)`` validates any document against a catalog (``{code: CategoryDef}``). Every problem
is reported at once as ``{path, code, message}`` in a ``GuidelineError`` (HTTP 422). Codes:
``schema_error``, ``duplicate_id``, ``weights_mismatch``, ``unknown_category``, ``unknown_field``,
``field_type_mismatch``, ``bad_source``, ``bins_mixed``, ``bins_gap``, ``bins_overlap``,
``bins_domain``, ``bins_values_missing``, ``points_out_of_range``, ``unknown_grade``, ``grade_order``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fincredit.catalog.definitions import CategoryDef, canonical_hash, load_annex
from fincredit.errors import Unprocessable

GUIDELINE_PATH = Path(__file__).parent / "guideline.yaml"
ASPECTS = ("willingness", "capability", "performance")
DATE_TYPES = ("date", "year_month", "year")
NUMERIC_TYPES = ("amount_yuan", "amount_wan", "count", "months", "number", "percent", "year")
SIZE_CLASSES = ("大型", "中型", "小型", "微型")
WEIGHT_TOLERANCE = 1e-6


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    field: str
    op: Literal["eq", "ne", "in", "not_in"]
    value: Any


class Part(_Strict):
    """One category counted by a ``count`` source."""

    category: str
    match: Literal["subject", "legal_rep"] = "subject"
    where: list[Condition] = Field(default_factory=list)
    date_field: str | None = None
    recent_days: int | None = Field(default=None, ge=1)
    active_until_field: str | None = None


class History(_Strict):
    min_gap_days: int = Field(ge=1)
    max_gap_days: int = Field(ge=1)


class Source(_Strict):
    kind: Literal["base", "latest", "trend", "count"]
    category: str | None = None
    field: str | None = None
    fields: list[str] = Field(default_factory=list)
    ratio: tuple[str, str] | None = None
    transform: Literal["age_years", "size_class"] | None = None
    order_by: str | None = None
    recent_days: int | None = Field(default=None, ge=1)
    active_until_field: str | None = None
    where: list[Condition] = Field(default_factory=list)
    agg: Literal["sum", "max", "best"] = "sum"
    history: History | None = None
    parts: list[Part] = Field(default_factory=list)

    @property
    def value_fields(self) -> list[str]:
        if self.ratio:
            return list(self.ratio)
        return [self.field] if self.field else list(self.fields)

    def categories(self) -> list[str]:
        return [p.category for p in self.parts] if self.kind == "count" else [self.category or ""]


class Bin(_Strict):
    lo: float | None = None
    hi: float | None = None
    values: list[str] | None = None
    points: float
    label: str = Field(min_length=1, max_length=60)
    max_grade: str | None = None

    @property
    def categorical(self) -> bool:
        return self.values is not None


class Indicator(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    name: str = Field(min_length=1, max_length=40)
    description: str | None = None
    role: Literal["standard", "penalty", "bonus"] = "standard"
    source: Source
    unit: str | None = None
    weight: float = Field(gt=0)
    max_points: float = Field(default=100, gt=0)
    domain: tuple[float | None, float | None] | None = None
    missing_points: float = 0
    missing_label: str = "无数据"
    bins: list[Bin] = Field(min_length=1, max_length=9)

    @property
    def categorical(self) -> bool:
        return self.bins[0].categorical

    @property
    def may_be_missing(self) -> bool:
        return self.source.kind != "count"


class Dimension(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    name: str
    aspect: Literal["willingness", "capability", "performance"]
    weight: float = Field(gt=0)
    description: str = ""
    indicators: list[Indicator] = Field(min_length=1)


class Grade(_Strict):
    grade: str = Field(min_length=1, max_length=8)
    min_score: float
    meaning: str = ""


class ThinFile(_Strict):
    key_categories: list[str] = Field(min_length=1)
    min_key_categories: int = Field(ge=1)
    note: str = "数据不足"


class ScoreRange(_Strict):
    min: float = 0
    max: float = Field(gt=0)


class Reasons(_Strict):
    max_against: int = Field(default=4, ge=1, le=10)
    for_min_share: float = Field(default=0.8, gt=0, le=1)


class Guideline(_Strict):
    version: str = Field(pattern=r"^[0-9A-Za-z.\-]{1,32}$")
    title: str
    issued_by: str
    effective_from: dt.date
    basis: list[str] = Field(default_factory=list)
    aspects: dict[str, str]
    choices: list[str] = Field(default_factory=list)
    score: ScoreRange
    total_weight: float = Field(gt=0)
    reasons: Reasons = Reasons()
    thin_file: ThinFile
    grades: list[Grade] = Field(min_length=2)
    dimensions: list[Dimension] = Field(min_length=1)

    # -- derived views -------------------------------------------------------------------------
    @property
    def indicators(self) -> list[Indicator]:
        return [i for d in self.dimensions for i in d.indicators]

    def dimension_of(self, indicator_id: str) -> Dimension:
        return next(d for d in self.dimensions if any(i.id == indicator_id for i in d.indicators))

    @property
    def points_per_weight(self) -> float:
        """Score points one unit of weight is worth."""
        return (self.score.max - self.score.min) / self.total_weight

    def full_value(self, indicator: Indicator) -> float:
        """What an indicator at its maximum contributes to the score."""
        return indicator.weight * self.points_per_weight

    def grade_ceiling(self, grade: str) -> float:
        """The highest score a grade allows (a cap ``max_grade`` limits the score to this)."""
        names = [g.grade for g in self.grades]
        index = names.index(grade)
        return self.score.max if index == 0 else self.grades[index - 1].min_score - 1

    def categories(self) -> list[str]:
        seen: dict[str, None] = {}
        for ind in self.indicators:
            for code in ind.source.categories():
                seen.setdefault(code, None)
        return list(seen)

    def content_hash(self) -> str:
        return canonical_hash(self.model_dump(mode="json"))


class GuidelineError(Unprocessable):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        summary = "；".join(f"{p['path']}：{p['message']}" for p in problems[:8])
        super().__init__(f"评价指引不合规：{summary}", code="invalid_guideline", details=problems)
        self.problems = problems


def _schema_problems(exc: ValidationError) -> list[dict[str, str]]:
    return [{"path": ".".join(str(p) for p in err["loc"]), "code": "schema_error",
             "message": err["msg"].removeprefix("Value error, ")} for err in exc.errors()]


def parse_guideline(document: Mapping[str, Any], categories: Mapping[str, CategoryDef]) -> Guideline:
    """Validate a guideline document; raises ``GuidelineError`` listing every problem."""
    try:
        g = Guideline.model_validate(document)
    except ValidationError as exc:
        raise GuidelineError(_schema_problems(exc)) from None
    from fincredit.evaluation.guideline_checks import check_guideline  # the checks import the schema

    problems = check_guideline(g, categories)
    if problems:
        raise GuidelineError(problems)
    return g


def read_document(path: Path = GUIDELINE_PATH) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~20× faster
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader


def annex_categories() -> dict[str, CategoryDef]:
    return {c.code: c for c in load_annex().categories}


@lru_cache
def load_guideline(path: Path = GUIDELINE_PATH) -> Guideline:
    """The shipped guideline, validated against the shipped annex."""
    return parse_guideline(read_document(path), annex_categories())
