from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CategoryAdjustment(BaseModel):
    """An operator's new or adjusted category: the full definition, plus a note for the version."""

    definition: dict[str, Any]
    note: str = Field(default="", max_length=500)
    provider_name: str | None = Field(default=None, max_length=100)


class VersionOut(BaseModel):
    version: int
    note: str
    source: str
    created_by: str
    created_at: str
