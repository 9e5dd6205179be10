"""Confirmed malicious debt evasion (恶意逃废债, §11): after a ruling, the operator records it and it
becomes a dishonesty entry — a Record of the node's own public category ``node_evasion``. Never commits."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.catalog.service import adjust_category, get_catalog
from fincredit.collection.models import Record
from fincredit.collection.shaping import RecordShaper
from fincredit.db import utcnow
from fincredit.errors import Conflict, NotFound
from fincredit.ledger import service as ledger
from fincredit.registry.models import Enterprise

CATEGORY = "node_evasion"
PROVIDER = "node"
DEFINITION: dict[str, Any] = {
    "code": CATEGORY, "name": "恶意逃废债失信信息", "sharing_method": "bulk", "provider": PROVIDER,
    "annex_note": "省级节点依据苏政办发〔2022〕59号第十一条自设", "disclosure_class": "public",
    "class_reason": "经司法裁判确认的恶意逃废债行为作为失信信息依法公示", "subject": "enterprise",
    "update_cycle_days": 31, "natural_key": ["统一社会信用代码", "裁判文书号"], "node_own": True,
    "fields": [
        {"name": "企业名称", "type": "text", "required": True},
        {"name": "统一社会信用代码", "type": "uscc", "required": True, "identifies": True},
        {"name": "裁判文书号", "type": "text", "required": True, "max_length": 100},
        {"name": "裁判法院", "type": "text", "required": True},
        {"name": "裁判日期", "type": "date", "required": True},
        {"name": "恶意逃废债事实", "type": "text"},
    ],
}


def ensure_category(session: Session) -> str:
    """Create the node's own category when the current catalog lacks it (idempotent)."""
    if CATEGORY in get_catalog(session).categories:
        return "present"
    adjust_category(session, DEFINITION, actor="system", note="新增省级节点自设信息类：恶意逃废债失信信息",
                    provider_name="省级节点", create_only=True)
    return "created"


def record_evasion(session: Session, actor: str, data: dict[str, Any]) -> Record:
    enterprise = session.get(Enterprise, data["uscc"])
    if enterprise is None:
        raise NotFound("企业不在登记注册基础信息中", code="enterprise_not_found")
    ensure_category(session)
    cat = get_catalog(session).category(CATEGORY)
    ruled_on: dt.date = data["ruled_on"]
    clean = {"企业名称": enterprise.name, "统一社会信用代码": enterprise.uscc, "裁判文书号": data["ruling_no"].strip(),
             "裁判法院": data["court"].strip(), "裁判日期": ruled_on.isoformat(), "恶意逃废债事实": data["facts"].strip()}
    shaped = RecordShaper(cat).shape(clean)
    existing = session.scalar(select(Record.id).where(Record.category_code == CATEGORY,
                                                      Record.natural_key_hash == shaped.natural_key_hash,
                                                      Record.is_current.is_(True)))
    if existing is not None:
        raise Conflict("该裁判文书的恶意逃废债记录已存在", code="evasion_exists")
    rec = Record(category_code=CATEGORY, subject_kind=shaped.subject_kind, subject_key=shaped.subject_key,
                 natural_key_hash=shaped.natural_key_hash, content_hash=shaped.content_hash,
                 data=json.loads(shaped.data_json), person_keys=None, provider_code=PROVIDER,
                 received_at=utcnow(), is_current=True)
    session.add(rec)
    session.flush()
    ledger.append(session, "debt_evasion.recorded", {"record_id": rec.id, "ruling_no": clean["裁判文书号"],
                                                     "content_sm3": shaped.content_hash},
                  ["admin", f"enterprise:{enterprise.uscc}"])
    return rec
