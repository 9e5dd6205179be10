"""A small world for monitoring tests: enterprises, an active bank with a token, a data provider,
batches ingested through the real collection service, and post_loan authorizations."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from fincredit.catalog.service import get_catalog
from fincredit.collection.provider_service import register_provider
from fincredit.collection.service import ingest, uploaded_file
from fincredit.db import session_scope, utcnow
from fincredit.worker.jobs import execute_message
from fincredit.worker.models import OutboxMessage
from fincredit.worker.registry import RetryLater
from tests.trust import factories as f

PROVIDER = "mon_test"


@dataclass
class World:
    ent: f.EnterpriseInfo
    other: f.EnterpriseInfo
    bank_id: int
    bank_token: str
    other_bank_id: int
    other_bank_token: str
    ent_token: str


def make_world() -> World:
    with session_scope() as s:
        ent = f.make_enterprise(s, name="江苏监测样本制造有限公司")
        other = f.make_enterprise(s, name="江苏另一家贸易有限公司")
        bank = f.make_institution(s, name="监测测试银行南京分行")
        other_bank = f.make_institution(s, name="另一银行无锡分行")
        codes = sorted(c for c in get_catalog(s).categories if c != "base")
        register_provider(s, code=PROVIDER, name="监测测试数据单位", categories=codes)
        world = World(ent, other, bank.id, f.institution_token(s, bank), other_bank.id,
                      f.institution_token(s, other_bank), f.token_for(s, "enterprise", ent.uscc))
    return world


def grant_post_loan(world: World, categories: list[str], *, ent: f.EnterpriseInfo | None = None,
                    bank_id: int | None = None, purpose: str = "post_loan", days: int = 300) -> str:
    from fincredit.institutions.models import Institution

    with session_scope() as s:
        inst = s.get(Institution, bank_id or world.bank_id)
        auth = f.grant(s, ent or world.ent, inst, categories, purpose=purpose, days=days)
        return auth.id


def csv_bytes(rows: list[dict[str, object]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("是" if v is True else "否" if v is False else v) for k, v in row.items()})
    return out.getvalue().encode()


def ingest_rows(category: str, rows: list[dict[str, object]]) -> int:
    """One batch through the collection service, committed; returns its id."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"cat{category}-{utcnow().timestamp()}.csv"
        path.write_bytes(csv_bytes(rows))
        with session_scope() as s:
            result = ingest(s, provider_code=PROVIDER, category_code=category, upload=uploaded_file(path))
            assert result.batch.status in ("accepted", "partially_accepted"), result.batch.error_summary
            return result.batch.id


def run_jobs(max_rounds: int = 20) -> int:
    """Run every outstanding outbox job in this process (tests without a worker)."""
    ran = 0
    for _ in range(max_rounds):
        with session_scope() as s:
            ids = list(s.scalars(select(OutboxMessage.id).where(OutboxMessage.status.in_(("pending", "dispatched")))
                                 .order_by(OutboxMessage.created_at)))
        if not ids:
            return ran
        for message_id in ids:
            try:
                execute_message(message_id)
            except RetryLater:
                pass
            ran += 1
    return ran


def tax_arrears_row(ent: f.EnterpriseInfo, owing: bool = True, amount: str = "123456.78",
                    kind: str = "城镇土地使用税") -> dict[str, object]:
    return {"企业名称": ent.name, "统一社会信用代码": ent.uscc, "税种": kind, "欠税金额(元)": amount,
            "当前是否欠税": owing}


def month(offset: int) -> str:
    today = dt.date.today().replace(day=1)
    index = today.year * 12 + today.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
