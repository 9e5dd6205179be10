"""Products (金融产品), financing needs (融资需求), matching (银企对接) and applications. Never commits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.authorization import service as authorization_service
from fincredit.authorization.pdp import institution_id_of
from fincredit.catalog.service import get_catalog
from fincredit.db import utcnow
from fincredit.disclosure.products import PRODUCTS
from fincredit.errors import Conflict, Forbidden, NotFound, Unprocessable
from fincredit.financing.indicators import indicator_values
from fincredit.financing.models import Application, FinancingNeed, Product
from fincredit.financing.rules import INDICATORS, check_rule, validate_rules
from fincredit.institutions.service import is_institution_active

PRODUCT_TYPES = {"credit": "信用贷款", "guarantee": "保证贷款", "pledge": "质押贷款", "ip_pledge": "知识产权质押贷款",
                 "mortgage": "抵押贷款"}
COMPENSATION_FUNDS = {"xiaowei": "小微贷", "suke": "苏科贷", "suxin": "苏信贷", "sunong": "苏农贷", "sufu": "苏服贷"}
FUND_BY_NAME = {v: k for k, v in COMPENSATION_FUNDS.items()}


def institution_of(principal: Principal) -> int:
    inst = institution_id_of(principal)
    if inst is None:
        raise Forbidden("此操作需要接入机构身份", code="wrong_role")
    return inst


def _range(low: Any, high: Any, what: str, *, positive: bool = True) -> None:
    if low is None or high is None or (positive and low <= 0) or low < 0 or low > high:
        raise Unprocessable(f"{what}区间不合规：须为{'正数' if positive else '非负数'}且下限不高于上限",
                            code="bad_product_range", details={"field": what})


def publish_product(session: Session, principal: Principal, data: dict[str, Any]) -> Product:
    inst = institution_of(principal)
    if data["type"] not in PRODUCT_TYPES:
        raise Unprocessable(f"产品类型须为 {'、'.join(PRODUCT_TYPES)} 之一", code="bad_product_type")
    _range(data["amount_min_wan"], data["amount_max_wan"], "金额（万元）")
    _range(data["term_min_months"], data["term_max_months"], "期限（月）")
    _range(data["rate_min"], data["rate_max"], "年利率（%）", positive=False)
    rules = validate_rules(data.get("rules") or [])
    fund = data.get("compensation_fund")
    if fund is not None:
        fund = FUND_BY_NAME.get(fund, fund)
        if fund not in COMPENSATION_FUNDS:
            raise Unprocessable(f"风险补偿基金须为 {'、'.join(COMPENSATION_FUNDS.values())} 之一",
                                code="bad_compensation_fund")
    ratio = data.get("sharing_ratio")
    if (fund or data.get("guarantee_scheme")) and ratio is None:
        raise Unprocessable("关联风险补偿基金或政府性融资担保时须给出分担比例（0–100%）", code="bad_sharing_ratio")
    if ratio is not None and not 0 <= ratio <= 100:
        raise Unprocessable("分担比例须在 0 至 100% 之间", code="bad_sharing_ratio")
    product = Product(institution_id=inst, name=data["name"], type=data["type"],
                      amount_min_wan=data["amount_min_wan"], amount_max_wan=data["amount_max_wan"],
                      term_min_months=data["term_min_months"], term_max_months=data["term_max_months"],
                      rate_min=data["rate_min"], rate_max=data["rate_max"],
                      size_classes=list(data.get("size_classes") or []), industries=list(data.get("industries") or []),
                      regions=list(data.get("regions") or []), rules=rules, compensation_fund=fund,
                      guarantee_scheme=data.get("guarantee_scheme"), sharing_ratio=ratio, active=True,
                      created_at=utcnow())
    session.add(product)
    session.flush()
    return product


def product_out(p: Product) -> dict[str, Any]:
    return {"id": p.id, "institution_id": p.institution_id, "name": p.name, "type": p.type,
            "type_label": PRODUCT_TYPES.get(p.type, p.type),
            "amount_min_wan": float(p.amount_min_wan), "amount_max_wan": float(p.amount_max_wan),
            "term_min_months": p.term_min_months, "term_max_months": p.term_max_months,
            "rate_min": float(p.rate_min), "rate_max": float(p.rate_max), "size_classes": p.size_classes,
            "industries": p.industries, "regions": p.regions, "rules": p.rules,
            "compensation_fund": p.compensation_fund,
            "compensation_fund_label": COMPENSATION_FUNDS.get(p.compensation_fund or ""),
            "guarantee_scheme": p.guarantee_scheme,
            "sharing_ratio": float(p.sharing_ratio) if p.sharing_ratio is not None else None, "active": p.active}


def list_products(session: Session, *, institution_id: int | None = None, active_only: bool = True,
                  limit: int = 100, offset: int = 0) -> list[Product]:
    stmt = select(Product).order_by(Product.id)
    if institution_id is not None:
        stmt = stmt.where(Product.institution_id == institution_id)
    if active_only:
        stmt = stmt.where(Product.active.is_(True))
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("金融产品不存在", code="product_not_found")
    return product


def deactivate_product(session: Session, principal: Principal, product_id: int) -> Product:
    product = get_product(session, product_id)
    if product.institution_id != institution_of(principal):
        raise NotFound("金融产品不存在", code="product_not_found")
    product.active, product.deactivated_at = False, utcnow()
    session.flush()
    return product


# --- needs and matching ------------------------------------------------------------------------

def post_need(session: Session, principal: Principal, data: dict[str, Any]) -> FinancingNeed:
    if data["amount_wan"] <= 0 or data["term_months"] <= 0:
        raise Unprocessable("融资金额和期限须为正数", code="bad_need")
    need = FinancingNeed(uscc=principal.subject, amount_wan=data["amount_wan"], term_months=data["term_months"],
                         purpose=data["purpose"], acceptable_collateral=list(data.get("acceptable_collateral") or []),
                         created_at=utcnow())
    session.add(need)
    session.flush()
    return need


def get_own_need(session: Session, principal: Principal, need_id: int) -> FinancingNeed:
    need = session.get(FinancingNeed, need_id)
    if need is None or need.uscc != principal.subject:
        raise NotFound("融资需求不存在", code="need_not_found")
    return need


def need_out(n: FinancingNeed) -> dict[str, Any]:
    return {"id": n.id, "uscc": n.uscc, "amount_wan": float(n.amount_wan), "term_months": n.term_months,
            "purpose": n.purpose, "acceptable_collateral": n.acceptable_collateral,
            "created_at": n.created_at.isoformat()}


def plain(value: Decimal) -> str:
    """300.0000 → "300", 50.5000 → "50.5" (amounts in messages people read)."""
    return f"{Decimal(value).normalize():f}"


def _fit_checks(p: Product, need: FinancingNeed, values: dict[str, Any]) -> list[dict[str, Any]]:
    amount = Decimal(need.amount_wan)
    checks = [
        {"check": "amount", "passed": p.amount_min_wan <= amount <= p.amount_max_wan,
         "reason": f"需求金额 {plain(amount)} 万元，产品额度 {plain(p.amount_min_wan)}–{plain(p.amount_max_wan)} 万元"},
        {"check": "term", "passed": p.term_min_months <= need.term_months <= p.term_max_months,
         "reason": f"需求期限 {need.term_months} 个月，产品期限 {p.term_min_months}–{p.term_max_months} 个月"},
    ]
    if need.acceptable_collateral and p.type != "credit":
        checks.append({"check": "collateral", "passed": p.type in need.acceptable_collateral,
                       "reason": f"产品方式为{PRODUCT_TYPES.get(p.type, p.type)}，企业可接受："
                                 f"{'、'.join(need.acceptable_collateral)}"})
    for name, field, label in (("size_classes", "size_class", "企业规模"), ("industries", "industry", "行业"),
                               ("regions", "region", "地区")):
        allowed = getattr(p, name)
        if allowed:
            actual = values.get(field)
            ok = actual is not None and any(str(actual).startswith(a) for a in allowed)
            checks.append({"check": name, "passed": ok,
                           "reason": f"产品面向{label}：{'、'.join(allowed)}；企业为{actual or '未知'}"})
    return checks


def matches(session: Session, principal: Principal, need_id: int) -> dict[str, Any]:
    """Active products with every rule evaluated on the enterprise's own data, eligible ones first."""
    need = get_own_need(session, principal, need_id)
    values = indicator_values(session, need.uscc)
    out = []
    for p in list_products(session, limit=1000):
        fit = _fit_checks(p, need, values)
        rules = [check_rule(rule, values.get(rule["indicator"])) for rule in p.rules]
        eligible = all(c["passed"] for c in fit + rules)
        out.append({"product": product_out(p), "eligible": eligible, "fit": fit, "rules": rules})
    out.sort(key=lambda m: (not m["eligible"], m["product"]["id"]))
    return {"need": need_out(need), "indicators": {k: values.get(k) for k in INDICATORS}, "matches": out}


