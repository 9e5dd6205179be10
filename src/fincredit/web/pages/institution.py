"""机构端: look an enterprise up and verify data — through the disclosure service, exactly like the
API (``views.enterprise_view`` → PDP per category → ``service.disclose`` records the disclosure
and its ledger entries before anything is shown), the same per-institution rate limit — and the
authorizations granted to us."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from fincredit.authorization import service as authorization_service
from fincredit.authorization.rules import PURPOSES
from fincredit.catalog.service import get_catalog
from fincredit.db import utcnow
from fincredit.disclosure import service as disclosure_service
from fincredit.disclosure import verification, views
from fincredit.disclosure.ratelimit import rate_limited_institution
from fincredit.errors import DomainError, Forbidden, NotFound
from fincredit.financing import service as financing
from fincredit.monitoring import alerts, watchlist
from fincredit.registry.accounts import normalise_uscc
from fincredit.web.pagekit import (
    DB,
    FormDep,
    InstitutionUser,
    PageRoute,
    csrf_error,
    form_values,
    render,
    text_field,
)
from fincredit.web.pages.institution_common import CRUMBS, institution_id

router = APIRouter(prefix="/institution", route_class=PageRoute, include_in_schema=False)
PURPOSE_OPTIONS = [(code, rule.label) for code, rule in PURPOSES.items() if code != "sucode"]


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    inst = institution_id(user)
    now = utcnow()
    granted = authorization_service.list_granted(db, user.principal, 500, 0)
    return render(request, "institution/dashboard.html", {
        "title": "机构端首页", "breadcrumb": CRUMBS, "purpose_options": PURPOSE_OPTIONS, "form": {}, "errors": {},
        "unacked": len(alerts.list_alerts(db, inst, limit=1000, unacked=True)),
        "watching": len(watchlist.list_entries(db, inst, active_only=True, limit=1000)),
        "active_grants": sum(1 for a in granted if a.effective_status(now) == "active"),
        "pending_applications": sum(1 for a in financing.list_applications(db, user.principal, 500, 0)
                                    if a.status == "submitted"),
        "received": disclosure_service.list_received(db, user.principal, 10, 0)}, user=user)


def _lookup_page(request: Request, user, values: dict, errors: dict, status_code: int = 200,  # type: ignore[no-untyped-def]
                 **extra) -> HTMLResponse:
    return render(request, "institution/lookup.html", {
        "title": "企业信用信息查询", "breadcrumb": [*CRUMBS, ("企业查询", "")], "form": values, "errors": errors,
        "purpose_options": PURPOSE_OPTIONS, **extra}, status_code=status_code, user=user)


@router.get("/lookup", response_class=HTMLResponse)
def lookup_form(request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    return _lookup_page(request, user, {"uscc": request.query_params.get("uscc", "")[:20]}, {})


def _grants_for(db: Session, user, uscc: str) -> list[dict]:  # type: ignore[no-untyped-def]
    now = utcnow()
    return [{"row": a, "status": a.effective_status(now), "purpose": PURPOSES[a.purpose].label
             if a.purpose in PURPOSES else a.purpose}
            for a in authorization_service.list_granted(db, user.principal, 500, 0) if a.enterprise_uscc == uscc]


def _verifiable(db: Session, sections: list[dict]) -> list[tuple[str, str]]:
    """(category|field, label) for the verification fields of categories this institution may verify."""
    catalog = get_catalog(db)
    out = []
    for section in sections:
        cat = catalog.categories.get(section["code"])
        if cat is not None and section["form"] in ("verification", "processed"):
            out += [(f"{cat.code}|{name}", f"{cat.name} › {name}") for name in cat.verification_fields]
    return out


def _checked_uscc(value: str, errors: dict[str, str]) -> str:
    if not value:
        errors.setdefault("uscc", "请填写统一社会信用代码")
        return ""
    try:
        return normalise_uscc(value)
    except DomainError as exc:
        errors.setdefault("uscc", exc.message)
        return ""


def _rate_limited(user) -> str | None:  # type: ignore[no-untyped-def]
    try:
        rate_limited_institution(user.principal)
    except StarletteHTTPException:
        return "查询过于频繁，请稍后再试"
    return None


@router.post("/lookup", response_class=HTMLResponse)
def lookup(request: Request, db: DB, user: InstitutionUser, form: FormDep) -> HTMLResponse:
    values = form_values(form)
    errors = csrf_error(request, form, user)
    uscc = _checked_uscc(text_field(form, "uscc", 40), errors)
    purpose = text_field(form, "purpose", 32) or None
    if purpose is not None and purpose not in PURPOSES:
        errors["purpose"] = "请选择查询用途"
    if not errors and (limited := _rate_limited(user)):
        errors["_form"] = limited
    if errors:
        return _lookup_page(request, user, values, errors, 422)
    try:
        draft = views.enterprise_view(db, user.principal, uscc, purpose)
        body = disclosure_service.disclose(db, draft, request_id=getattr(request.state, "request_id", None))
    except DomainError as exc:
        db.rollback()
        field = "uscc" if exc.code == "enterprise_not_found" else "_form"
        return _lookup_page(request, user, values, {field: exc.message}, exc.status_code)
    sections = body["categories"]
    grants = _grants_for(db, user, uscc)
    evaluation, evaluation_refused = _evaluation(db, user, uscc, getattr(request.state, "request_id", None))
    return _lookup_page(request, user, values, {}, result=body, evaluation=evaluation,
                        evaluation_refused=evaluation_refused,
                        public=[s for s in sections if s["form"] == "masked_public"],
                        processed=[s for s in sections if s["form"] == "processed"],
                        verification=[s for s in sections if s["form"] == "verification"],
                        denied=[s for s in sections if s["form"] == "none"],
                        verifiable=_verifiable(db, sections), grants=grants,
                        post_loan=[g for g in grants if g["status"] == "active" and g["row"].purpose == "post_loan"])


def _evaluation(db: Session, user, uscc: str, request_id: str | None) -> tuple[dict | None, str | None]:  # type: ignore[no-untyped-def]
    """The evaluation under authorization, disclosed like ``GET /enterprises/{uscc}/evaluation``.

    A refusal (no authorization, no result) happens before anything is written except the expiry
    events it notes, which stand; a failure to record the disclosure fails the whole page.
    """
    try:
        from fincredit.evaluation import access
    except ImportError:  # the evaluation capability is not installed
        return None, "信用评价功能尚未启用"
    try:
        return access.institution_view(db, user.principal, uscc, request_id=request_id), None
    except (Forbidden, NotFound) as exc:
        return None, exc.message


@router.post("/verify", response_class=HTMLResponse)
def verify(request: Request, db: DB, user: InstitutionUser, form: FormDep) -> HTMLResponse:
    values = form_values(form)
    errors = csrf_error(request, form, user)
    uscc = _checked_uscc(text_field(form, "uscc", 40), errors)
    target, value = text_field(form, "field", 140), text_field(form, "value", 200)
    if "|" not in target:
        errors["field"] = "请选择要核验的字段"
    if not value:
        errors["value"] = "请填写贵机构掌握的数值"
    purpose = text_field(form, "purpose", 32) or None
    if not errors and (limited := _rate_limited(user)):
        errors["_form"] = limited
    context = {"title": "数据核验", "breadcrumb": [*CRUMBS, ("数据核验", "")], "form": values}
    if errors:
        return render(request, "institution/verify_result.html", {**context, "errors": errors}, status_code=422,
                      user=user)
    category, field = target.split("|", 1)
    now = utcnow()
    try:
        outcome = verification.verify(db, user.principal, uscc, category, {field: value},
                                      purpose if purpose in PURPOSES else None, now)
        if outcome.draft is None:
            if outcome.denied is not None:
                disclosure_service.note_denied_expiry(db, outcome.denied, now)
            reason = outcome.denied.reason if outcome.denied else "不能核验"
            return render(request, "institution/verify_result.html", {**context, "errors": {"_form": reason}},
                          status_code=403, user=user)
        result = disclosure_service.disclose(db, outcome.draft, request_id=getattr(request.state, "request_id", None),
                                             now=now)
    except DomainError as exc:
        db.rollback()
        return render(request, "institution/verify_result.html", {**context, "errors": {"_form": exc.message}},
                      status_code=exc.status_code, user=user)
    return render(request, "institution/verify_result.html", {**context, "errors": {}, "result": result,
                                                              "field_name": field}, user=user)


@router.get("/authorizations", response_class=HTMLResponse)
def granted(request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    now = utcnow()
    catalog = get_catalog(db)
    rows = authorization_service.list_granted(db, user.principal, 500, 0)
    items = [{"row": a, "status": a.effective_status(now),
              "purpose": PURPOSES[a.purpose].label if a.purpose in PURPOSES else a.purpose,
              "categories": [catalog.categories[c].name if c in catalog.categories else c for c in a.categories]}
             for a in rows]
    return render(request, "institution/authorizations.html", {
        "title": "获得的授权", "breadcrumb": [*CRUMBS, ("获得的授权", "")], "items": items}, user=user)
