"""Masking (脱敏) of personal data. Pure: no ORM, no web; decryption is injected.

Rules (documented, tested):
- name of a natural person → first character + ``**``; the number of stars is fixed, so the
  length of the name is hidden too (张三 and 张三丰 both become ``张**``);
- resident ID number → first 6 and last 4 characters (``320103********1234``; 15-digit numbers
  ``320103*****1234``); a USCC is an enterprise's public code and is left as it is; any other
  certificate number keeps its first 2 and last 2 characters;
- phone number → mobile numbers 3+4 (``138****5678``); others keep the first 3 and last 2 digits;
- address of a natural person (坐落, 住址) → the first 6 characters + ``****``;
- inside free text (case causes, 公告详情, lists of parties …): every 18- or 15-digit ID-like
  number, every mobile number, and every occurrence of the record's known person names.
Where a name field is paired with a certificate number of type USCC (a party that is an
enterprise), the name is an enterprise name and is not masked (free-text rules still apply).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fincredit.catalog.definitions import CategoryDef

USCC_TYPE = "统一社会信用代码"
PERSON_ID_TYPES = frozenset({"居民身份证", "港澳台居民居住证"})
ADDRESS_HINTS = ("坐落", "住址", "地址")
MASKED = "***"

# Loose on purpose: any 17 digits + digit/X, or 15 digits, standing alone (privacy first).
_ID18_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_ID15_RE = re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9])")
_USCC_RE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")
_RID_RE = re.compile(r"\d{17}[\dX]|\d{15}")


def mask_name(name: str) -> str:
    name = str(name).strip()
    return f"{name[0]}**" if name else ""


def mask_resident_id(number: str) -> str:
    number = str(number).strip()
    if len(number) >= 10:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    return "*" * len(number)


def mask_other_id(number: str) -> str:
    number = str(number).strip()
    return number[:2] + "*" * (len(number) - 4) + number[-2:] if len(number) > 6 else "*" * len(number)


def looks_like_uscc(value: str) -> bool:
    value = value.strip().upper()
    return bool(_USCC_RE.fullmatch(value)) and not _RID_RE.fullmatch(value)


def mask_id_number(value: str, id_type: str | None = None) -> str:
    value = str(value).strip()
    if id_type == USCC_TYPE or (not id_type and looks_like_uscc(value)):
        return value
    if id_type in PERSON_ID_TYPES or _RID_RE.fullmatch(value.upper()):
        return mask_resident_id(value)
    return mask_other_id(value)


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", str(value))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    return f"{digits[:3]}****{digits[-2:]}" if len(digits) >= 7 else "*" * len(digits)


def mask_address(value: str) -> str:
    value = str(value).strip()
    return value[:6] + "****" if len(value) > 6 else "****"


def _name_masks(names: Iterable[str]) -> list[tuple[str, str]]:
    """(name, masked name) for the names ``mask_text`` replaces, longest first (a name inside a longer
    one is replaced after it)."""
    return [(name, mask_name(name))
            for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True)]


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """Free text: known person names, ID-like numbers and mobile numbers anywhere in the string."""
    return _mask_text(text, _name_masks(names))


def _mask_text(text: str, name_masks: list[tuple[str, str]]) -> str:
    """``mask_text`` with its names prepared once (``_name_masks``) for all the values of a record."""
    out = str(text)
    for name, masked in name_masks:
        out = out.replace(name, masked)
    out = _ID18_RE.sub(lambda m: mask_resident_id(m.group(0)), out)
    out = _ID15_RE.sub(lambda m: mask_resident_id(m.group(0)), out)
    return _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", out)


def find_ids(text: str) -> list[str]:
    """ID-like numbers (18 or 15 digits) standing alone in free text."""
    return [m.group(0).upper() for m in _ID18_RE.finditer(text)] + [m.group(0) for m in _ID15_RE.finditer(text)]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def paired_id_field(cat: CategoryDef, name_field: str) -> str | None:
    """The certificate-number field that identifies the person a name field names."""
    ids = [f.name for f in cat.fields if f.type in ("id_number", "resident_id")]
    if name_field == "姓名" and "证件号码" in ids:
        return "证件号码"
    scored = sorted(((_common_prefix(name_field, i), i) for i in ids), reverse=True)
    return scored[0][1] if scored and scored[0][0] >= 2 else None


def _is_enterprise_party(cat: CategoryDef, data: Mapping[str, Any], name_field: str) -> bool:
    id_field = paired_id_field(cat, name_field)
    if id_field is None or not data.get(id_field):
        return False
    id_type = cat.field(id_field).id_type_field
    type_value = data.get(id_type) if id_type else None
    if type_value:
        return type_value == USCC_TYPE
    return looks_like_uscc(str(data[id_field]))


def decrypt_values(data: Mapping[str, Any], decrypt: Callable[[str], str]) -> dict[str, Any]:
    """Plaintext copy of a record's data; an undecryptable value becomes ``***``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str) and value.startswith("sm4gcm:"):
            try:
                value = decrypt(value)
            except Exception:  # a broken ciphertext is never shown
                value = MASKED
        out[key] = value
    return out


def person_names(cat: CategoryDef, data: Mapping[str, Any]) -> list[str]:
    """Names of natural persons in a (decrypted) record: personal text fields not naming an enterprise."""
    names = []
    for f in cat.fields:
        value = data.get(f.name)
        if (f.personal and f.type == "text" and isinstance(value, str) and value.strip()
                and not any(h in f.name for h in ADDRESS_HINTS) and not _is_enterprise_party(cat, data, f.name)):
            names.append(value.strip())
    return names


def mask_record(cat: CategoryDef, data: Mapping[str, Any], *, extra_names: Iterable[str] = ()) -> dict[str, Any]:
    """A decrypted record of a public category as an institution may see it."""
    names = _name_masks([*person_names(cat, data), *extra_names])  # once for every value of the record
    known = {f.name: f for f in cat.fields}
    out: dict[str, Any] = {}
    for key, value in data.items():
        f = known.get(key)
        if value is None or f is None:
            out[key] = _mask_text(value, names) if isinstance(value, str) else value
        elif f.type in ("id_number", "resident_id"):
            out[key] = mask_id_number(str(value), data.get(f.id_type_field) if f.id_type_field else None)
        elif f.type == "phone":
            out[key] = mask_phone(str(value))
        elif f.personal and f.type == "text" and any(h in key for h in ADDRESS_HINTS):
            out[key] = mask_address(str(value))
        elif f.personal and f.type == "text" and not _is_enterprise_party(cat, data, key):
            out[key] = mask_name(str(value))
        elif isinstance(value, str):
            out[key] = _mask_text(value, names)
        elif isinstance(value, dict):
            out[key] = {k: _mask_text(v, names) if isinstance(v, str) else v for k, v in value.items()}
        elif f.personal:
            out[key] = MASKED
        else:
            out[key] = value
    return out
