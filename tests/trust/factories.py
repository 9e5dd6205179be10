"""Factories for the trust tests: enterprises (with account and legal representative), institutions,
records stored exactly as collection stores them (``RecordShaper``), tokens and authorizations."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from fincredit.auth.models import Role
from fincredit.auth.service import Principal, issue_token
from fincredit.catalog.definitions import CategoryDef
from fincredit.catalog.service import get_catalog
from fincredit.collection.identifiers import resident_id_check_digit, uscc_check_digit
from fincredit.collection.models import Record
from fincredit.collection.shaping import RecordShaper
from fincredit.crypto import blind_index, sm4_encrypt
from fincredit.db import utcnow
from fincredit.institutions.models import Institution
from fincredit.registry.models import Account, Enterprise, Person

_seq = itertools.count(1)
SURNAMES = ["欧阳", "司徒", "上官", "诸葛", "东方", "皇甫", "慕容", "令狐", "端木", "独孤"]
GIVEN = "瑾瑜璇玑珩琮瑄璟琛瑶琰瑛璋珂璐"


def make_uscc(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    body = f"91320{n % 10}{(n * 7919) % 100:02d}" + f"{n:09d}"[-9:].replace("0", "3", 1)
    body = body[:17]
    return body + uscc_check_digit(body)


def make_resident_id(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=(n * 37) % 12000)
    body = f"320{102 + n % 7:03d}{birth:%Y%m%d}{n % 1000:03d}"
    return body + resident_id_check_digit(body)


def make_person_name(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    return SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)] + GIVEN[(n // len(GIVEN) + 3) % len(GIVEN)]


def make_mobile(n: int | None = None) -> str:
    n = next(_seq) if n is None else n
    return f"139{(n * 104729) % 100000000:08d}"


@dataclass
class PersonInfo:
    name: str
    resident_id: str
    mobile: str

    @property
    def key(self) -> str:
        return blind_index(self.resident_id)


def new_person() -> PersonInfo:
    n = next(_seq)
    return PersonInfo(make_person_name(n), make_resident_id(n), make_mobile(n))


@dataclass
class EnterpriseInfo:
    uscc: str
    name: str
    rep: PersonInfo
    persons: list[PersonInfo] = field(default_factory=list)


def make_enterprise(session: Session, *, name: str | None = None, rep: PersonInfo | None = None,
                    with_account: bool = True) -> EnterpriseInfo:
    uscc = make_uscc()
    rep = rep or new_person()
    name = name or f"江苏测试{next(_seq)}号科技有限公司"
    if session.get(Person, rep.key) is None:
        session.add(Person(key=rep.key, id_type="居民身份证", id_number_enc=sm4_encrypt(rep.resident_id),
                           name_enc=sm4_encrypt(rep.name)))
    session.add(Enterprise(uscc=uscc, name=name, status="存续", industry_code="C13", region_code="320102",
                           established_on=dt.date(2015, 5, 1), legal_rep_key=rep.key))
    if with_account:
        session.add(Account(uscc=uscc, password_hash="not-used", legal_rep_key=rep.key, identity_valid=True))
    session.flush()
    return EnterpriseInfo(uscc, name, rep)


def make_institution(session: Session, *, status: str = "active", kind: str = "bank",
                     name: str | None = None) -> Institution:
    row = Institution(name=name or f"测试银行{next(_seq)}分行", kind=kind, status=status)
    session.add(row)
    session.flush()
    return row


def store_record(session: Session, cat: CategoryDef, clean: dict[str, Any], *, is_current: bool = True,
                 received_at: dt.datetime | None = None, provider: str = "test") -> Record:
    """Store a clean record as collection would (subject, encryption, person keys)."""
    shaped = RecordShaper(cat).shape(clean)
    rec = Record(category_code=cat.code, subject_kind=shaped.subject_kind, subject_key=shaped.subject_key,
                 natural_key_hash=shaped.natural_key_hash if is_current else uuid.uuid4().hex,
                 content_hash=shaped.content_hash, data=json.loads(shaped.data_json),
                 person_keys=json.loads(shaped.person_keys_json) if shaped.person_keys_json else None,
                 provider_code=provider, received_at=received_at or utcnow(), is_current=is_current,
                 superseded_at=None if is_current else utcnow())
    session.add(rec)
    session.flush()
    return rec


def category(session: Session, code: str) -> CategoryDef:
    return get_catalog(session).category(code)


def token_for(session: Session, role: str, subject: str, name: str = "测试") -> str:
    raw, _ = issue_token(session, role=role, subject=subject, name=name)
    return raw


def institution_token(session: Session, inst: Institution) -> str:
    return token_for(session, "platform" if inst.kind == "platform" else "institution", str(inst.id), inst.name)


def enterprise_principal(uscc: str) -> Principal:
    return Principal(role=Role.enterprise, subject=uscc)


def grant(session: Session, ent: EnterpriseInfo, inst: Institution | None, categories: list[str], *,
          purpose: str = "pre_loan", days: int = 10, data_from: dt.date | None = None,
          data_to: dt.date | None = None):  # type: ignore[no-untyped-def]
    """Grant through the real service (signed, ledgered)."""
    from fincredit.authorization import service

    req = service.GrantRequest(institution_id=inst.id if inst else None, purpose=purpose, categories=categories,
                               expires_at=utcnow() + dt.timedelta(days=days), data_from=data_from, data_to=data_to)
    return service.grant(session, enterprise_principal(ent.uscc), req)


# --- planted records: a value for every field of a category ---------------------------------------

class Planter:
    """Generates clean records for any category, remembering every planted value by class."""

    def __init__(self, ent: EnterpriseInfo, seed: int = 7) -> None:
        self.ent = ent
        self.rng = random.Random(seed)
        self.n = 0
        self.secret_values: set[str] = set()  # raw values of non-public / verification fields
        self.persons: list[PersonInfo] = [ent.rep]

    def _next(self) -> int:
        self.n += 1
        return self.n

    def person(self) -> PersonInfo:
        p = new_person()
        self.persons.append(p)
        return p

    def _date(self, secret: bool) -> dt.date:
        base = dt.date(2001, 1, 1) if secret else dt.date(1990, 1, 1)
        return base + dt.timedelta(days=self._next() * 17 % 3600)

    def value(self, cat: CategoryDef, f, secret: bool, people: dict[str, PersonInfo]) -> Any:  # type: ignore[no-untyped-def]
        n = self._next()
        if f.identifies:
            if cat.subject == "person":
                return self.ent.rep.resident_id
            return self.ent.uscc
        if f.type == "uscc":
            return make_uscc(900000 + n)
        if f.type == "id_type":
            return "统一社会信用代码" if f.name in {g.id_type_field for g in cat.fields if g.identifies} \
                and cat.subject != "person" else "居民身份证"
        if "法定代表人" in f.name and f.type in ("text", "id_number"):
            return self.ent.rep.name if f.type == "text" else self.ent.rep.resident_id
        if f.type in ("id_number", "resident_id"):
            return people.setdefault(f.name, self.person()).resident_id
        if f.type == "phone":
            return people.setdefault("phone", self.person()).mobile
        if f.type == "text" and f.personal:
            if cat.subject == "person":
                return self.ent.rep.name
            return people.setdefault(f.name, self.person()).name
        if f.type == "text":
            if f.name in ("企业名称", "出质人名称", "承诺人名称", "新型农业经营主体名称", "机构全称(中文)",
                          "企业名称(担保人)", "权利人名称", "抵押人", "当事人名称"):
                return self.ent.name
            if secret:
                return f"非公开{cat.code}文本{n:05d}密"
            victim = self.person()
            return f"公开文本{n:05d}：涉及{victim.name}（身份证{victim.resident_id}，电话{victim.mobile}）"
        if f.type in ("amount_yuan", "amount_wan", "number", "percent"):
            return f"{self.rng.randint(1000, 9_000_000)}.{self.rng.randint(10, 99)}"
        if f.type in ("count", "months"):
            return self.rng.randint(1, 500)
        if f.type == "date":
            return self._date(secret).isoformat()
        if f.type == "year_month":
            return self._date(secret).strftime("%Y-%m")
        if f.type == "year":
            return self._date(secret).year
        if f.type == "datetime":
            return f"{self._date(secret).isoformat()}T08:00:00+08:00"
        if f.type == "boolean":
            return bool(n % 2)
        if f.type == "enum":
            return f.values[n % len(f.values)]
        if f.type == "range":
            return {"text": "100-500", "low": "100", "high": "500"}
        if f.type == "region_code":
            return "320102"
        if f.type == "industry_code":
            return "C13"
        return f"值{n:05d}"

    def record(self, cat: CategoryDef) -> dict[str, Any]:
        secret_cat = cat.disclosure_class != "public"
        people: dict[str, PersonInfo] = {}
        clean = {}
        verification = set(cat.verification_fields)
        for f in cat.fields:
            secret = secret_cat or f.name in verification
            clean[f.name] = self.value(cat, f, secret, people)
        if cat.code in ("7", "9"):  # the enterprise is the party
            clean["当事人名称"], clean["当事人证件类型"] = self.ent.name, "统一社会信用代码"
        for f in cat.fields:
            value = clean[f.name]
            identity = f.identifies or f.type == "uscc" or value == self.ent.name
            if (secret_cat or f.name in verification) and not identity and not f.personal:
                if f.type in ("amount_yuan", "amount_wan", "number", "percent", "date", "year_month") or (
                        isinstance(value, str) and len(value) > 3 and f.type not in ("enum", "id_type")):
                    self.secret_values.add(str(value))
        return clean
