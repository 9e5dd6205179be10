"""The database connection killed mid-request and mid-batch (PostgreSQL: ``pg_terminate_backend``
of the very backend serving the request, from a second connection, while the request waits on a
lock held by a third). The caller gets a clear 503, nothing is half-recorded, the pool recovers
(``pool_pre_ping``) and the next request — or the re-sent batch — succeeds, exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, func, select, text

from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.collection.models import Batch, Record
from fincredit.db import session_scope
from fincredit.disclosure.models import Disclosure
from fincredit.ledger.models import LedgerEntry
from tests.collection import factories
from tests.helpers import auth, error_code
from tests.trust.conftest import world  # noqa: F401
from tests.trust.test_disclosure import grant, records  # noqa: F401

pytestmark = pytest.mark.postgres
UNAVAILABLE = {"database_unavailable", "disclosure_not_recorded"}


@contextmanager
def table_locked(url: str, table: str) -> Iterator[None]:
    """Hold an EXCLUSIVE lock (reads pass, writes wait) on ``table`` from a connection of our own."""
    engine = create_engine(url, poolclass=None)
    with engine.connect() as conn:
        trans = conn.begin()
        conn.execute(text(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE'))
        try:
            yield
        finally:
            trans.rollback()
    engine.dispose()


def terminate(url: str, *, waiting: bool, timeout: float = 60) -> list[int]:
    """Terminate our database's backends: those waiting on a lock (once one is), or all the others."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    query = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
             + (" AND wait_event_type = 'Lock'" if waiting else ""))
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as conn:
            while True:
                pids = list(conn.scalars(text(query)))
                if pids or not waiting:
                    for pid in pids:
                        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                    return pids
                if time.monotonic() > deadline:
                    raise AssertionError("no request ever waited on the lock")
                time.sleep(0.02)
    finally:
        engine.dispose()


def counts() -> dict[str, int]:
    with session_scope() as s:
        return {name: s.scalar(select(func.count()).select_from(model)) for name, model in (
            ("disclosures", Disclosure), ("ledger", LedgerEntry), ("uses", AuthorizationUse),
            ("batches", Batch), ("records", Record))}


def test_a_connection_killed_mid_disclosure_records_nothing_and_the_next_query_works(
        client, session, records, database_url):  # noqa: F811
    w = records
    a = grant(session, w, ["1", "10"])
    before = counts()

    def profile():  # type: ignore[no-untyped-def]
        return client.get(f"/api/v1/enterprises/{w.ent.uscc}", headers=auth(w.bank_token),
                          params={"purpose": "pre_loan"})

    with ThreadPoolExecutor(1) as pool, table_locked(database_url, "disclosures"):
        pending = pool.submit(profile)
        killed = terminate(database_url, waiting=True)
        r = pending.result(timeout=60)
    assert killed
    assert r.status_code == 503, r.text
    assert error_code(r) in UNAVAILABLE and set(r.json()) == {"error"}
    assert w.ent.name not in r.text  # nothing disclosed without its record
    assert counts() == before  # no disclosure, ledger entry or authorization use half-recorded
    with session_scope() as s:
        assert s.get(Authorization, a.id).use_count == 0

    # Every pooled connection dies too (a database restart): the pool's pre-ping replaces them.
    assert terminate(database_url, waiting=False)
    r = profile()
    assert r.status_code == 200, r.text
    after = counts()
    assert after["disclosures"] == before["disclosures"] + 1 and after["ledger"] > before["ledger"]
    assert client.get("/healthz").status_code == 200


def test_a_connection_killed_mid_batch_stores_nothing_and_a_resend_stores_it_once(
        tmp_path, data_dir, provider, upload, database_url):
    token = provider()
    path = factories.to_csv(factories.rows("1", 3000), tmp_path / "tax.csv", encoding="gbk")
    before = counts()
    with ThreadPoolExecutor(1) as pool, table_locked(database_url, "records"):
        pending = pool.submit(upload, token, "1", path)
        killed = terminate(database_url, waiting=True)
        r = pending.result(timeout=120)
    assert killed
    assert r.status_code == 503 and error_code(r) == "database_unavailable", r.text
    assert counts() == before  # no batch, no record, no ledger entry
    assert list((data_dir / "uploads").glob("*")) == []  # the received file is gone too

    first = upload(token, "1", path)
    assert first.status_code == 201 and first.json()["accepted"] == 3000, first.text
    again = upload(token, "1", path)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    after = counts()
    assert after["batches"] == before["batches"] + 1 and after["records"] == before["records"] + 3000
