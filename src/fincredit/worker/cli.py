"""``fincredit worker`` (the huey consumer) and ``fincredit jobs`` (the operator's table of jobs)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

import typer
from huey.consumer import Consumer, Scheduler
from rich.console import Console
from rich.table import Table

from fincredit.db import as_utc, session_scope, utcnow
from fincredit.logs import get_logger

log = get_logger(__name__)
STATUSES = ("queued", "running", "succeeded", "failed", "dead")


class _EverySecondScheduler(Scheduler):
    """huey checks periodic tasks once a minute; ours run every second or two (dispatch, checkpoints)."""

    periodic_task_seconds = 1


class WorkerConsumer(Consumer):
    """huey's consumer, plus a heartbeat from its main loop (not a job thread: busy jobs cannot delay it)."""

    scheduler_class = _EverySecondScheduler

    def __init__(self, huey, *, worker_id: str, heartbeat_seconds: float, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(huey, **kwargs)
        self.worker_id, self.heartbeat_seconds = worker_id, heartbeat_seconds
        self._next_beat = 0.0

    def loop(self, health_check_ts=None):  # type: ignore[no-untyped-def]
        now = time.monotonic()
        if now >= self._next_beat:
            self._next_beat = now + self.heartbeat_seconds
            try:
                from fincredit.worker import repository

                with session_scope() as session:
                    repository.heartbeat(session, self.worker_id, utcnow())
            except Exception:
                log.warning("worker_heartbeat_failed", exc_info=True)
        return super().loop(health_check_ts)


def worker_command(threads: int = typer.Option(0, help="job threads (default: FINCREDIT_WORKER_THREADS or 4)"),
                   periodic: bool = typer.Option(True, help="run periodic jobs (dispatch, checkpoints …)")) -> None:
    """Run the background jobs (pushes, deadlines, scheduled evaluations) until stopped (Ctrl-C)."""
    from fincredit.worker import jobs, repository
    from fincredit.worker.config import get_worker_settings
    from fincredit.worker.huey_app import check_storage_is_safe, get_huey
    from fincredit.worker.registry import STARTUP_CHECKS, load_task_modules

    load_task_modules()
    for check in STARTUP_CHECKS:
        try:
            check()
        except ValueError as exc:
            Console(stderr=True).print(f"[red]错误：[/red]{exc}")
            raise typer.Exit(2) from None
    settings = get_worker_settings()
    threads = threads or settings.worker_threads
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("huey").setLevel(logging.WARNING)
    huey = get_huey()
    check_storage_is_safe(huey)
    worker_id = str(uuid.uuid4())
    jobs.CURRENT_WORKER_ID = worker_id
    with session_scope() as session:
        repository.register_worker(session, worker_id, threads, utcnow())
    log.info("worker_started", worker_id=worker_id, threads=threads, queue=huey.name)
    consumer = WorkerConsumer(huey, worker_id=worker_id, heartbeat_seconds=settings.worker_heartbeat_seconds,
                              workers=threads, periodic=periodic, initial_delay=0.02, backoff=1.5,
                              max_delay=settings.worker_poll_seconds, scheduler_interval=1, worker_type="thread")
    try:
        consumer.run()
    finally:
        with session_scope() as session:
            repository.stop_worker(session, worker_id, utcnow())
        log.info("worker_stopped", worker_id=worker_id)


def _when(value: dt.datetime | None) -> str:
    return as_utc(value).astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%m-%d %H:%M:%S") if value else ""


def jobs_command(status: str = typer.Option("", help="queued | running | succeeded | failed | dead"),
                 kind: str = typer.Option("", help="job kind, e.g. webhook.deliver"),
                 limit: int = typer.Option(50, min=1, max=1000)) -> None:
    """Show background jobs (newest first), the live workers and the periodic jobs."""
    from fincredit.worker import repository
    from fincredit.worker.config import get_worker_settings

    console = Console()
    if status and status not in STATUSES:
        Console(stderr=True).print(f"[red]错误：[/red]未知的任务状态“{status}”，可选：{'、'.join(STATUSES)}")
        raise typer.Exit(2)
    table = Table(title="后台任务（北京时间）")
    for column in ("任务编号", "类型", "状态", "尝试", "排队", "开始", "结束", "下次重试", "最近错误"):
        table.add_column(column, overflow="fold", no_wrap=column in ("任务编号", "类型", "状态", "尝试"))
    with session_scope() as session:
        rows = repository.list_jobs(session, status=status or None, kind=kind or None, limit=limit)
        for row in rows:
            table.add_row(row.message_id[:8], row.kind, row.status, str(row.attempts), _when(row.queued_at),
                          _when(row.started_at), _when(row.finished_at), _when(row.next_attempt_at),
                          (row.last_error or "")[:60])
        since = utcnow() - dt.timedelta(seconds=get_worker_settings().worker_dead_after_seconds)
        workers = repository.live_workers(session, since)
        periodic = repository.list_periodic(session)
    console.print(table)
    console.print(f"在线工作进程：{len(workers)}" + "".join(
        f"\n  {w.hostname} pid {w.pid}（{w.threads} 线程，心跳 {_when(w.heartbeat_at)}）" for w in workers))
    for p in periodic:
        console.print(f"定时任务 {p.name}：每 {p.interval_seconds:g} 秒，已运行 {p.runs} 次，"
                      f"最近 {_when(p.last_finished_at)} {p.last_status or ''} {(p.last_error or '')[:60]}")
