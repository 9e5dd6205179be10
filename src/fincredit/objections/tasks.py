"""Objections' background job: escalate objections not forwarded within 2 working days (§14)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fincredit.objections.config import get_objection_settings
from fincredit.objections.service import escalate_overdue
from fincredit.worker.registry import register_periodic

ESCALATE_JOB = "objections.escalate"


def escalate(session: Session) -> list[int]:
    """Flag overdue objections (``escalated``) and raise an operator alert for each, once."""
    return escalate_overdue(session)


register_periodic(ESCALATE_JOB, lambda: get_objection_settings().escalate_seconds, escalate)
