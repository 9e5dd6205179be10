"""机构端 › 融资申请与贷款: applications addressed to us (approve / decline), loans we granted and their
feedback (repayments, overdue, default, settlement), and loan evidence notarized in the ledger.

Each action is the financing service the API calls: ``service.decide``, ``loans.report_loan``,
``loans.add_event``, ``evidence.notarize``; the lists are ``financing.repository``'s, for this
institution only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from fincredit.errors import DomainError, NotFound
from fincredit.financing import evidence, loans, repository, service
from fincredit.ledger import service as ledger
from fincredit.monitoring.repository import enterprises
from fincredit.registry.accounts import normalise_uscc
from fincredit.web.formatting import today_local
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
from fincredit.web.pages.enterprise_financing import APPLICATION_STATUS
from fincredit.web.pages.financing_forms import date_field, number, text
from fincredit.web.pages.institution_common import CRUMBS, institution_id

router = APIRouter(prefix="/institution", route_class=PageRoute, include_in_schema=False)
LOAN_FIELDS = {"enterprise_not_found": "uscc", "no_basis_for_loan": "uscc", "bad_amount": "amount",
               "bad_term": "term_months", "bad_rate": "rate", "date_in_future": "granted_on",
               "product_not_found": "product_id"}
EVENT_FIELDS = {"bad_event_kind": "kind", "date_out_of_order": "on_date", "date_in_future": "on_date",
                "bad_amount": "event_amount", "repayment_exceeds_balance": "event_amount"}
FLAG_LABELS = {"late": "逾期报送（放款 30 天后）", "inconsistent_credit_loan": "信用贷款标识与产品或担保不一致",
               "inconsistent_first_loan": "首贷标识与本机构已有贷款不一致"}
MAX_EVIDENCE_FILES = 10


# --- applications ----------------------------------------------------------------------------------

def _applications_page(request: Request, db: Session, user, *, errors: dict | None = None,  # type: ignore[no-untyped-def]
                       values: dict | None = None, failed: int | None = None, status_code: int = 200) -> HTMLResponse:
    rows = service.list_applications(db, user.principal, 500, 0)
    rows.sort(key=lambda a: (a.status != "submitted", -a.id))
    needs = repository.needs_by_id(db, {a.need_id for a in rows})
    products = repository.products_by_id(db, {a.product_id for a in rows})
    names = enterprises(db, [a.uscc for a in rows])
    items = [{"row": a, "need": needs.get(a.need_id), "product": products.get(a.product_id),
              "enterprise": names[a.uscc].name if a.uscc in names else "",
              "status_label": APPLICATION_STATUS.get(a.status, a.status)} for a in rows]
    return render(request, "institution/applications.html", {
        "title": "企业融资申请", "breadcrumb": [*CRUMBS, ("融资申请", "")], "items": items,
        "pending": sum(1 for a in rows if a.status == "submitted"), "failed": failed,
        "failed_errors": errors or {}, "failed_values": values or {}}, status_code=status_code, user=user)


@router.get("/applications", response_class=HTMLResponse)
def applications(request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    return _applications_page(request, db, user)


@router.post("/applications/{application_id}/decision", response_class=HTMLResponse)
def decide(application_id: int, request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    decision = text(form, "decision", 10)
    reason = text(form, "reason", 1000)
    if decision not in ("accept", "decline") and not errors:
        errors["_form"] = "请选择审批通过或不予通过"
    if not errors:
        try:
            row = service.decide(db, user.principal, application_id, decision == "accept", reason)
        except DomainError as exc:
            db.rollback()
            errors["reason" if exc.code == "reason_required" else "_form"] = exc.message
        else:
            if row.status == "accepted":
                return redirect(f"/institution/loans?application={row.id}",
                                f"申请 {row.id} 已审批通过。放款后请在此报送贷款信息")
            return redirect("/institution/applications", f"申请 {row.id} 已标记为不予通过，企业将看到您填写的理由")
    return _applications_page(request, db, user, errors=errors, values=values, failed=application_id,
                              status_code=422)


# --- loans -----------------------------------------------------------------------------------------

def _loans_page(request: Request, db: Session, user, values: dict, errors: dict,  # type: ignore[no-untyped-def]
                status_code: int = 200) -> HTMLResponse:
    inst = institution_id(user)
    rows = [loans.loan_out(db, loan) for loan in repository.loans_of(db, inst)]
    names = enterprises(db, [r["uscc"] for r in rows])
    products = service.list_products(db, institution_id=inst, active_only=False, limit=1000)
    return render(request, "institution/loans.html", {
        "title": "贷款与还款反馈", "breadcrumb": [*CRUMBS, ("贷款反馈", "")], "rows": rows, "names": names,
        "product_options": [(str(p.id), f"{p.name}{'' if p.active else '（已下架）'}") for p in products],
        "product_names": {p.id: p.name for p in products}, "flag_labels": FLAG_LABELS,
        "event_labels": loans.EVENT_KINDS, "form": values, "errors": errors}, status_code=status_code, user=user)


@router.get("/loans", response_class=HTMLResponse)
def loan_list(request: Request, db: DB, user: InstitutionUser, application: int = 0) -> HTMLResponse:
    values = {"granted_on": today_local().isoformat()}
    row = repository.get_application(db, institution_id(user), application) if application else None
    if row is not None and row.status == "accepted":
        need = repository.needs_by_id(db, {row.need_id}).get(row.need_id)
        product = repository.products_by_id(db, {row.product_id}).get(row.product_id)
        values.update(uscc=row.uscc, product_id=str(row.product_id))
        if need is not None:
            values.update(amount=service.plain(need.amount_wan), term_months=str(need.term_months))
        if product is not None:
            values.update(credit_loan="yes" if product.type == "credit" else "no", rate=service.plain(product.rate_min))
    return _loans_page(request, db, user, values, {})


def _yes_no(form: FormData, name: str, errors: dict[str, str], message: str) -> bool:
    value = text(form, name, 4)
    if value not in ("yes", "no"):
        errors[name] = message
    return value == "yes"


@router.post("/loans", response_class=HTMLResponse)
def report_loan(request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    uscc = text(form, "uscc", 40)
    if not uscc:
        errors["uscc"] = "请填写借款企业的统一社会信用代码"
    else:
        try:
            uscc = normalise_uscc(uscc)
        except DomainError as exc:
            errors["uscc"] = exc.message
    amount = number(form, "amount", errors, "贷款金额")
    term = number(form, "term_months", errors, "贷款期限", integer=True)
    rate = number(form, "rate", errors, "年利率")
    credit_loan = _yes_no(form, "credit_loan", errors, "请选择是否为信用贷款")
    first_loan = _yes_no(form, "first_loan", errors, "请选择是否为首贷")
    granted_on = date_field(form, "granted_on", errors, "放款日期")
    product = text(form, "product_id", 12)
    if product and not product.isdigit():
        errors["product_id"] = "请选择本机构的金融产品"
    if errors:
        return _loans_page(request, db, user, values, errors, 422)
    data = {"uscc": uscc, "amount": amount, "term_months": term, "rate": rate, "credit_loan": credit_loan,
            "first_loan": first_loan, "product_id": int(product) if product else None,
            "guarantee": text(form, "guarantee", 200) or None, "granted_on": granted_on}
    try:
        loan = loans.report_loan(db, user.principal, data, today=today_local())
    except DomainError as exc:
        db.rollback()
        return _loans_page(request, db, user, values, {LOAN_FIELDS.get(exc.code, "_form"): exc.message}, 422)
    note = "；提示：" + "、".join(FLAG_LABELS.get(f, f) for f in loan.flags) if loan.flags else ""
    return redirect(f"/institution/loans/{loan.id}",
                    f"贷款已报送并记入防篡改账本（序号 {loan.ledger_index}），该企业已纳入贷后监测{note}")


def _loan_page(request: Request, db: Session, user, loan_id: int, *, values: dict | None = None,  # type: ignore[no-untyped-def]
               errors: dict | None = None, evidence_errors: dict | None = None, status_code: int = 200) -> HTMLResponse:
    loan = loans.get_own_loan(db, user.principal, loan_id)
    out = loans.loan_out(db, loan)
    names = enterprises(db, [loan.uscc])
    product = repository.products_by_id(db, {loan.product_id} if loan.product_id else set()).get(loan.product_id or 0)
    return render(request, "institution/loan.html", {
        "title": f"贷款 {loan.id}", "breadcrumb": [*CRUMBS, ("贷款反馈", "/institution/loans"), (f"贷款 {loan.id}", "")],
        "loan": out, "enterprise": names.get(loan.uscc), "product": product, "flag_labels": FLAG_LABELS,
        "event_labels": loans.EVENT_KINDS, "evidence": repository.evidence_of(db, loan.id),
        "form": values or {"on_date": today_local().isoformat()}, "errors": errors or {},
        "evidence_errors": evidence_errors or {}}, status_code=status_code, user=user)


@router.get("/loans/{loan_id}", response_class=HTMLResponse)
def loan_detail(loan_id: int, request: Request, db: DB, user: InstitutionUser) -> HTMLResponse:
    return _loan_page(request, db, user, loan_id)


@router.post("/loans/{loan_id}/events", response_class=HTMLResponse)
def loan_event(loan_id: int, request: Request, db: DB, user: InstitutionUser, form: FormDep) -> Response:
    values, errors = form_values(form), csrf_error(request, form, user)
    kind = text(form, "kind", 16)
    if kind not in loans.EVENT_KINDS:
        errors["kind"] = "请选择事件类型"
    amount = number(form, "event_amount", errors, "金额", required=kind == "repaid")
    on_date = date_field(form, "on_date", errors, "发生日期")
    if errors or on_date is None:
        return _loan_page(request, db, user, loan_id, values=values, errors=errors, status_code=422)
    try:
        event = loans.add_event(db, user.principal, loan_id, kind, amount, on_date)
    except DomainError as exc:
        db.rollback()
        return _loan_page(request, db, user, loan_id, values=values,
                          errors={EVENT_FIELDS.get(exc.code, "_form"): exc.message}, status_code=422)
    return redirect(f"/institution/loans/{loan_id}",
                    f"已报送{loans.EVENT_KINDS[kind]}（账本序号 {event.ledger_index}）")


async def _evidence_form(request: Request) -> tuple[FormData, list[dict[str, str]]]:
    """The form and, per uploaded file, its name and SHA-256 (the files themselves are not kept)."""
    form = await request.form(max_files=MAX_EVIDENCE_FILES + 1, max_fields=20)
    documents = []
    for _key, value in form.multi_items():
        if isinstance(value, UploadFile) and value.filename:
            digest = hashlib.sha256()
            while chunk := await value.read(1 << 20):
                digest.update(chunk)
            documents.append({"name": value.filename[:200], "sha256": digest.hexdigest()})
    return form, documents


EvidenceForm = Annotated[tuple[FormData, list[dict[str, str]]], Depends(_evidence_form)]


@router.post("/loans/{loan_id}/evidence", response_class=HTMLResponse)
def notarize(loan_id: int, request: Request, db: DB, user: InstitutionUser, submission: EvidenceForm) -> Response:
    form, documents = submission
    errors = csrf_error(request, form, user)
    values = form_values(form)
    if not documents:
        errors["documents"] = "请选择要存证的贷款合同等文件"
    elif len(documents) > MAX_EVIDENCE_FILES:
        errors["documents"] = f"一次最多存证 {MAX_EVIDENCE_FILES} 份文件"
    if not errors:
        try:
            result = evidence.notarize(db, user.principal, loan_id, documents, text(form, "note", 2000))
        except DomainError as exc:
            db.rollback()
            errors["documents" if exc.code == "bad_documents" else "_form"] = exc.message
        else:
            return redirect(f"/institution/loans/{loan_id}",
                            f"已存证 {len(documents)} 份文件（账本序号 {result['ledger_index']}），可下载证据包离线核验")
    return _loan_page(request, db, user, loan_id, values={"on_date": today_local().isoformat(), **values},
                      evidence_errors=errors, status_code=422)


@router.get("/loans/{loan_id}/evidence/{evidence_id}.json")
def evidence_bundle(loan_id: int, evidence_id: int, db: DB, user: InstitutionUser) -> Response:
    """The evidence bundle of one notarization: the loan, its events up to then and the evidence entry."""
    loan = loans.get_own_loan(db, user.principal, loan_id)
    row = next((e for e in repository.evidence_of(db, loan.id) if e.id == evidence_id), None)
    if row is None:
        raise NotFound("存证记录不存在", code="evidence_not_found")
    indexes = [loan.ledger_index, *(e.ledger_index for e in loans.events_of(db, loan.id)
                                    if e.ledger_index is not None and e.ledger_index < row.ledger_index),
               row.ledger_index]
    bundle = ledger.evidence_bundle(db, [i for i in indexes if i is not None])
    body = json.dumps(bundle, ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="evidence-{loan.id}-{row.id}.json"', "Cache-Control": "no-store"})


