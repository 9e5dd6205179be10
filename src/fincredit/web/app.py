"""The FastAPI application factory."""

from __future__ import annotations

import importlib
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from fincredit import __version__
from fincredit.db import get_engine
from fincredit.errors import DomainError
from fincredit.settings import get_settings
from fincredit.web.routers import API_MODULES, PAGE_MODULES

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


def _validation_details(exc: RequestValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        out.append({"field": ".".join(loc), "code": err.get("type", "invalid"), "message": err.get("msg", "")})
    return out


def create_app() -> FastAPI:
    app = FastAPI(
        title="fincredit 融资信用服务平台",
        version=__version__,
        description="江苏省融资信用服务平台及省级节点（苏政办发〔2022〕59号）。错误体："
        '`{"error": {"code", "message"}}`。',
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit)

    @app.middleware("http")
    async def request_id(request: Request, call_next):  # type: ignore[no-untyped-def]
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        if len(rid) > 64 or not rid.replace("-", "").isalnum():
            rid = uuid.uuid4().hex
        request.state.request_id = rid
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

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
    return app
