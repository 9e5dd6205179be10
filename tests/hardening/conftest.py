"""Fixtures of the hardening tests: providers and uploads (collection), workers (worker).

Killing database connections needs PostgreSQL (``pg_terminate_backend``): without
FINCREDIT_TEST_DATABASE_URL (the SQLite pass of scripts/test) ``test_faults_postgres.py`` is not
collected, so the SQLite pass reports no skip; the PostgreSQL pass runs it.
"""

from __future__ import annotations

import os

from tests.collection.conftest import provider, upload  # noqa: F401
from tests.worker.support import fast_settings, workers  # noqa: F401

collect_ignore_glob = [] if os.environ.get("FINCREDIT_TEST_DATABASE_URL") else ["test_faults_postgres.py"]
