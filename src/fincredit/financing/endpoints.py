"""The financing API (M7): products, needs and matching, applications, loan feedback, evidence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from fincredit.errors import Unprocessable
from fincredit.financing import batch, evasion, evidence, loans, service
from fincredit.financing.rules import indicator_docs
from fincredit.financing.schemas import (
    ApplyIn,
    DebtEvasionIn,
    DecisionIn,
    EvidenceIn,
    LoanEventIn,
    LoanIn,
    NeedIn,
    ProductIn,
)
from fincredit.web.deps import AdminDep, EnterpriseDep, InstitutionDep, SessionDep

router = APIRouter(tags=["金融服务与银企对接"])
MAX_BATCH_BYTES = 10 * 1024 * 1024


@router.get("/products/indicators", summary="准入规则可用的指标")
def product_indicators() -> list[dict[str, Any]]:
    return indicator_docs()


@router.post("/products", status_code=201, summary="发布金融产品")
def publish_product(body: ProductIn, principal: InstitutionDep, session: SessionDep) -> dict[str, Any]:
    return service.product_out(service.publish_product(session, principal, body.model_dump()))


@router.get("/products", summary="金融产品列表（公开）")
def list_products(session: SessionDep, limit: int = Query(100, ge=1, le=500),
                  offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    return [service.product_out(p) for p in service.list_products(session, limit=limit, offset=offset)]


@router.get("/institution/products", summary="本机构的金融产品")
def own_products(principal: InstitutionDep, session: SessionDep) -> list[dict[str, Any]]:
    inst = service.institution_of(principal)
    return [service.product_out(p) for p in service.list_products(session, institution_id=inst, active_only=False,
                                                                  limit=1000)]


@router.get("/products/{product_id}", summary="金融产品详情")
def get_product(product_id: int, session: SessionDep) -> dict[str, Any]:
    return service.product_out(service.get_product(session, product_id))


@router.post("/products/{product_id}/deactivate", summary="下架金融产品")
def deactivate_product(product_id: int, principal: InstitutionDep, session: SessionDep) -> dict[str, Any]:
    return service.product_out(service.deactivate_product(session, principal, product_id))


@router.post("/me/needs", status_code=201, summary="发布融资需求")
def post_need(body: NeedIn, principal: EnterpriseDep, session: SessionDep) -> dict[str, Any]:
    return service.need_out(service.post_need(session, principal, body.model_dump()))


@router.get("/me/needs/{need_id}/matches", summary="匹配的金融产品及理由")
def need_matches(need_id: int, principal: EnterpriseDep, session: SessionDep) -> dict[str, Any]:
    return service.matches(session, principal, need_id)


@router.post("/me/needs/{need_id}/apply", status_code=201, summary="申请产品（同时授权贷前审查）")
def apply(need_id: int, body: ApplyIn, principal: EnterpriseDep, session: SessionDep) -> dict[str, Any]:
    return service.application_out(service.apply(session, principal, need_id, body.model_dump()))


@router.get("/applications", summary="向本机构提出的申请")
def list_applications(principal: InstitutionDep, session: SessionDep, limit: int = Query(100, ge=1, le=500),
                      offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    return [service.application_out(a) for a in service.list_applications(session, principal, limit, offset)]


@router.post("/applications/{application_id}/decision", summary="受理或拒绝申请")
def decide(application_id: int, body: DecisionIn, principal: InstitutionDep, session: SessionDep) -> dict[str, Any]:
    row = service.decide(session, principal, application_id, body.decision == "accept", body.reason)
    return service.application_out(row)


@router.post("/loans", status_code=201, summary="报送放款")
def report_loan(body: LoanIn, principal: InstitutionDep, session: SessionDep) -> dict[str, Any]:
    return loans.loan_out(session, loans.report_loan(session, principal, body.model_dump()))


@router.post("/loans/batch", summary="批量报送放款（CSV）")
async def report_batch(request: Request, principal: InstitutionDep, session: SessionDep) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("multipart/"):
        form = await request.form()
        upload = form.get("file")
        content = await upload.read() if upload is not None and hasattr(upload, "read") else b""
    else:
        content = await request.body()
    if not content or len(content) > MAX_BATCH_BYTES:
        raise Unprocessable("请上传 10MB 以内的 CSV 文件", code="bad_batch_file")
    return batch.ingest_batch(session, principal, content)


@router.get("/loans/{loan_id}", summary="贷款及其事件")
def get_loan(loan_id: int, principal: InstitutionDep, session: SessionDep) -> dict[str, Any]:
    return loans.loan_out(session, loans.get_own_loan(session, principal, loan_id))


@router.post("/loans/{loan_id}/events", status_code=201, summary="报送还款、逾期、违约、结清")
def loan_event(loan_id: int, body: LoanEventIn, principal: InstitutionDep, session: SessionDep) -> dict[str, Any]:
    loans.add_event(session, principal, loan_id, body.kind, body.amount, body.on_date)
    return loans.loan_out(session, loans.get_own_loan(session, principal, loan_id))


@router.post("/evidence", status_code=201, summary="贷款证据上链存证，返回可离线验证的证据包")
def notarize(body: EvidenceIn, principal: InstitutionDep, session: SessionDep) -> dict[str, Any]:
    docs = [d.model_dump() for d in body.documents]
    return evidence.notarize(session, principal, body.loan_id, docs, body.note)




@router.post("/debt-evasion", status_code=201, summary="登记经裁判确认的恶意逃废债（失信信息）")
def record_debt_evasion(body: DebtEvasionIn, principal: AdminDep, session: SessionDep) -> dict[str, Any]:
    rec = evasion.record_evasion(session, principal.name or principal.subject, body.model_dump())
    return {"record_id": rec.id, "category": rec.category_code, "uscc": rec.subject_key, "data": rec.data}
