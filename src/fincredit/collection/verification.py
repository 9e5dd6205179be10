"""Verification-only data (数据核验): answer match / no match, never the stored values.

Categories 27–30 (real estate and mortgages) and the verification fields of category 10 (wage
total, contribution base, amounts due and paid) are stored SM4-encrypted (see ``shaping``).
``verify_claims(session, category, subject_key, claims)`` normalises each claimed value with the
field's own validator (so ``100000.00`` equals ``100000``), decrypts the subject's current records
in memory and compares. Claimed fields that are not verification fields (``缴费年月``, ``险种类别`` of
category 10) select the records the verification fields are compared in.

The answer is ``{"match": bool, "fields": {field: bool}}``: ``match`` when one current record
agrees with every claim; ``fields[f]`` when some selected record agrees on ``f``. The values
themselves never leave this function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from fincredit.catalog.service import get_catalog
from fincredit.collection import repository
from fincredit.collection.identifiers import parse_id_number
from fincredit.collection.shaping import canonical_json, reveal
from fincredit.collection.validators import MISSING, FieldError, compile_field
from fincredit.crypto import blind_index
from fincredit.errors import Unprocessable

MAX_CLAIMS = 30


def person_subject_key(id_number: str) -> str:
    """The subject key of a natural person (blind index of the ID number)."""
    return blind_index(id_number)


def _normalise(field: Any, value: object) -> str:
    checker = compile_field(field)
    try:
        if checker.check is None:
            clean, _inferred = parse_id_number(value, None, prefer_person=field.personal)
        else:
            clean = checker.check(value)
    except FieldError as exc:
        raise Unprocessable(f"核验字段“{field.name}”的值不合规：{exc.reason}", code="bad_claim") from None
    if clean is MISSING:
        raise Unprocessable(f"核验字段“{field.name}”的值为空", code="bad_claim")
    return canonical_json(clean)


def verify_claims(session: Session, category: str, subject_key: str, claims: Mapping[str, object]) -> dict:
    cat = get_catalog(session).category(category)
    verifiable = set(cat.verification_fields)
    if not verifiable:
        raise Unprocessable(f"信息类“{category}”不提供数据核验", code="not_verification_category")
    if not claims or len(claims) > MAX_CLAIMS:
        raise Unprocessable(f"请给出 1–{MAX_CLAIMS} 个核验字段", code="bad_claims")
    names = {f.name: f for f in cat.fields}
    unknown = [k for k in claims if k not in names]
    if unknown:
        raise Unprocessable(f"未知的核验字段：{'、'.join(map(str, unknown[:10]))}", code="unknown_claim_field")
    wanted = {name: _normalise(names[name], value) for name, value in claims.items()}
    selectors = {k: v for k, v in wanted.items() if k not in verifiable}
    checked = {k: v for k, v in wanted.items() if k in verifiable}
    if not checked:
        raise Unprocessable("至少给出一个核验字段", code="bad_claims")
    field_ok = dict.fromkeys(checked, False)
    match = False
    for record in repository.current_records(session, cat.code, subject_key):
        plain = reveal(cat, record.data)
        if any(canonical_json(plain.get(k)) != v for k, v in selectors.items()):
            continue
        agree = {k: canonical_json(plain.get(k)) == v for k, v in checked.items()}
        for k, ok in agree.items():
            field_ok[k] = field_ok[k] or ok
        match = match or all(agree.values())
    return {"match": match, "fields": field_ok}
