"""Who may see an enterprise's evaluation, and the record of each disclosure of it. Never commits.

An evaluation is a processed product (加工产品) of the enterprise's non-public information, so an
institution sees it only under an authorization: the policy decision point is asked about the
catalog's non-public categories for a general credit query (the financing purposes pre_loan,
loan_approval and post_loan serve it; sucode does not), and an active authorization of this
enterprise to this active institution that covers any of them allows the evaluation. Every answer
is recorded through the disclosure service (row + tamper-evident ledger) before it is returned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.authorization import pdp
from fincredit.catalog.service import get_catalog
from fincredit.db import utcnow
from fincredit.disclosure import service as disclosure
from fincredit.errors import Forbidden, NotFound
from fincredit.evaluation import service
from fincredit.registry.models import Enterprise

PRODUCT = "evaluation"  # how the disclosure record names what was sent
FIELDS = ["score", "grade", "reasons", "coverage", "thin_file", "model_version", "evaluated_at"]


def authorize(session: Session, party: Principal, uscc: str, now: dt.datetime) -> pdp.Decision:
    """The decision for ``party`` to see the evaluation of ``uscc`` (403 ``not_authorized`` if none)."""
    catalog = get_catalog(session)
    codes = [c.code for c in catalog.categories.values() if c.disclosure_class != "public" and not c.retired]
    decisions = pdp.decide_many(session, party, codes, uscc, None, now)
    granted = [d for d in decisions.values() if d.allowed and d.authorization_id]
    if granted:
        best = granted[0]
        return pdp.Decision(True, "processed", "已获企业授权，提供基础性信用评价结果", best.authorization_id, "authorized")
    expired = tuple(sorted({i for d in decisions.values() for i in d.expired_authorization_ids}))
    if expired:
        disclosure.note_denied_expiry(session, pdp.Decision(False, "none", "", None, "", expired), now)
    codes_seen = {d.code for d in decisions.values()}
    reason = ("接入机构未处于启用状态，不能查询" if "institution_not_active" in codes_seen
              else "企业授权已过期" if "authorization_expired" in codes_seen
              else "企业已撤销授权" if "authorization_revoked" in codes_seen
              else "未获该企业贷前审查、贷中审批或贷后监测授权")
    raise Forbidden(f"不能查看该企业的信用评价：{reason}", code="not_authorized",
                    details={"reasons": sorted(codes_seen)})


def institution_view(session: Session, party: Principal, uscc: str, *, request_id: str | None = None) -> dict[str, Any]:
    """``GET /enterprises/{uscc}/evaluation``: the current evaluation under authorization, disclosed."""
    if session.get(Enterprise, uscc) is None:
        raise NotFound("该统一社会信用代码不在平台企业总体中", code="enterprise_not_found")
    now = utcnow()
    decision = authorize(session, party, uscc, now)
    row = service.current_evaluation(session, uscc)
    if row is None:
        raise NotFound("该企业尚无信用评价结果", code="evaluation_not_found")
    content = service.evaluation_view(session, row)
    draft = disclosure.DisclosureDraft(party=party, subject_uscc=uscc, kind=PRODUCT, purpose=None,
                                       decisions={PRODUCT: decision}, content=content, fields={PRODUCT: FIELDS})
    return disclosure.disclose(session, draft, request_id=request_id, now=now)
