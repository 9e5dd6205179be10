"""Building what a party sees about an enterprise, category by category, as the PDP decides.

``enterprise_view`` (institutions) returns a ``DisclosureDraft`` that ``service.disclose`` records
before anything is sent; ``own_credit`` is the enterprise's own raw view (free, §14), which is not
a disclosure to anyone else and is not recorded.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fincredit.auth.service import Principal
from fincredit.authorization.models import Authorization
from fincredit.authorization.pdp import Decision, decide_many, decide_with_context, institution_id_of
from fincredit.catalog.definitions import DISCLOSURE_CLASS_LABELS, CategoryDef
from fincredit.catalog.service import get_catalog, remember_current
from fincredit.collection.interface import INTERFACE_METHODS, fetch_on_demand
from fincredit.collection.models import Provider, Record
from fincredit.collection.shaping import reveal
from fincredit.crypto import blind_index, sm4_decrypt
from fincredit.db import as_utc, utcnow
from fincredit.disclosure import masking, repository
from fincredit.disclosure.product_kinds import RecordView
from fincredit.disclosure.products import date_fields, evaluate_category, record_date
from fincredit.disclosure.service import DisclosureDraft
from fincredit.errors import DomainError, Forbidden, NotFound
from fincredit.institutions.models import Institution
from fincredit.objections.markers import own_marks, public_marks_of_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Person-subject categories shown with an enterprise: those about its legal representative that
# are public lists (失信限制高消费, 严重违法惩戒名单). 29/30 (the person's real estate) are verification only.
REPRESENTATIVE_CATEGORIES = frozenset({"8", "37"})
NOT_AUTHORIZED_CODES = frozenset({"not_authorized", "authorization_expired", "authorization_revoked"})


@dataclass(frozen=True)
class Subject:
    enterprise: repository.EnterpriseRow
    rep_key: str | None
    rep_name: str | None
    # Read in the same query: the querying institution's row (held, so that the PDP finds it in the
    # session), and whether any provider has an interface endpoint.
    institution: Institution | None = None
    provider_endpoints: bool = True
    # Read in the same query for a querying institution: every artefact the enterprise granted it (the PDP's
    # input, ``decide_with_context(authorizations=…)``); None when not read.
    authorizations: tuple[Authorization, ...] | None = None


def decrypt(value: str) -> str:
    return sm4_decrypt(value)


def plain(cat: CategoryDef, data: dict | None) -> dict:
    """A record's values with its encrypted ones decrypted (collection's ``reveal``); a value that
    cannot be decrypted is replaced by ``***`` rather than shown encrypted or failing the response."""
    try:
        return reveal(cat, data or {})
    except Exception:
        return masking.decrypt_values(data or {}, decrypt)


def _rep_name(name_enc: str | None) -> str | None:
    if name_enc is None:
        return None
    try:
        return decrypt(name_enc) if name_enc.startswith("sm4gcm:") else name_enc
    except Exception:
        return None


def load_subject(session: Session, uscc: str, institution_id: int | None = None) -> Subject:
    """The enterprise and its legal representative's name; in the same query, the current catalog
    version (remembered for this transaction) and the querying institution's row."""
    row = repository.subject_row(session, uscc, institution_id) if len(uscc) == 18 else None
    if row is None:
        raise NotFound("企业不存在或尚未归集其登记注册基础信息", code="enterprise_not_found")
    remember_current(session, row.catalog_version_id, row.catalog_version)
    enterprise = row.enterprise
    return Subject(enterprise, enterprise.legal_rep_key, _rep_name(row.rep_name_enc), row.institution,
                   row.provider_endpoints, row.authorizations)


def records_by_category(session: Session, subject: Subject, categories: dict[str, CategoryDef], *,
                        current_only: bool, representative_categories: frozenset[str],
                        rows: list[Any] | None = None) -> dict[str, list[Record]]:
    """Records about the enterprise (USCC), plus those about its legal representative in the given
    person-subject categories (from ``rows`` when the caller read them already)."""
    if rows is None:
        rows = repository.records_of(session, [subject.enterprise.uscc, subject.rep_key or ""],
                                     current_only=current_only)
    out: dict[str, list[Record]] = defaultdict(list)
    for rec in rows:
        cat = categories.get(rec.category_code)
        if cat is None:
            continue
        if rec.subject_key == subject.enterprise.uscc and cat.subject != "person":
            out[rec.category_code].append(rec)
        elif rec.subject_key == subject.rep_key and cat.subject == "person" and cat.code in representative_categories:
            out[rec.category_code].append(rec)
    return out


