"""Request models of the disclosure API (responses are documented dicts: their shape varies per category)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uscc: str = Field(min_length=18, max_length=18, description="被核验企业的统一社会信用代码")
    category: str = Field(min_length=1, max_length=32)
    claims: dict[str, Any] = Field(min_length=1, max_length=20, description="字段名 → 机构已掌握的数值")
    purpose: str | None = Field(default=None, max_length=32)

    @field_validator("uscc")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("claims")
    @classmethod
    def _scalars(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            if len(key) > 100:
                raise ValueError("字段名过长")
            if not isinstance(item, str | int | float | bool) or len(str(item)) > 200:
                raise ValueError(f"字段“{key[:20]}”的值必须是不超过 200 个字符的文本或数值")
        return value


class VerificationOut(BaseModel):
    match: bool
    fields: dict[str, bool]
    uscc: str
    category: str
    checked_at: str
    disclosure: dict
