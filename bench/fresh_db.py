"""A fresh database for a benchmark: a SQLite file in the data directory, or a new PostgreSQL database."""

from __future__ import annotations

from pathlib import Path


def fresh_database(url: str | None, data_dir: Path, suffix: str) -> str:
    """The SQLAlchemy URL to benchmark on; a PostgreSQL ``url`` gets ``<name>_<suffix>`` dropped and re-created."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if url is None:
        return f"sqlite:///{data_dir / 'bench.sqlite3'}"
    parsed = make_url(url)
    name = f"{parsed.database or 'fincredit'}_{suffix}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)
