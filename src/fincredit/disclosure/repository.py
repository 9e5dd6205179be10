"""All queries of the disclosure capability."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, bindparam, case, exists, func, insert, select
from sqlalchemy.orm import Session, load_only

from fincredit.auth.service import SESSION_INSTITUTION
from fincredit.authorization.models import Authorization
from fincredit.catalog.service import head_columns
from fincredit.collection.models import Provider, Record
from fincredit.disclosure.models import Disclosure, OperatorAlert
from fincredit.institutions.models import Institution
from fincredit.institutions.service import MAX_ID
from fincredit.ledger import repository as ledger_repository
from fincredit.objections.markers import mark_columns
from fincredit.registry.models import Enterprise, Person


def records_of(session: Session, subject_keys: Sequence[str], *, current_only: bool = False,
               categories: Sequence[str] | None = None) -> list[Record]:
    keys = [k for k in subject_keys if k]
    if not keys:
        return []
    stmt = select(Record).where(Record.subject_key.in_(keys))
    if current_only:
        stmt = stmt.where(Record.is_current.is_(True))
    if categories is not None:
        stmt = stmt.where(Record.category_code.in_(list(categories)))
    return list(session.scalars(stmt.order_by(Record.id)))


def _records_with_marks_stmt() -> Any:
    records = Record.__table__.c  # table columns: a Core statement, run on the session's connection
    repaired, disputed = mark_columns(records.id)
    return (select(records.id, records.category_code, records.subject_key, records.data, records.person_keys,
                   records.is_current, records.received_at, repaired, disputed)
            .where(records.subject_key.in_([bindparam("subject_key"), bindparam("rep_key")])).order_by(records.id))


_RECORDS_WITH_MARKS = _records_with_marks_stmt()


def records_with_marks(session: Session, uscc: str, rep_key: str | None) -> list[Row]:
    """Every record (history included) about the enterprise and its legal representative, as light rows
    (not ORM objects) with their objection markers (``objections.markers.mark_columns``): one round trip,
    one prebuilt statement, sent on the session's connection in its transaction (no ORM execution
    machinery for rows that are not entities). What the session has pending is flushed first, as
    ``session.execute`` would (records an interface call just fetched, say)."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session.connection().execute(_RECORDS_WITH_MARKS, {"subject_key": uscc, "rep_key": rep_key or uscc}).all()


@dataclass(frozen=True)
class EnterpriseRow:
    """What the views show and key on of an enterprise, read as plain columns (not an ORM entity: a
    third of the columns, and nothing for the session to track)."""

    uscc: str
    name: str
    status: str
    region_code: str | None
    industry_code: str | None
    legal_rep_key: str


_ENTERPRISE_COLUMNS = (Enterprise.uscc, Enterprise.name, Enterprise.status, Enterprise.region_code,
                       Enterprise.industry_code, Enterprise.legal_rep_key)
_N = len(_ENTERPRISE_COLUMNS)


@dataclass(frozen=True)
class SubjectRow:
    enterprise: EnterpriseRow
    rep_name_enc: str | None
    institution: Institution | None  # the querying institution's row, when one was asked for
    catalog_version_id: int | None
    catalog_version: int | None
    provider_endpoints: bool  # some provider has an interface endpoint registered
    # Every artefact the enterprise granted the querying institution (any status), when one was asked for.
    authorizations: tuple[Authorization, ...] | None = None


# What the decision point, the products and the recording of a use or an expiry read of an artefact
# (``authorization.repository.DECISION_ONLY`` and less: nor its ledger indexes, catalog and letter template
# versions, use count or creation time). Anything else is loaded on access if something asks for it.
_DECISION_COLUMNS = load_only(
    Authorization.id, Authorization.enterprise_uscc, Authorization.institution_id, Authorization.purpose,
    Authorization.categories, Authorization.data_from, Authorization.data_to, Authorization.starts_at,
    Authorization.expires_at, Authorization.status, Authorization.revoked_at, Authorization.expired_noted_at)


@functools.cache
def _subject_stmt(with_institution: bool, with_authorizations: bool) -> Any:
    version_id, version = head_columns()
    endpoints = exists().where(Provider.endpoint_url.is_not(None), Provider.endpoint_url != "").label("endpoints")
    entities: list[Any] = [*_ENTERPRISE_COLUMNS, Person.name_enc, version_id, version, endpoints]
    if with_institution:
        entities.append(Institution)
    if with_authorizations:
        entities.append(Authorization)
    stmt = select(*entities).outerjoin(Person, Person.key == Enterprise.legal_rep_key)
    if with_institution:
        stmt = stmt.outerjoin(Institution, Institution.id == bindparam("institution_id"))
    if with_authorizations:
        # The PDP's read (``authorization.repository.between``) in the same round trip: one row per artefact.
        stmt = (stmt.outerjoin(Authorization, and_(Authorization.enterprise_uscc == Enterprise.uscc,
                                                   Authorization.institution_id == bindparam("institution_id")))
                .options(_DECISION_COLUMNS)
                .order_by(Authorization.created_at, Authorization.id))
    return stmt.where(Enterprise.uscc == bindparam("uscc"))


