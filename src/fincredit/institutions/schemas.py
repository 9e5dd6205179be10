"""Requests and responses of the institutions API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from fincredit.auth.models import ApiToken
from fincredit.db import as_utc
from fincredit.institutions.models import Institution, InstitutionAssessment, InstitutionStatusChange
from fincredit.institutions.service import ASSESSMENT_LABELS, KIND_LABELS, STATUS_LABELS

Kind = Literal["bank", "guarantor", "local_financial", "platform"]
Status = Literal["applied", "active", "suspended", "exited"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InstitutionIn(_In):
    name: str = Field(min_length=1, max_length=200, description="机构名称")
    kind: Kind = Field(description="bank 银行 | guarantor 融资担保机构 | local_financial 地方金融组织 | "
                                   "platform 融资信用服务平台")
    uscc: str | None = Field(default=None, max_length=64, description="统一社会信用代码")
    region_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$", description="行政区划代码（GB/T 2260）")


class AssessmentIn(_In):
    kind: Literal["security", "authorization"] = Field(description="security 安全评估 | authorization 授权评估")
    passed: StrictBool
    note: str = Field(default="", max_length=2000)


class StatusIn(_In):
    status: Literal["active", "suspended", "exited"]
    reason: str = Field(default="", max_length=2000, description="暂停或退出时必填")


class TokenIn(_In):
    name: str | None = Field(default=None, max_length=100, description="令牌用途，便于识别")


def _iso(value) -> str | None:  # type: ignore[no-untyped-def]
    return as_utc(value).isoformat() if value is not None else None


def institution_out(row: Institution) -> dict:
    return {
        "id": row.id, "name": row.name, "kind": row.kind, "kind_label": KIND_LABELS.get(row.kind, row.kind),
        "uscc": row.uscc, "region_code": row.region_code, "status": row.status,
        "status_label": STATUS_LABELS.get(row.status, row.status), "status_reason": row.status_reason,
        "created_at": _iso(row.created_at), "status_changed_at": _iso(row.status_changed_at),
    }


def assessment_out(row: InstitutionAssessment) -> dict:
    return {"id": row.id, "kind": row.kind, "kind_label": ASSESSMENT_LABELS.get(row.kind, row.kind),
            "passed": row.passed, "note": row.note, "assessed_by": row.assessed_by,
            "assessed_at": _iso(row.assessed_at)}


def status_change_out(row: InstitutionStatusChange) -> dict:
    return {"from_status": row.from_status or None, "to_status": row.to_status, "reason": row.reason,
            "changed_by": row.changed_by, "changed_at": _iso(row.changed_at)}


def token_out(row: ApiToken) -> dict:
    """Never the token itself: only its digest is stored anyway."""
    return {"id": row.id, "prefix": row.prefix, "name": row.name, "role": row.role,
            "created_at": _iso(row.created_at), "expires_at": _iso(row.expires_at),
            "revoked_at": _iso(row.revoked_at), "last_used_at": _iso(row.last_used_at)}
