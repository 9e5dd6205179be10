"""Scenario evaluations (场景评价, §9 “针对不同规模、行业、业态、融资对象、融资需求…开展针对性个性化信用
评价”). Never commits.

An institution configures a scenario as an adjustment of the published guideline: its own weights
per indicator (0 drops an indicator), for enterprises of given size classes and industries and,
optionally, one of its products. The adjusted guideline passes the same validation as the
published one. A scenario is visible only to the institution that made it; its result for an
enterprise is computed on request from the current records, only under the enterprise's
authorization (as the basic evaluation), and recorded as a disclosure.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.authorization import pdp
from fincredit.catalog.service import get_catalog
from fincredit.db import as_utc, utcnow
from fincredit.disclosure import service as disclosure
from fincredit.errors import Forbidden, NotFound, Unprocessable
from fincredit.evaluation import access, service
from fincredit.evaluation.engine import breakdown, decode_bins, explain, score_frame
from fincredit.evaluation.features import read_features
from fincredit.evaluation.guideline import SIZE_CLASSES, Guideline, parse_guideline
from fincredit.evaluation.models import Scenario
from fincredit.registry.models import Enterprise

MAX_SCENARIOS = 100
KIND = "scenario_eval"  # disclosure kind


def adjusted(base: Guideline, weights: dict[str, float], scenario_id: int | str, categories: dict) -> Guideline:
    """The guideline with the scenario's weights; dimension and total weights follow their indicators."""
    doc = copy.deepcopy(base.model_dump(mode="json"))
    known = {i.id for i in base.indicators}
    unknown = sorted(set(weights) - known)
    if unknown:
        raise Unprocessable(f"未知的指标：{'、'.join(unknown)}", code="unknown_indicator", details={"unknown": unknown})
    for ind_id, weight in weights.items():
        if not isinstance(weight, int | float) or weight < 0 or weight > 1000:
            raise Unprocessable(f"指标“{ind_id}”的权重应为 0 至 1000 的数", code="invalid_weight")
    dimensions = []
    for d in doc["dimensions"]:
        for ind in d["indicators"]:
            ind["weight"] = float(weights.get(ind["id"], ind["weight"]))
        d["indicators"] = [i for i in d["indicators"] if i["weight"] > 0]
        d["weight"] = sum(i["weight"] for i in d["indicators"])
        if d["indicators"]:
            dimensions.append(d)
    if not dimensions:
        raise Unprocessable("场景至少要保留一项指标", code="invalid_weight")
    doc["dimensions"] = dimensions
    doc["total_weight"] = sum(d["weight"] for d in dimensions)
    doc["version"] = f"{base.version}-s{scenario_id}"[:32]
    return parse_guideline(doc, categories)


def create(session: Session, party: Principal, body: dict[str, Any]) -> Scenario:
    institution_id = pdp.institution_id_of(party)
    if not pdp.institution_active(session, institution_id):
        raise Forbidden("接入机构未处于启用状态", code="institution_not_active")
    sizes = list(dict.fromkeys(body.get("size_classes") or []))
    if any(s not in SIZE_CLASSES for s in sizes):
        raise Unprocessable(f"企业规模应为 {'、'.join(SIZE_CLASSES)}", code="invalid_size_class")
    prefixes = list(dict.fromkeys(str(p).strip().upper() for p in body.get("industry_prefixes") or []))
    if any(not p or len(p) > 5 or not p.isalnum() for p in prefixes):
        raise Unprocessable("行业代码前缀应为 GB/T 4754 门类字母或代码前缀", code="invalid_industry")
    existing = session.scalars(select(Scenario.id).where(Scenario.institution_id == institution_id)).all()
    if len(existing) >= MAX_SCENARIOS:
        raise Unprocessable(f"每个接入机构最多配置 {MAX_SCENARIOS} 个评价场景", code="too_many_scenarios")
    base = service.current_guideline(session)
    weights = {str(k): v for k, v in (body.get("weights") or {}).items()}
    adjusted(base, weights, "new", get_catalog(session).categories)  # validate before storing
    row = Scenario(institution_id=institution_id, name=str(body.get("name") or "").strip()[:100] or "未命名场景",
                   description=str(body.get("description") or "")[:500], size_classes=sizes,
                   industry_prefixes=prefixes, product=(str(body["product"])[:100] if body.get("product") else None),
                   weights=weights, guideline_version=base.version, created_by=(party.name or party.subject)[:100])
    session.add(row)
    session.flush()
    return row


def view(row: Scenario) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "description": row.description, "size_classes": row.size_classes,
            "industry_prefixes": row.industry_prefixes, "product": row.product, "weights": row.weights,
            "guideline_version": row.guideline_version, "created_at": as_utc(row.created_at).isoformat()}


def own(session: Session, party: Principal, scenario_id: int) -> Scenario:
    row = session.get(Scenario, scenario_id)
    if row is None or row.institution_id != pdp.institution_id_of(party):
        raise NotFound("评价场景不存在", code="scenario_not_found")
    return row


def list_own(session: Session, party: Principal) -> list[dict[str, Any]]:
    rows = session.scalars(select(Scenario).where(Scenario.institution_id == pdp.institution_id_of(party))
                           .order_by(Scenario.id))
    return [view(r) for r in rows]


def evaluate(session: Session, party: Principal, scenario_id: int, uscc: str, *,
             request_id: str | None = None) -> dict[str, Any]:
    """The scenario's evaluation of one enterprise, under authorization, recorded as a disclosure."""
    row = own(session, party, scenario_id)
    enterprise = session.get(Enterprise, uscc)
    if enterprise is None:
        raise NotFound("该统一社会信用代码不在平台企业总体中", code="enterprise_not_found")
    now = utcnow()
    decision = access.authorize(session, party, uscc, now)
    if row.size_classes and enterprise.size_class not in row.size_classes or row.industry_prefixes and not any(
            (enterprise.industry_code or "").upper().startswith(p) for p in row.industry_prefixes):
        raise Unprocessable("该企业的规模或行业不属于本评价场景", code="scenario_not_applicable")
    catalog = get_catalog(session)
    g = adjusted(service.current_guideline(session), row.weights, row.id, catalog.categories)
    features = read_features(session.connection(), g, catalog.categories, service.today(), [uscc])
    if features.height == 0:
        raise Unprocessable("该企业不处于存续或在业状态，不予评价", code="enterprise_not_active")
    result = score_frame(features, g).row(0, named=True)
    reasons, covered = json.loads(result["reasons"]), json.loads(result["coverage"])
    content = {
        "scenario": view(row), "uscc": uscc, "score": result["score"], "grade": result["grade"],
        "grade_note": g.thin_file.note if result["thin_file"] else None, "reasons": explain(g, reasons),
        "coverage": service.coverage_view(g, covered, result["thin_file"]), "thin_file": result["thin_file"],
        "dimensions": breakdown(g, decode_bins(result["bins"])),
        "model_version": f"scenario-{row.id}/{service.model_version(g.version)}", "evaluated_at": now.isoformat(),
    }
    draft = disclosure.DisclosureDraft(party=party, subject_uscc=uscc, kind=KIND, purpose=None,
                                       decisions={access.PRODUCT: decision}, content=content,
                                       fields={access.PRODUCT: [*access.FIELDS, f"scenario:{row.id}"]})
    return disclosure.disclose(session, draft, request_id=request_id, now=now)
