"""The registry of job kinds and periodic jobs, and the retry vocabulary. No huey, no ORM.

Capabilities register in their ``tasks.py`` (listed in ``TASK_MODULES``)::

    @job("monitoring.evaluate_batch")
    def evaluate_batch(session, payload): ...          # runs in the job's unit of work

    register_periodic("objections.escalate", 60, escalate)   # escalate(session) every 60 s

A handler runs inside a transaction that the worker commits together with marking its outbox
message done, so a job's database effects happen once even when huey runs it twice. Handlers raise
``RetryLater(delay)`` to be retried at a time of their choosing (webhook schedule, Retry-After),
``PermanentFailure`` to give up at once; any other exception is retried with exponential backoff
and jitter until ``max_attempts``.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

# Modules whose import registers job kinds and periodic jobs (imported by the worker and the web app).
TASK_MODULES: list[str] = [
    "fincredit.worker.builtin",
    "fincredit.monitoring.tasks",
    "fincredit.objections.tasks",
    "fincredit.web.tasks",
    "fincredit.evaluation.tasks",
]

Handler = Callable[[Session, dict[str, Any]], None]
DeadHandler = Callable[[Session, dict[str, Any], str], None]
Seconds = float | Callable[[], float]


class RetryLater(Exception):  # noqa: N818 — a control-flow signal, not an error
    """Retry this job after ``delay`` seconds (does not count against ``max_attempts``)."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay:.1f}s")
        self.delay = max(0.0, float(delay))
        self.reason = reason


class PermanentFailure(Exception):
    """Give up at once: the job is dead (its ``on_dead`` handler runs)."""


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    max_attempts: int | None = None  # None: the worker setting
    on_dead: DeadHandler | None = None


@dataclass(frozen=True)
class Periodic:
    name: str
    seconds: Seconds
    func: Callable[[Session], object]
    exclusive: bool = True  # one run per interval across all workers (False: the job is itself safe)

    def interval(self) -> float:
        value = self.seconds() if callable(self.seconds) else self.seconds
        return max(1.0, float(value))


JOBS: dict[str, JobKind] = {}
PERIODIC: dict[str, Periodic] = {}
# Checks ``fincredit worker`` runs before it starts (e.g. that the risk rules load); they raise
# ``ValueError`` with a Chinese message to refuse the start.
STARTUP_CHECKS: list[Callable[[], object]] = []


def job(kind: str, *, max_attempts: int | None = None,
        on_dead: DeadHandler | None = None) -> Callable[[Handler], Handler]:
    def decorator(func: Handler) -> Handler:
        JOBS[kind] = JobKind(kind, func, max_attempts, on_dead)
        return func

    return decorator


def register_periodic(name: str, seconds: Seconds, func: Callable[[Session], object], *,
                      exclusive: bool = True) -> None:
    """Run ``func(session)`` every ``seconds`` (≥ 1; a callable is read at each check) in a worker."""
    PERIODIC[name] = Periodic(name, seconds, func, exclusive)


def register_startup_check(func: Callable[[], object]) -> None:
    if func not in STARTUP_CHECKS:
        STARTUP_CHECKS.append(func)


def get_kind(kind: str) -> JobKind | None:
    load_task_modules()
    return JOBS.get(kind)


_loaded = False


def load_task_modules() -> None:
    global _loaded
    if _loaded:
        return
    for name in TASK_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a capability not built yet
            if exc.name != name:
                raise
    _loaded = True


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: attempt n waits a random time in [½, 1] × min(cap, base·2ⁿ⁻¹).

    The jitter is drawn per attempt, so jobs that failed together do not retry together.
    """
    rng = rng or random
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return ceiling * rng.uniform(0.5, 1.0)


def jittered(delay: float, spread: float = 0.1, rng: random.Random | None = None) -> float:
    """``delay`` ± ``spread`` (a fraction), never negative."""
    rng = rng or random
    return max(0.0, delay * (1 + rng.uniform(-spread, spread)))
