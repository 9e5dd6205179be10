"""Scale-out tests need several processes on one shared PostgreSQL database (marker ``postgres``).

Without ``FINCREDIT_TEST_DATABASE_URL`` (the SQLite pass of ``scripts/test``) this directory is not
collected at all, so the SQLite pass reports no skip; the PostgreSQL pass runs it.
"""

from __future__ import annotations

import os

from tests.worker.support import fast_settings  # noqa: F401

collect_ignore_glob = [] if os.environ.get("FINCREDIT_TEST_DATABASE_URL") else ["test_*.py"]
