"""Group commit of the ledger appends of disclosures (PostgreSQL: ``ledger/group.py``).

Concurrent profile queries share one ledger lock and one commit per group, and every answer still
carries the receipt of its own durable entry; a member whose own write fails (its authorization
revoked after the PDP's read) fails alone; a process killed while its group's transaction is open
leaves no trace of the group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, func, select, text

from fincredit.authorization.models import AuthorizationUse
from fincredit.crypto import get_keyring
from fincredit.db import session_scope
from fincredit.disclosure.models import Disclosure
from fincredit.ledger import group
from fincredit.ledger.audit import audit
from fincredit.ledger.models import LedgerEntry
from fincredit.ledger.verifier import key_id
from tests.helpers import auth, error_code
from tests.trust import factories as f
from tests.trust.conftest import world  # noqa: F401
from tests.trust.test_disclosure import grant, records  # noqa: F401

pytestmark = pytest.mark.postgres


def counts() -> dict[str, int]:
    with session_scope() as s:
        return {name: s.scalar(select(func.count()).select_from(model)) for name, model in (
            ("disclosures", Disclosure), ("ledger", LedgerEntry), ("uses", AuthorizationUse))}


def ledger_verifies() -> bool:
    ring = get_keyring()
    with session_scope() as s:
        report = audit(s.connection(), {key_id(ring.public_key.public_bytes_raw()): ring.public_key}, workers=1)
    return report.ok


def appender_stats() -> group.Stats:
    (appender,) = group.running()
    return appender.stats


@contextmanager
def ledger_locked(url: str) -> Iterator[None]:
    """Hold the ledger's append lock (the ``ledger_head`` row) from a connection of our own, so that
    requests queue up behind the appender's first group and form a larger group once it is released."""
    engine = create_engine(url, poolclass=None)
    with engine.connect() as conn:
        trans = conn.begin()
        conn.execute(text("SELECT size FROM ledger_head FOR UPDATE"))
        try:
            yield
        finally:
            trans.rollback()
    engine.dispose()


def submitted() -> int:
    """Jobs that reached this process's appender: taken into a group, or queued."""
    running = group.running()
    return running[0].stats.taken + running[0].queued() if running else 0


def wait_submitted(before: int, n: int, timeout: float = 60) -> None:
    """A synchronisation point (not a timing assertion): until ``n`` more jobs reached the appender (in
    the group that waits for the lock, or queued behind it)."""
    deadline = time.monotonic() + timeout
    while submitted() - before < n:
        assert time.monotonic() < deadline, "requests never reached the appender"
        time.sleep(0.01)


def profile(client, w, token=None):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/enterprises/{w.ent.uscc}", headers=auth(token or w.bank_token),
                      params={"purpose": "pre_loan"})


def assert_receipts_match(answers: list) -> None:  # type: ignore[type-arg]
    """Every answer's receipt is its own stored entry, and its disclosure row is the one the entry names."""
    with session_scope() as s:
        for body in answers:
            block = body["disclosure"]
            entry = s.get(LedgerEntry, block["ledger_index"])
            assert entry is not None and bytes(entry.leaf_hash).hex() == block["leaf_hash"]
            assert entry.kind == "disclosure" and entry.document["payload"]["disclosure_id"] == block["id"]
            row = s.get(Disclosure, block["id"])
            assert row is not None and row.ledger_index == block["ledger_index"]
            assert row.leaf_hash == block["leaf_hash"]


