"""Disclosure settings (anti-scraping; the ledger group commit), read from the environment (``FINCREDIT_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fincredit.db import CACHE_CLEARERS


class DisclosureSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FINCREDIT_", extra="ignore")

    institution_rate_per_minute: int = Field(default=600, ge=1, description="requests per institution per minute")
    institution_rate_burst: int | None = Field(default=None, ge=1, description="bucket size; default = per minute")
    scrape_alert_threshold: int = Field(default=50, ge=1,
                                        description="distinct unrelated enterprises queried that raise an alert")
    scrape_alert_window_hours: int = Field(default=24, ge=1)
    ledger_group_commit: bool = Field(
        default=True, description="PostgreSQL: record disclosures through the process's ledger group appender "
                                  "(one ledger lock and one commit per group); SQLite always records directly")
    ledger_group_timeout_seconds: float = Field(
        default=10.0, gt=0, description="longest a request waits for its group's commit before answering 503")


@lru_cache
def get_disclosure_settings() -> DisclosureSettings:
    return DisclosureSettings()


CACHE_CLEARERS.append(get_disclosure_settings.cache_clear)
