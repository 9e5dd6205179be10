"""The catalog API: the current sharing list, its versions, and run-time adjustments (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from fincredit.catalog import service
from fincredit.catalog.schemas import CategoryAdjustment, VersionOut
from fincredit.errors import BadRequest
from fincredit.web.deps import AdminDep, SessionDep

router = APIRouter(prefix="/catalog", tags=["共享清单"])


@router.get("", summary="当前（或指定版本的）信用信息共享清单")
def read_catalog(session: SessionDep, version: int | None = Query(default=None, ge=1)) -> dict:
    return service.get_catalog(session, version).to_dict()


@router.get("/versions", summary="共享清单的全部版本", response_model=list[VersionOut])
def read_versions(session: SessionDep) -> list[VersionOut]:
    return [VersionOut(version=v.version, note=v.note, source=v.source, created_by=v.created_by,
                       created_at=v.created_at.isoformat()) for v in service.list_versions(session)]


@router.get("/categories/{code}", summary="一个信息类的定义")
def read_category(code: str, session: SessionDep, version: int | None = Query(default=None, ge=1)) -> dict:
    snap = service.get_catalog(session, version)
    return {"version": snap.version, **snap.category(code).public_dict()}


@router.post("/categories", status_code=201, summary="新增信息类（生成新版本）")
def add_category(body: CategoryAdjustment, session: SessionDep, admin: AdminDep) -> dict:
    row = service.adjust_category(session, body.definition, actor=admin.name or admin.subject, note=body.note,
                                  provider_name=body.provider_name, create_only=True)
    return {"version": row.version, "code": body.definition.get("code")}


@router.put("/categories/{code}", status_code=201, summary="调整信息类（生成新版本，旧版本仍可查询）")
def put_category(code: str, body: CategoryAdjustment, session: SessionDep, admin: AdminDep) -> dict:
    if body.definition.get("code", code) != code:
        raise BadRequest("路径中的信息类编码与定义中的 code 不一致", code="code_mismatch")
    definition = {**body.definition, "code": code}
    row = service.adjust_category(session, definition, actor=admin.name or admin.subject, note=body.note,
                                  provider_name=body.provider_name)
    return {"version": row.version, "code": code}