def test_concurrent_queries_share_groups_and_each_answer_carries_its_own_entry(
        client, session, records, database_url):  # noqa: F811
    w = records
    grant(session, w, ["1", "10"])
    assert profile(client, w).status_code == 200  # the token's first use writes its last-use time
    before, jobs = counts(), submitted()

    def ten(_i: int) -> list:  # type: ignore[type-arg]
        return [profile(client, w) for _ in range(10)]

    with ThreadPoolExecutor(16) as pool, ledger_locked(database_url):
        pending = [pool.submit(ten, i) for i in range(16)]
        wait_submitted(jobs, 16)  # one request of every thread
    responses = [r for p in pending for r in p.result(timeout=300)]
    assert [r.status_code for r in responses] == [200] * 160, [r.text for r in responses if r.status_code != 200]
    answers = [r.json() for r in responses]
    assert len({a["disclosure"]["ledger_index"] for a in answers}) == 160
    assert all(w.ent.name in r.text for r in responses)
    assert_receipts_match(answers)
    after = counts()
    assert after["disclosures"] == before["disclosures"] + 160  # one row per answer
    assert after["uses"] == before["uses"] + 160
    assert after["ledger"] == before["ledger"] + 320  # the disclosure and its authorization.used
    assert ledger_verifies()
    stats = appender_stats()
    assert stats.members == 160 and stats.largest > 1 and stats.groups < 160


def test_a_member_whose_authorization_is_revoked_fails_alone_and_the_group_commits(
        client, session, records, database_url):  # noqa: F811
    w = records
    revoked = grant(session, w, ["1", "10"])  # the bank's
    f.grant(session, w.ent, w.bank_b, ["1", "10"])
    session.commit()
    for token in (w.bank_token, w.bank_b_token):
        assert profile(client, w, token).status_code == 200
    before, jobs = counts(), submitted()
    fired: list[int] = []  # the size of the group the revocation landed before

    def revoke_before_a_large_group(members: list[group.Job]) -> None:
        # Once every request has passed the PDP (all reached the appender), so that none of them can
        # see the revocation there: each bank request from this group on must fail at its use write.
        if len(members) > 1 and not fired and submitted() - jobs >= 8:
            fired.append(len(members))
            with session_scope() as s:
                s.execute(text("UPDATE authorizations SET status = 'revoked', revoked_at = now() WHERE id = :id"),
                          {"id": revoked.id})

    group.BEFORE_GROUP.append(revoke_before_a_large_group)
    try:
        with ThreadPoolExecutor(8) as pool, ledger_locked(database_url):
            pending = [(token, pool.submit(profile, client, w, token))
                       for token in [w.bank_token, w.bank_b_token] * 4]
            wait_submitted(jobs, 8)
        results = [(token, p.result(timeout=120)) for token, p in pending]
    finally:
        group.BEFORE_GROUP.remove(revoke_before_a_large_group)
    assert fired and fired[0] > 1
    bank_b = [r for token, r in results if token == w.bank_b_token]
    assert [r.status_code for r in bank_b] == [200] * 4  # the rest of the group committed
    failed = [r for _t, r in results if r.status_code != 200]
    assert failed and all(token == w.bank_token for token, r in results if r.status_code != 200)
    for r in failed:
        assert r.status_code == 503 and error_code(r) == "disclosure_not_recorded"
        assert w.ent.name not in r.text
    ok = [r.json() for _t, r in results if r.status_code == 200]
    assert len(ok) + len(failed) == 8
    assert_receipts_match(ok)
    after = counts()
    assert after["disclosures"] == before["disclosures"] + len(ok)
    assert after["uses"] == before["uses"] + len(ok)
    assert after["ledger"] == before["ledger"] + 2 * len(ok)  # nothing for the failed members
    assert ledger_verifies()
    stats = appender_stats()
    assert stats.failed_members == len(failed) and stats.failed_groups == 0


_KILLED_CHILD = """
import os, signal, sys
from fastapi.testclient import TestClient
from fincredit.ledger import group
from fincredit.web.app import create_app

def die(jobs):  # the group's entries are written and its transaction holds the ledger lock
    print("appended", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

group.AFTER_APPEND.append(die)
with TestClient(create_app()) as c:
    r = c.get("/api/v1/enterprises/" + sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]},
              params={"purpose": "pre_loan"})
print("answered", r.status_code, flush=True)
"""