def person_keys(records: list[Record], plains: list[dict]) -> set[str]:
    """Blind indexes of the persons named in these records: ``person_keys`` and ID numbers found in
    free text."""
    keys = {k for r in records for k in (r.person_keys or [])}
    for data in plains:
        for value in data.values():
            if isinstance(value, str):
                keys.update(blind_index(i) for i in masking.find_ids(value))
    return keys


def person_names(session: Session, keys: set[str]) -> dict[str, str]:
    """Blind index → decrypted name of the registered persons among ``keys`` (one query)."""
    out = {}
    for person in repository.persons(session, sorted(keys)):
        try:
            out[person.key] = decrypt(person.name_enc) if person.name_enc.startswith("sm4gcm:") else person.name_enc
        except Exception:  # noqa: S112 - an unreadable name cannot be shown either
            continue
    return out


def known_names(session: Session, records: list[Record], plains: list[dict]) -> list[str]:
    """Names of registered persons named in these records: by their blind indexes (``person_keys``)
    and by ID numbers found in free text, so that their names are masked wherever they appear."""
    return list(person_names(session, person_keys(records, plains)).values())


def fetch_interface_categories(session: Session, categories: dict[str, CategoryDef], decisions: dict[str, Decision],
                               uscc: str, now: dt.datetime, provider_endpoints: bool = True) -> dict[str, str]:
    """Refresh categories collected by interface call (接口调用) that this query may see, through
    collection's ``fetch_on_demand``; when the provider cannot answer, the stored records are used."""
    sources: dict[str, str] = {}
    wanted = [code for code, d in decisions.items()
              if (cat := categories.get(code)) is not None and d.allowed and d.form in ("processed", "masked_public")
              and cat.sharing_method in INTERFACE_METHODS and cat.subject != "person"]
    if not wanted:
        return sources
    # Without a provider endpoint for a category, fetch_on_demand only re-reads what is stored (which the
    # view reads anyway): skip it — one light query here instead of four or five per interface category.
    # ``provider_endpoints`` (read with the subject): whether any provider has an endpoint at all.
    reachable: set[str] = set()
    if provider_endpoints:
        reachable = {c for cats in session.scalars(select(Provider.categories).where(
            Provider.endpoint_url.is_not(None), Provider.endpoint_url != "")) for c in (cats or [])}
    for code in wanted:
        d = decisions[code]
        if code not in reachable:
            sources[code] = "stored"
            continue
        try:
            sources[code] = fetch_on_demand(session, code, uscc, d.authorization_id or "public", now=now).source
        except DomainError as exc:  # no endpoint registered, provider down: answer from what is stored
            sources[code] = exc.code
    return sources


def _section(cat: CategoryDef, d: Decision) -> dict:
    return {"code": cat.code, "name": cat.name, "disclosure_class": cat.disclosure_class,
            "disclosure_class_label": DISCLOSURE_CLASS_LABELS[cat.disclosure_class], "form": d.form}


def _record_views(cat: CategoryDef, rows: list[Any]) -> list[RecordView]:
    """What the product evaluators see of a category's records (read-only: the rows' own data, not a
    copy; the rows were read for this request and the evaluators never change what they are given)."""
    if not rows:
        return []
    names = date_fields(cat)  # once for the category, not once per record
    out = []
    for rec in rows:
        data = rec.data or {}
        received = as_utc(rec.received_at)
        out.append(RecordView(data=data, is_current=bool(rec.is_current), received_at=received,
                              record_date=record_date(cat, data, received, names)))
    return out