# --- applications -------------------------------------------------------------------------------

def default_categories(session: Session) -> list[str]:
    catalog = get_catalog(session)
    return [c for c in PRODUCTS if c in catalog.categories and not catalog.categories[c].retired]


def apply(session: Session, principal: Principal, need_id: int, data: dict[str, Any]) -> Application:
    if data.get("consent") is not True:
        raise Unprocessable("申请须经企业明确同意授权（consent 须为 true）", code="consent_required")
    need = get_own_need(session, principal, need_id)
    product = get_product(session, data["product_id"])
    if not product.active or not is_institution_active(session, product.institution_id):
        raise Unprocessable("该金融产品已下架或发布机构未处于启用状态", code="product_inactive")
    expires = data.get("authorization_expires_at") or utcnow() + dt.timedelta(days=30)
    auth = authorization_service.grant(session, principal, authorization_service.GrantRequest(
        institution_id=product.institution_id, purpose="pre_loan",
        categories=data.get("categories") or default_categories(session), expires_at=expires))
    row = Application(need_id=need.id, product_id=product.id, institution_id=product.institution_id,
                      uscc=need.uscc, authorization_id=auth.id, status="submitted", created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def application_out(a: Application) -> dict[str, Any]:
    return {"id": a.id, "need_id": a.need_id, "product_id": a.product_id, "institution_id": a.institution_id,
            "uscc": a.uscc, "authorization_id": a.authorization_id, "status": a.status,
            "decision_reason": a.decision_reason, "created_at": a.created_at.isoformat()}


def list_applications(session: Session, principal: Principal, limit: int = 100, offset: int = 0) -> list[Application]:
    stmt = (select(Application).where(Application.institution_id == institution_of(principal))
            .order_by(Application.id.desc()).limit(limit).offset(offset))
    return list(session.scalars(stmt))


def decide(session: Session, principal: Principal, application_id: int, accept: bool, reason: str) -> Application:
    row = session.get(Application, application_id)
    if row is None or row.institution_id != institution_of(principal):
        raise NotFound("申请不存在", code="application_not_found")
    if row.status != "submitted":
        raise Conflict("该申请已处理", code="application_decided")
    if not accept and not reason.strip():
        raise Unprocessable("拒绝申请须说明理由", code="reason_required")
    row.status, row.decision_reason, row.decided_at = ("accepted" if accept else "declined"), reason, utcnow()
    session.flush()
    return row
