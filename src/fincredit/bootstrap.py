"""What ``fincredit init`` does, callable from tests: migrate, load the catalog, create keys."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from fincredit.crypto import ensure_keyring
from fincredit.db import get_engine, session_scope
from fincredit.migrate import upgrade
from fincredit.settings import get_settings

# Idempotent seeding steps other capabilities register (catalog, calendar, guideline …).
SEED_STEPS: list[tuple[str, Callable[[Session], object]]] = []


def _register_default_steps() -> None:
    if SEED_STEPS:
        return
    from fincredit.catalog.service import ensure_catalog_loaded

    SEED_STEPS.append(("catalog", ensure_catalog_loaded))


def seed(session: Session) -> dict[str, object]:
    _register_default_steps()
    return {name: step(session) for name, step in SEED_STEPS}


def initialize() -> dict[str, object]:
    settings = get_settings()
    settings.ensure_dirs()
    created_keys = ensure_keyring(settings.data_dir)
    with get_engine().begin() as conn:
        upgrade(connection=conn)
    with session_scope() as session:
        result = seed(session)
    result["keys_created"] = created_keys
    return result
