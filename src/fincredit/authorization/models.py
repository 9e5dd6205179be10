"""Authorization artefacts (授权) and their uses.

An artefact is modelled on the Account Aggregator consent artefact: the signed content
(``canonical`` + ``signature``) is written once and never edited. Revocation and observed expiry
are events: they set ``status``/``revoked_at`` (and go to the ledger) but leave the signed content
untouched. "An artefact is never edited, only replaced": to change anything, revoke and grant anew.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fincredit.db import Base, BigIntPK, as_utc, utcnow


class Authorization(Base):
    """An enterprise's signed consent to an institution for a purpose (授权书)."""

    __tablename__ = "authorizations"
    __table_args__ = (
        Index("ix_authorizations_subject_institution", "enterprise_uscc", "institution_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID
    enterprise_uscc: Mapped[str] = mapped_column(String(18))
    # None only for purposes that need no institution (sucode: shown to the public).
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    categories: Mapped[list] = mapped_column(default=list)
    data_from: Mapped[dt.date | None] = mapped_column(Date)
    data_to: Mapped[dt.date | None] = mapped_column(Date)
    starts_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    catalog_version: Mapped[int]
    letter_template_version: Mapped[str] = mapped_column(String(16))
    letter_text: Mapped[str] = mapped_column(Text)
    # The signed content: canonical JSON (sorted keys, no spaces, UTF-8) and {alg, kid, sig}.
    canonical: Mapped[str] = mapped_column(Text)
    signature: Mapped[dict]
    ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Events, outside the signed content.
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | revoked | expired
    revoked_at: Mapped[dt.datetime | None]
    revoked_ledger_index: Mapped[int | None] = mapped_column(BigInteger)
    expired_noted_at: Mapped[dt.datetime | None]
    use_count: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[dt.datetime | None]

    def effective_status(self, now: dt.datetime) -> str:
        """Revoked wins; otherwise expiry is computed from the time, so it takes effect at once."""
        if self.status == "revoked" or self.revoked_at is not None:
            return "revoked"
        if as_utc(self.expires_at) <= now or self.status == "expired":
            return "expired"
        if as_utc(self.starts_at) > now:
            return "pending"
        return "active"


class AuthorizationUse(Base):
    """One use of an authorization: a disclosure or verification made under it."""

    __tablename__ = "authorization_uses"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    authorization_id: Mapped[str] = mapped_column(ForeignKey("authorizations.id"), index=True)
    used_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    party: Mapped[str] = mapped_column(String(120))  # e.g. institution:7
    use: Mapped[str] = mapped_column(String(32))  # requested use (purpose or credit_query)
    kind: Mapped[str] = mapped_column(String(16))  # disclosure | verification
    categories: Mapped[list] = mapped_column(default=list)
    disclosure_id: Mapped[str | None] = mapped_column(String(36), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