def subject_row(session: Session, uscc: str, institution_id: int | None = None) -> SubjectRow | None:
    """In one query: the enterprise, its legal representative's (encrypted) name, the current catalog
    version, whether any provider has an endpoint and, for a querying institution, its row (unless
    ``auth.service.resolve_token`` read it in this transaction already) and every artefact the enterprise
    granted it (what the PDP decides from, read here rather than in a query of its own)."""
    with_authorizations = institution_id is not None and 1 <= institution_id <= MAX_ID
    held = session.info.get(SESSION_INSTITUTION) if with_authorizations else None
    if not (isinstance(held, Institution) and held.id == institution_id):
        held = None
    with_institution = with_authorizations and held is None
    params: dict[str, Any] = {"uscc": uscc}
    if with_authorizations:
        params["institution_id"] = institution_id
    rows = session.execute(_subject_stmt(with_institution, with_authorizations), params).all()
    if not rows:
        return None
    row = rows[0]
    institution = row[_N + 4] if with_institution else held
    authorizations = (tuple(r[-1] for r in rows if r[-1] is not None) if with_authorizations else None)
    return SubjectRow(EnterpriseRow(*row[:_N]), row[_N], institution, row[_N + 1], row[_N + 2], bool(row[_N + 3]),
                      authorizations)


def person(session: Session, key: str | None) -> Person | None:
    return session.get(Person, key) if key else None


@functools.lru_cache(maxsize=64)
def _persons_stmt(count: int) -> Any:
    """Persons by ``count`` keys, one bind parameter each: an expanding IN is re-rendered on every
    execution, this statement is compiled once per count."""
    return select(Person).where(Person.key.in_([bindparam(f"key_{i}") for i in range(count)]))


def persons(session: Session, keys: Sequence[str]) -> list[Person]:
    if not keys:
        return []
    keys = list(keys)
    if len(keys) > 32:
        return list(session.scalars(select(Person).where(Person.key.in_(keys))))
    return list(session.scalars(_persons_stmt(len(keys)), {f"key_{i}": k for i, k in enumerate(keys)}))


def institution_name(session: Session, institution_id: int | None) -> str:
    row = session.get(Institution, institution_id) if institution_id is not None else None
    return row.name if row else ""


_DISCLOSURES = Disclosure.__table__
_INSERT_DISCLOSURE = ledger_repository.template(insert(_DISCLOSURES).values(
    {c.name: bindparam(f"disclosure_{c.name}", type_=c.type) for c in _DISCLOSURES.c}))


def disclosure_insert(values: dict) -> ledger_repository.Write:
    """The INSERT of a ``Disclosure`` row, every column given (no unit of work: it is written once,
    complete with its ledger index; the ledger sends it with its entries)."""
    return _INSERT_DISCLOSURE, {f"disclosure_{c.name}": values[c.name] for c in _DISCLOSURES.c}


def disclosures_about(session: Session, uscc: str, limit: int, offset: int) -> list[Disclosure]:
    return list(session.scalars(select(Disclosure).where(Disclosure.subject_uscc == uscc)
                                .order_by(Disclosure.created_at.desc(), Disclosure.id).limit(limit).offset(offset)))


def disclosures_to(session: Session, role: str | None, subject: str | None, limit: int,
                   offset: int) -> list[Disclosure]:
    stmt = select(Disclosure)
    if role is not None:
        stmt = stmt.where(Disclosure.party_role == role, Disclosure.party_subject == subject)
    return list(session.scalars(stmt.order_by(Disclosure.created_at.desc(), Disclosure.id)
                                .limit(limit).offset(offset)))


def get_disclosure(session: Session, disclosure_id: str) -> Disclosure | None:
    return session.get(Disclosure, disclosure_id) if disclosure_id and len(disclosure_id) <= 36 else None


def unrelated_subjects_since(session: Session, role: str, subject: str, since: dt.datetime,
                             also: str | None = None) -> int:
    """Distinct enterprises the party was shown without a relation since ``since``, counting ``also``
    (the disclosure about to be recorded) once whether or not it is among them."""
    count, seen = session.execute(select(
        func.count(func.distinct(Disclosure.subject_uscc)),
        func.max(case((Disclosure.subject_uscc == also, 1), else_=0))).where(
        Disclosure.party_role == role, Disclosure.party_subject == subject, Disclosure.related.is_(False),
        Disclosure.created_at >= since)).one()
    return int(count or 0) + (1 if also is not None and not seen else 0)


def recent_alert(session: Session, kind: str, subject: str, since: dt.datetime) -> OperatorAlert | None:
    return session.scalar(select(OperatorAlert).where(OperatorAlert.kind == kind, OperatorAlert.subject == subject,
                                                      OperatorAlert.created_at >= since).limit(1))


def add_alert(session: Session, alert: OperatorAlert) -> None:
    session.add(alert)


def alerts(session: Session, limit: int, offset: int, open_only: bool) -> list[OperatorAlert]:
    stmt = select(OperatorAlert)
    if open_only:
        stmt = stmt.where(OperatorAlert.acknowledged_at.is_(None))
    return list(session.scalars(stmt.order_by(OperatorAlert.created_at.desc(), OperatorAlert.id.desc())
                                .limit(limit).offset(offset)))


def get_alert(session: Session, alert_id: int) -> OperatorAlert | None:
    return session.get(OperatorAlert, alert_id)
