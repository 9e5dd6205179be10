"""Monitoring settings (environment, prefix ``FINCREDIT_``), cached per process.

The webhook retry schedule follows the Standard Webhooks recommendation (5 s, 5 min, 30 min, 2 h,
5 h, 10 h, 10 h after the first attempt); tests shorten it, e.g.
``FINCREDIT_WEBHOOK_RETRY_SCHEDULE='[0.2, 0.5, 1, 1, 1]'``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fincredit.db import CACHE_CLEARERS


class MonitoringSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FINCREDIT_", extra="ignore")

    monitoring_rules_file: Path | None = Field(default=None, description="risk rules; default: the packaged file")
    webhook_retry_schedule: list[float] = Field(default=[5, 300, 1800, 7200, 18000, 36000, 36000],
                                                min_length=1, description="seconds before each retry")
    webhook_retry_jitter: float = Field(default=0.1, ge=0, le=0.5, description="± fraction of each delay")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_retry_after_seconds: float = Field(default=36000.0, gt=0, description="cap on a 429's Retry-After")
    webhook_secret_grace_seconds: float = Field(default=86400.0, ge=0,
                                                description="how long a rotated-out secret still signs")
    monitoring_scan_seconds: float = Field(default=10.0, ge=1,
                                           description="expiry, suspension and grade scans")
    subscription_scan_seconds: float = Field(default=60.0, ge=1)
    subscription_push_hour: int = Field(default=7, ge=0, le=23, description="Asia/Shanghai hour of pushes")
    subscription_max_records: int = Field(default=200_000, ge=1, description="records per push at most")


@lru_cache
def get_monitoring_settings() -> MonitoringSettings:
    return MonitoringSettings()


CACHE_CLEARERS.append(get_monitoring_settings.cache_clear)
