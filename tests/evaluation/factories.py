"""Enterprises and stored records for evaluation tests, written directly with the models.

Record ``data`` holds what collection stores after validation: dates as ISO text, booleans as
JSON true/false, amounts as decimal strings, counts as integers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Any

from sqlalchemy.orm import Session

from fincredit.collection.identifiers import uscc_check_digit
from fincredit.collection.models import Record
from fincredit.db import utcnow
from fincredit.registry.models import Enterprise

_serial = itertools.count(1)


def uscc(i: int) -> str:
    body = f"91320100{i:09d}"
    return body + uscc_check_digit(body)


def person_key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def add_enterprise(session: Session, code: str, *, status: str = "存续", established: str | None = "2015-03-01",
                   capital: float | None = 600.0, employees: int | None = 40, size: str | None = "小型",
                   rep: str = "rep") -> Enterprise:
    row = Enterprise(uscc=code, name=f"企业{code[-6:]}", status=status, industry_code="C3911", region_code="320102",
                     size_class=size, established_on=dt.date.fromisoformat(established) if established else None,
                     registered_capital_wan=capital, employees=employees, legal_rep_key=person_key(rep + code))
    session.add(row)
    session.flush()
    return row


def add_record(session: Session, category: str, subject: str, data: dict[str, Any], *, current: bool = True,
               person_keys: list[str] | None = None, kind: str = "enterprise",
               received_at: dt.datetime | None = None) -> Record:
    n = next(_serial)
    row = Record(category_code=category, subject_kind=kind, subject_key=subject,
                 natural_key_hash=hashlib.sha256(f"{category}:{subject}:{n}".encode()).hexdigest(),
                 content_hash=hashlib.sha256(str(data).encode()).hexdigest(), data=data, person_keys=person_keys,
                 provider_code="test", received_at=received_at or utcnow(), is_current=current)
    session.add(row)
    session.flush()
    if session.connection().dialect.name == "sqlite":
        # collection stores UTF-8 JSON text (ensure_ascii=False); SQLite's json_extract needs it so
        session.connection().exec_driver_sql("UPDATE records SET data = ? WHERE id = ?",
                                             (json.dumps(data, ensure_ascii=False), row.id))
    return row


AS_OF = dt.date(2026, 10, 31)


def healthy_records(session: Session, code: str) -> None:
    """Positive evidence in every key category, no negative record: a sound small enterprise."""
    add_record(session, "1", code, {"统一社会信用代码": code, "近一年增值税实际缴税金额(元)": "300000.00",
                                    "近一年企业所得税实际缴税金额(元)": "120000.00", "连续正常缴税周期(月)": 36,
                                    "最近一次正常缴税日期": "2026-10-15"})
    add_record(session, "1", code, {"统一社会信用代码": code, "近一年增值税实际缴税金额(元)": "250000.00",
                                    "近一年企业所得税实际缴税金额(元)": "100000.00", "连续正常缴税周期(月)": 26,
                                    "最近一次正常缴税日期": "2025-10-15"}, current=False)
    add_record(session, "4", code, {"统一社会信用代码": code, "评级年度": 2025, "纳税信用等级": "A"})
    for month, people in (("2026-09", 50), ("2026-10", 52)):
        add_record(session, "10", code, {"统一社会信用代码": code, "缴费年月": month, "险种类别": "企业职工基本养老保险",
                                         "参保人数": people, "企业职工基本养老保险近一年月均参保人数": "50"})
    add_record(session, "10", code, {"统一社会信用代码": code, "缴费年月": "2026-10", "险种类别": "失业保险",
                                     "参保人数": 3, "企业职工基本养老保险近一年月均参保人数": "50"})
    add_record(session, "13", code, {"统一社会信用代码": code, "缴存年月至": "2026-10", "近一年连续正常缴纳周期(月)": 12})
    for account in ("A1", "A2"):
        add_record(session, "14", code, {"统一社会信用代码": code, "电网户号": account, "计量开始日期": "2026-10-01",
                                         "近3个月月均用电量(元)": "11000", "近6个月月均用电量(元)": "10000",
                                         "当前是否欠费": False})
    add_record(session, "31", code, {"统一社会信用代码": code, "户号": "W1", "计量开始日期": "2026-10-01",
                                     "当前是否欠费": False})
