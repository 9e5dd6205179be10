"""The worker's own jobs: the outbox dispatcher, the reaper, ledger checkpoints, and a probe job."""

from __future__ import annotations

import importlib
import time
from typing import Any

from sqlalchemy.orm import Session

from fincredit.worker import outbox
from fincredit.worker.config import get_worker_settings
from fincredit.worker.registry import job, register_periodic

PROBE_KIND = "worker.probe"


def _dispatch(_session: Session) -> None:
    outbox.dispatch()


def _checkpoint(session: Session) -> None:
    """Sign a checkpoint of the ledger when entries arrived since the last one (ledger's own rule)."""
    try:
        ledger = importlib.import_module("fincredit.ledger.service")
    except ModuleNotFoundError:
        return
    issue = getattr(ledger, "issue_checkpoint_if_due", None)
    if issue is not None:
        issue(session, max_age_seconds=get_worker_settings().checkpoint_interval_seconds)


register_periodic("outbox.dispatch", lambda: get_worker_settings().dispatch_interval_seconds, _dispatch,
                  exclusive=False)
register_periodic("worker.reap", lambda: max(1.0, get_worker_settings().worker_dead_after_seconds / 3),
                  outbox.reap)
register_periodic("ledger.checkpoint", lambda: get_worker_settings().checkpoint_interval_seconds, _checkpoint)


@job(PROBE_KIND, max_attempts=5)
def probe(_session: Session, payload: dict[str, Any]) -> None:
    """A diagnostic job (工作进程自检): sleeps ``seconds``; fails its first ``fail_attempts`` attempts."""
    from fincredit.worker.jobs import current_attempt

    if current_attempt() <= int(payload.get("fail_attempts", 0)):
        raise RuntimeError("probe: deliberate failure")
    time.sleep(min(float(payload.get("seconds", 0)), 600.0))
