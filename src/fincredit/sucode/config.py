"""苏信码 settings (environment, prefix ``FINCREDIT_SUCODE_``), cached per process."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fincredit.db import CACHE_CLEARERS


class SucodeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FINCREDIT_SUCODE_", extra="ignore")

    base_url: str | None = Field(default=None, description="public origin of the platform for the QR URL "
                                                           "(e.g. https://credit.example.gov.cn); default: the request's")
    validity_days: int = Field(default=30, ge=1, le=366, description="a code expires after this many days at most")
    qr_scale: int = Field(default=5, ge=1, le=20, description="pixels per QR module in PNG output")


@lru_cache
def get_sucode_settings() -> SucodeSettings:
    return SucodeSettings()


CACHE_CLEARERS.append(get_sucode_settings.cache_clear)
