"""Data verification (数据核验): "matches / does not match" for values the institution already holds.

Offered for verification-class categories (27–30) and for the verification-only fields of
category 10, under an authorization covering the category (the PDP decides). The comparison is
collection's ``verify_claims`` (values normalised by each field's validator, decrypted in memory);
stored values are never returned. Besides verification fields, a claim may name natural-key fields
of the category (e.g. 缴费年月, 险种类别 of category 10) to select the record compared — no other
field, so that verification cannot be used to probe non-public values. Natural-person categories
(29, 30) are checked against the enterprise's current legal representative.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.authorization.pdp import Decision, decide_with_context
from fincredit.catalog.service import get_catalog
from fincredit.collection.verification import verify_claims
from fincredit.db import as_utc, utcnow
from fincredit.disclosure.service import DisclosureDraft
from fincredit.disclosure.views import load_subject
from fincredit.errors import Unprocessable


@dataclass
class VerificationOutcome:
    draft: DisclosureDraft | None
    denied: Decision | None


def verify(session: Session, party: Principal, uscc: str, category: str, claims: dict[str, Any],
           purpose: str | None, now: dt.datetime | None = None) -> VerificationOutcome:
    now = as_utc(now) if now else utcnow()
    cat = get_catalog(session).categories.get(category)
    if cat is None:
        raise Unprocessable(f"信息类“{category}”不在当前共享清单中", code="unknown_category")
    verifiable = cat.verification_fields
    if not verifiable:
        raise Unprocessable(f"信息类“{cat.name}”不提供数据核验", code="category_not_verifiable")
    selectors = [n for n in cat.natural_key if n not in verifiable and n != cat.subject_field.name]
    unknown = [k for k in claims if k not in verifiable and k not in selectors]
    if unknown or not any(k in verifiable for k in claims):
        raise Unprocessable(f"只能核验以下字段：{'、'.join(verifiable)}"
                            + (f"（可用于选定记录的字段：{'、'.join(selectors)}）" if selectors else ""),
                            code="field_not_verifiable", details={"fields": unknown, "verifiable": verifiable,
                                                                  "selectors": selectors})
    subject = load_subject(session, uscc)
    decisions, context = decide_with_context(session, party, [category], uscc, purpose, now)
    decision = decisions[category]
    if not decision.allowed or decision.form not in ("verification", "processed"):
        return VerificationOutcome(None, decision)
    key = subject.rep_key if cat.subject == "person" else uscc
    result = verify_claims(session, category, key or "", claims)
    content = {"uscc": uscc, "category": category, "match": bool(result["match"]),
               "fields": {k: bool(v) for k, v in result["fields"].items()}, "checked_at": now.isoformat()}
    draft = DisclosureDraft(party=party, subject_uscc=uscc, kind="verification", purpose=purpose,
                            decisions={category: decision}, content=content, fields={category: sorted(claims)},
                            context=context)
    return VerificationOutcome(draft, None)
