"""Running one outbox job, and the job records that huey's signals keep up to date.

Each function here owns its unit of work (``session_scope``): a signal must be recorded even when
the job's own transaction rolled back.
"""

from __future__ import annotations

import datetime as dt
import threading

from fincredit.db import session_scope, utcnow
from fincredit.logs import get_logger
from fincredit.worker import repository
from fincredit.worker.config import get_worker_settings
from fincredit.worker.models import JobRecord
from fincredit.worker.registry import PermanentFailure, RetryLater, backoff_delay, get_kind

log = get_logger(__name__)

# Set by ``fincredit worker``: the WorkerProcess row whose heartbeat vouches for running jobs.
CURRENT_WORKER_ID: str | None = None


_running = threading.local()


class _AlreadyDone(Exception):
    pass


def current_attempt() -> int:
    """The attempt number (1, 2, …) of the job running in this thread; 0 outside a job."""
    return getattr(_running, "attempt", 0)


def execute_message(message_id: str) -> None:
    """Run the job of one outbox message and mark it done in the same transaction.

    A second run of the same message (huey delivered it twice, or the reaper re-queued a job whose
    worker only seemed dead) finds it done, or loses the race to mark it done and rolls back.
    """
    try:
        with session_scope() as session:
            message = repository.get_message(session, message_id)
            if message is None or message.status in ("done", "dead"):
                return
            kind = get_kind(message.kind)
            if kind is None:
                raise PermanentFailure(f"未知的任务类型：{message.kind}")
            _running.attempt = message.attempts or 1
            try:
                kind.handler(session, dict(message.payload or {}))
            finally:
                _running.attempt = 0
            if not repository.mark_done(session, message_id, utcnow()):
                raise _AlreadyDone
    except _AlreadyDone:
        log.info("job_already_done", message_id=message_id)


def _error_text(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    return f"{type(exc).__name__}: {exc}"[:2000]


def _job(session, message_id: str) -> JobRecord | None:  # type: ignore[no-untyped-def]
    message = repository.get_message(session, message_id)
    if message is None:
        return None
    job = repository.job_for(session, message_id)
    if job is None:
        job = JobRecord(message_id=message_id, kind=message.kind, status="queued", attempts=0, queued_at=utcnow())
        session.add(job)
    return job


def record_started(message_id: str, huey_task_id: str) -> None:
    now = utcnow()
    with session_scope() as session:
        message = repository.get_message(session, message_id)
        if message is None or message.status in ("done", "dead"):
            return
        job = _job(session, message_id)
        assert job is not None
        message.attempts = (message.attempts or 0) + 1
        job.status, job.started_at, job.updated_at = "running", now, now
        job.attempts = (job.attempts or 0) + 1
        job.worker_id, job.huey_task_id, job.next_attempt_at = CURRENT_WORKER_ID, huey_task_id, None


def record_succeeded(message_id: str) -> None:
    now = utcnow()
    with session_scope() as session:
        job = _job(session, message_id)
        if job is not None:
            job.status, job.finished_at, job.updated_at, job.next_attempt_at = "succeeded", now, now, None


def record_failed(message_id: str, exc: BaseException | None) -> float | None:
    """Record a failed attempt; returns the delay before the next one, or None when the job is dead."""
    settings = get_worker_settings()
    now = utcnow()
    error = _error_text(exc)
    on_dead = None
    with session_scope() as session:
        message = repository.get_message(session, message_id)
        job = _job(session, message_id)
        if message is None or job is None:
            return None
        kind = get_kind(message.kind)
        max_attempts = (kind.max_attempts if kind and kind.max_attempts else None) or settings.job_max_attempts
        job.last_error, job.updated_at = error, now
        if isinstance(exc, PermanentFailure) or kind is None or job.attempts >= max_attempts:
            job.status, job.finished_at, job.next_attempt_at = "dead", now, None
            message.status = "dead"
            on_dead, payload = (kind.on_dead if kind else None), dict(message.payload or {})
            delay = None
        else:
            delay = backoff_delay(job.attempts, settings.job_retry_base_seconds, settings.job_retry_max_seconds)
            job.status, job.next_attempt_at = "failed", now + dt.timedelta(seconds=delay)
    log.warning("job_failed", message_id=message_id, kind=job.kind, attempts=job.attempts, error=error,
                retry_in=delay)
    if on_dead is not None:
        try:
            with session_scope() as session:
                on_dead(session, payload, error)
        except Exception:
            log.exception("job_on_dead_failed", message_id=message_id)
    return delay


def record_retry_later(message_id: str, hint: RetryLater) -> None:
    now = utcnow()
    with session_scope() as session:
        job = _job(session, message_id)
        if job is not None:
            job.status, job.updated_at = "failed", now
            job.next_attempt_at = now + dt.timedelta(seconds=hint.delay)
            job.last_error = hint.reason or str(hint)


def record_interrupted(message_id: str) -> None:
    """A graceful shutdown interrupted the job: make it pending again at once."""
    now = utcnow()
    with session_scope() as session:
        message = repository.get_message(session, message_id)
        job = _job(session, message_id)
        if message is None or job is None or message.status != "dispatched":
            return
        message.status, message.available_at = "pending", now
        job.status, job.updated_at, job.last_error = "queued", now, "工作进程停止，任务已重新排队"
