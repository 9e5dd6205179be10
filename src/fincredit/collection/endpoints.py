"""The collection API: providers, batches, quality."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from fincredit.auth.models import Role
from fincredit.collection import provider_service, quality, repository, service
from fincredit.collection.schemas import (
    BATCH_UPLOAD_OPENAPI,
    BatchErrorOut,
    BatchOut,
    EndpointIn,
    ProviderCategories,
    ProviderCreate,
    ProviderOut,
    TokenCreate,
    TokenOut,
)
from fincredit.collection.uploads import receive_form
from fincredit.errors import NotFound, Unprocessable
from fincredit.settings import get_settings
from fincredit.web.app import error_body
from fincredit.web.deps import AdminDep, ProviderDep, ProviderOrAdminDep, SessionDep

router = APIRouter(tags=["归集"])

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]


@router.post("/providers", status_code=201, response_model=ProviderOut, summary="登记数据提供单位及其负责的信息类")
def create_provider(body: ProviderCreate, _admin: AdminDep, session: SessionDep) -> dict:
    provider = provider_service.register_provider(session, code=body.code, name=body.name, categories=body.categories)
    return provider_service.provider_dict(provider)


@router.get("/providers", response_model=list[ProviderOut], summary="数据提供单位列表")
def list_providers(_admin: AdminDep, session: SessionDep) -> list[dict]:
    return [provider_service.provider_dict(p) for p in repository.list_providers(session)]


@router.get("/providers/{code}", response_model=ProviderOut, summary="一个数据提供单位")
def get_provider(code: str, _admin: AdminDep, session: SessionDep) -> dict:
    return provider_service.provider_dict(provider_service.require_provider(session, code))


@router.put("/providers/{code}/categories", response_model=ProviderOut, summary="调整负责的信息类")
def set_categories(code: str, body: ProviderCategories, _admin: AdminDep, session: SessionDep) -> dict:
    return provider_service.provider_dict(provider_service.set_categories(session, code, body.categories))


@router.post("/providers/{code}/tokens", status_code=201, response_model=TokenOut, summary="为数据提供单位签发令牌")
def create_token(code: str, _admin: AdminDep, session: SessionDep, body: TokenCreate | None = None) -> dict:
    return {"token": provider_service.issue_provider_token(session, code, body.name if body else None)}


@router.put("/providers/{code}/endpoint", response_model=ProviderOut, summary="登记接口调用地址与签名密钥")
def set_endpoint(code: str, body: EndpointIn, _admin: AdminDep, session: SessionDep) -> dict:
    return provider_service.provider_dict(provider_service.set_endpoint(session, code, url=body.url,
                                                                        secret=body.secret))


@router.post("/batches", status_code=201, response_model=BatchOut, openapi_extra=BATCH_UPLOAD_OPENAPI,
             summary="报送一个批次（multipart：category、file，可选 mode、encoding）",
             responses={200: {"description": "相同内容已报送过：返回第一个批次", "model": BatchOut},
                        413: {"description": "文件超过上限"},
                        422: {"description": "文件无法使用（表头、编码、格式）；批次记为 rejected，错误体含 batch"}})
async def upload_batch(request: Request, principal: ProviderDep, session: SessionDep) -> Response:
    settings = get_settings()

    async def before_file(fields: dict[str, str]) -> None:
        if not fields.get("category"):
            raise Unprocessable("缺少字段 category（应在 file 之前发送）", code="missing_category")
        await run_in_threadpool(service.check_delivery, session, provider_code=principal.subject,
                                category_code=fields["category"], mode=fields.get("mode") or "store_valid")

    form = await receive_form(request.headers.get("content-type", ""), request.stream(),
                              dest_dir=settings.data_dir / "uploads", limit=settings.max_upload_bytes,
                              before_file=before_file)
    if form.file is None:
        raise Unprocessable("缺少文件字段 file", code="missing_file")
    try:
        result = await run_in_threadpool(
            service.ingest, session, provider_code=principal.subject, category_code=form.fields["category"],
            upload=form.file, mode=form.fields.get("mode") or "store_valid",
            encoding=form.fields.get("encoding") or None, uploaded_by=principal.name or principal.subject)
        body = await run_in_threadpool(service.batch_dict, session, result.batch)
    finally:
        form.file.path.unlink(missing_ok=True)
    if result.file_error is not None:
        details = {"batch": body, **(result.file_error.details or {})}
        return JSONResponse(error_body(result.file_error.code, result.file_error.message, details), status_code=422)
    return JSONResponse(body, status_code=201 if result.created else 200)


def _visible_batch(session: SessionDep, batch_id: int, principal: ProviderOrAdminDep):  # type: ignore[no-untyped-def]
    batch = repository.get_batch(session, batch_id)
    if batch is None or (principal.role == Role.provider and batch.provider_code != principal.subject):
        raise NotFound("批次不存在", code="batch_not_found")
    return batch


@router.get("/batches", response_model=list[BatchOut], summary="批次列表（数据提供单位只见自己的）")
def list_batches(principal: ProviderOrAdminDep, session: SessionDep, response: Response,
                 provider: str | None = None, category: str | None = None, status: str | None = None,
                 limit: Limit = 50, offset: Offset = 0) -> list[dict]:
    if principal.role == Role.provider:
        provider = principal.subject
    rows, total = repository.list_batches(session, provider_code=provider, category_code=category, status=status,
                                          limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [service.batch_dict(session, b) for b in rows]


@router.get("/batches/{batch_id}", response_model=BatchOut, summary="一个批次")
def get_batch(batch_id: int, principal: ProviderOrAdminDep, session: SessionDep) -> dict:
    return service.batch_dict(session, _visible_batch(session, batch_id, principal))


@router.get("/batches/{batch_id}/errors", response_model=list[BatchErrorOut],
            summary="批次的错误行 {row, field, code, message}（分页：limit、offset；总数见 X-Total-Count）")
def get_batch_errors(batch_id: int, principal: ProviderOrAdminDep, session: SessionDep, response: Response,
                     limit: Limit = 100, offset: Offset = 0) -> list[dict]:
    batch = _visible_batch(session, batch_id, principal)
    rows, total = repository.list_errors(session, batch.id, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [{"row": e.row, "field": e.field, "code": e.code, "message": e.message} for e in rows]


@router.get("/quality", summary="归集质量：准确性、完整性、及时性（按数据提供单位与信息类）")
def get_quality(_admin: AdminDep, session: SessionDep, provider: str | None = None,
                category: str | None = None) -> list[dict]:
    return quality.report(session, provider_code=provider, category_code=category)
