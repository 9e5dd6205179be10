"""A small world for objection, repair and 苏信码 tests: enterprises with records, institutions, tokens."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.trust import factories as f

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass
class World:
    ent: f.EnterpriseInfo
    other: f.EnterpriseInfo
    bank: Any
    bank_b: Any
    ent_token: str
    other_token: str
    bank_token: str
    bank_b_token: str
    admin_token: str


@pytest.fixture
def world(session: Session, client) -> World:  # type: ignore[no-untyped-def]
    ent = f.make_enterprise(session, name="江苏异议测试科技有限公司")
    other = f.make_enterprise(session, name="江苏另一家贸易有限公司")
    bank = f.make_institution(session, name="测试银行南京分行")
    bank_b = f.make_institution(session, name="另一银行苏州分行")
    w = World(ent, other, bank, bank_b, f.token_for(session, "enterprise", ent.uscc, ent.name),
              f.token_for(session, "enterprise", other.uscc, other.name), f.institution_token(session, bank),
              f.institution_token(session, bank_b), f.token_for(session, "admin", "operator", "运营人员甲"))
    session.commit()
    return w


def plant(session: Session, code: str, values: dict[str, Any], *, received_at: dt.datetime | None = None):  # type: ignore[no-untyped-def]
    """Validate ``values`` against the category and store the record exactly as collection does
    (``RecordShaper`` + ``RecordWriter``: same JSON text, same supersede rules)."""
    from fincredit.collection.ingest import RecordWriter
    from fincredit.collection.models import Record
    from fincredit.collection.shaping import RecordShaper
    from fincredit.collection.validators import compile_fields
    from fincredit.db import utcnow

    cat = f.category(session, code)
    clean, errors = compile_fields(cat.fields).validate(values)
    assert not errors, errors
    session.flush()
    writer = RecordWriter(session, category_code=cat.code, provider_code=cat.provider, batch_id=None,
                          now=received_at or utcnow(), keep_ids=True)
    writer.add(RecordShaper(cat).shape(clean))
    record = session.get(Record, writer.finish().record_ids[0])
    assert record is not None
    return record


def tax_arrears(ent: f.EnterpriseInfo, owing: bool = True, kind: str = "增值税") -> dict[str, Any]:
    return {"企业名称": ent.name, "统一社会信用代码": ent.uscc, "税种": kind, "欠税金额(元)": "12000.00",
            "当前是否欠税": "是" if owing else "否"}


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


# -- attachment bytes ---------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (30, 30, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()
