"""What every HTML page uses: templates, the unit of work, the logged-in user, CSRF, errors as pages.

Page routers use ``PageRoute``: a ``DomainError`` or HTTP error becomes an HTML page (and the
transaction is rolled back), a missing log-in becomes a redirect to the right log-in page.
Handlers are plain functions taking ``DB`` (committed when the handler returns, before the
response is sent) and one of the role dependencies below.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from fincredit.auth.models import Role
from fincredit.db import session_scope
from fincredit.errors import DomainError
from fincredit.logs import get_logger
from fincredit.web import formatting, sessions
from fincredit.web.navigation import LOGIN_PATHS, nav_for

log = get_logger(__name__)
WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
FLASH_COOKIE = "fc_flash"
STALE_FORM = "页面已过期，请重新提交"

_env = templates.env
_env.filters.update(local_time=formatting.local_time, local_date=formatting.local_date, number=formatting.number,
                    percent=formatting.percent, short_hash=formatting.short_hash, cell=formatting.cell)
_env.globals.update(labels=formatting, role_labels=formatting.ROLE_LABELS)


def _static_version() -> str:
    css = WEB_DIR / "static" / "css" / "site.css"
    js = WEB_DIR / "static" / "js" / "site.js"
    return str(int(max((p.stat().st_mtime for p in (css, js) if p.exists()), default=0)))


_env.globals["static_version"] = _static_version()


class LoginRequired(Exception):
    def __init__(self, url: str) -> None:
        self.url = url


# -- the unit of work -----------------------------------------------------------------------------

def page_session(request: Request) -> Iterator[Session]:
    with session_scope() as session:
        request.state.page_db = session
        yield session


DB = Annotated[Session, Depends(page_session, scope="function")]


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=0, max_fields=300)


FormDep = Annotated[FormData, Depends(read_form)]


# -- users ---------------------------------------------------------------------------------------

def optional_user(request: Request, db: DB) -> sessions.PortalUser | None:
    cached = getattr(request.state, "portal_user", False)
    if cached is not False:
        return cached
    row = sessions.load_session(db, request)
    user = sessions.portal_user(row) if row is not None else None
    request.state.portal_user = user
    return user


OptionalUser = Annotated[sessions.PortalUser | None, Depends(optional_user)]


def _safe_next(path: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def login_url(role: str, next_path: str = "", message: str = "") -> str:
    url = LOGIN_PATHS.get(role, "/login")
    params = []
    if next_path:
        params.append("next=" + quote(_safe_next(next_path)))
    if message:
        params.append("msg=" + quote(message))
    return url + ("?" + "&".join(params) if params else "")


def _principal_refused(db: Session, user: sessions.PortalUser) -> str | None:
    """The Chinese reason a principal may no longer act (suspended institution …), or None."""
    from fincredit.web.deps import principal_checks

    if user.principal.role == Role.admin:
        from fincredit.web.operators import operator_active

        return None if operator_active(db, user.subject) else "运营人员账户已停用"
    for check in principal_checks:
        try:
            check(db, user.principal)
        except DomainError as exc:
            return exc.message
    return None


def require_role(*roles: Role) -> Callable[..., sessions.PortalUser]:
    allowed = {r.value for r in roles}

    def dependency(request: Request, db: DB) -> sessions.PortalUser:
        user = optional_user(request, db)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if user is None:
            db.commit()  # an expired session row was removed
            raise LoginRequired(login_url(roles[0].value, target if request.method == "GET" else ""))
        if user.role not in allowed:
            raise DomainError(f"此页面需要以{formatting.ROLE_LABELS.get(roles[0].value, '')}身份登录；"
                              f"您当前以{formatting.ROLE_LABELS.get(user.role, user.role)}身份登录",
                              code="wrong_role", status_code=403)
        refused = _principal_refused(db, user)
        if refused is not None:
            response = Response()
            sessions.close_session(db, request, response)
            db.commit()
            raise LoginRequired(login_url(roles[0].value, "", refused))
        return user

    return dependency


EnterpriseUser = Annotated[sessions.PortalUser, Depends(require_role(Role.enterprise))]
InstitutionUser = Annotated[sessions.PortalUser, Depends(require_role(Role.institution, Role.platform))]
OperatorUserDep = Annotated[sessions.PortalUser, Depends(require_role(Role.admin))]
ProviderUser = Annotated[sessions.PortalUser, Depends(require_role(Role.provider))]


# -- rendering -----------------------------------------------------------------------------------

def flash(response: Response, message: str, kind: str = "success") -> None:
    value = base64.urlsafe_b64encode(json.dumps({"m": message[:300], "k": kind}).encode()).decode()
    response.set_cookie(FLASH_COOKIE, value, max_age=60, path="/", httponly=True, samesite="lax")


def _take_flash(request: Request) -> dict | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or len(raw) > 2000:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, TypeError):
        return None
    return {"message": str(data.get("m", "")), "kind": data.get("k") if data.get("k") in ("success", "error",
                                                                                        "info") else "info"}


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           user: sessions.PortalUser | None = None) -> HTMLResponse:
    ctx = dict(context or {})
    if user is None:
        user = getattr(request.state, "portal_user", None) or None
    ctx.setdefault("user", user)
    ctx.setdefault("nav", nav_for(user.role if user else None))
    ctx.setdefault("breadcrumb", [])
    ctx.setdefault("form", {})
    ctx.setdefault("errors", {})
    ctx["csrf_token"] = user.csrf_token if user else sessions.anonymous_csrf(request)
    ctx["flash"] = _take_flash(request)
    ctx["current_path"] = request.url.path
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    if ctx["flash"]:
        response.delete_cookie(FLASH_COOKIE, path="/")
    if user is None:
        sessions.remember_anonymous_csrf(request, response)
    return response


def redirect(url: str, message: str | None = None, kind: str = "success") -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if message:
        flash(response, message, kind)
    return response


def form_values(form: FormData, *, secret: tuple[str, ...] = ("password", "password2", "token", "totp",
                                                                "csrf_token")) -> dict[str, Any]:
    """The submitted values to show again (never secrets); multi-valued fields as lists."""
    out: dict[str, Any] = {}
    for key in form.keys():
        if key in secret:
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if len(values) > 1 or key.endswith("[]") else (values[0] if values else "")
    return out


def csrf_error(request: Request, form: FormData, user: sessions.PortalUser | None) -> dict[str, str]:
    """``{"_form": "页面已过期，请重新提交"}`` when the form's token is stale or forged, else ``{}``."""
    submitted = form.get("csrf_token")
    ok = sessions.csrf_valid(request, submitted if isinstance(submitted, str) else None, user)
    return {} if ok else {"_form": STALE_FORM}


def text_field(form: FormData, name: str, max_length: int = 500) -> str:
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


# -- errors as pages -----------------------------------------------------------------------------

_HTTP_TITLES = {400: "请求有误", 401: "需要登录", 403: "无权访问", 404: "页面不存在", 405: "不支持该操作",
                409: "操作冲突", 413: "文件过大", 422: "提交的内容有误", 429: "操作过于频繁", 503: "服务暂不可用"}


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    title = _HTTP_TITLES.get(status_code, "出错了")
    return render(request, "error.html", {"title": title, "message": message, "status": status_code},
                  status_code=status_code)


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return RedirectResponse(exc.url, status_code=303)
            except (DomainError, StarletteHTTPException, RequestValidationError) as exc:
                db = getattr(request.state, "page_db", None)
                if db is not None:
                    db.rollback()
                if isinstance(exc, DomainError):
                    return error_page(request, exc.status_code, exc.message)
                if isinstance(exc, RequestValidationError):
                    return error_page(request, 404, "页面不存在或链接有误")
                return error_page(request, exc.status_code, _HTTP_TITLES.get(exc.status_code, "请求失败"))

        return route
