"""The transactional outbox (发件箱): jobs are enqueued only after the transaction that caused them commits.

A service calls ``enqueue(session, kind, payload)`` inside its unit of work: that inserts an
``OutboxMessage`` row and nothing else. Nothing reaches huey unless the transaction commits, and
nothing that committed is forgotten:

* right after the commit, the ``after_commit`` session event of this process "nudges" the
  dispatcher for the new messages (a fresh session claims them and hands them to huey) — the fast
  path, within milliseconds;
* every second a periodic huey task dispatches whatever is still pending (a crash between commit
  and nudge, messages enqueued with a delay, another process without huey access);
* the reaper puts back jobs whose worker died mid-run (SIGKILL, power loss: huey had already
  removed them from its queue) or that huey lost, so they run again.

Jobs therefore run at least once; ``huey_app.execute_message`` makes their database effects
happen once by marking the message done in the job's own transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from fincredit.db import session_scope, utcnow
from fincredit.logs import get_logger
from fincredit.worker import repository
from fincredit.worker.config import get_worker_settings
from fincredit.worker.models import JobRecord, OutboxMessage

log = get_logger(__name__)

_INFO_KEY = "fincredit_outbox_ids"
DISPATCH_BATCH = 500


def enqueue(session: Session, kind: str, payload: dict[str, Any], *, delay: float | None = None) -> OutboxMessage:
    """Ask for job ``kind`` with ``payload`` (JSON) once the caller's transaction commits."""
    now = utcnow()
    message = OutboxMessage(id=str(uuid.uuid4()), kind=kind, payload=payload, created_at=now,
                            available_at=now + dt.timedelta(seconds=delay) if delay else now,
                            status="pending", attempts=0)
    session.add(message)
    if not delay:
        session.info.setdefault(_INFO_KEY, []).append(message.id)
    return message


@event.listens_for(Session, "after_commit")
def _nudge_after_commit(session: Session) -> None:
    ids = session.info.pop(_INFO_KEY, None)
    if ids and get_worker_settings().outbox_nudge:
        try:
            dispatch(ids=ids)
        except Exception:  # the periodic dispatcher will pick them up
            log.warning("outbox_nudge_failed", messages=len(ids), exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)


def dispatch(*, ids: list[str] | None = None, limit: int = DISPATCH_BATCH) -> int:
    """Hand due pending messages to huey; returns how many. Safe to run anywhere, concurrently."""
    from fincredit.worker.huey_app import get_huey, make_task

    huey = get_huey()
    total = 0
    while True:
        now = utcnow()
        tasks = []
        with session_scope() as session:
            claimed = repository.claim_pending(session, now, limit, ids)
            existing = repository.jobs_for(session, [mid for mid, _ in claimed])
            for message_id, kind in claimed:
                task = make_task(huey, message_id)
                job = existing.get(message_id)
                if job is None:
                    session.add(JobRecord(message_id=message_id, kind=kind, status="queued", queued_at=now,
                                          updated_at=now, huey_task_id=task.id))
                else:
                    job.status, job.queued_at, job.updated_at, job.huey_task_id = "queued", now, now, task.id
                    job.next_attempt_at = None
                tasks.append(task)
        for task in tasks:  # after the commit: a worker must find the message dispatched
            huey.enqueue(task)
        total += len(tasks)
        if ids is not None or len(tasks) < limit:
            return total


def reap(session: Session) -> int:
    """Put back dispatched jobs that will not finish: their worker is dead, or huey lost them."""
    settings = get_worker_settings()
    now = utcnow()
    lost = repository.lost_jobs(
        session, dead_workers_before=now - dt.timedelta(seconds=settings.worker_dead_after_seconds),
        queued_before=now - dt.timedelta(seconds=settings.job_queued_lease_seconds))
    for job, message in lost:
        message.status, message.available_at = "pending", now
        reason = "工作进程失联，任务已重新排队" if job.status == "running" else "任务未被执行，已重新排队"
        job.status, job.updated_at, job.last_error = "queued", now, reason
        session.info.setdefault(_INFO_KEY, []).append(message.id)
        log.warning("job_requeued", message_id=message.id, kind=message.kind, worker=job.worker_id)
    return len(lost)
