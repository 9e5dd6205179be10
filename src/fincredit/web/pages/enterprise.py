"""企业端: the enterprise's own credit (raw, free), evaluation, who has seen its data, its 苏信码.

Every figure comes from the capabilities' services: ``disclosure.views.own_credit`` (the PDP grants
the enterprise raw access to its own data), ``evaluation.service``, ``disclosure.service.list_about``
and the ledger's receipts. Authorizations live in ``enterprise_authorizations``,
financing needs in ``enterprise_financing``.
"""

from __future__ import annotations

import base64
import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from fincredit.authorization import service as authorization_service
from fincredit.db import utcnow
from fincredit.disclosure import service as disclosure_service
from fincredit.disclosure.views import own_credit
from fincredit.errors import DomainError, Forbidden
from fincredit.ledger import service as ledger
from fincredit.registry import accounts
from fincredit.web.pagekit import DB, EnterpriseUser, PageRoute, render
from fincredit.web.pages.enterprise_views import evaluation_context, record_columns, trend_charts

router = APIRouter(prefix="/enterprise", route_class=PageRoute, include_in_schema=False)
HOME = ("企业端", "/enterprise")


def _crumbs(*items: tuple[str, str]) -> list[tuple[str, str]]:
    return [("首页", "/"), HOME, *items]


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    account, enterprise = accounts.get_account(db, user.subject)
    now = utcnow()
    auths = authorization_service.list_own(db, user.principal, 200, 0)
    active = [a for a in auths if a.effective_status(now) == "active"]
    disclosures = disclosure_service.list_about(db, user.subject, 5, 0)
    return render(request, "enterprise/dashboard.html", {
        "title": "企业端首页", "breadcrumb": _crumbs(), "account": account, "enterprise": enterprise,
        "legal_rep": accounts.legal_rep_masked_name(db, enterprise) if enterprise else None,
        "active_authorizations": len(active), "authorizations_total": len(auths),
        "disclosures": disclosures, **evaluation_context(db, user.subject, with_history=False)}, user=user)


@router.get("/credit", response_class=HTMLResponse)
def credit(request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    data = own_credit(db, user.principal, include_history=True)
    sections = data["categories"]
    with_records = [{**s, "columns": record_columns(s, data["uscc"], data["name"])} for s in sections if s["records"]]
    empty = [s for s in sections if not s["records"]]
    return render(request, "enterprise/credit.html", {
        "title": "我的信用信息", "breadcrumb": _crumbs(("我的信用信息", "")), "credit": data,
        "with_records": with_records, "empty": empty, "charts": trend_charts(sections)}, user=user)


@router.get("/evaluation", response_class=HTMLResponse)
def evaluation(request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    context = evaluation_context(db, user.subject, with_history=True)
    return render(request, "enterprise/evaluation.html", {
        "title": "我的信用评价", "breadcrumb": _crumbs(("信用评价", "")), **context}, user=user)


@router.get("/disclosures", response_class=HTMLResponse)
def disclosures(request: Request, db: DB, user: EnterpriseUser, page: int = 1) -> HTMLResponse:
    page = max(1, min(page, 10_000))
    size = 50
    rows = disclosure_service.list_about(db, user.subject, size + 1, (page - 1) * size)
    return render(request, "enterprise/disclosures.html", {
        "title": "谁查看了我的信息", "breadcrumb": _crumbs(("查询记录", "")), "rows": rows[:size], "page": page,
        "has_next": len(rows) > size}, user=user)


@router.get("/receipts/{index}")
def receipt(index: int, db: DB, user: EnterpriseUser) -> Response:
    """The offline-verifiable receipt of a ledger entry this enterprise is a party to."""
    entry = ledger.get_entry(db, index)
    if not ledger.can_access(user.principal, entry):
        raise Forbidden("只有该账本条目的当事方可以下载其回执", code="ledger_not_a_party")
    body = json.dumps(ledger.receipt(db, index), ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="receipt-{index}.json"', "Cache-Control": "no-store"})


@router.get("/sucode", response_class=HTMLResponse)
def sucode(request: Request, db: DB, user: EnterpriseUser) -> HTMLResponse:
    """The enterprise's 苏信码, issued by the sucode service under its active sucode authorization."""
    from fincredit.sucode import service as sucode_service

    context: dict = {"title": "我的苏信码", "breadcrumb": _crumbs(("苏信码", ""))}
    try:
        issued = sucode_service.issue(db, user.principal)
    except DomainError as exc:
        context.update(problem=exc.message, problem_code=exc.code)
    else:
        url = sucode_service.code_url(issued.token, str(request.base_url))
        svg = base64.b64encode(sucode_service.qr_svg(url)).decode()
        context.update(claims=issued.claims, url=url, qr=f"data:image/svg+xml;base64,{svg}",
                       authorization=issued.authorization, offline_note=sucode_service.OFFLINE_NOTE)
    return render(request, "enterprise/sucode.html", context, user=user)


@router.get("/sucode.png")
def sucode_png(request: Request, db: DB, user: EnterpriseUser) -> Response:
    from fincredit.sucode import service as sucode_service

    issued = sucode_service.issue(db, user.principal)
    png = sucode_service.qr_png(sucode_service.code_url(issued.token, str(request.base_url)))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store",
                                                          "Content-Disposition": 'attachment; filename="sucode.png"'})

