"""管理端: the monitoring dashboard, the catalog with its versions, the ledger, jobs and operator alerts."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fincredit.catalog.definitions import DISCLOSURE_CLASS_LABELS, FIELD_TYPE_LABELS, SHARING_METHOD_LABELS
from fincredit.catalog.service import get_catalog, list_versions
from fincredit.crypto import get_keyring
from fincredit.disclosure import service as disclosure_service
from fincredit.ledger import service as ledger
from fincredit.ledger.audit import audit
from fincredit.ledger.verifier import key_id
from fincredit.web.pagekit import (
    DB,
    STALE_FORM,
    FormDep,
    OperatorUserDep,
    PageRoute,
    csrf_error,
    redirect,
    render,
)
from fincredit.web.pages.operator_charts import dashboard as dashboard_figures
from fincredit.worker import repository as jobs

router = APIRouter(prefix="/operator", route_class=PageRoute, include_in_schema=False)
CRUMBS = [("首页", "/"), ("管理端", "/operator")]


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    checkpoint = ledger.current_checkpoint(db)
    return render(request, "operator/dashboard.html", {
        "title": "监测看板", "breadcrumb": CRUMBS, "checkpoint": checkpoint,
        "open_alerts": len(disclosure_service.list_alerts(db, 500, 0, True)),
        "failed_jobs": len(jobs.list_jobs(db, status="dead", limit=500)), **dashboard_figures(db)}, user=user)


@router.get("/catalog", response_class=HTMLResponse)
def catalog(request: Request, db: DB, user: OperatorUserDep, version: int | None = None) -> HTMLResponse:
    snapshot = get_catalog(db, version)
    return render(request, "operator/catalog.html", {
        "title": "信用信息共享清单", "breadcrumb": [*CRUMBS, ("共享清单", "")], "snapshot": snapshot,
        "versions": list(reversed(list_versions(db))), "methods": SHARING_METHOD_LABELS,
        "classes": DISCLOSURE_CLASS_LABELS}, user=user)


@router.get("/catalog/{code}", response_class=HTMLResponse)
def category(code: str, request: Request, db: DB, user: OperatorUserDep, version: int | None = None) -> HTMLResponse:
    snapshot = get_catalog(db, version)
    cat = snapshot.category(code[:32])
    history, previous = [], None
    for row in list_versions(db):
        other = get_catalog(db, row.version).categories.get(cat.code)
        state = ("不在清单" if other is None else "新增" if previous is None else "调整" if other != previous
                 else "未变")
        history.append({"version": row.version, "note": row.note, "created_at": row.created_at,
                        "created_by": row.created_by, "state": state})
        previous = other
    return render(request, "operator/category.html", {
        "title": f"信息类 {cat.code}", "breadcrumb": [*CRUMBS, ("共享清单", "/operator/catalog"), (cat.name, "")],
        "cat": cat, "snapshot": snapshot, "history": history, "methods": SHARING_METHOD_LABELS,
        "classes": DISCLOSURE_CLASS_LABELS, "types": FIELD_TYPE_LABELS}, user=user)


@router.get("/ledger", response_class=HTMLResponse)
def ledger_status(request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    return render(request, "operator/ledger.html", {
        "title": "防篡改账本", "breadcrumb": [*CRUMBS, ("防篡改账本", "")],
        "checkpoint": ledger.checkpoint_dict(ledger.current_checkpoint(db)), "public_key": ledger.public_key_info(),
        "report": None}, user=user)


@router.post("/ledger/verify", response_class=HTMLResponse)
def ledger_verify(request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/operator/ledger", STALE_FORM, "error")
    raw = get_keyring().public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    report = audit(db.connection(), {key_id(raw): Ed25519PublicKey.from_public_bytes(raw)}, workers=1)
    return render(request, "operator/ledger.html", {
        "title": "防篡改账本", "breadcrumb": [*CRUMBS, ("防篡改账本", "")],
        "checkpoint": ledger.checkpoint_dict(ledger.current_checkpoint(db)), "public_key": ledger.public_key_info(),
        "report": report, "key_b64": base64.b64encode(raw).decode()}, user=user)


@router.get("/jobs", response_class=HTMLResponse)
def job_list(request: Request, db: DB, user: OperatorUserDep, status: str = "") -> HTMLResponse:
    return render(request, "operator/jobs.html", {
        "title": "后台任务", "breadcrumb": [*CRUMBS, ("后台任务", "")], "status": status[:12],
        "jobs": jobs.list_jobs(db, status=status[:12] or None, limit=200), "periodic": jobs.list_periodic(db)},
        user=user)


@router.get("/alerts", response_class=HTMLResponse)
def operator_alerts(request: Request, db: DB, user: OperatorUserDep) -> HTMLResponse:
    return render(request, "operator/alerts.html", {
        "title": "运营告警", "breadcrumb": [*CRUMBS, ("运营告警", "")],
        "rows": disclosure_service.list_alerts(db, 200, 0, False)}, user=user)


@router.post("/alerts/{alert_id}/ack")
def operator_alert_ack(alert_id: int, request: Request, db: DB, user: OperatorUserDep, form: FormDep) -> Response:
    if csrf_error(request, form, user):
        return redirect("/operator/alerts", STALE_FORM, "error")
    disclosure_service.acknowledge_alert(db, alert_id, user.subject)
    return redirect("/operator/alerts", "告警已确认")