def test_a_process_killed_while_its_group_is_open_leaves_nothing_and_the_next_query_works(
        client, session, records, data_dir):  # noqa: F811
    w = records
    grant(session, w, ["1", "10"])
    assert profile(client, w).status_code == 200
    before = counts()
    child = subprocess.run([sys.executable, "-c", _KILLED_CHILD, w.ent.uscc, w.bank_token], env=dict(os.environ),
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    assert "appended" in child.stdout and "answered" not in child.stdout
    assert counts() == before  # no partial group: no entry, no disclosure, no use
    assert ledger_verifies()
    r = profile(client, w)  # the lock died with the process's connection
    assert r.status_code == 200, r.text
    assert_receipts_match([r.json()])
    assert counts()["disclosures"] == before["disclosures"] + 1
    assert ledger_verifies()


def _waiting_on_locks(url: str, n: int, timeout: float = 60) -> None:
    """A synchronisation point: until ``n`` backends wait on a row lock."""
    engine = create_engine(url, poolclass=None)
    deadline = time.monotonic() + timeout
    try:
        with engine.connect() as conn:
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND datname = current_database()")).scalar_one() < n:
                assert time.monotonic() < deadline, "the groups never reached the held rows"
                time.sleep(0.02)
                conn.rollback()
    finally:
        engine.dispose()


def test_two_processes_groups_using_the_same_authorizations_in_opposite_orders_do_not_deadlock(
        session, records, database_url):  # noqa: F811
    """Two appenders (two API processes: two engines here) each get a group whose members use the same two
    authorizations in opposite orders, while a third connection holds both rows; when it lets go, member
    by member in queue order they would deadlock (one member failed by PostgreSQL for no fault of its
    own — seen under load). The group takes its rows in one order first: every member commits."""
    from fincredit.authorization import service as authorization_service
    from fincredit.ledger import service as ledger

    w = records
    x, y = sorted([grant(session, w, ["1"]).id, f.grant(session, w.ent, w.bank_b, ["1"]).id])
    session.commit()
    before = counts()["ledger"]
    gate, parked, sentinels = threading.Event(), threading.Semaphore(0), set()

    def park(members: list[group.Job]) -> None:  # hold each appender on its first group
        if any(id(m) in sentinels for m in members):
            parked.release()
            assert gate.wait(60)

    def job(*auth_ids: str, sentinel: bool = False) -> group.Job:
        def writes(s) -> None:  # type: ignore[no-untyped-def]
            for auth_id in auth_ids:  # in the member's own order, as a use's UPDATE does
                s.execute(text("UPDATE authorizations SET use_count = coalesce(use_count, 0) + 1 WHERE id = :id"),
                          {"id": auth_id})

        made = group.Job(ledger.prepare([("test.use", {"authorizations": list(auth_ids)}, ["admin"])]), writes,
                         locks=[(authorization_service.LOCK_FOR_USE, a) for a in auth_ids])
        if sentinel:
            sentinels.add(id(made))
        return made

    engines = [create_engine(database_url), create_engine(database_url)]
    group.BEFORE_GROUP.append(park)
    try:
        futures = [group.submit(e, job(sentinel=True)) for e in engines]
        for _ in engines:
            assert parked.acquire(timeout=60)
        futures += [group.submit(engines[0], job(x)), group.submit(engines[0], job(y)),
                    group.submit(engines[1], job(y)), group.submit(engines[1], job(x))]
        holder = create_engine(database_url, poolclass=None)
        with holder.connect() as conn:
            trans = conn.begin()
            conn.execute(text("SELECT id FROM authorizations WHERE id IN (:x, :y) FOR UPDATE"), {"x": x, "y": y})
            gate.set()
            _waiting_on_locks(database_url, 2)  # both groups wait for the held rows
            trans.rollback()
        holder.dispose()
        entries = [future.result(timeout=60) for future in futures]
    finally:
        group.BEFORE_GROUP.remove(park)
        group.shutdown()
        for e in engines:
            e.dispose()
    assert all(len(e) == 1 for e in entries)
    assert counts()["ledger"] == before + 6
    assert ledger_verifies()
