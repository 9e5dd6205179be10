"""huey, the job library: its storage, the one generic task that runs outbox jobs, periodic jobs, signals.

Storage
-------
* SQLite deployments (the default): ``SqliteHuey`` on ``FINCREDIT_DATA_DIR/huey.sqlite3``. Every
  dequeue runs in ``BEGIN EXCLUSIVE``, so several worker processes on the machine are safe.
* PostgreSQL deployments: huey's ``SqlStorage`` (``huey.contrib.sql_huey``) over peewee's
  ``PostgresqlDatabase`` built from ``FINCREDIT_DATABASE_URL``, in its own schema ``huey`` (so
  Alembic's comparison of our models with the database, and the tests' table clean-up, do not see it). Several workers on several
  machines may share it: in huey 3.5.4 ``SqlStorage.dequeue`` selects the next task with
  ``SELECT … FOR UPDATE SKIP LOCKED`` and deletes it in the same transaction, and ``read_schedule``
  does the same for due retries — two consumers never get the same task and never wait for each
  other. ``SharedSqlStorage`` only adds the schema; ``check_storage_is_safe`` fails the worker at
  start-up should a huey upgrade drop the clause.

What huey does not give — a task it dequeued is gone, even if the process is SIGKILLed while
running it — comes from the outbox (``outbox.reap``). Retries: the ERROR signal sets the task's
``retry_delay`` to an exponential backoff with jitter drawn for that attempt, and huey's own retry
machinery reschedules it; handlers may ask for a specific time with ``RetryLater``.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

import peewee
from huey import Huey, SqliteHuey
from huey import signals as S
from huey.api import Task
from huey.contrib.sql_huey import BytesBlobField, SqlStorage
from huey.exceptions import RetryTask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from fincredit.db import session_scope, utcnow
from fincredit.logs import get_logger
from fincredit.settings import get_settings
from fincredit.worker import jobs, repository
from fincredit.worker.config import get_worker_settings
from fincredit.worker.registry import PERIODIC, Periodic, RetryLater, load_task_modules

log = get_logger(__name__)

HUEY_SCHEMA = "huey"
RUN_JOB = "run_job"
RETRY_HINT = "_fincredit_retry_later"
# Huey's retry counter is not our attempt counter: the ERROR signal decides when a job is dead.
UNLIMITED_RETRIES = 1_000_000


class SharedSqlStorage(SqlStorage):
    """huey's SQL storage on PostgreSQL, in schema ``huey``; safe with many consumers (see module doc)."""

    def create_models(self):  # type: ignore[no-untyped-def]
        """huey's four models (``SqlStorage.create_models``), declared in schema ``huey``."""

        class Base(peewee.Model):
            class Meta:
                database = self.database
                schema = HUEY_SCHEMA

        class KV(Base):
            queue = peewee.CharField()
            key = peewee.CharField()
            value = BytesBlobField()

            class Meta:
                primary_key = peewee.CompositeKey("queue", "key")

        class Schedule(Base):
            queue = peewee.CharField()
            data = BytesBlobField()
            timestamp = peewee.TimestampField(resolution=1000)

            class Meta:
                indexes = ((("queue", "timestamp"), False),)

        class Task(Base):
            queue = peewee.CharField()
            data = BytesBlobField()
            priority = peewee.FloatField(default=0.0)

        Task.add_index(Task.priority.desc(), Task.id)

        class Counter(Base):
            queue = peewee.CharField()
            key = peewee.CharField()
            value = peewee.IntegerField()

            class Meta:
                primary_key = peewee.CompositeKey("queue", "key")

        return KV, Schedule, Task, Counter

    def create_tables(self) -> None:
        with self.database.atomic():
            # Several workers may start at once: one creates, the others wait and find it done.
            self.database.execute_sql("SELECT pg_advisory_xact_lock(7355608)")
            self.database.execute_sql(f'CREATE SCHEMA IF NOT EXISTS "{HUEY_SCHEMA}"')
            self.database.create_tables([self.KV, self.Schedule, self.Task, self.Counter], safe=True)


def check_storage_is_safe(huey: Huey) -> None:
    """Refuse to run several consumers on a SQL storage that would hand one task to two of them."""
    storage = huey.storage
    if isinstance(storage, SqlStorage) and isinstance(storage.database, peewee.PostgresqlDatabase):
        if storage.for_update != "FOR UPDATE SKIP LOCKED":
            raise RuntimeError("huey 的 SqlStorage 未使用 FOR UPDATE SKIP LOCKED，多个工作进程共享队列不安全")


