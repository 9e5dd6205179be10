"""管理端 · 信用评价: start a full evaluation run on the worker and follow its progress.

A run is a worker job (``evaluation.run_all``); while it is queued or running the page refreshes
itself and shows a progress bar estimated from the previous full run's duration (a run is one
transaction, so there is no partial result to count).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.db import as_utc, utcnow
from fincredit.evaluation import repository as evaluation
from fincredit.evaluation.tasks import RUN_ALL_KIND
from fincredit.web.pagekit import (
    DB,
    STALE_FORM,
    FormDep,
    OperatorUserDep,
    PageRoute,
    csrf_error,
    redirect,
    render,
)
from fincredit.worker import outbox
from fincredit.worker import repository as jobs
from fincredit.worker.models import OutboxMessage

router = APIRouter(prefix="/operator/evaluation", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("管理端", "/operator"), ("信用评价", "")]


def active_run(db: Session) -> dict | None:
    """The evaluation job not yet finished (pending in the outbox, queued or running), with an estimate."""
    message = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == RUN_ALL_KIND,
                                                     OutboxMessage.status.not_in(("done", "dead")))
                         .order_by(OutboxMessage.created_at.desc()).limit(1)).first()
    if message is None:
        return None
    record = jobs.job_for(db, message.id)
    status = record.status if record is not None else "queued"
    started = as_utc(record.started_at) if record is not None and record.started_at else None
    previous = next((r for r in evaluation.runs(db, 20) if r.kind == "full" and r.seconds), None)
    percent = remaining = None
    if status == "running" and started is not None:
        elapsed = max(0.0, (utcnow() - started).total_seconds())
        if previous is not None:
            percent = min(95, int(100 * elapsed / max(previous.seconds or 1.0, 1.0)))
            remaining = max(0, int((previous.seconds or 0) - elapsed))
    return {"status": status, "queued_at": message.created_at, "started_at": started, "percent": percent,
            "remaining": remaining, "attempts": record.attempts if record is not None else 0,
            "last_error": record.last_error if record is not None else None}


@router.get("", response_class=HTMLResponse)
def index(request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    return render(request, "operator/evaluation.html", {
        "title": "信用评价", "breadcrumb": CRUMBS, "active": active_run(db), "runs": evaluation.runs(db, 20),
        "workers": jobs.live_workers(db, utcnow() - dt.timedelta(minutes=2))}, user=user)


@router.post("/run")
def start(request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/operator/evaluation", STALE_FORM, "error")
    if active_run(db) is not None:
        return redirect("/operator/evaluation", "已有一次信用评价在排队或运行中，请等待其完成", "error")
    outbox.enqueue(db, RUN_ALL_KIND, {"by": (user.display_name or user.subject)[:100]})
    return redirect("/operator/evaluation", "已提交全量信用评价，后台任务进程将执行")
