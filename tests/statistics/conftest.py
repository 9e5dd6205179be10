"""The concurrency tests of the statistics aggregate need PostgreSQL (concurrent writers of one database).

Without ``FINCREDIT_TEST_DATABASE_URL`` (the SQLite pass) those modules are not collected at all, so the
SQLite pass reports no skip; the PostgreSQL pass runs them.
"""

from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("FINCREDIT_TEST_DATABASE_URL") else ["test_*_pg.py"]
