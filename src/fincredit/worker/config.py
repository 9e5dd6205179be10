"""Worker settings (environment, prefix ``FINCREDIT_``), cached per process.

Tests and test deployments shorten the intervals (e.g. ``FINCREDIT_WORKER_DEAD_AFTER_SECONDS=2``).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from fincredit.db import CACHE_CLEARERS


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FINCREDIT_", extra="ignore")

    huey_queue: str = Field(default="fincredit", description="huey queue name (several deployments, one DB)")
    worker_threads: int = Field(default=4, ge=1, le=64, description="job threads per worker process")
    worker_poll_seconds: float = Field(default=0.2, gt=0, le=10,
                                       description="longest idle wait between two polls of the queue")
    worker_heartbeat_seconds: float = Field(default=2.0, gt=0)
    worker_dead_after_seconds: float = Field(
        default=30.0, gt=0, description="a worker silent this long is dead: its running jobs are re-queued")
    job_queued_lease_seconds: float = Field(
        default=600.0, gt=0, description="a dispatched job not started this long is dispatched again")
    job_max_attempts: int = Field(default=8, ge=1, le=100)
    job_retry_base_seconds: float = Field(default=2.0, gt=0, description="first retry delay (then doubling)")
    job_retry_max_seconds: float = Field(default=3600.0, gt=0)
    dispatch_interval_seconds: float = Field(default=1.0, gt=0)
    checkpoint_interval_seconds: float = Field(default=2.0, gt=0)
    outbox_nudge: bool = Field(default=True, description="dispatch an outbox message right after its commit")


@lru_cache
def get_worker_settings() -> WorkerSettings:
    return WorkerSettings()


CACHE_CLEARERS.append(get_worker_settings.cache_clear)
