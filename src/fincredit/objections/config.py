"""Objection and repair settings (environment, prefix ``FINCREDIT_OBJECTION_``), cached per process."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fincredit.db import CACHE_CLEARERS


class ObjectionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FINCREDIT_OBJECTION_", extra="ignore")

    escalate_seconds: float = Field(default=300.0, ge=1, description="how often overdue objections are escalated")
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, description="largest attachment")
    attachment_max_files: int = Field(default=5, ge=1, le=20, description="attachments per objection or repair")


@lru_cache
def get_objection_settings() -> ObjectionSettings:
    return ObjectionSettings()


CACHE_CLEARERS.append(get_objection_settings.cache_clear)
