"""Running real ``fincredit worker`` processes in tests, with short intervals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Short intervals and retry schedules so that tests run in seconds (the defaults are minutes/hours).
FAST_ENV = {
    "FINCREDIT_WORKER_POLL_SECONDS": "0.05",
    "FINCREDIT_WORKER_HEARTBEAT_SECONDS": "0.3",
    "FINCREDIT_WORKER_DEAD_AFTER_SECONDS": "2",
    "FINCREDIT_JOB_QUEUED_LEASE_SECONDS": "60",
    "FINCREDIT_JOB_RETRY_BASE_SECONDS": "0.2",
    "FINCREDIT_JOB_RETRY_MAX_SECONDS": "2",
    "FINCREDIT_WEBHOOK_RETRY_SCHEDULE": "[0.3, 0.6, 1, 1, 1, 1.5, 1.5, 2, 2, 2, 2, 2, 2, 2, 2]",
    "FINCREDIT_WEBHOOK_RETRY_JITTER": "0.1",
    "FINCREDIT_MONITORING_SCAN_SECONDS": "1",
    "FINCREDIT_ALLOW_PRIVATE_WEBHOOKS": "true",
}
FINCREDIT = Path(sys.executable).parent / "fincredit"


def clear_setting_caches() -> None:
    from fincredit.monitoring.config import get_monitoring_settings
    from fincredit.settings import get_settings
    from fincredit.worker.config import get_worker_settings

    for cached in (get_settings, get_worker_settings, get_monitoring_settings):
        cached.cache_clear()


def use_env(values: dict[str, str]) -> Callable[[], None]:
    """Set environment variables (in this process and for children); returns the undo."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    clear_setting_caches()

    def undo() -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clear_setting_caches()

    return undo


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, interval: float = 0.05,
               message: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Worker:
    """A real ``fincredit worker`` process (its own session, so SIGKILL takes it whole)."""

    def __init__(self, log_path: Path, threads: int = 4) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen([str(FINCREDIT), "worker", "--threads", str(threads)], env=os.environ.copy(),
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL: no clean-up, no signal handler, jobs in flight are simply gone."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


def _flush_queue() -> None:
    from fincredit.worker.huey_app import get_huey

    get_huey().storage.flush_all()


@pytest.fixture
def fast_settings(db: str) -> Iterator[None]:
    undo = use_env(FAST_ENV)
    _flush_queue()
    yield
    _flush_queue()
    undo()


@pytest.fixture
def workers(fast_settings: None, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(threads: int = 4) -> Worker:
        worker = Worker(tmp_path / f"worker-{len(started)}.log", threads)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
