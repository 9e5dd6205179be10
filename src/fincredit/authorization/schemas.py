"""Request and response models of the authorization API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fincredit.authorization.models import Authorization
from fincredit.authorization.rules import PURPOSES
from fincredit.db import as_utc

SHANGHAI = ZoneInfo("Asia/Shanghai")


def aware(value: dt.datetime) -> dt.datetime:
    """A time without offset is read as Beijing time (what users type)."""
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    institution_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                       description="被授权的接入机构；苏信码展示用途可省略")
    purpose: str = Field(min_length=1, max_length=32, description="pre_loan | loan_approval | post_loan | sucode")
    categories: list[str] = Field(default_factory=list, max_length=64, description="授权的信息类编码")
    expires_at: dt.datetime = Field(description="到期时间（无时区时按北京时间）")
    data_from: dt.date | None = None
    data_to: dt.date | None = None

    @field_validator("categories")
    @classmethod
    def _short_codes(cls, value: list[str]) -> list[str]:
        if any(len(c) > 32 for c in value):
            raise ValueError("信息类编码过长")
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        return aware(value)


class SignatureOut(BaseModel):
    alg: str
    kid: str
    sig: str


class AuthorizationOut(BaseModel):
    id: str
    status: str
    enterprise_uscc: str
    institution_id: int | None
    purpose: str
    purpose_label: str
    categories: list[str]
    data_from: dt.date | None
    data_to: dt.date | None
    starts_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    use_count: int
    last_used_at: dt.datetime | None
    catalog_version: int
    letter_template_version: str
    letter_text: str
    canonical: str = Field(description="被签名的规范化 JSON（签名后不可更改）")
    signature: SignatureOut
    ledger_index: int | None
    created_at: dt.datetime

    @classmethod
    def of(cls, auth: Authorization, now: dt.datetime) -> AuthorizationOut:
        rule = PURPOSES.get(auth.purpose)
        return cls(
            id=auth.id, status=auth.effective_status(now), enterprise_uscc=auth.enterprise_uscc,
            institution_id=auth.institution_id, purpose=auth.purpose, purpose_label=rule.label if rule else auth.purpose,
            categories=list(auth.categories or []), data_from=auth.data_from, data_to=auth.data_to,
            starts_at=as_utc(auth.starts_at), expires_at=as_utc(auth.expires_at),
            revoked_at=as_utc(auth.revoked_at) if auth.revoked_at else None, use_count=auth.use_count or 0,
            last_used_at=as_utc(auth.last_used_at) if auth.last_used_at else None,
            catalog_version=auth.catalog_version, letter_template_version=auth.letter_template_version,
            letter_text=auth.letter_text, canonical=auth.canonical, signature=SignatureOut(**auth.signature),
            ledger_index=auth.ledger_index, created_at=as_utc(auth.created_at))


class LetterPreviewOut(BaseModel):
    template_version: str
    letter_text: str
    categories: list[str]
    expires_at: dt.datetime


class PurposeOut(BaseModel):
    code: str
    label: str
    max_days: int
    categories_required: bool
    institution_required: bool


class PublicKeyOut(BaseModel):
    alg: str
    kid: str
    key: str
