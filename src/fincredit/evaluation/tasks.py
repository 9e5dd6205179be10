"""Background job of evaluation: a full run of every registered enterprise, asked for by an operator.

The run is one transaction in the worker (``evaluate_all``); the operator's page follows the job's
state and estimates its progress from the previous full run's duration.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fincredit.evaluation import service
from fincredit.worker.registry import job

RUN_ALL_KIND = "evaluation.run_all"


@job(RUN_ALL_KIND, max_attempts=3)
def run_all(session: Session, payload: dict[str, Any]) -> None:
    service.evaluate_all(session, triggered_by=str(payload.get("by") or "管理端")[:100])
