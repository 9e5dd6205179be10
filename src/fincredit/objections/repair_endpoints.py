"""The credit-repair API (信用修复): enterprises apply with a commitment and proof; the operator decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from fincredit.objections import repair
from fincredit.objections.attachments import IncomingFile, stored_file
from fincredit.objections.endpoints import body_schema, commit, download, read_submission
from fincredit.objections.schemas import DecideIn, RepairIn
from fincredit.web.deps import AdminDep, EnterpriseDep, SessionDep

router = APIRouter(tags=["异议申诉与信用修复"])
PROOF_DOC = "整改证明材料（必填）：PDF、PNG 或 JPEG（按文件内容判断），每个不超过 10 MB，最多 5 个"


async def _repair_submission(request: Request) -> tuple[RepairIn, list[IncomingFile]]:
    return await read_submission(request, RepairIn)


@router.post("/me/repairs", status_code=201, summary="申请信用修复（承诺书 + 整改证明材料）",
             openapi_extra=body_schema(RepairIn, PROOF_DOC))
def apply(session: SessionDep, me: EnterpriseDep,
          submission: Annotated[tuple[RepairIn, list[IncomingFile]], Depends(_repair_submission)]) -> dict:
    body, files = submission
    row = repair.apply(session, me, record_id=body.record_id, commitment=body.commitment, category=body.category,
                       files=files)
    out = repair.repair_dict(session, row)
    commit(session)
    return out


@router.get("/me/repairs", summary="本企业的信用修复申请")
def my_repairs(session: SessionDep, me: EnterpriseDep, limit: int = Query(100, ge=1, le=500),
               offset: int = Query(0, ge=0)) -> list[dict]:
    return [repair.repair_dict(session, r) for r in repair.list_own(session, me, limit, offset)]


@router.get("/me/repairs/{repair_id}", summary="本企业的一项信用修复申请")
def my_repair(repair_id: int, session: SessionDep, me: EnterpriseDep) -> dict:
    return repair.repair_dict(session, repair.get_own(session, me, repair_id))


@router.get("/me/repairs/{repair_id}/attachments/{attachment_id}", response_class=FileResponse,
            summary="下载本企业信用修复申请的证明材料")
def my_attachment(repair_id: int, attachment_id: int, session: SessionDep, me: EnterpriseDep) -> FileResponse:
    row = repair.get_own(session, me, repair_id)
    return download(*stored_file(session, "repair", row.id, attachment_id))


@router.get("/repairs/{repair_id}/attachments/{attachment_id}", response_class=FileResponse,
            summary="下载信用修复申请的证明材料（运营人员）")
def attachment(repair_id: int, attachment_id: int, session: SessionDep, _admin: AdminDep) -> FileResponse:
    row = repair.get(session, repair_id)
    return download(*stored_file(session, "repair", row.id, attachment_id))


@router.get("/repairs", summary="信用修复申请（运营人员审核队列）")
def repair_queue(session: SessionDep, _admin: AdminDep,
                 status: str | None = Query("pending", max_length=16, description="pending（默认）、approved、refused"),
                 limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> list[dict]:
    return [repair.repair_dict(session, r, operator=True) for r in repair.queue(session, status, limit, offset)]


@router.post("/repairs/{repair_id}/decide", summary="审核信用修复申请（批准即时生效：该记录不再计入评价和公开信息）")
def decide(repair_id: int, body: DecideIn, session: SessionDep, admin: AdminDep) -> dict:
    row = repair.decide(session, repair_id, actor=admin.name or admin.subject, approved=body.approved,
                        reason=body.reason)
    out = repair.repair_dict(session, row, operator=True)
    commit(session)
    return out
