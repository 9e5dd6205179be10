"""Fixtures of the collection tests: registered providers with tokens, and batch uploads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import auth


@pytest.fixture
def provider(client, admin_token) -> Callable[..., str]:  # type: ignore[no-untyped-def]
    """Register a provider through the API and return a token for it."""

    def make(code: str = "tax", categories: tuple[str, ...] = ("1", "2", "3"), name: str | None = None) -> str:
        r = client.post("/api/v1/providers", json={"code": code, "name": name or f"单位{code}",
                                                  "categories": list(categories)}, headers=auth(admin_token))
        assert r.status_code == 201, r.text
        r = client.post(f"/api/v1/providers/{code}/tokens", headers=auth(admin_token))
        assert r.status_code == 201, r.text
        return r.json()["token"]

    return make


@pytest.fixture
def upload(client) -> Callable[..., object]:  # type: ignore[no-untyped-def]
    """POST /api/v1/batches with a file (path or bytes)."""

    def send(token: str, category: str, file: Path | bytes, filename: str = "data.csv", **fields: str):
        content = file.read_bytes() if isinstance(file, Path) else file
        name = file.name if isinstance(file, Path) and filename == "data.csv" else filename
        return client.post("/api/v1/batches", data={"category": category, **fields},
                           files={"file": (name, content, "application/octet-stream")}, headers=auth(token))

    return send


@pytest.fixture(scope="session")
def synth_province(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A small synthetic province (fincredit.synth), generated once per test session."""
    from fincredit.synth import generate

    return generate(tmp_path_factory.mktemp("province"), 40, seed=11)
