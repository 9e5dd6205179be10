"""Batch-file loan feedback: a CSV with Chinese headers, each row validated; late or inconsistent rows
are stored with their ``flags`` and listed; rejected rows are listed and store nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from typing import Any

from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.errors import DomainError, Unprocessable
from fincredit.financing.loans import report_loan

HEADERS = {"统一社会信用代码": "uscc", "贷款金额(万元)": "amount", "期限(月)": "term_months", "年利率(%)": "rate",
           "是否信用贷款": "credit_loan", "是否首贷": "first_loan", "放款日期": "granted_on"}
TRUE_TEXTS = {"是", "true", "1", "y", "yes"}
FALSE_TEXTS = {"否", "false", "0", "n", "no"}
MAX_ROWS = 10_000


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _bool(value: str, header: str) -> bool:
    text = _norm(value).lower()
    if text in TRUE_TEXTS:
        return True
    if text in FALSE_TEXTS:
        return False
    raise Unprocessable(f"“{header}”须为 是 或 否", code="bad_boolean")


def parse_row(raw: dict[str, str]) -> dict[str, Any]:
    try:
        term = int(_norm(raw["term_months"]))
    except ValueError:
        raise Unprocessable("“期限(月)”须为整数", code="bad_term") from None
    try:
        granted = dt.date.fromisoformat(_norm(raw["granted_on"]))
    except ValueError:
        raise Unprocessable("“放款日期”须为 YYYY-MM-DD", code="bad_date") from None
    try:
        rate = float(_norm(raw["rate"]))
    except ValueError:
        raise Unprocessable("“年利率(%)”须为数字", code="bad_rate") from None
    return {"uscc": _norm(raw["uscc"]).upper(), "amount": _norm(raw["amount"]), "term_months": term, "rate": rate,
            "credit_loan": _bool(raw["credit_loan"], "是否信用贷款"), "first_loan": _bool(raw["first_loan"], "是否首贷"),
            "granted_on": granted}


def ingest_batch(session: Session, principal: Principal, content: bytes,
                 today: dt.date | None = None) -> dict[str, Any]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("gb18030", errors="strict")
    reader = csv.reader(io.StringIO(text))
    header = [_norm(h) for h in next(reader, [])]
    missing = [h for h in HEADERS if h not in header]
    if missing:
        raise Unprocessable(f"文件缺少列：{'、'.join(missing)}", code="missing_columns", details={"missing": missing})
    position = {HEADERS[h]: header.index(h) for h in HEADERS}
    accepted, rejected, flagged = [], [], []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if number > MAX_ROWS + 1:
            raise Unprocessable(f"一个文件最多 {MAX_ROWS} 行", code="too_many_rows")
        raw = {key: cells[i] if i < len(cells) else "" for key, i in position.items()}
        nested = session.begin_nested()
        try:
            loan = report_loan(session, principal, parse_row(raw), source="batch", today=today)
            nested.commit()
        except DomainError as exc:
            nested.rollback()
            rejected.append({"row": number, "code": exc.code, "message": exc.message})
            continue
        accepted.append(loan.id)
        if loan.flags:
            flagged.append({"row": number, "loan_id": loan.id, "flags": loan.flags})
    return {"accepted": len(accepted), "loan_ids": accepted, "rejected": rejected, "flagged": flagged}
