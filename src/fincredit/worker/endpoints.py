"""``GET /api/v1/jobs``: background jobs for the node operator."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from fincredit.db import as_utc
from fincredit.web.deps import AdminDep, SessionDep
from fincredit.worker import repository
from fincredit.worker.models import JobRecord

router = APIRouter(tags=["后台任务"])

JobStatus = Literal["queued", "running", "succeeded", "failed", "dead"]


class JobOut(BaseModel):
    id: str
    kind: str
    status: JobStatus
    attempts: int
    queued_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    last_error: str | None
    worker_id: str | None

    @classmethod
    def of(cls, row: JobRecord) -> JobOut:
        def utc(value: dt.datetime | None) -> dt.datetime | None:
            return as_utc(value) if value else None

        return cls(id=row.message_id, kind=row.kind, status=row.status, attempts=row.attempts,  # type: ignore[arg-type]
                   queued_at=as_utc(row.queued_at), started_at=utc(row.started_at),
                   finished_at=utc(row.finished_at), next_attempt_at=utc(row.next_attempt_at),
                   last_error=row.last_error, worker_id=row.worker_id)


class JobList(BaseModel):
    items: list[JobOut]


@router.get("/jobs", summary="后台任务列表（运营人员）", response_model=JobList)
def list_jobs(_admin: AdminDep, session: SessionDep, status: JobStatus | None = None,
              kind: str | None = Query(None, max_length=64), limit: int = Query(100, ge=1, le=1000),
              offset: int = Query(0, ge=0)) -> JobList:
    rows = repository.list_jobs(session, status=status, kind=kind, limit=limit, offset=offset)
    return JobList(items=[JobOut.of(row) for row in rows])
