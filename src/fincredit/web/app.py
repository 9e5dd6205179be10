"""The FastAPI application factory."""

from __future__ import annotations

import importlib
import inspect
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fincredit import __version__
from fincredit.db import get_engine
from fincredit.errors import DomainError
from fincredit.logs import get_logger
from fincredit.settings import get_settings
from fincredit.web.routers import API_MODULES, PAGE_MODULES

log = get_logger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

_HTTP_CODES = {
    400: ("bad_request", "请求格式错误"),
    401: ("unauthorized", "需要有效的访问令牌"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "与现有数据冲突"),
    413: ("payload_too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_failed", "请求参数校验失败"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
}

DATABASE_UNAVAILABLE = ("database_unavailable", "数据库暂时不可用，请稍后重试")
OUT_OF_RANGE = ("value_out_of_range", "参数值超出允许范围或含有不允许的字符")

# The error body every operation may answer with, documented once for the whole API.
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "稳定的机器可读错误码（snake_case）"},
            "message": {"type": "string", "description": "中文说明"},
            "details": {"description": "补充信息（如校验失败的字段）"},
        },
    }},
}
_COMMON_ERRORS = {
    400: "请求格式错误", 401: "缺少或无效的凭据", 403: "无权执行此操作", 404: "资源不存在", 409: "与现有数据冲突", 413: "请求体过大",
    422: "请求参数校验失败", 429: "请求过于频繁", 503: "数据库暂时不可用，稍后重试",
}
_UPLOAD_ERRORS = {507: "上传暂存空间已满或超出配额（upload_quota_exceeded），文件未保存"}
_AUTH_ERRORS = {401: "缺少或无效的访问令牌", 403: "角色不符，或机构不在正常接入状态"}


def error_body(code: str, message: str, details: object = None) -> dict:
    body: dict = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


class BodySizeLimit:
    """Refuse JSON bodies over the configured limit before they are read (uploads have their own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            ctype = headers.get(b"content-type", b"").decode("latin-1")
            settings = get_settings()
            limit = settings.max_upload_bytes if ctype.startswith("multipart/") else settings.max_json_bytes
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                response = JSONResponse(
                    error_body("payload_too_large", f"请求体超过上限 {limit} 字节"), status_code=413)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RequestId:
    """Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one): in
    ``request.state.request_id`` (disclosures record it) and in the response's ``X-Request-ID``.

    A plain ASGI middleware rather than ``@app.middleware("http")``: that one (``BaseHTTPMiddleware``)
    runs the rest of the app in a task with memory streams, a noticeable part of a request's CPU."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if not rid or len(rid) > 64 or not rid.replace("-", "").isalnum():
            rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        await self.app(scope, receive, send_with_id)


def _validation_details(exc: RequestValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        out.append({"field": ".".join(loc), "code": err.get("type", "invalid"), "message": err.get("msg", "")})
    return out


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., object]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _dependency_calls(dep)


def _route_auth(route: APIRoute) -> tuple[str, list[str]]:
    """("required" | "optional" | "none", roles allowed) from the route's dependency tree."""
    from fincredit.web.deps import get_principal, optional_principal

    calls = list(_dependency_calls(route.dependant))
    roles: set[str] = set()
    for call in calls:
        allowed = inspect.getclosurevars(call).nonlocals.get("allowed") if inspect.isfunction(call) else None
        if isinstance(allowed, set | frozenset):
            roles |= {getattr(r, "value", str(r)) for r in allowed}
    if get_principal in calls and optional_principal not in calls:
        return "required", sorted(roles)
    if optional_principal in calls:
        return "optional", sorted(roles)
    return "none", []


def _api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every API route as the OpenAPI generator sees it (FastAPI ≥ 0.160 includes routers lazily)."""
    try:
        from fastapi.openapi.utils import _get_api_route_for_openapi
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are plain APIRoutes
        yield from (r for r in app.routes if isinstance(r, APIRoute))
        return
    for context in iter_route_contexts(app.routes):
        route = _get_api_route_for_openapi(context)
        if route is not None and getattr(route, "dependant", None) is not None:
            yield route  # type: ignore[misc]


def _document_errors(app: FastAPI) -> dict:
    """The OpenAPI document, with our error body on every operation (FastAPI's default 422 schema
    is not what we send), the bearer scheme on operations that need a token, and ``x-roles``."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "Authorization: Bearer 令牌"}
    auth = {(method.lower(), route.path_format): _route_auth(route)
            for route in _api_routes(app) for method in route.methods}
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            kind, roles = auth.get((method, path), ("none", []))
            errors = dict(_COMMON_ERRORS)
            if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
                errors.update(_UPLOAD_ERRORS)
            if kind != "none":
                errors.update(_AUTH_ERRORS)
                operation["security"] = [{"bearer": []}] if kind == "required" else [{}, {"bearer": []}]
                operation["x-roles"] = roles
            responses = operation.setdefault("responses", {})
            for status, description in sorted(errors.items()):
                existing = responses.get(str(status), {})
                responses[str(status)] = {"description": existing.get("description") or description,
                                          "content": error_ref}
    app.openapi_schema = doc
    return doc


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Upload spool files a crashed process left behind (this host's dead processes; others' when old).
    from fincredit.collection.uploads import clean_stale_uploads

    clean_stale_uploads(get_settings().data_dir / "uploads")
    yield
    # The ledger's group appender: commit what is queued, then stop its thread (ledger/group.py).
    from fincredit.ledger import group

    group.shutdown()


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="fincredit 融资信用服务平台",
        version=__version__,
        description="江苏省融资信用服务平台及省级节点（苏政办发〔2022〕59号）。错误体："
        '`{"error": {"code", "message"}}`。',
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit)

    app.add_middleware(RequestId)

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("validation_failed", "请求参数校验失败", _validation_details(exc)),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_CODES.get(exc.status_code, ("http_error", "请求失败"))
        return JSONResponse(error_body(code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        # A lost connection (server restart, terminated backend, network) or a locked/unavailable
        # database: the transaction was rolled back, nothing was half-recorded; the pool drops the
        # dead connection (pre-ping) so the next request gets a fresh one.
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            log.warning("database_unavailable", error=str(exc.orig)[:200],
                        invalidated=exc.connection_invalidated)
            return JSONResponse(error_body(*DATABASE_UNAVAILABLE), status_code=503, headers={"Retry-After": "1"})
        if isinstance(exc, DataError):  # PostgreSQL: a value that does not fit its column (e.g. id ≥ 2⁶³)
            log.warning("value_out_of_range", error=str(exc.orig)[:200])
            return JSONResponse(error_body(*OUT_OF_RANGE), status_code=422)
        raise exc

    @app.exception_handler(OverflowError)
    async def overflow_error(_request: Request, exc: OverflowError) -> JSONResponse:
        # SQLite's driver: an integer parameter beyond 64 bits (e.g. /loans/99999999999999999999).
        log.warning("value_out_of_range", error=str(exc)[:200])
        return JSONResponse(error_body(*OUT_OF_RANGE), status_code=422)

    @app.get("/healthz", tags=["运维"], summary="健康检查")
    def healthz() -> dict:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        app.include_router(module.router, prefix="/api/v1")
    for module_name in PAGE_MODULES:
        module = importlib.import_module(module_name)
        app.include_router(module.router)
    if STATIC_DIR.exists():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.openapi = lambda: _document_errors(app)  # type: ignore[method-assign]
    return app