def peewee_database(url: str) -> peewee.PostgresqlDatabase:
    parsed = make_url(url)
    params: dict[str, Any] = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
    return peewee.PostgresqlDatabase(parsed.database, user=parsed.username, password=parsed.password,
                                     host=parsed.host, port=parsed.port, **params)


def build_huey() -> Huey:
    settings, worker = get_settings(), get_worker_settings()
    if settings.is_sqlite:
        settings.ensure_dirs()
        huey: Huey = SqliteHuey(worker.huey_queue, filename=str(settings.data_dir / "huey.sqlite3"),
                                results=False, utc=True, timeout=30)
    else:
        huey = Huey(worker.huey_queue, storage_class=SharedSqlStorage,
                    database=peewee_database(settings.resolved_database_url), results=False, utc=True)
    _install(huey)
    return huey


@lru_cache
def get_huey() -> Huey:
    return build_huey()


def make_task(huey: Huey, message_id: str) -> Task:
    """The huey task that runs one outbox message (not yet enqueued)."""
    return huey.fincredit_run_job.s(message_id, retries=UNLIMITED_RETRIES)  # type: ignore[attr-defined]


def _run_job_task(task: Task) -> bool:
    return type(task).__name__ == RUN_JOB


def _install(huey: Huey) -> None:
    load_task_modules()

    @huey.task(context=True, name=RUN_JOB, retries=UNLIMITED_RETRIES)
    def run_job(message_id: str, task: Task | None = None) -> None:
        try:
            jobs.execute_message(message_id)
        except RetryLater as exc:
            if task is not None:
                setattr(task, RETRY_HINT, exc)
            raise RetryTask(exc.reason, delay=exc.delay) from exc

    huey.fincredit_run_job = run_job  # type: ignore[attr-defined]

    for periodic in PERIODIC.values():
        huey.periodic_task(_due_checker(periodic), name=f"periodic_{periodic.name.replace('.', '_')}")(
            _periodic_runner(periodic.name))

    @huey.signal(S.SIGNAL_EXECUTING)
    def on_executing(_signal: str, task: Task) -> None:
        if _run_job_task(task):
            jobs.record_started(task.args[0], task.id)

    @huey.signal(S.SIGNAL_COMPLETE)
    def on_complete(_signal: str, task: Task) -> None:
        if _run_job_task(task):
            jobs.record_succeeded(task.args[0])

    @huey.signal(S.SIGNAL_ERROR)
    def on_error(_signal: str, task: Task, exc: BaseException | None = None) -> None:
        if not _run_job_task(task):
            return
        delay = jobs.record_failed(task.args[0], exc)
        if delay is None:
            task.retries = 0  # dead: huey will not retry
        else:
            task.retries, task.retry_delay, task.retry_backoff = UNLIMITED_RETRIES, delay, 0

    @huey.signal(S.SIGNAL_RETRYING)
    def on_retrying(_signal: str, task: Task) -> None:
        hint = getattr(task, RETRY_HINT, None)
        if _run_job_task(task) and hint is not None:
            jobs.record_retry_later(task.args[0], hint)

    @huey.signal(S.SIGNAL_INTERRUPTED)
    def on_interrupted(_signal: str, task: Task) -> None:
        if _run_job_task(task):
            jobs.record_interrupted(task.args[0])


def _due_checker(periodic: Periodic):  # type: ignore[no-untyped-def]
    """huey asks every second (see ``worker.cli``); due once per interval in this process."""
    state = {"next": 0.0}

    def due(_timestamp: object) -> bool:
        now = time.monotonic()
        if now < state["next"]:
            return False
        state["next"] = now + periodic.interval() - 0.05
        return True

    return due


def _periodic_runner(name: str):  # type: ignore[no-untyped-def]
    def run() -> None:
        run_periodic(name)

    run.__name__ = f"periodic_{name.replace('.', '_')}"
    return run


def run_periodic(name: str) -> None:
    """One run of a periodic job; exclusive ones run once per interval across every worker."""
    periodic = PERIODIC[name]
    if periodic.exclusive:
        try:
            with session_scope() as session:
                if not repository.claim_periodic(session, name, periodic.interval(), utcnow()):
                    return
        except IntegrityError:  # another worker created the row for its first run
            return
    error = None
    try:
        with session_scope() as session:
            periodic.func(session)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.exception("periodic_job_failed", job=name)
    if periodic.exclusive or error:
        try:
            with session_scope() as session:
                if error and not periodic.exclusive:
                    repository.claim_periodic(session, name, periodic.interval(), utcnow())
                repository.finish_periodic(session, name, utcnow(), error)
        except Exception:
            log.warning("periodic_state_not_saved", job=name, exc_info=True)
