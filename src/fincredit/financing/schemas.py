"""Request models of the financing API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class ProductIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    type: str
    amount_min_wan: float
    amount_max_wan: float
    term_min_months: int
    term_max_months: int
    rate_min: float
    rate_max: float
    size_classes: list[str] = []
    industries: list[str] = []
    regions: list[str] = []
    rules: list[Any] = []
    compensation_fund: str | None = None
    guarantee_scheme: str | None = Field(default=None, max_length=200)
    sharing_ratio: float | None = None


class NeedIn(BaseModel):
    amount_wan: float
    term_months: int
    purpose: str = Field(min_length=1, max_length=500)
    acceptable_collateral: list[str] = []


class ApplyIn(BaseModel):
    product_id: int
    consent: bool = False
    authorization_expires_at: dt.datetime | None = None
    categories: list[str] | None = None


class DecisionIn(BaseModel):
    decision: Literal["accept", "decline"]
    reason: str = Field(default="", max_length=1000)


class LoanIn(BaseModel):
    uscc: str = Field(min_length=18, max_length=18)
    amount: float
    term_months: int
    rate: float
    credit_loan: bool
    first_loan: bool
    product_id: int | None = None
    guarantee: str | None = Field(default=None, max_length=200)
    granted_on: dt.date | None = None


class LoanEventIn(BaseModel):
    kind: str
    amount: float | None = None
    on_date: dt.date


class DocumentIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    sha256: str | None = None
    sm3: str | None = None


class EvidenceIn(BaseModel):
    loan_id: int
    documents: list[DocumentIn]
    note: str = Field(default="", max_length=2000)


class DebtEvasionIn(BaseModel):
    uscc: str = Field(min_length=18, max_length=18)
    ruling_no: str = Field(min_length=1, max_length=100)
    court: str = Field(min_length=1, max_length=200)
    ruled_on: dt.date
    facts: str = Field(min_length=1, max_length=4000)
