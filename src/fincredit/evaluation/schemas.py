"""Request bodies of the evaluation API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ScenarioIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    size_classes: list[str] = Field(default_factory=list, max_length=4)
    industry_prefixes: list[str] = Field(default_factory=list, max_length=50)
    product: str | None = Field(default=None, max_length=100)
    weights: dict[str, float] = Field(default_factory=dict, max_length=100)
