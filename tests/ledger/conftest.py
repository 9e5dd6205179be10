"""The ledger's group commit runs on PostgreSQL only (on SQLite disclosures are recorded directly):
without FINCREDIT_TEST_DATABASE_URL (the SQLite pass of scripts/test) ``test_group_commit_postgres.py``
is not collected, so the SQLite pass reports no skip; the PostgreSQL pass runs it."""

from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("FINCREDIT_TEST_DATABASE_URL") else ["test_group_commit_postgres.py"]
