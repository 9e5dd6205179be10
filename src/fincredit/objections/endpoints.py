"""The objection API (异议申诉): enterprises file and follow; the operator forwards and resolves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from fincredit.db import utcnow
from fincredit.errors import BadRequest, DomainError, Unprocessable
from fincredit.objections import resolution, service
from fincredit.objections.attachments import IncomingFile, stored_file
from fincredit.objections.config import get_objection_settings
from fincredit.objections.models import Attachment
from fincredit.objections.schemas import ObjectionFiled, ObjectionIn, ObjectionQueue, ResolveIn
from fincredit.web.deps import AdminDep, EnterpriseDep, SessionDep

router = APIRouter(tags=["异议申诉与信用修复"])
Model = TypeVar("Model", bound=BaseModel)


def commit(session: SessionDep) -> None:
    """The event must be durable before the answer leaves (the session dependency commits later)."""
    try:
        session.commit()
    except Exception as exc:
        session.rollback()
        raise DomainError("暂时无法保存，请稍后重试", code="storage_unavailable", status_code=503) from exc


def _invalid(exc: ValidationError) -> Unprocessable:
    details = [{"field": ".".join(str(p) for p in e.get("loc", ())), "code": e.get("type", "invalid"),
                "message": e.get("msg", "")} for e in exc.errors()]
    return Unprocessable("请求参数校验失败", code="validation_failed", details=details)


async def read_submission(request: Request, model: type[Model]) -> tuple[Model, list[IncomingFile]]:
    """JSON, or form fields plus files (multipart; each file read up to the size limit + 1 byte)."""
    ctype = request.headers.get("content-type", "").lower()
    files: list[IncomingFile] = []
    fields: dict[str, Any] = {}
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        settings = get_objection_settings()
        try:
            form = await request.form(max_files=100, max_fields=50)
        except Exception as exc:
            raise BadRequest("无法解析 multipart 请求体", code="bad_multipart") from exc
        try:
            uploads = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
            fields = {k: v for k, v in form.multi_items() if not isinstance(v, UploadFile)}
            uploads = [(k, v) for k, v in uploads if v.filename or (v.size or 0) > 0]  # empty file inputs
            if len(uploads) > settings.attachment_max_files:
                raise Unprocessable(f"附件最多 {settings.attachment_max_files} 个", code="too_many_attachments",
                                    details={"max_files": settings.attachment_max_files, "received": len(uploads)})
            for _key, upload in uploads:
                data = await upload.read(settings.attachment_max_bytes + 1)
                files.append(IncomingFile(upload.filename or "", upload.content_type or "", data))
        finally:
            await form.close()
    elif ctype.startswith("application/json") or not ctype:
        try:
            parsed = json.loads(await request.body() or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequest("请求体不是合法的 JSON", code="bad_json") from exc
        if not isinstance(parsed, dict):
            raise Unprocessable("请求体应为 JSON 对象", code="validation_failed")
        fields = parsed
    else:
        raise DomainError("请使用 application/json 或 multipart/form-data 提交", code="unsupported_media_type",
                          status_code=415)
    try:
        return model.model_validate(fields), files
    except ValidationError as exc:
        raise _invalid(exc) from exc


async def _objection_submission(request: Request) -> tuple[ObjectionIn, list[IncomingFile]]:
    return await read_submission(request, ObjectionIn)


def body_schema(model: type[BaseModel], files_doc: str) -> dict:
    schema = model.model_json_schema()
    multipart = {"type": "object", "required": schema.get("required", []),
                 "properties": {**schema["properties"],
                                "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                                          "description": files_doc}}}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema}, "multipart/form-data": {"schema": multipart}}}}


FILES_DOC = "附件：PDF、PNG 或 JPEG（按文件内容判断），每个不超过 10 MB，最多 5 个"


@router.post("/me/objections", status_code=201, response_model=ObjectionFiled,
             summary="对本企业的一条信用记录提出异议（可附证明材料），返回转交省级节点的期限",
             openapi_extra=body_schema(ObjectionIn, FILES_DOC))
def file_objection(session: SessionDep, me: EnterpriseDep,
                   submission: Annotated[tuple[ObjectionIn, list[IncomingFile]], Depends(_objection_submission)]
                   ) -> dict:
    body, files = submission
    obj = service.file_objection(session, me, category=body.category, record_id=body.record_id,
                                 reason=body.reason, files=files)
    out = service.objection_dict(session, obj)
    commit(session)
    return out


@router.get("/me/objections", summary="本企业的异议申诉及处理结果")
def my_objections(session: SessionDep, me: EnterpriseDep, limit: int = Query(100, ge=1, le=500),
                  offset: int = Query(0, ge=0)) -> list[dict]:
    now = utcnow()
    return [service.objection_dict(session, o, now) for o in service.list_own(session, me, limit, offset)]


@router.get("/me/objections/{objection_id}", summary="本企业的一项异议申诉（含处理理由）")
def my_objection(objection_id: int, session: SessionDep, me: EnterpriseDep) -> dict:
    return service.objection_dict(session, service.get_own(session, me, objection_id))


def download(path: Path, row: Attachment) -> FileResponse:
    """An attachment as a download (never rendered inline: the browser must not interpret it)."""
    return FileResponse(path, media_type=row.content_type, filename=row.filename, content_disposition_type="attachment",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@router.get("/me/objections/{objection_id}/attachments/{attachment_id}", response_class=FileResponse,
            summary="下载本企业异议申诉的附件")
def my_attachment(objection_id: int, attachment_id: int, session: SessionDep, me: EnterpriseDep) -> FileResponse:
    obj = service.get_own(session, me, objection_id)
    return download(*stored_file(session, "objection", obj.id, attachment_id))


@router.get("/objections/{objection_id}/attachments/{attachment_id}", response_class=FileResponse,
            summary="下载异议申诉的附件（运营人员）")
def attachment(objection_id: int, attachment_id: int, session: SessionDep, _admin: AdminDep) -> FileResponse:
    obj = service.get(session, objection_id)
    return download(*stored_file(session, "objection", obj.id, attachment_id))


@router.get("/objections", response_model=ObjectionQueue, summary="异议申诉队列（按转交期限排序，标明逾期）")
def objection_queue(session: SessionDep, _admin: AdminDep,
                    status: str | None = Query(None, max_length=16, description="open（默认）、filed、forwarded、resolved、all"),
                    limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)) -> dict:
    now = utcnow()
    rows, total = service.queue(session, status, limit, offset)
    items = [service.objection_dict(session, o, now, operator=True) for o in rows]
    return {"items": items, "total": total, "overdue": sum(1 for i in items if i["overdue"])}


@router.get("/objections/{objection_id}", summary="一项异议申诉（运营人员）")
def objection(objection_id: int, session: SessionDep, _admin: AdminDep) -> dict:
    return service.objection_dict(session, service.get(session, objection_id), operator=True)


@router.post("/objections/{objection_id}/forward", summary="平台将异议申诉转交省级节点（记录是否在期限内）")
def forward(objection_id: int, session: SessionDep, admin: AdminDep) -> dict:
    obj = service.forward(session, objection_id, admin.name or admin.subject)
    out = service.objection_dict(session, obj, operator=True)
    commit(session)
    return out


@router.post("/objections/{objection_id}/resolve",
             summary="省级节点办结异议：更正（生成替代记录、重新评价、通知曾获取旧值的机构）或维持")
def resolve(objection_id: int, body: ResolveIn, session: SessionDep, admin: AdminDep) -> dict:
    obj = resolution.resolve(session, objection_id, actor=admin.name or admin.subject, outcome=body.outcome,
                             reason=body.reason, provider_confirmation=body.provider_confirmation,
                             corrected_values=body.corrected_values)
    out = service.objection_dict(session, obj, operator=True)
    commit(session)
    return out
