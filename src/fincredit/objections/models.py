"""Objections (异议申诉), their attachments, and credit-repair applications (信用修复).

An objection points at one stored ``Record``; while it is open (filed or forwarded) the record is
shown and used with the marker 异议中. A correction writes a superseding record (the old one stays as
history) and names it in ``corrected_record_id``. An approved repair application makes its record stop
counting in evaluations and public views from ``repaired_at``; the record itself stays.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, BigIntPK, utcnow

OPEN_STATUSES = ("filed", "forwarded")


class Objection(Base):
    """An enterprise's challenge to one record about it (异议申诉), forwarded to the node within
    2 working days (苏政办发〔2022〕59号 §14)."""

    __tablename__ = "objections"
    __table_args__ = (
        Index("ix_objections_status_deadline", "status", "forward_deadline"),
        Index("ix_objections_record_status", "record_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18), index=True)
    category_code: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="filed")  # filed | forwarded | resolved
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    filed_by: Mapped[str] = mapped_column(String(100), default="")
    # The §14 forwarding deadline (end of the 2nd working day, Asia/Shanghai) and its calendar basis.
    forward_deadline: Mapped[dt.datetime]
    deadline_date: Mapped[dt.date] = mapped_column(Date)
    calendar_basis: Mapped[str] = mapped_column(String(16))  # official | weekends_only
    warnings: Mapped[list] = mapped_column(default=list)
    forwarded_at: Mapped[dt.datetime | None]
    forwarded_by: Mapped[str | None] = mapped_column(String(100))
    forwarded_within_deadline: Mapped[bool | None]
    escalated: Mapped[bool] = mapped_column(default=False)
    escalated_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(20))  # corrected | upheld | partly_corrected
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    provider_confirmation: Mapped[str | None] = mapped_column(String(500))
    corrected_values: Mapped[dict | None]
    corrected_record_id: Mapped[int | None] = mapped_column(BigInteger)
    notified_institutions: Mapped[list] = mapped_column(default=list)
    ledger_indexes: Mapped[list] = mapped_column(default=list)  # filed, forwarded, escalated, resolved


class Attachment(Base):
    """A file attached to an objection or a repair application, checked by its magic bytes."""

    __tablename__ = "objection_attachments"
    __table_args__ = (Index("ix_objection_attachments_owner", "owner_kind", "owner_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(12))  # objection | repair
    owner_id: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))  # sanitised original name
    content_type: Mapped[str] = mapped_column(String(32))  # detected: application/pdf, image/png, image/jpeg
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sm3: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str] = mapped_column(String(500))  # relative to FINCREDIT_DATA_DIR
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RepairApplication(Base):
    """An application for credit repair (信用修复) of one eligible negative record."""

    __tablename__ = "repair_applications"
    __table_args__ = (Index("ix_repair_applications_record_status", "record_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(String(18), index=True)
    category_code: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(BigInteger)
    commitment: Mapped[str] = mapped_column(Text)  # 信用修复承诺书
    rule: Mapped[str] = mapped_column(String(300))  # the minimum publicity rule applied, in Chinese
    eligible_from: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | approved | refused
    applied_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    repaired_at: Mapped[dt.datetime | None]
    ledger_indexes: Mapped[list] = mapped_column(default=list)
