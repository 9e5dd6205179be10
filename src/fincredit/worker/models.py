"""The transactional outbox, the operator's view of jobs, worker liveness and periodic-job state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, BigIntPK, utcnow


class OutboxMessage(Base):
    """A job asked for inside a business transaction; it exists only if that transaction committed.

    status: ``pending`` (not yet handed to huey) → ``dispatched`` → ``done`` | ``dead``. The id is a
    UUID, so a huey task that outlives its database (tests, restores) can never run another job.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_available", "status", "available_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # not dispatched before
    dispatched_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)  # executions started
    status: Mapped[str] = mapped_column(String(12), default="pending")
    done_at: Mapped[dt.datetime | None]


class JobRecord(Base):
    """One outbox job as the operator sees it, kept up to date by huey's signals.

    status: ``queued`` → ``running`` → ``succeeded``; a failed attempt is ``failed`` until its retry
    runs (``next_attempt_at``); ``dead`` when the attempts are exhausted.
    """

    __tablename__ = "job_records"
    __table_args__ = (Index("ix_job_records_status_updated", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("outbox_messages.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str | None] = mapped_column(String(36))
    huey_task_id: Mapped[str | None] = mapped_column(String(64))
    queued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WorkerProcess(Base):
    """A running ``fincredit worker``; its heartbeat proves that the jobs it runs are alive."""

    __tablename__ = "worker_processes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    threads: Mapped[int]
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[dt.datetime | None]


class PeriodicJob(Base):
    """State of a periodic job across every worker: one run per interval, whoever gets it."""

    __tablename__ = "periodic_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    interval_seconds: Mapped[float]
    runs: Mapped[int] = mapped_column(default=0)
    last_started_at: Mapped[dt.datetime | None]
    last_finished_at: Mapped[dt.datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(12))  # succeeded | failed
    last_error: Mapped[str | None] = mapped_column(Text)
