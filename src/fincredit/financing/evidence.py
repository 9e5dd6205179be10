"""Evidence for disputes (§11): loan documents' hashes notarized in the ledger and exported as an
evidence bundle that ``fincredit ledger verify-receipt`` checks offline. Never commits."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.db import utcnow
from fincredit.errors import Unprocessable
from fincredit.financing.loans import events_of, get_own_loan
from fincredit.financing.models import Evidence
from fincredit.ledger import service as ledger

HASH_ALGS = ("sha256", "sm3")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_DOCUMENTS = 100


def _documents(documents: list[dict[str, Any]]) -> list[dict[str, str]]:
    if not documents or len(documents) > MAX_DOCUMENTS:
        raise Unprocessable(f"须列出 1 至 {MAX_DOCUMENTS} 份文件", code="bad_documents")
    out = []
    for i, doc in enumerate(documents, start=1):
        name = str(doc.get("name") or "").strip()
        algs = [a for a in HASH_ALGS if doc.get(a)]
        if not name or len(algs) != 1:
            raise Unprocessable(f"第 {i} 份文件须有名称，并恰好给出 sha256 或 sm3 之一", code="bad_documents")
        digest = str(doc[algs[0]]).strip().lower()
        if not _HEX64.match(digest):
            raise Unprocessable(f"第 {i} 份文件的 {algs[0]} 须为 64 位十六进制", code="bad_documents")
        out.append({"name": name[:200], "hash_alg": algs[0], "hash": digest})
    return out


def notarize(session: Session, principal: Principal, loan_id: int, documents: list[dict[str, Any]],
             note: str = "") -> dict[str, Any]:
    """Append the evidence to the ledger and return it with its evidence bundle."""
    loan = get_own_loan(session, principal, loan_id)
    docs = _documents(documents)
    entry = ledger.append(session, "evidence_notarized", {"loan_id": loan.id, "documents": docs, "note": note},
                          [f"institution:{loan.institution_id}", f"enterprise:{loan.uscc}"])
    row = Evidence(loan_id=loan.id, institution_id=loan.institution_id, documents=docs, note=note,
                   ledger_index=entry.index, created_at=utcnow())
    session.add(row)
    session.flush()
    indexes = [loan.ledger_index, *(e.ledger_index for e in events_of(session, loan.id)), entry.index]
    bundle = ledger.evidence_bundle(session, [i for i in indexes if i is not None])
    return {"id": row.id, "loan_id": loan.id, "ledger_index": entry.index, "documents": docs,
            "public_key_id": bundle["public_key"]["kid"], "bundle": bundle}
