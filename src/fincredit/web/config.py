"""Settings of the portals (environment, prefix ``FINCREDIT_WEB_``), cached per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fincredit.db import CACHE_CLEARERS


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FINCREDIT_WEB_", extra="ignore")

    # auto: Secure when the request came over https (behind a proxy: run uvicorn with proxy headers).
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    session_hours: float = Field(default=8, gt=0, description="absolute lifetime of a portal session")
    idle_minutes: float = Field(default=30, gt=0, description="a session unused this long ends (等保 2.0)")
    operator_max_failures: int = Field(default=5, ge=1)
    operator_lock_minutes: float = Field(default=15, gt=0)
    token_login_max_failures: int = Field(default=10, ge=1, description="bad token log-ins per client per window")


@lru_cache
def get_web_settings() -> WebSettings:
    return WebSettings()


CACHE_CLEARERS.append(get_web_settings.cache_clear)
