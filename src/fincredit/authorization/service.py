"""Granting, reading and revoking authorization artefacts, and recording their uses. Never commits.

Signed content: canonical JSON of ``artefact_content`` (the letter is covered by its SM3 hash),
signed with the platform key (``fincredit.crypto.sign``); ``verify_artefact`` checks it with the
public key alone. Every event goes to the ledger in the caller's transaction (fail closed):
``authorization.granted``, ``authorization.used``, ``authorization.revoked``, ``authorization.expired``
(noted once, on the first use attempt after expiry).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import String, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.authorization import repository
from fincredit.authorization.letters import (
    CURRENT_TEMPLATE_VERSION,
    LetterCategory,
    LetterContext,
    render_letter,
)
from fincredit.authorization.models import Authorization, AuthorizationUse
from fincredit.authorization.pdp import institution_active, institution_id_of
from fincredit.authorization.rules import (
    check_data_range,
    check_period,
    normalize_categories,
    purpose_rule,
)
from fincredit.catalog.service import get_catalog
from fincredit.crypto import get_keyring, sign, sm3_hex
from fincredit.db import as_utc, utcnow
from fincredit.errors import DomainError, NotFound, Unprocessable
from fincredit.institutions.models import Institution
from fincredit.ledger import repository as ledger_repository
from fincredit.ledger import service as ledger
from fincredit.ledger.merkle import canonical_json
from fincredit.monitoring.service import on_authorization_revoked
from fincredit.registry.models import Enterprise

ARTEFACT_TYPE = "fincredit.authorization"
ARTEFACT_VERSION = 1


@dataclass(frozen=True)
class GrantRequest:
    institution_id: int | None
    purpose: str
    categories: list[str]
    expires_at: dt.datetime
    data_from: dt.date | None = None
    data_to: dt.date | None = None


@dataclass(frozen=True)
class Draft:
    """A validated grant, before it is signed and stored (also what the letter preview shows)."""

    id: str
    enterprise: Enterprise
    institution: Institution | None
    request: GrantRequest
    categories: list[LetterCategory]
    catalog_version: int
    starts_at: dt.datetime
    expires_at: dt.datetime
    letter_text: str


def _enterprise(session: Session, uscc: str) -> Enterprise:
    row = session.get(Enterprise, uscc)
    if row is None:
        raise NotFound("企业不在登记注册基础信息中", code="enterprise_not_found")
    return row


def draft(session: Session, principal: Principal, req: GrantRequest, now: dt.datetime | None = None) -> Draft:
    """Validate a grant request and render its letter; stores nothing."""
    now = as_utc(now) if now else utcnow()
    rule = purpose_rule(req.purpose)
    expires_at = as_utc(req.expires_at).replace(microsecond=0)
    check_period(rule, now, expires_at)
    check_data_range(req.data_from, req.data_to)
    codes = normalize_categories(rule, req.categories)
    catalog = get_catalog(session)
    unknown = [c for c in codes if c not in catalog.categories or catalog.categories[c].retired]
    if unknown:
        raise Unprocessable(f"信息类不在当前共享清单（第 {catalog.version} 版）中：{'、'.join(unknown)}",
                            code="unknown_category", details={"categories": unknown})
    order = list(catalog.categories)
    codes.sort(key=order.index)
    institution = None
    if req.institution_id is not None or rule.institution_required:
        if req.institution_id is None or not institution_active(session, req.institution_id):
            raise Unprocessable("被授权的接入机构不存在或未处于启用状态", code="institution_not_active")
        institution = session.get(Institution, req.institution_id)
        if institution is None:
            raise Unprocessable("被授权的接入机构不存在或未处于启用状态", code="institution_not_active")
    enterprise = _enterprise(session, principal.subject)
    cats = [LetterCategory(c, catalog.categories[c].name, catalog.categories[c].disclosure_class) for c in codes]
    auth_id = str(uuid.uuid4())
    letter = render_letter(LetterContext(
        authorization_id=auth_id, enterprise_name=enterprise.name, enterprise_uscc=enterprise.uscc,
        institution_name=institution.name if institution else None,
        institution_id=institution.id if institution else None, purpose_label=rule.label, categories=cats,
        data_from=req.data_from, data_to=req.data_to, starts_at=now.replace(microsecond=0), expires_at=expires_at,
        catalog_version=catalog.version, key_id=get_keyring().key_id))
    return Draft(auth_id, enterprise, institution, req, cats, catalog.version, now.replace(microsecond=0),
                 expires_at, letter)


def _iso(value: dt.datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def artefact_content(d: Draft) -> dict:
    """The signed content of an artefact: everything the enterprise consented to."""
    rule = purpose_rule(d.request.purpose)
    return {
        "type": ARTEFACT_TYPE, "version": ARTEFACT_VERSION, "id": d.id,
        "enterprise": {"uscc": d.enterprise.uscc, "name": d.enterprise.name},
        "institution": ({"id": d.institution.id, "name": d.institution.name} if d.institution else None),
        "purpose": rule.code, "purpose_label": rule.label,
        "categories": [c.code for c in d.categories],
        "data_from": d.request.data_from.isoformat() if d.request.data_from else None,
        "data_to": d.request.data_to.isoformat() if d.request.data_to else None,
        "starts_at": _iso(d.starts_at), "expires_at": _iso(d.expires_at),
        "catalog_version": d.catalog_version,
        "letter": {"template_version": CURRENT_TEMPLATE_VERSION, "sm3": sm3_hex(d.letter_text.encode())},
    }


def parties_of(auth: Authorization) -> list[str]:
    parties = [f"enterprise:{auth.enterprise_uscc}"]
    if auth.institution_id is not None:
        parties.append(f"institution:{auth.institution_id}")
    return parties


def grant(session: Session, principal: Principal, req: GrantRequest, now: dt.datetime | None = None) -> Authorization:
    d = draft(session, principal, req, now)
    content = artefact_content(d)
    canonical = canonical_json(content)
    auth = Authorization(
        id=d.id, enterprise_uscc=d.enterprise.uscc, institution_id=d.institution.id if d.institution else None,
        purpose=req.purpose, categories=content["categories"], data_from=req.data_from, data_to=req.data_to,
        starts_at=d.starts_at, expires_at=d.expires_at, catalog_version=d.catalog_version,
        letter_template_version=CURRENT_TEMPLATE_VERSION, letter_text=d.letter_text,
        canonical=canonical.decode(), signature=sign(canonical), status="active", created_at=d.starts_at)
    session.add(auth)
    session.flush()
    entry = ledger.append(session, "authorization.granted", {
        "authorization_id": auth.id, "purpose": auth.purpose, "categories": auth.categories,
        "expires_at": content["expires_at"], "artefact_sm3": sm3_hex(canonical),
        "signature_kid": auth.signature["kid"]}, parties_of(auth))
    auth.ledger_index = entry.index
    session.flush()
    return auth


def verify_artefact(canonical: str | bytes, signature: dict, public_key: Ed25519PublicKey | None = None) -> bool:
    """True when ``signature`` ({alg, kid, sig}) is the platform's signature over ``canonical``."""
    if not isinstance(signature, dict) or signature.get("alg") != "Ed25519":
        return False
    key = public_key or get_keyring().public_key
    data = canonical.encode() if isinstance(canonical, str) else canonical
    try:
        key.verify(base64.b64decode(signature.get("sig", ""), validate=True), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def signed_content(auth: Authorization) -> dict:
    return json.loads(auth.canonical)


# --- reading -----------------------------------------------------------------------------------

def get_own(session: Session, principal: Principal, authorization_id: str) -> Authorization:
    """An enterprise's own artefact; another enterprise's is reported as absent (no enumeration)."""
    auth = repository.get(session, authorization_id)
    if auth is None or auth.enterprise_uscc != principal.subject:
        raise NotFound("授权不存在", code="authorization_not_found")
    return auth


def get_granted(session: Session, principal: Principal, authorization_id: str) -> Authorization:
    """For the institution it was granted to, or an operator."""
    auth = repository.get(session, authorization_id)
    if auth is None:
        raise NotFound("授权不存在", code="authorization_not_found")
    if principal.role.value == "admin":
        return auth
    inst = institution_id_of(principal)
    if inst is None or auth.institution_id != inst:
        raise NotFound("授权不存在", code="authorization_not_found")
    return auth


def list_own(session: Session, principal: Principal, limit: int = 200, offset: int = 0) -> list[Authorization]:
    return repository.for_enterprise(session, principal.subject, limit=limit, offset=offset)


def list_granted(session: Session, principal: Principal, limit: int = 200, offset: int = 0) -> list[Authorization]:
    inst = institution_id_of(principal)
    return [] if inst is None else repository.for_institution(session, inst, limit=limit, offset=offset)


# --- events ------------------------------------------------------------------------------------

def revoke(session: Session, principal: Principal, authorization_id: str,
           now: dt.datetime | None = None) -> Authorization:
    """Revocation is an event: status and revoked_at change, the signed content does not."""
    now = as_utc(now) if now else utcnow()
    auth = get_own(session, principal, authorization_id)
    if auth.status == "revoked":
        return auth
    auth.status = "revoked"
    auth.revoked_at = now
    session.flush()
    entry = ledger.append(session, "authorization.revoked", {
        "authorization_id": auth.id, "revoked_at": _iso(now)}, parties_of(auth))
    auth.revoked_ledger_index = entry.index
    on_authorization_revoked(session, auth.id)  # monitoring under it stops; the institution is told
    session.flush()
    return auth


def _newly_expired(session: Session, authorization_ids: list[str], now: dt.datetime
                   ) -> list[tuple[Authorization, tuple]]:
    """The artefacts found expired on a use attempt and not yet noted, each with its ledger item."""
    found = []
    for auth_id in sorted(set(authorization_ids)):
        auth = repository.get(session, auth_id)
        if auth is None or auth.expired_noted_at is not None or auth.effective_status(now) != "expired":
            continue
        found.append((auth, ("authorization.expired", {"authorization_id": auth.id,
                                                       "expires_at": _iso(auth.expires_at), "noted_at": _iso(now)},
                             parties_of(auth))))
    return found


def note_expired(session: Session, authorization_ids: list[str], now: dt.datetime) -> list[tuple]:
    """Mark artefacts found expired on a use attempt; returns ledger items for those newly noted."""
    found = _newly_expired(session, authorization_ids, now)
    for auth, _item in found:
        auth.status = "expired"
        auth.expired_noted_at = now
    return [item for _auth, item in found]


def expiry_statements(session: Session, authorization_ids: list[str], now: dt.datetime
                      ) -> tuple[list[Any], list[tuple]]:
    """``note_expired`` as writes not yet executed (``ledger.repository.Write``) and their ledger items:
    for a disclosure recorded by the ledger's group appender, whose own writes travel with its entries
    rather than in the request's transaction. Changes nothing in the session."""
    found = _newly_expired(session, authorization_ids, now)
    return ([(_EXPIRE, {"expire_auth_id": auth.id, "expire_at": now}) for auth, _item in found],
            [item for _auth, item in found])


_AUTHS = Authorization.__table__
# The artefacts a group of disclosures will write, locked in one order before any of them is written
# (``ledger.group.Appender._lock_rows``; PostgreSQL only, like the group commit).
LOCK_FOR_USE = (select(_AUTHS.c.id).where(_AUTHS.c.id == any_(bindparam("lock_keys", type_=ARRAY(String))))
                .order_by(_AUTHS.c.id).with_for_update())
_EXPIRE = update(_AUTHS).where(_AUTHS.c.id == bindparam("expire_auth_id")).values(
    status="expired", expired_noted_at=bindparam("expire_at", type_=_AUTHS.c.expired_noted_at.type))


class AuthorizationNotInForce(DomainError):
    """The artefact a disclosure relied on was revoked or expired after the PDP read it (a revocation
    committed in between): the use is not recorded, and neither is the disclosure. 503 like every
    disclosure that could not be recorded (nothing is disclosed; a retry meets the PDP, which now
    refuses with the precise reason — the write side does not second-guess the PDP's codes)."""

    status_code = 503
    code = "disclosure_not_recorded"


@dataclass(frozen=True)
class UseWrite:
    """One use to record, not yet executed (see ``apply_uses``)."""

    slot: int
    params: dict[str, Any]

    @property
    def authorization_id(self) -> str:
        return self.params[f"use{self.slot}_authorization_id"]


@functools.cache
def _use_templates(slot: int) -> tuple[Any, Any, Any]:
    """Prebuilt statements recording one use; ``slot`` keeps the parameter names of several uses apart.

    The count's UPDATE is guarded: it matches only an artefact still in force at the use's time
    (``status = 'active' AND revoked_at IS NULL AND expires_at > :at``). On PostgreSQL a concurrent
    revocation's row lock makes it wait, then re-evaluate the guard on the committed row, so a
    revocation committed since the PDP's read is never overtaken. Returns (the guarded count, the use
    row, both in one statement for PostgreSQL: the row is inserted from the UPDATE's RETURNING, so it
    exists only when the count matched, and the statement returns one row exactly then)."""
    table, uses = _AUTHS, AuthorizationUse.__table__
    p = f"use{slot}_"
    at = bindparam(p + "at", type_=table.c.last_used_at.type)
    count = ledger_repository.template(update(table).where(
        table.c.id == bindparam(p + "authorization_id"), table.c.status == "active", table.c.revoked_at.is_(None),
        table.c.expires_at > at).values(use_count=func.coalesce(table.c.use_count, 0) + 1, last_used_at=at))
    columns = ("authorization_id", "used_at", "party", "use", "kind", "categories", "disclosure_id", "request_id")
    row = ledger_repository.template(insert(uses).values(
        {c: bindparam(p + c, type_=uses.c[c].type) for c in columns}))
    counted = count.returning(table.c.id).cte(p + "counted")
    both = ledger_repository.template(insert(uses).from_select(
        list(columns), select(counted.c.id, *[bindparam(p + c, type_=uses.c[c].type) for c in columns[1:]]))
        .add_cte(counted).returning(uses.c.authorization_id))
    return count, row, both


def apply_uses(session: Session, uses: list[UseWrite]) -> None:
    """Execute the uses (sorted by artefact, so that two transactions recording the same artefacts lock
    their rows in one order); raises ``AuthorizationNotInForce`` when an artefact is no longer in force
    (what was written before is left to the caller's rollback). One round trip per use on PostgreSQL."""
    postgres = session.get_bind().dialect.name == "postgresql"
    for use in sorted(uses, key=lambda u: u.authorization_id):
        count, row, both = _use_templates(use.slot)
        if postgres:
            matched = session.execute(both, use.params).first() is not None
        else:
            matched = session.execute(count, use.params).rowcount == 1
            if matched:
                session.execute(row, use.params)
        if not matched:
            raise AuthorizationNotInForce("授权已被撤销或已过期，本次未提供任何数据",
                                          details={"authorization_id": use.authorization_id})


def use_statements(session: Session, auth_id: str, *, party: Principal, use: str, kind: str,
                   categories: list[str], disclosure_id: str | None, request_id: str | None, now: dt.datetime,
                   authorization: Authorization | None = None, slot: int = 0) -> tuple[UseWrite, tuple]:
    """What recording one use writes, not yet executed (``apply_uses``: the count incremented in the
    database, so concurrent uses from several processes are all counted, guarded by the artefact being
    still in force; the use row) and the ledger item. ``authorization`` is the artefact when the caller
    holds it already (the PDP's context); ``slot`` numbers the uses recorded together."""
    auth = authorization if authorization is not None and authorization.id == auth_id else repository.get(
        session, auth_id)
    if auth is None:
        raise NotFound("授权不存在", code="authorization_not_found")
    p = f"use{slot}_"
    write = UseWrite(slot, {p + "authorization_id": auth.id, p + "at": now, p + "used_at": now,
                            p + "party": f"institution:{party.subject}", p + "use": use, p + "kind": kind,
                            p + "categories": categories, p + "disclosure_id": disclosure_id,
                            p + "request_id": request_id})
    if auth in session:
        session.expire(auth, ["use_count", "last_used_at"])  # the database will have the new values
    item = ("authorization.used", {"authorization_id": auth.id, "disclosure_id": disclosure_id, "use": use,
                                   "kind": kind, "categories": categories}, parties_of(auth))
    return write, item


def record_use(session: Session, auth_id: str, *, party: Principal, use: str, kind: str, categories: list[str],
               disclosure_id: str | None, request_id: str | None, now: dt.datetime,
               authorization: Authorization | None = None) -> tuple:
    """Count one use and return its ledger item (appended by the caller with the disclosure)."""
    write, item = use_statements(session, auth_id, party=party, use=use, kind=kind, categories=categories,
                                 disclosure_id=disclosure_id, request_id=request_id, now=now,
                                 authorization=authorization)
    apply_uses(session, [write])
    return item