def enterprise_view(session: Session, party: Principal, uscc: str, purpose: str | None,
                    now: dt.datetime | None = None) -> DisclosureDraft:
    now = as_utc(now) if now else utcnow()
    subject = load_subject(session, uscc, institution_id_of(party))
    catalog = get_catalog(session)
    decisions, context = decide_with_context(session, party, list(catalog.categories), uscc, purpose, now,
                                             authorizations=subject.authorizations)
    first = next(iter(decisions.values()), None)
    if first is not None and first.code in ("institution_not_active", "unknown_party"):
        raise Forbidden(first.reason, code="institution_not_active")
    if subject.provider_endpoints:  # without any provider endpoint, there is nothing to refresh
        fetch_interface_categories(session, catalog.categories, decisions, uscc, now, subject.provider_endpoints)
    # Records and their objection markers in one query; repaired records drop out, 异议中 is flagged.
    rows = repository.records_with_marks(session, subject.enterprise.uscc, subject.rep_key)
    records, marks = public_marks_of_rows(
        records_by_category(session, subject, catalog.categories, current_only=False,
                            representative_categories=REPRESENTATIVE_CATEGORIES, rows=rows), now)
    extra_names = [subject.rep_name] if subject.rep_name else []
    today = now.astimezone(SHANGHAI).date()
    auths = {a.id: a for a in context.authorizations}
    categories = [(code, cat, decisions[code]) for code, cat in catalog.categories.items()]
    # Public sections: decrypt their current records, then read the names of every person they name in
    # one query (each section masks the names of the persons named in its own records).
    public: dict[str, tuple[list[Any], list[dict], set[str]]] = {}
    for code, cat, d in categories:
        if d.form == "masked_public" and code in records:
            current = [r for r in records[code] if r.is_current]
            plains = [plain(cat, r.data) for r in current]
            public[code] = (current, plains, person_keys(current, plains))
    # The legal representative (named in nearly every profile) was read with the subject: not again.
    named = set().union(*(keys for _c, _p, keys in public.values()))
    names_by_key = person_names(session, named - {subject.rep_key}) if named - {subject.rep_key} else {}
    if subject.rep_key in named and subject.rep_name is not None:
        names_by_key[subject.rep_key] = subject.rep_name
    # Marks of the public view only ever flag records under objection (repaired records dropped out):
    # with none among this enterprise's records, marking would change no section.
    marking = bool(marks.disputed or marks.repaired)
    no_rows: list[Any] = []
    sections, fields = [], {}
    for code, cat, d in categories:
        section = _section(cat, d)
        rows = records.get(code, no_rows)
        if d.form == "masked_public":
            current, plains, keys = public.get(code) or (no_rows, no_rows, set())
            names = extra_names + [names_by_key[k] for k in sorted(keys) if k in names_by_key]
            section["records"] = [{"id": r.id, "data": masking.mask_record(cat, data, extra_names=names)}
                                  for r, data in zip(current, plains, strict=True)]
            fields[code] = sorted({k for r in current for k in (r.data or {})})
        elif d.form == "processed":
            auth = auths.get(d.authorization_id or "")
            products = evaluate_category(cat, _record_views(cat, rows), today,
                                         auth.data_from if auth else None, auth.data_to if auth else None)
            section.update(authorization_id=d.authorization_id, products=products)
            fields[code] = [p["code"] for p in products]
        elif d.form == "verification":
            section.update(authorization_id=d.authorization_id, status="已授权，仅支持数据核验（POST /api/v1/verifications）")
        else:
            section["status"] = "未授权" if d.code in NOT_AUTHORIZED_CODES else d.reason
            if d.code != "not_authorized":
                section["reason"] = d.reason
        sections.append(marks.apply(section, rows) if marking else section)
    ent = subject.enterprise
    content = {
        "uscc": ent.uscc, "name": ent.name, "status": ent.status, "region_code": ent.region_code,
        "industry_code": ent.industry_code,
        "legal_representative": masking.mask_name(subject.rep_name) if subject.rep_name else None,
        "purpose": purpose, "catalog_version": catalog.version, "generated_at": now.isoformat(),
        "categories": sections,
    }
    return DisclosureDraft(party=party, subject_uscc=uscc, kind="enterprise_view", purpose=purpose,
                           decisions=decisions, content=content, fields=fields, context=context)


def _raw(cat: CategoryDef, rec: Record) -> dict:
    return {"id": rec.id, "data": plain(cat, rec.data), "is_current": rec.is_current,
            "received_at": as_utc(rec.received_at).isoformat(), "provider_code": rec.provider_code,
            "batch_id": rec.batch_id}


def own_credit(session: Session, me: Principal, include_history: bool = False) -> dict:
    """All of an enterprise's own records, raw and decrypted, every category (free, §14).

    Includes court records where it is a party (7, 9) and the public lists about its current legal
    representative (8, 37): they are part of the enterprise's own credit profile and the account is
    the representative's real-name account.
    """
    subject = load_subject(session, me.subject)
    catalog = get_catalog(session)
    decisions = decide_many(session, me, list(catalog.categories), me.subject)
    records = records_by_category(session, subject, catalog.categories, current_only=not include_history,
                                  representative_categories=REPRESENTATIVE_CATEGORIES)
    marks = own_marks(session, records)  # 异议中, and repaired records with repaired_at
    sections = []
    for code, cat in catalog.categories.items():
        d = decisions[code]
        if d.form != "raw":  # the PDP grants the enterprise itself raw access; anything else is a bug
            continue
        section = _section(cat, d)
        section["fields"] = [f.name for f in cat.fields]
        section["records"] = [_raw(cat, r) for r in records.get(code, [])]
        sections.append(marks.apply(section, records.get(code, [])))
    ent = subject.enterprise
    return {"uscc": ent.uscc, "name": ent.name, "legal_representative": subject.rep_name,
            "catalog_version": catalog.version, "categories": sections}
