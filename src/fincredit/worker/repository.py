"""All queries of the worker: the outbox, job records, worker heartbeats, periodic-job state."""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from fincredit.worker.models import JobRecord, OutboxMessage, PeriodicJob, WorkerProcess

# -- outbox ---------------------------------------------------------------------------------------

def claim_pending(session: Session, now: dt.datetime, limit: int,
                  ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Mark up to ``limit`` due pending messages dispatched; returns ``(id, kind)`` of those claimed.

    PostgreSQL: the candidates are locked ``FOR UPDATE SKIP LOCKED``, so concurrent dispatchers on
    several machines claim disjoint sets. SQLite: the UPDATE holds the single write lock.
    """
    candidates = (select(OutboxMessage.id).where(OutboxMessage.status == "pending",
                                                 OutboxMessage.available_at <= now)
                  .order_by(OutboxMessage.created_at).limit(limit).with_for_update(skip_locked=True))
    if ids is not None:
        candidates = candidates.where(OutboxMessage.id.in_(list(ids)))
    statement = (update(OutboxMessage).where(OutboxMessage.id.in_(candidates.scalar_subquery()),
                                             OutboxMessage.status == "pending")
                 .values(status="dispatched", dispatched_at=now)
                 .returning(OutboxMessage.id, OutboxMessage.kind))
    rows = [(r[0], r[1]) for r in session.execute(statement, execution_options={"synchronize_session": False})]
    return rows


def get_message(session: Session, message_id: str) -> OutboxMessage | None:
    return session.get(OutboxMessage, message_id) if message_id and len(message_id) <= 36 else None


def mark_done(session: Session, message_id: str, now: dt.datetime) -> bool:
    """Claim the message's completion in the job's own transaction; False when another run did."""
    result = session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                         OutboxMessage.status.not_in(("done", "dead")))
                             .values(status="done", done_at=now),
                             execution_options={"synchronize_session": False})
    return result.rowcount == 1


def jobs_for(session: Session, message_ids: Sequence[str]) -> dict[str, JobRecord]:
    if not message_ids:
        return {}
    rows = session.scalars(select(JobRecord).where(JobRecord.message_id.in_(list(message_ids))))
    return {row.message_id: row for row in rows}


def job_for(session: Session, message_id: str) -> JobRecord | None:
    return session.scalar(select(JobRecord).where(JobRecord.message_id == message_id))


def list_jobs(session: Session, *, status: str | None = None, kind: str | None = None, limit: int = 100,
              offset: int = 0) -> list[JobRecord]:
    query = select(JobRecord).order_by(JobRecord.updated_at.desc(), JobRecord.id.desc()).limit(limit).offset(offset)
    if status:
        query = query.where(JobRecord.status == status)
    if kind:
        query = query.where(JobRecord.kind == kind)
    return list(session.scalars(query))


def lost_jobs(session: Session, *, dead_workers_before: dt.datetime, queued_before: dt.datetime,
              limit: int = 1000) -> list[tuple[JobRecord, OutboxMessage]]:
    """Dispatched jobs that will not finish by themselves: their worker died, or huey lost them."""
    dead_workers = select(WorkerProcess.id).where(or_(WorkerProcess.heartbeat_at < dead_workers_before,
                                                      WorkerProcess.stopped_at.is_not(None)))
    query = (select(JobRecord, OutboxMessage).join(OutboxMessage, OutboxMessage.id == JobRecord.message_id)
             .where(OutboxMessage.status == "dispatched", or_(
                 and_(JobRecord.status == "running",
                      or_(JobRecord.worker_id.in_(dead_workers), JobRecord.worker_id.is_(None))),
                 and_(JobRecord.status == "queued", JobRecord.queued_at < queued_before),
                 and_(JobRecord.status == "failed", JobRecord.next_attempt_at < queued_before)))
             .limit(limit).with_for_update(skip_locked=True, of=OutboxMessage))
    return [(job, msg) for job, msg in session.execute(query)]


# -- workers --------------------------------------------------------------------------------------

def register_worker(session: Session, worker_id: str, threads: int, now: dt.datetime) -> None:
    session.add(WorkerProcess(id=worker_id, hostname=socket.gethostname()[:255], pid=os.getpid(),
                              threads=threads, started_at=now, heartbeat_at=now))


def heartbeat(session: Session, worker_id: str, now: dt.datetime) -> None:
    session.execute(update(WorkerProcess).where(WorkerProcess.id == worker_id).values(heartbeat_at=now))


def stop_worker(session: Session, worker_id: str, now: dt.datetime) -> None:
    session.execute(update(WorkerProcess).where(WorkerProcess.id == worker_id).values(stopped_at=now))


def live_workers(session: Session, since: dt.datetime) -> list[WorkerProcess]:
    return list(session.scalars(select(WorkerProcess).where(WorkerProcess.heartbeat_at >= since,
                                                            WorkerProcess.stopped_at.is_(None))
                                .order_by(WorkerProcess.started_at)))


# -- periodic jobs --------------------------------------------------------------------------------

def claim_periodic(session: Session, name: str, interval: float, now: dt.datetime) -> bool:
    """Start this interval's run of a periodic job, unless another worker already did."""
    threshold = now - dt.timedelta(seconds=interval * 0.9)
    result = session.execute(
        update(PeriodicJob).where(PeriodicJob.name == name, or_(PeriodicJob.last_started_at.is_(None),
                                                                PeriodicJob.last_started_at <= threshold))
        .values(last_started_at=now, runs=PeriodicJob.runs + 1, interval_seconds=interval),
        execution_options={"synchronize_session": False})
    if result.rowcount == 1:
        return True
    if session.get(PeriodicJob, name) is not None:
        return False
    # First run ever: two workers racing here make one flush fail (IntegrityError, caller skips).
    session.add(PeriodicJob(name=name, interval_seconds=interval, runs=1, last_started_at=now))
    session.flush()
    return True


def finish_periodic(session: Session, name: str, now: dt.datetime, error: str | None) -> None:
    session.execute(update(PeriodicJob).where(PeriodicJob.name == name).values(
        last_finished_at=now, last_status="failed" if error else "succeeded", last_error=error),
        execution_options={"synchronize_session": False})


def list_periodic(session: Session) -> list[PeriodicJob]:
    return list(session.scalars(select(PeriodicJob).order_by(PeriodicJob.name)))
