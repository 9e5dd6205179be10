"""A small synthetic province shared by the tests of this package (generated once per session)."""

from __future__ import annotations

import pytest

from fincredit.synth import Manifest, generate

SIZE = 1500
SEED = 11


@pytest.fixture(scope="session")
def province(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return generate(tmp_path_factory.mktemp("province"), SIZE, seed=SEED)


@pytest.fixture(scope="session")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return generate(tmp_path_factory.mktemp("defective"), 400, seed=SEED, defects=True)
