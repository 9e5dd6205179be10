"""Running the Alembic migrations programmatically (``fincredit init``, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, connection: Connection | None = None) -> None:
    cfg = alembic_config(url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def check(url: str) -> None:
    """Raise when the models and the migrations disagree."""
    command.check(alembic_config(url))
