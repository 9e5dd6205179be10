"""Onboarding of institutions (接入机构) and docked platforms: assessments, the status lifecycle
("有进有出"), and their bearer tokens.

Lifecycle: applied → active ⇄ suspended, and any non-exited status → exited (terminal). Becoming
active requires the latest security assessment (安全评估) and the latest authorization assessment
(授权评估) to have passed. Only an active institution may act: ``check_institution_principal``
refuses every other one on every request, and the authorization capability consults
``is_institution_active`` before honouring an authorization.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.auth.models import ApiToken, Role
from fincredit.auth.service import Principal, issue_token, list_tokens, revoke_all_for, revoke_token
from fincredit.collection.identifiers import parse_uscc
from fincredit.collection.values import FieldError
from fincredit.db import utcnow
from fincredit.errors import Conflict, Forbidden, NotFound, Unprocessable
from fincredit.institutions.models import Institution, InstitutionAssessment, InstitutionStatusChange

KINDS = ("bank", "guarantor", "local_financial", "platform")
KIND_LABELS = {"bank": "银行", "guarantor": "融资担保机构", "local_financial": "地方金融组织",
               "platform": "融资信用服务平台"}
STATUSES = ("applied", "active", "suspended", "exited")
STATUS_LABELS = {"applied": "申请接入", "active": "正常接入", "suspended": "暂停接入", "exited": "已退出"}
ASSESSMENT_KINDS = ("security", "authorization")
ASSESSMENT_LABELS = {"security": "安全评估", "authorization": "授权评估"}
TRANSITIONS: dict[str, frozenset[str]] = {
    "applied": frozenset({"active", "exited"}),
    "active": frozenset({"suspended", "exited"}),
    "suspended": frozenset({"active", "exited"}),
    "exited": frozenset(),
}
REASON_REQUIRED = frozenset({"suspended", "exited"})
MAX_ID = 2**31 - 1  # institutions.id and api_tokens.id are 32-bit integers


# -- look-ups used by other capabilities ------------------------------------------------------------

def find_institution(session: Session, institution_id: int) -> Institution | None:
    if not 1 <= institution_id <= MAX_ID:
        return None
    return session.get(Institution, institution_id)


def get_institution(session: Session, institution_id: int, *, for_update: bool = False) -> Institution:
    """The institution, or ``NotFound(code="institution_not_found")``."""
    row = None
    if 1 <= institution_id <= MAX_ID:
        if for_update:
            row = session.scalar(select(Institution).where(Institution.id == institution_id).with_for_update())
        else:
            row = session.get(Institution, institution_id)
    if row is None:
        raise NotFound("接入机构不存在", code="institution_not_found")
    return row


def is_institution_active(session: Session, institution_id: int) -> bool:
    row = find_institution(session, institution_id)
    return row is not None and row.status == "active"


def token_role(institution: Institution) -> Role:
    return Role.platform if institution.kind == "platform" else Role.institution


def principal_institution_id(principal: Principal) -> int | None:
    """The institution id an institution/platform principal speaks for (None for other roles)."""
    if principal.role not in (Role.institution, Role.platform):
        return None
    subject = principal.subject.strip()
    if not subject.isascii() or not subject.isdigit() or not 1 <= int(subject) <= MAX_ID:
        return 0
    return int(subject)


def check_institution_principal(session: Session, principal: Principal) -> None:
    """Principal check: an institution or platform acts only while it is active."""
    institution_id = principal_institution_id(principal)
    if institution_id is None:
        return
    row = find_institution(session, institution_id) if institution_id else None
    if row is None or row.status != "active":
        state = STATUS_LABELS.get(row.status, "") if row is not None else "不存在"
        raise Forbidden(f"接入机构当前状态为“{state}”，不能访问平台", code="institution_not_active")


def visible_institution(session: Session, principal: Principal, institution_id: int) -> Institution:
    """Admins see every institution; an institution sees only itself (others look absent)."""
    own = principal_institution_id(principal)
    if own is not None and own != institution_id:
        raise NotFound("接入机构不存在", code="institution_not_found")
    return get_institution(session, institution_id)


# -- onboarding -------------------------------------------------------------------------------------

def _normalise_uscc(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        code = parse_uscc(value)
    except FieldError as exc:
        raise Unprocessable(f"统一社会信用代码不正确：{exc.reason}", code="bad_uscc") from None
    return code if isinstance(code, str) else None


def create_institution(session: Session, *, name: str, kind: str, actor: str, uscc: str | None = None,
                       region_code: str | None = None) -> Institution:
    if kind not in KINDS:
        raise Unprocessable(f"未知的机构类型：{kind}", code="unknown_kind")
    name = name.strip()
    if not name:
        raise Unprocessable("机构名称不能为空", code="name_required")
    code = _normalise_uscc(uscc)
    if code is not None:
        clash = session.scalar(select(Institution.id).where(Institution.uscc == code,
                                                            Institution.status != "exited"))
        if clash is not None:
            raise Conflict(f"该统一社会信用代码的机构已在册（编号 {clash}）", code="institution_exists")
    now = utcnow()
    row = Institution(name=name, kind=kind, uscc=code, region_code=region_code, status="applied",
                      created_at=now, status_changed_at=now)
    session.add(row)
    session.flush()
    session.add(InstitutionStatusChange(institution_id=row.id, from_status="", to_status="applied",
                                        reason="申请接入", changed_by=actor, changed_at=now))
    session.flush()
    return row


def list_institutions(session: Session, *, status: str | None = None, kind: str | None = None,
                      limit: int = 100, offset: int = 0) -> list[Institution]:
    query = select(Institution).order_by(Institution.id).limit(limit).offset(offset)
    if status:
        query = query.where(Institution.status == status)
    if kind:
        query = query.where(Institution.kind == kind)
    return list(session.scalars(query))


def assessments_of(session: Session, institution_id: int) -> list[InstitutionAssessment]:
    return list(session.scalars(select(InstitutionAssessment)
                                .where(InstitutionAssessment.institution_id == institution_id)
                                .order_by(InstitutionAssessment.id)))


def status_history(session: Session, institution_id: int) -> list[InstitutionStatusChange]:
    return list(session.scalars(select(InstitutionStatusChange)
                                .where(InstitutionStatusChange.institution_id == institution_id)
                                .order_by(InstitutionStatusChange.id)))


def latest_assessments(session: Session, institution_id: int) -> dict[str, InstitutionAssessment]:
    latest: dict[str, InstitutionAssessment] = {}
    for row in assessments_of(session, institution_id):
        latest[row.kind] = row  # ordered by id: the last one wins
    return latest


def _refuse_if_exited(institution: Institution) -> None:
    if institution.status == "exited":
        raise Conflict("该机构已退出，不能再变更", code="institution_exited")


def record_assessment(session: Session, institution_id: int, *, kind: str, passed: bool, note: str,
                      actor: str) -> InstitutionAssessment:
    if kind not in ASSESSMENT_KINDS:
        raise Unprocessable(f"未知的评估类型：{kind}", code="unknown_assessment_kind")
    institution = get_institution(session, institution_id, for_update=True)
    _refuse_if_exited(institution)
    row = InstitutionAssessment(institution_id=institution.id, kind=kind, passed=passed,
                                note=note.strip(), assessed_by=actor[:100], assessed_at=utcnow())
    session.add(row)
    session.flush()
    return row


def change_status(session: Session, institution_id: int, *, to_status: str, reason: str,
                  actor: str) -> Institution:
    institution = get_institution(session, institution_id, for_update=True)
    _refuse_if_exited(institution)
    if to_status not in STATUSES or to_status not in TRANSITIONS[institution.status]:
        raise Conflict(f"不允许从“{STATUS_LABELS[institution.status]}”变更为"
                       f"“{STATUS_LABELS.get(to_status, to_status)}”", code="illegal_transition")
    reason = reason.strip()
    if to_status in REASON_REQUIRED and not reason:
        raise Unprocessable(f"变更为“{STATUS_LABELS[to_status]}”必须说明原因", code="reason_required")
    if to_status == "active":
        latest = latest_assessments(session, institution.id)
        missing = [ASSESSMENT_LABELS[k] for k in ASSESSMENT_KINDS if k not in latest or not latest[k].passed]
        if missing:
            raise Conflict(f"最近一次{'、'.join(missing)}未通过或尚未进行，不能启用接入",
                           code="assessments_incomplete", details={"missing": missing})
    now = utcnow()
    session.add(InstitutionStatusChange(institution_id=institution.id, from_status=institution.status,
                                        to_status=to_status, reason=reason, changed_by=actor[:100],
                                        changed_at=now))
    institution.status, institution.status_reason, institution.status_changed_at = to_status, reason, now
    if to_status == "exited":
        revoke_all_for(session, role=token_role(institution), subject=str(institution.id))
    session.flush()
    return institution


# -- credentials ------------------------------------------------------------------------------------

def issue_institution_token(session: Session, institution_id: int, *, name: str | None = None
                            ) -> tuple[str, ApiToken]:
    institution = get_institution(session, institution_id, for_update=True)
    if institution.status != "active":
        raise Conflict(f"机构当前状态为“{STATUS_LABELS[institution.status]}”，只能为正常接入的机构签发令牌",
                       code="institution_not_active")
    return issue_token(session, role=token_role(institution), subject=str(institution.id),
                       name=(name or institution.name).strip()[:100] or institution.name)


def institution_tokens(session: Session, institution: Institution) -> list[ApiToken]:
    return list_tokens(session, role=token_role(institution), subject=str(institution.id))


def revoke_institution_token(session: Session, institution: Institution, token_id: int) -> ApiToken:
    if not 1 <= token_id <= MAX_ID:
        raise NotFound("令牌不存在", code="token_not_found")
    row = revoke_token(session, token_id=token_id, role=token_role(institution), subject=str(institution.id))
    session.flush()
    return row
