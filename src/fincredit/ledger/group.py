"""Group commit of ledger appends: one appender thread per process shares the ledger's append lock.

Why: on PostgreSQL the ``ledger_head`` row lock is held from the index reservation to the commit, so
every append in the deployment queues on it (≈ 2.4 ms each without contention). The appender takes
every job queued while its previous group was committing — no timer: a lone job is a group of one,
and groups form by themselves while a commit is in flight — and records them all in ONE transaction
on its own connection:

1. each member's own writes (``Job.writes``: e.g. the authorization uses, guarded by the artefact still
   being in force), one member after another;
2. one ``ledger.service.append_many`` for the surviving members' entries in queue order: one index
   reservation (the lock), leaves and nodes hashed as for any append, then the entries, nodes, the
   head's compact range and each member's rows written with its indexes (``Job.insert_with``);
3. the commit; ONLY THEN is each member's future resolved with its entries (index, leaf hash), so a
   request answers only after its own record is durable. If anything from step 2 on fails, or the
   commit does, every member of the group fails: nothing of the group was committed.

A member whose own writes fail (raise, e.g. ``AuthorizationNotInForce`` when a revocation was committed
since the PDP's read) fails alone: the group's transaction is rolled back and re-run without it. No
savepoints: the common case (nothing fails) then costs one round trip per member for its writes and
nothing more, and a failure — rare: a revocation racing a query — costs one re-run of the others'
writes. A savepoint per member would add two round trips (SAVEPOINT, RELEASE) to every member of every
group to save work only in that rare case; the re-run is as obviously correct (a rolled-back
transaction wrote nothing) and cheaper.

The appender's connection does not come from the application's pool: requests waiting on the appender
hold pooled connections (their read transaction), so under load the pool could be exhausted exactly
when the appender needs a connection. It uses a one-connection pool of its own on the same URL and
keeps its connection (and session) from group to group, not pre-pinged (a round trip per group): a group that finds its connection dead at its first statement
(an idle connection killed, a database restart) is run once more on a new connection — nothing of it
was done. A connection lost later fails the group (its members answer 503).

Lifecycle: started lazily by ``submit`` (per engine and process: a forked child starts its own, the
parent's thread does not exist there), stopped and drained by ``shutdown`` (application lifespan, and
``db.reset_caches`` through ``db.ENGINE_CLOSERS``). Jobs still queued at shutdown are committed first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from fincredit.db import ENGINE_CLOSERS
from fincredit.ledger import repository
from fincredit.ledger import service as ledger

log = logging.getLogger(__name__)

MAX_GROUP = 64

# Test hooks (fault injection), called in the appender thread with the group's live jobs:
# BEFORE_GROUP before its transaction starts, AFTER_APPEND once the entries are written and the
# ledger lock is held, just before the commit.
BEFORE_GROUP: list[Callable[[list[Job]], None]] = []
AFTER_APPEND: list[Callable[[list[Job]], None]] = []


@dataclass(eq=False)
class Job:
    """One member of a group: what a request would have written in its own transaction."""

    fragments: list[ledger.Fragment]  # its entries, validated and serialized (``ledger.prepare``)
    writes: Callable[[Session], None]  # its own writes before the append; raises to fail this member alone
    insert_with: Callable[[list[ledger.AppendedEntry]], Sequence[repository.Write]] | None = None
    # The rows its writes will lock, as (statement, key): see ``Appender._lock_rows``.
    locks: Sequence[tuple[Any, Any]] = ()
    future: Future[list[ledger.AppendedEntry]] = field(default_factory=Future)


@dataclass
class Stats:
    taken: int = 0  # jobs taken from the queue
    groups: int = 0  # groups committed
    members: int = 0  # members committed
    largest: int = 0  # most members committed in one group
    failed_members: int = 0  # members that failed alone (their own writes)
    failed_groups: int = 0  # groups whose append or commit failed (every member failed)


_STOP = object()


class _Lost(Exception):
    """The appender's connection was found dead before the group's commit was sent."""


def _disconnected(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class Appender:
    """The appender thread of one engine in one process."""

    def __init__(self, engine: Engine, max_group: int = MAX_GROUP) -> None:
        self.url = engine.url
        self.max_group = max_group
        self.stats = Stats()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._gate = threading.Lock()
        self._closed = False
        self._engine = create_engine(engine.url, poolclass=QueuePool, pool_size=1, max_overflow=0)
        self._live: tuple[Connection, Session] | None = None
        self._sent = 0  # statements sent on the appender's connection (see ``_attempt``)
        event.listen(self._engine, "before_cursor_execute", self._count)
        self._thread = threading.Thread(target=self._run, name="fincredit-ledger-appender", daemon=True)
        self._thread.start()

    def _count(self, *_args: Any) -> None:
        self._sent += 1

    def offer(self, job: Job) -> bool:
        """Queue the job; False once the appender is stopping (the caller starts a new one)."""
        with self._gate:
            if self._closed:
                return False
            self._queue.put(job)
            return True

    def queued(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout: float | None = 30) -> None:
        """Commit what is queued, then end the thread and close the connection."""
        with self._gate:  # every job accepted before this is committed before the thread ends
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)
        self._drop()
        self._engine.dispose()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            group = [first]
            while len(group) < self.max_group:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stopping = True
                    break
                group.append(job)
            self.stats.taken += len(group)
            try:
                self._commit_group(group)
            except BaseException as exc:  # never let the thread die with futures unresolved
                log.exception("ledger group commit failed")
                for job in group:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _commit_group(self, group: list[Job]) -> None:
        # A job whose requester gave up (timeout) before the group started is dropped here.
        live = [job for job in group if job.future.set_running_or_notify_cancel()]
        if not live:
            return
        for hook in BEFORE_GROUP:
            hook(live)
        for attempt in (1, 2):
            try:
                entries = self._attempt(live)
                break
            except _Lost as lost:  # the connection was dead before the group sent anything
                if attempt == 1 and live:
                    continue  # once, on a new connection (the pool replaced the invalidated one)
                exc: BaseException = lost.__cause__ or lost
            except BaseException as caught:
                exc = caught
            self.stats.failed_groups += 1
            for job in live:
                job.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise exc
            return
        if not live:
            return
        self.stats.groups += 1
        self.stats.members += len(live)
        self.stats.largest = max(self.stats.largest, len(live))
        for job, mine in zip(live, entries, strict=True):  # only now: the group is durable
            job.future.set_result(mine)

    def _attempt(self, live: list[Job]) -> list[list[ledger.AppendedEntry]]:
        """One transaction for the group: removes (and fails) members whose own writes fail from
        ``live``; returns the others' entries once committed. Raises ``_Lost`` when the connection is
        found dead at the group's first statement (it died while idle: a database restart): the group
        may then be retried, since nothing of it was done. A connection lost later (killed while the
        group waited on a lock, say) fails the group: its requesters may have given up meanwhile."""
        first = self._sent + 1
        session = self._session()
        try:
            try:
                while live:
                    self._lock_rows(session, live)
                    failed = self._run_writes(session, live)
                    if failed is None:
                        break
                    job, exc = failed
                    if _disconnected(exc):  # not this member's fault: the whole group's
                        if self._sent == first:
                            raise _Lost from exc
                        raise exc
                    session.rollback()
                    live.remove(job)
                    self.stats.failed_members += 1
                    job.future.set_exception(exc)
                if not live:
                    return []
                entries = self._append(session, live)
                for hook in AFTER_APPEND:
                    hook(live)
            except _Lost:
                raise
            except Exception as exc:
                if _disconnected(exc) and self._sent == first:
                    raise _Lost from exc
                raise
            session.commit()  # a connection lost here is not retried: the commit may have happened
        except BaseException:
            self._drop()  # a failed group leaves no transaction or suspect connection behind
            raise
        return entries

    def _session(self) -> Session:
        """The appender's session on its own connection, kept from group to group (no checkout)."""
        if self._live is None:
            conn = self._engine.connect()
            self._live = (conn, Session(bind=conn, expire_on_commit=False))
        return self._live[1]

    def _drop(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            conn, session = live
            with contextlib.suppress(Exception):
                session.close()
            with contextlib.suppress(Exception):
                conn.close()

    @staticmethod
    def _lock_rows(session: Session, jobs: list[Job]) -> None:
        """Lock every row the members' writes will lock, all at once and in key order, before any of
        them writes. Each member's writes lock their rows in their own order (a use's UPDATE locks its
        authorization), so two groups in different processes, each holding a row the other's later
        member needs, would deadlock — and PostgreSQL would fail a member for no fault of its own
        (measured under load: ``bench/load/run.py``). Every group taking its rows in one global order,
        before its writes and before the ledger lock, cannot deadlock with another group. A
        ``Job.locks`` statement is a prebuilt ``SELECT … WHERE key = ANY(:lock_keys) ORDER BY key FOR
        UPDATE`` (PostgreSQL locks the rows in the order it returns them); one round trip per
        statement and group, not per member."""
        wanted: dict[int, tuple[Any, set[Any]]] = {}
        for job in jobs:
            for stmt, key in job.locks:
                wanted.setdefault(id(stmt), (stmt, set()))[1].add(key)
        for stmt, keys in wanted.values():
            session.execute(stmt, {"lock_keys": sorted(keys)}).all()

    @staticmethod
    def _run_writes(session: Session, jobs: list[Job]) -> tuple[Job, BaseException] | None:
        """Each member's own writes; the first member that fails, with its error (None: all passed)."""
        for job in jobs:
            try:
                job.writes(session)
            except Exception as exc:
                return job, exc
        return None

    @staticmethod
    def _append(session: Session, jobs: list[Job]) -> list[list[ledger.AppendedEntry]]:
        """One append for the group (entries in queue order); returns each member's entries."""
        spans: list[tuple[int, int]] = []
        fragments: list[ledger.Fragment] = []
        for job in jobs:
            spans.append((len(fragments), len(fragments) + len(job.fragments)))
            fragments.extend(job.fragments)

        def insert_with(entries: list[ledger.AppendedEntry]) -> list[repository.Write]:
            writes: list[repository.Write] = []
            for job, (a, b) in zip(jobs, spans, strict=True):
                if job.insert_with is not None:
                    writes.extend(job.insert_with(entries[a:b]))
            return writes

        entries = ledger.append_many(session, fragments, insert_with=insert_with)
        return [entries[a:b] for a, b in spans]


_LOCK = threading.Lock()
_APPENDERS: dict[tuple[int, int], Appender] = {}  # (pid, id(engine)) → the appender


def appender_for(engine: Engine) -> Appender:
    """This process's appender for ``engine``, started on first use."""
    key = (os.getpid(), id(engine))
    found = _APPENDERS.get(key)
    if found is not None:
        return found
    with _LOCK:
        found = _APPENDERS.get(key)
        if found is None:
            found = _APPENDERS[key] = Appender(engine)
        return found


def submit(engine: Engine, job: Job) -> Future[list[ledger.AppendedEntry]]:
    """Queue ``job`` with this process's appender for ``engine``; its future resolves after the commit."""
    while True:
        appender = appender_for(engine)
        if appender.offer(job):
            return job.future
        with _LOCK:  # stopped meanwhile: forget it, the next turn starts a new one
            key = (os.getpid(), id(engine))
            if _APPENDERS.get(key) is appender:
                del _APPENDERS[key]


def running() -> list[Appender]:
    pid = os.getpid()
    return [a for (p, _e), a in list(_APPENDERS.items()) if p == pid]


def shutdown() -> None:
    """Drain and stop this process's appenders (a forked child's inherited entries are just forgotten)."""
    with _LOCK:
        items = list(_APPENDERS.items())
        _APPENDERS.clear()
    pid = os.getpid()
    for (p, _e), appender in items:
        if p == pid:
            appender.stop()


def _forget_in_child() -> None:
    """A forked child has none of the parent's threads (and maybe a lock taken at the fork)."""
    global _LOCK
    _LOCK = threading.Lock()
    _APPENDERS.clear()


ENGINE_CLOSERS.append(shutdown)
os.register_at_fork(after_in_child=_forget_in_child)
