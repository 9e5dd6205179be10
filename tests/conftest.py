"""Shared fixtures: a real, migrated database (SQLite by default, PostgreSQL when
FINCREDIT_TEST_DATABASE_URL is set), cleaned after each test that uses it, and an app client.

Each xdist worker gets its own database. Tests commit for real (the code under test owns its
transactions); isolation comes from emptying every table afterwards and re-seeding.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

TEST_PG_URL = os.environ.get("FINCREDIT_TEST_DATABASE_URL")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def _prepare_postgres(base_url: str) -> str:
    url = make_url(base_url)
    name = f"{url.database or 'fincredit'}_test_{_worker()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("fincredit-data")
    os.environ["FINCREDIT_DATA_DIR"] = str(data_dir)
    if TEST_PG_URL:
        url = _prepare_postgres(TEST_PG_URL)
    else:
        url = f"sqlite:///{data_dir / 'test.sqlite3'}"
    os.environ["FINCREDIT_DATABASE_URL"] = url
    os.environ.setdefault("FINCREDIT_ALLOW_PRIVATE_WEBHOOKS", "false")
    from fincredit import db
    from fincredit.bootstrap import initialize

    db.reset_caches()
    initialize()
    yield url
    db.reset_caches()


@pytest.fixture(scope="session")
def data_dir(database_url: str) -> Path:
    return Path(os.environ["FINCREDIT_DATA_DIR"])


def _empty_all_tables() -> None:
    import fincredit.models  # noqa: F401
    from fincredit.db import Base, clear_content_caches, get_engine

    engine = get_engine()
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for t in reversed(tables):
                conn.execute(text(f'DELETE FROM "{t}"'))
            has_seq = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first()
            if has_seq:
                conn.execute(text("DELETE FROM sqlite_sequence"))
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    clear_content_caches()


@pytest.fixture
def db(database_url: str) -> Iterator[str]:
    """A migrated, seeded database, emptied and re-seeded after the test."""
    yield database_url
    _empty_all_tables()
    from fincredit.bootstrap import seed
    from fincredit.db import session_scope

    with session_scope() as s:
        seed(s)


@pytest.fixture
def session(db: str) -> Iterator[Session]:
    from fincredit.db import get_sessionmaker

    s = get_sessionmaker()()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def client(db: str):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from fincredit.web.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def make_token(db: str) -> Callable[..., str]:
    from fincredit.auth.service import issue_token
    from fincredit.db import session_scope

    def make(role: str, subject: str = "tester", name: str | None = None) -> str:
        with session_scope() as s:
            raw, _ = issue_token(s, role=role, subject=subject, name=name or subject)
        return raw

    return make


@pytest.fixture
def admin_token(make_token: Callable[..., str]) -> str:
    return make_token("admin", "operator")

