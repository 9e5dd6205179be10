"""The one policy decision point (策略决定点): may this party see this category about this enterprise,
and in which form? Every disclosure path asks ``decide`` (or ``decide_many``) per category; no
endpoint re-implements the rule.

Rules (SPEC M4; 苏政办发〔2022〕59号 §14, §15 and the annex note):
- the enterprise itself → ``raw``, every category, free of charge; another enterprise → nothing;
- the node operator (admin) → ``raw`` (operation, objections, audit);
- a provider → nothing about subjects through these paths;
- an institution or docked platform must be active (onboarding lifecycle), else nothing; then
  - public category → ``masked_public`` without authorization;
  - non-public category → ``processed`` products only, under an active (unrevoked, unexpired,
    started) authorization of this enterprise to this institution that covers the category and
    whose purpose serves the requested use;
  - verification category → ``verification`` (match / no match) under such an authorization;
- a category not in the current catalog, or retired → nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.authorization import repository
from fincredit.authorization.models import Authorization
from fincredit.authorization.rules import PURPOSES
from fincredit.catalog.definitions import CategoryDef
from fincredit.catalog.service import get_catalog
from fincredit.db import as_utc, utcnow
from fincredit.institutions.models import Institution

Form = Literal["raw", "masked_public", "processed", "verification", "none"]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    form: Form
    reason: str  # Chinese, shown to the caller
    authorization_id: str | None = None
    code: str = ""  # stable machine code of the reason
    # Covering artefacts found expired: the caller notes the expiry on this use attempt.
    expired_authorization_ids: tuple[str, ...] = ()


def _deny(code: str, reason: str, expired: tuple[str, ...] = ()) -> Decision:
    return Decision(False, "none", reason, None, code, expired)


def institution_id_of(party: Principal) -> int | None:
    if party.role not in (Role.institution, Role.platform):
        return None
    return int(party.subject) if party.subject.isdigit() and len(party.subject) < 12 else None


def institution_active(session: Session, institution_id: int | None) -> bool:
    """Uses the institutions capability's lifecycle check; falls back to the status column."""
    if institution_id is None:
        return False
    try:
        from fincredit.institutions.service import is_institution_active
    except ImportError:
        row = session.get(Institution, institution_id)
        return row is not None and row.status == "active"
    return bool(is_institution_active(session, institution_id))


_PUBLIC = Decision(True, "masked_public", "公开信息（个人信息已脱敏），无需授权", None, "public")


def _decide_covering(verification: bool, covering: Sequence[tuple[str, str, dt.datetime]]) -> Decision:
    """A non-public category's decision from the artefacts that cover it for the requested use:
    ``(id, effective status, expires_at)`` each, in the order they were read."""
    active = [(expires_at, auth_id) for auth_id, state, expires_at in covering if state == "active"]
    if active:
        best = max(active)[1]  # the artefact that expires last (ties: the greatest id)
        if verification:
            return Decision(True, "verification", "已获企业授权，仅可数据核验", best, "authorized")
        return Decision(True, "processed", "已获企业授权，仅提供加工产品", best, "authorized")
    expired = tuple(sorted(auth_id for auth_id, state, _e in covering if state == "expired"))
    if expired:
        return _deny("authorization_expired", "企业授权已过期，未提供该信息类", expired)
    if any(state == "revoked" for _i, state, _e in covering):
        return _deny("authorization_revoked", "企业已撤销授权，未提供该信息类")
    return _deny("not_authorized", "未授权")


class InstitutionRule:
    """The rule for an active institution, for every category of one request: a public category →
    ``masked_public``; a non-public one → decided from the artefacts that list it and whose purpose
    serves the requested use (``_decide_covering``). What does not depend on the category is worked
    out once: which artefacts serve the requested use, their effective status at ``now`` and their
    expiry (once per artefact, not once per artefact and category). A non-public category's decision
    depends only on whether it is a verification category and which of those artefacts list it, so it
    is made once per distinct such input and shared by the categories that have the same one."""

    def __init__(self, purpose: str | None, now: dt.datetime, authorizations: Sequence[Authorization]) -> None:
        self._serving = [(a.categories or [], (a.id, a.effective_status(now), as_utc(a.expires_at)))
                         for a in authorizations if a.purpose in PURPOSES and PURPOSES[a.purpose].allows_use(purpose)]
        self._made: dict[tuple, Decision] = {}

    def decide(self, cat: CategoryDef) -> Decision:
        if cat.disclosure_class == "public":
            return _PUBLIC
        code = cat.code
        covering = tuple(facts for categories, facts in self._serving if code in categories)
        key = (cat.disclosure_class == "verification", covering)
        decision = self._made.get(key)
        if decision is None:
            decision = self._made[key] = _decide_covering(key[0], covering)
        return decision


