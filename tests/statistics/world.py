"""A small world for the statistics tests, built with the shared factories and the real authorization
service: enterprises in 南京 and 无锡, accounts created over two months, authorizations, uses, loans with
events, disclosures, objections and collection batches. Every created fact is kept for plain-Python checks."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.catalog.models import CatalogVersion
from fincredit.collection.models import Batch
from fincredit.db import session_scope
from fincredit.disclosure.models import Disclosure
from fincredit.financing.models import Loan, LoanEvent
from fincredit.objections.models import Objection
from fincredit.registry.models import Account, Enterprise
from tests.trust.factories import grant, make_enterprise, make_institution

TODAY = dt.date.today()
THIS_MONTH = TODAY.replace(day=1)
LAST_MONTH = (THIS_MONTH - dt.timedelta(days=1)).replace(day=1)


def at(day: dt.date, hour: int = 3) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


@dataclass
class World:
    enterprises: list[dict] = field(default_factory=list)  # uscc, city, industry, size, status, account_at
    authorizations: list[dict] = field(default_factory=list)  # uscc, institution, created, revoked
    uses: list[dict] = field(default_factory=list)  # uscc, institution, at
    loans: list[dict] = field(default_factory=list)  # uscc, institution, amount, credit, first, on, events
    disclosures: list[dict] = field(default_factory=list)
    objections: list[dict] = field(default_factory=list)
    batches: list[dict] = field(default_factory=list)
    banks: list[int] = field(default_factory=list)


# (district, industry, size, status, account created on or None)
ENTERPRISES = [
    ("320102", "C13", "小型", "存续", LAST_MONTH),
    ("320104", "C39", "微型", "在业", THIS_MONTH),
    ("320106", "F51", "中型", "存续", None),
    ("320213", "C13", "小型", "存续", LAST_MONTH),
    ("320211", "I65", "微型", "存续", THIS_MONTH),
    ("320205", "F51", "小型", "注销", None),
]


def build_world() -> World:
    w = World()
    with session_scope() as s:
        banks = [make_institution(s), make_institution(s)]
        w.banks = [b.id for b in banks]
        infos = []
        for region, industry, size, status, created in ENTERPRISES:
            info = make_enterprise(s, with_account=created is not None)
            row = s.get(Enterprise, info.uscc)
            row.region_code, row.industry_code, row.size_class, row.status = region, industry, size, status
            if created:
                s.execute(select(Account).where(Account.uscc == info.uscc)).scalar_one().created_at = at(created)
            infos.append(info)
            w.enterprises.append({"uscc": info.uscc, "city": region[:4] + "00", "industry": industry[0],
                                  "size": size, "live": status in ("存续", "在业"),
                                  "account_at": at(created) if created else None})
        s.flush()
        for i, info in enumerate(infos[:5]):
            bank = banks[i % 2]
            auth = grant(s, info, bank, ["1"])
            row = s.get(Authorization, auth.id)
            created = at(LAST_MONTH if i < 2 else THIS_MONTH)
            row.created_at = created
            revoked = at(THIS_MONTH, 5) if i == 3 else None
            if revoked:
                row.status, row.revoked_at = "revoked", revoked
            w.authorizations.append({"uscc": info.uscc, "institution": bank.id, "created": created,
                                     "revoked": revoked})
            for n in range(i % 3):
                used = at(THIS_MONTH if n else LAST_MONTH, 6)
                s.add(AuthorizationUse(authorization_id=row.id, used_at=used, party=f"institution:{bank.id}",
                                       use="pre_loan", kind="disclosure", categories=["1"]))
                w.uses.append({"uscc": info.uscc, "institution": bank.id, "at": used})
                s.add(Disclosure(id=str(uuid.uuid4()), kind="enterprise_view", party_role="institution",
                                 party_subject=str(bank.id), subject_uscc=info.uscc, categories=["1"],
                                 content_sm3="0" * 64, created_at=used))
                w.disclosures.append({"uscc": info.uscc, "at": used, "kind": "enterprise_view"})
        loan_specs = [  # enterprise, bank, amount, credit, first, granted, events (kind, amount, date)
            (0, 0, "300", True, True, LAST_MONTH, [("repaid", "100", THIS_MONTH)]),
            (1, 1, "200", False, True, THIS_MONTH, [("overdue", None, THIS_MONTH)]),
            (3, 0, "500", False, False, LAST_MONTH, [("defaulted", None, THIS_MONTH)]),
            (4, 1, "150", True, True, THIS_MONTH, []),
            (3, 1, "80", True, False, LAST_MONTH, [("repaid", "80", LAST_MONTH), ("settled", None, LAST_MONTH)]),
        ]
        for ei, bi, amount, credit, first, on, events in loan_specs:
            loan = Loan(institution_id=w.banks[bi], uscc=infos[ei].uscc, amount_wan=Decimal(amount), term_months=12,
                        rate=Decimal("3.5"), credit_loan=credit, first_loan=first, granted_on=on)
            s.add(loan)
            s.flush()
            for kind, amt, day in events:
                s.add(LoanEvent(loan_id=loan.id, kind=kind, amount_wan=Decimal(amt) if amt else None, on_date=day))
            w.loans.append({"uscc": infos[ei].uscc, "institution": w.banks[bi], "amount": float(amount),
                            "credit": credit, "first": first, "on": on,
                            "events": [(k, float(a) if a else 0.0, d) for k, a, d in events]})
        for i, (ei, filed, fwd_hours, outcome) in enumerate([(0, LAST_MONTH, 24, "corrected"),
                                                             (1, THIS_MONTH, 100, None),
                                                             (3, THIS_MONTH, None, None)]):
            filed_at = at(filed)
            deadline = filed_at + dt.timedelta(hours=48)
            forwarded = filed_at + dt.timedelta(hours=fwd_hours) if fwd_hours else None
            s.add(Objection(enterprise_uscc=infos[ei].uscc, category_code="1", record_id=i + 1, reason="数据有误",
                            filed_at=filed_at, forward_deadline=deadline, deadline_date=deadline.date(),
                            calendar_basis="official", forwarded_at=forwarded,
                            status="resolved" if outcome else ("forwarded" if forwarded else "filed"),
                            resolved_at=forwarded if outcome else None, outcome=outcome))
            w.objections.append({"uscc": infos[ei].uscc, "filed": filed_at, "forwarded": forwarded,
                                 "deadline": deadline, "outcome": outcome})
        version = s.execute(select(CatalogVersion.id).limit(1)).scalar_one()
        for prov, cat, total, ok, status, day in [("tax", "1", 10, 8, "partially_accepted", THIS_MONTH),
                                                  ("tax", "2", 5, 0, "rejected", LAST_MONTH),
                                                  ("court", "7", 4, 4, "accepted", THIS_MONTH)]:
            s.add(Batch(provider_code=prov, category_code=cat, catalog_version_id=version,
                        content_hash=uuid.uuid4().hex, filename="x.csv", file_format="csv", size_bytes=1,
                        status=status, rows_total=total, accepted=ok, rejected=total - ok, received_at=at(day),
                        uploaded_by="test"))
            w.batches.append({"provider": prov, "category": cat, "rows": total, "accepted": ok, "status": status,
                              "at": at(day)})
    return w
