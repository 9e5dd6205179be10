"""Log-in pages per role, log-out, and the enterprise's real-name registration (实名注册).

Enterprises: USCC + password (``registry.accounts``). Institutions, docked platforms and data
providers: the bearer token the node issued them. Operators: user name, password and a TOTP code.
A failed form is shown again with the message next to the field and the typed values (never the
secrets).
"""

from __future__ import annotations

import threading
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fincredit.auth.models import Role
from fincredit.auth.service import Principal, resolve_token, revoke_token
from fincredit.errors import DomainError
from fincredit.registry import accounts
from fincredit.web import sessions
from fincredit.web.config import get_web_settings
from fincredit.web.navigation import PORTAL_HOME
from fincredit.web.pagekit import (
    DB,
    FormDep,
    OptionalUser,
    PageRoute,
    csrf_error,
    form_values,
    redirect,
    render,
    text_field,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

TOKEN_ROLES = {"institution": (Role.institution, Role.platform), "provider": (Role.provider,)}
TITLES = {"enterprise": "企业用户登录", "institution": "金融机构登录", "provider": "数据提供单位登录",
          "operator": "管理端登录"}
REQUIRED = "请填写{}"


class _FailureWindow:
    """Failed token log-ins per client address (tokens are random; this stops noisy guessing)."""

    def __init__(self, window: float = 900.0) -> None:
        self.window, self._lock, self._seen = window, threading.Lock(), {}  # type: ignore[var-annotated]

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            hits = [t for t in self._seen.get(key, []) if now - t < self.window]
            self._seen[key] = hits
            return len(hits) >= get_web_settings().token_login_max_failures

    def fail(self, key: str) -> None:
        with self._lock:
            self._seen.setdefault(key, []).append(time.monotonic())


TOKEN_FAILURES = _FailureWindow()


def _next(request: Request, role: str) -> str:
    target = request.query_params.get("next", "")
    home = PORTAL_HOME[role]
    return target if target.startswith(home) and not target.startswith("//") else home


def _login_page(request: Request, kind: str, form: dict, errors: dict, status_code: int = 200) -> HTMLResponse:
    message = request.query_params.get("msg", "")
    return render(request, f"auth/login_{kind}.html", {
        "title": TITLES[kind], "form": form, "errors": errors, "notice": message[:200],
        "breadcrumb": [("首页", "/"), ("登录", "/login"), (TITLES[kind], "")],
        "action": request.url.path + (f"?{request.url.query}" if request.url.query else "")},
        status_code=status_code, user=None)


def _signed_in(request: Request, db: Session, *, role: Role, subject: str, name: str, token_id: int | None) -> Response:
    response = redirect(_next(request, role.value))
    sessions.open_session(db, request, response, role=role, subject=subject, display_name=name, token_id=token_id)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_choice(request: Request, db: DB, user: OptionalUser) -> HTMLResponse:
    return render(request, "auth/login_choice.html", {"title": "登录", "breadcrumb": [("首页", "/"), ("登录", "")]},
                  user=user)


@router.get("/login/{kind}", response_class=HTMLResponse)
def login_form(kind: str, request: Request, db: DB) -> HTMLResponse:
    if kind not in TITLES:
        raise DomainError("页面不存在", code="not_found", status_code=404)
    prefill = {"uscc": request.query_params.get("uscc", "")[:18]} if kind == "enterprise" else {}
    return _login_page(request, kind, prefill, {})


@router.post("/login/enterprise", response_class=HTMLResponse)
def login_enterprise(request: Request, db: DB, form: FormDep) -> Response:
    values = form_values(form)
    errors = csrf_error(request, form, None)
    uscc, password = text_field(form, "uscc", 64), form.get("password") if isinstance(form.get("password"), str) else ""
    if not uscc:
        errors["uscc"] = REQUIRED.format("统一社会信用代码")
    if not password:
        errors["password"] = REQUIRED.format("密码")
    if not errors:
        try:
            uscc = accounts.normalise_uscc(uscc)
        except DomainError as exc:
            errors["uscc"] = exc.message
    if errors:
        return _login_page(request, "enterprise", values, errors, 422)
    try:
        issued = accounts.authenticate(db, username=uscc, password=str(password))
    except DomainError as exc:
        db.commit()  # keep the failure count and the lock
        return _login_page(request, "enterprise", values, {"_form": exc.message}, exc.status_code)
    principal = resolve_token(db, issued.access_token)
    return _signed_in(request, db, role=Role.enterprise, subject=principal.subject, name=principal.name,
                      token_id=principal.token_id)


def _token_display_name(db: Session, principal: Principal) -> str:
    if principal.role in (Role.institution, Role.platform):
        from fincredit.institutions.service import find_institution

        row = find_institution(db, int(principal.subject)) if principal.subject.isdigit() else None
        return row.name if row is not None else principal.name
    if principal.role == Role.provider:
        from fincredit.collection import repository

        provider = repository.get_provider(db, principal.subject)
        return provider.name if provider is not None else principal.name
    return principal.name


@router.post("/login/{kind}", response_class=HTMLResponse)
def login_with_token(kind: str, request: Request, db: DB, form: FormDep) -> Response:
    if kind == "operator":
        return _login_operator(request, db, form)
    if kind not in TOKEN_ROLES:
        raise DomainError("页面不存在", code="not_found", status_code=404)
    values = form_values(form)
    errors = csrf_error(request, form, None)
    raw = text_field(form, "token", 300)
    client = request.client.host if request.client else "?"
    if not raw:
        errors["token"] = REQUIRED.format("访问令牌")
    if errors:
        return _login_page(request, kind, values, errors, 422)
    if TOKEN_FAILURES.blocked(client):
        return _login_page(request, kind, values, {"token": "失败次数过多，请 15 分钟后再试"}, 429)
    try:
        principal = resolve_token(db, raw)
        if principal.role not in TOKEN_ROLES[kind]:
            raise DomainError("该令牌不能用于此登录入口", code="wrong_role", status_code=403)
        from fincredit.web.deps import principal_checks

        for check in principal_checks:
            check(db, principal)
    except DomainError as exc:
        TOKEN_FAILURES.fail(client)
        return _login_page(request, kind, values, {"token": exc.message}, exc.status_code)
    return _signed_in(request, db, role=principal.role, subject=principal.subject,
                      name=_token_display_name(db, principal), token_id=principal.token_id)


def _login_operator(request: Request, db: Session, form) -> Response:  # type: ignore[no-untyped-def]
    from fincredit.web.operators import authenticate

    values = form_values(form)
    errors = csrf_error(request, form, None)
    username = text_field(form, "username", 64)
    password = form.get("password") if isinstance(form.get("password"), str) else ""
    code = text_field(form, "totp", 12)
    for name, value, label in (("username", username, "用户名"), ("password", password, "密码"),
                               ("totp", code, "动态口令")):
        if not value:
            errors[name] = REQUIRED.format(label)
    if code and not ("".join(code.split()).isdigit() and len("".join(code.split())) == 6):
        errors["totp"] = "动态口令应为身份验证器上显示的 6 位数字"
    if errors:
        return _login_page(request, "operator", values, errors, 422)
    try:
        row = authenticate(db, username=username, password=str(password), code=code)
    except DomainError as exc:
        db.commit()  # keep the failure count and the lock
        return _login_page(request, "operator", values, {"_form": exc.message}, exc.status_code)
    return _signed_in(request, db, role=Role.admin, subject=row.username, name=row.username, token_id=None)


@router.post("/logout")
def logout(request: Request, db: DB, form: FormDep, user: OptionalUser) -> Response:
    if user is None or csrf_error(request, form, user):
        return redirect("/")
    response = redirect("/", "您已安全退出")
    row = sessions.close_session(db, request, response)
    if row is not None and row.role == Role.enterprise.value and row.token_id is not None:
        # the 8-hour token issued at log-in belongs to this session alone
        revoke_token(db, token_id=row.token_id, role=Role.enterprise, subject=row.subject)
    return response


# -- real-name registration -------------------------------------------------------------------------

REGISTRATION_FIELDS = {"bad_uscc": "uscc", "enterprise_not_registrable": "uscc", "account_exists": "uscc",
                       "bad_id_number": "legal_representative_id", "weak_password": "password"}


def _registration_page(request: Request, form: dict, errors: dict, status_code: int = 200) -> HTMLResponse:
    return render(request, "auth/register.html", {
        "title": "企业实名注册", "form": form, "errors": errors, "min_password": accounts.MIN_PASSWORD_LENGTH,
        "breadcrumb": [("首页", "/"), ("企业实名注册", "")]}, status_code=status_code, user=None)


@router.get("/register", response_class=HTMLResponse)
def registration_form(request: Request, db: DB) -> HTMLResponse:
    return _registration_page(request, {}, {})


@router.post("/register", response_class=HTMLResponse)
def register(request: Request, db: DB, form: FormDep) -> Response:
    values = form_values(form)
    errors = csrf_error(request, form, None)
    data = {name: text_field(form, name, 100) for name in ("uscc", "legal_representative_name",
                                                            "legal_representative_id")}
    password = form.get("password") if isinstance(form.get("password"), str) else ""
    password2 = form.get("password2") if isinstance(form.get("password2"), str) else ""
    labels = {"uscc": "统一社会信用代码", "legal_representative_name": "法定代表人姓名",
              "legal_representative_id": "法定代表人身份证号码"}
    for name, label in labels.items():
        if not data[name]:
            errors[name] = REQUIRED.format(label)
    if not password:
        errors["password"] = REQUIRED.format("密码")
    elif password != password2:
        errors["password2"] = "两次输入的密码不一致"
    if data["uscc"] and "uscc" not in errors:
        try:
            data["uscc"] = accounts.normalise_uscc(data["uscc"])
        except DomainError as exc:
            errors["uscc"] = exc.message
    if data["legal_representative_id"] and "legal_representative_id" not in errors:
        try:
            accounts.id_number_candidates(data["legal_representative_id"])
        except DomainError as exc:
            errors["legal_representative_id"] = exc.message
    if errors:
        return _registration_page(request, values, errors, 422)
    try:
        _account, enterprise = accounts.register(db, password=str(password), **data)
    except DomainError as exc:
        db.rollback()
        return _registration_page(request, values, {REGISTRATION_FIELDS.get(exc.code, "_form"): exc.message},
                                  exc.status_code)
    return redirect(f"/login/enterprise?uscc={enterprise.uscc}", f"{enterprise.name}实名注册成功，请登录")
