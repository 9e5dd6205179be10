"""机构端: alerts (acknowledge), watchlist, webhook and subscription settings, tokens.

Each action calls the monitoring or institutions service the API calls, for this institution only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from fincredit.errors import DomainError
from fincredit.institutions import service as institutions
from fincredit.monitoring import alerts, repository, subscriptions, watchlist, webhooks
from fincredit.web.pagekit import (
    DB,
    FormDep,
    InstitutionUser,
    PageRoute,
    csrf_error,
    form_values,
    redirect,
    render,
)
from fincredit.web.pagekit import (
    STALE_FORM as STALE,
)
from fincredit.web.pagekit import text_field as text
from fincredit.web.pages.institution_common import CRUMBS, institution_id

router = APIRouter(prefix="/institution", route_class=PageRoute, include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
def alert_list(request: Request, db: DB, user: InstitutionUser, unacked: bool = False) -> HTMLResponse:
    rows = alerts.list_alerts(db, institution_id(user), limit=200, unacked=unacked)
    return render(request, "institution/alerts.html", {
        "title": "预警与通知", "breadcrumb": [*CRUMBS, ("预警与通知", "")], "rows": rows, "unacked": unacked}, user=user)


@router.post("/alerts/{alert_id}/ack")
def alert_ack(alert_id: str, request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/institution/alerts", STALE, "error")
    alerts.acknowledge(db, institution_id(user), alert_id[:64], user.display_name or user.subject)
    return redirect("/institution/alerts", "已确认收到该预警")


@router.get("/watchlist", response_class=HTMLResponse)
def watch_list(request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    rows = watchlist.list_entries(db, institution_id(user), active_only=False, limit=500)
    names = repository.enterprises(db, sorted({r.uscc for r in rows}))
    return render(request, "institution/watchlist.html", {
        "title": "监测名单", "breadcrumb": [*CRUMBS, ("监测名单", "")], "rows": rows, "names": names}, user=user)


@router.post("/watchlist")
def watch_add(request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/institution/watchlist", STALE, "error")
    try:
        _entry, created = watchlist.add_under_authorization(db, institution_id(user), text(form, "uscc", 40),
                                                           text(form, "authorization_id", 64),
                                                           actor=user.display_name)
    except DomainError as exc:
        db.rollback()
        return redirect("/institution/watchlist", exc.message, "error")
    return redirect("/institution/watchlist", "已加入监测名单" if created else "该企业已在监测名单中")


@router.post("/watchlist/{entry_id}/remove")
def watch_remove(entry_id: int, request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/institution/watchlist", STALE, "error")
    watchlist.remove_entry(db, institution_id(user), entry_id)
    return redirect("/institution/watchlist", "已取消监测")


def _push_page(request: Request, db: Session, user, *, form: dict | None = None,  # type: ignore[no-untyped-def]
               errors: dict | None = None, secret: str | None = None, status_code: int = 200) -> HTMLResponse:
    inst = institution_id(user)
    return render(request, "institution/push.html", {
        "title": "推送与订阅", "breadcrumb": [*CRUMBS, ("推送与订阅", "")], "form": form or {}, "errors": errors or {},
        "endpoints": [e for e in repository.endpoints_of(db, inst) if e.status != "deleted"],
        "subs": [s for s in repository.subscriptions_of(db, inst) if s.status == "active"],
        "regions": sorted((c, n) for c, n in subscriptions.known_regions().items() if c.endswith("00")), "secret": secret}, status_code=status_code,
        user=user)


@router.get("/push", response_class=HTMLResponse)
def push(request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    return _push_page(request, db, user)


@router.post("/webhooks", response_class=HTMLResponse)
def webhook_create(request: Request, db: DB, user: InstitutionUser, form: FormDep) -> HTMLResponse:
    values, errors = form_values(form), csrf_error(request, form, user)
    url = text(form, "url", 2000)
    if not url and not errors:
        errors["url"] = "请填写推送地址"
    if not errors:
        try:
            _endpoint, secret = webhooks.create_endpoint(db, institution_id(user), url)
        except DomainError as exc:
            db.rollback()
            errors["url"] = exc.message
        else:
            return _push_page(request, db, user, secret=secret)
    return _push_page(request, db, user, form=values, errors=errors, status_code=422)


@router.post("/webhooks/{endpoint_id}/rotate", response_class=HTMLResponse)
def webhook_rotate(endpoint_id: int, request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/institution/push", STALE, "error")
    _endpoint, secret = webhooks.rotate_secret(db, institution_id(user), endpoint_id)
    return _push_page(request, db, user, secret=secret)


@router.post("/webhooks/{endpoint_id}/delete")
def webhook_delete(endpoint_id: int, request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/institution/push", STALE, "error")
    webhooks.delete_endpoint(db, institution_id(user), endpoint_id)
    return redirect("/institution/push", "推送地址已删除")


@router.post("/subscriptions", response_class=HTMLResponse)
def subscription_create(request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    values["regions"] = [r for r in form.getlist("regions") if isinstance(r, str)]
    industries = [i.strip() for i in text(form, "industries", 1000).replace("，", ",").split(",") if i.strip()]
    if not values["regions"]:
        errors["regions"] = "请至少选择一个地区"
    if not errors:
        try:
            subscriptions.create_subscription(db, institution_id(user), regions=values["regions"],
                                              industries=industries, schedule=text(form, "schedule", 10),
                                              delivery=text(form, "delivery", 10))
        except DomainError as exc:
            db.rollback()
            field = {"unknown_industry": "industries", "bad_schedule": "schedule", "bad_delivery": "delivery",
                     "webhook_required": "delivery"}.get(exc.code, "regions")
            errors[field] = exc.message
        else:
            return redirect("/institution/push", "订阅已创建")
    return _push_page(request, db, user, form=values, errors=errors, status_code=422)


@router.post("/subscriptions/{subscription_id}/cancel")
def subscription_cancel(subscription_id: int, request: Request, db: DB, user: InstitutionUser,
                        form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/institution/push", STALE, "error")
    subscriptions.cancel_subscription(db, institution_id(user), subscription_id)
    return redirect("/institution/push", "订阅已取消")


@router.get("/tokens", response_class=HTMLResponse)
def tokens(request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    inst = institutions.get_institution(db, institution_id(user))
    return render(request, "institution/tokens.html", {
        "title": "访问令牌", "breadcrumb": [*CRUMBS, ("访问令牌", "")], "institution": inst,
        "kind_label": institutions.KIND_LABELS.get(inst.kind, inst.kind),
        "status_label": institutions.STATUS_LABELS.get(inst.status, inst.status),
        "tokens": institutions.institution_tokens(db, inst), "current_token": user.principal.token_id}, user=user)


@router.post("/tokens/{token_id}/revoke")
def token_revoke(token_id: int, request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/institution/tokens", STALE, "error")
    inst = institutions.get_institution(db, institution_id(user))
    institutions.revoke_institution_token(db, inst, token_id)
    if token_id == user.principal.token_id:
        return redirect("/login/institution", "当前登录所用的令牌已吊销，请使用其他令牌重新登录", "info")
    return redirect("/institution/tokens", "令牌已吊销，立即生效")