@dataclass(frozen=True)
class PartyContext:
    """What the decisions were made from, read once per request: the institution's row (its name goes
    into the disclosure record) and every artefact the enterprise granted it (any status)."""

    institution: Institution | None = None
    authorizations: tuple[Authorization, ...] = ()

    @property
    def institution_name(self) -> str:
        return self.institution.name if self.institution is not None else ""

    def authorization(self, authorization_id: str | None) -> Authorization | None:
        return next((a for a in self.authorizations if a.id == authorization_id), None)


def _institution_row(session: Session, institution_id: int) -> Institution | None:
    try:
        from fincredit.institutions.service import find_institution
    except ImportError:
        return session.get(Institution, institution_id)
    return find_institution(session, institution_id)


def decide_many(session: Session, party: Principal, categories: Iterable[str], subject_uscc: str,
                purpose: str | None = None, now: dt.datetime | None = None) -> dict[str, Decision]:
    """``decide`` for several categories, loading the party's context once."""
    return decide_with_context(session, party, categories, subject_uscc, purpose, now)[0]


def decide_with_context(session: Session, party: Principal, categories: Iterable[str], subject_uscc: str,
                        purpose: str | None = None, now: dt.datetime | None = None,
                        authorizations: Sequence[Authorization] | None = None
                        ) -> tuple[dict[str, Decision], PartyContext]:
    """``decide_many``, also returning the context it read (for the disclosure record and the products:
    nothing about the authorizations is read twice in a request, and nothing is cached across requests,
    so that a revocation takes effect at once).

    ``authorizations``: every artefact the enterprise granted this institution (any status, in the order
    of ``repository.between``), when the caller read them in this transaction already (with the subject,
    one round trip fewer); the PDP reads them itself otherwise."""
    now = as_utc(now) if now else utcnow()
    catalog = get_catalog(session)
    codes = list(dict.fromkeys(categories))
    institution_id = institution_id_of(party)
    # Hold the row: the lifecycle check below then finds it in the session instead of reading it again.
    institution = _institution_row(session, institution_id) if institution_id is not None else None
    is_active = institution_active(session, institution_id) if institution_id is not None else False
    if not is_active or institution_id is None:
        authorizations = []
    elif authorizations is None:
        authorizations = repository.between(session, subject_uscc, institution_id)
    else:
        authorizations = [a for a in authorizations
                          if a.enterprise_uscc == subject_uscc and a.institution_id == institution_id]
    # Who asks decides everything but the category's own checks: worked out once, not once per category.
    fixed: Decision | None = None
    if party.role == Role.enterprise:
        fixed = (Decision(True, "raw", "企业查询自身信用信息（免费）", None, "self")
                 if party.subject == subject_uscc else _deny("not_own_data", "企业只能查询自身的信用信息"))
    elif party.role == Role.admin:
        fixed = Decision(True, "raw", "省级节点运营人员依职责查看", None, "operator")
    elif party.role == Role.provider:
        fixed = _deny("provider_no_access", "数据提供单位不能通过本途径查询信用主体的信息")
    elif institution_id is None:
        fixed = _deny("unknown_party", "无法识别的查询方")
    elif not is_active:
        fixed = _deny("institution_not_active", "接入机构未处于启用状态（已暂停或已退出），不能查询")
    rule = InstitutionRule(purpose, now, authorizations)  # no artefacts unless an active institution asks
    out: dict[str, Decision] = {}
    for code in codes:
        cat = catalog.categories.get(code)
        if cat is None:
            out[code] = _deny("unknown_category", f"信息类“{code}”不在当前共享清单中")
        elif fixed is not None:
            out[code] = fixed
        elif cat.retired:
            out[code] = _deny("category_retired", "该信息类已停止共享")
        else:
            out[code] = rule.decide(cat)
    return out, PartyContext(institution, tuple(authorizations))


def decide(session: Session, party: Principal, category: str, subject_uscc: str, purpose: str | None = None,
           now: dt.datetime | None = None) -> Decision:
    """May ``party`` see ``category`` about the enterprise ``subject_uscc`` for ``purpose``, and how?"""
    return decide_many(session, party, [category], subject_uscc, purpose, now)[category]
