"""Runtime settings, read from the environment (prefix ``FINCREDIT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FINCREDIT_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means embedded SQLite under data_dir"
    )
    data_dir: Path = Field(default=Path("./var"))
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, description="largest accepted batch file")
    max_json_bytes: int = Field(default=1024 * 1024, description="largest accepted JSON request body")
    upload_quota_bytes: int | None = Field(
        default=None, ge=0,
        description="most bytes the upload spool ($FINCREDIT_DATA_DIR/uploads) may hold at once; unset: no quota "
                    "beyond the disk itself")
    log_level: str = "INFO"
    log_json: bool = False
    # Webhook targets on loopback/private ranges are refused unless a test deployment allows them.
    allow_private_webhooks: bool = False
    allow_loopback_providers: bool = Field(default=False, description="providers' interface endpoints on http://127.0.0.1 (tests, demo)")
    timezone: str = "Asia/Shanghai"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'fincredit.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "keys").mkdir(exist_ok=True)
        (self.data_dir / "uploads").mkdir(exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    return Settings()
