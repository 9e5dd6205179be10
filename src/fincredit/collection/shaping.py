"""From a validated row to a stored record (记录成形): subject, natural key, content hash, encryption.

Pure logic over the catalog definition and two keys (no ORM, no web):

* ``subject_key`` — the USCC for enterprise categories; the HMAC-SM3 blind index of the ID number
  for person categories; for party categories (7, 9) and for identifying ``id_number`` fields the
  USCC when the value is a valid USCC, else the blind index (``subject_kind`` says which).
* ``natural_key_hash`` / ``content_hash`` — HMAC-SM3 (the look-up key) over canonical JSON of the
  natural-key values / of the whole clean record. Keyed, so that a hash of a record naming a person
  cannot be brute-forced back to the ID number.
* protected values — personal identifiers (``personal`` fields of type ``id_number`` /
  ``resident_id`` whose value is not a USCC) and every verification-only value (数据核验: all fields of
  categories 27–30, the verification fields of category 10) are SM4-GCM encrypted inside ``data``
  (``sm4gcm:…``); their blind indexes go to ``person_keys``. Names of natural persons stay plain:
  they are masked on disclosure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from fincredit.catalog.definitions import CategoryDef
from fincredit.collection.identifiers import USCC_ALPHABET, uscc_check_digit
from fincredit.crypto import KeyedHash, get_keyring, sm4_decrypt, sm4_encrypt_many

ENCRYPTED_PREFIX = "sm4gcm:"
_IDENTIFIER_TYPES = frozenset({"id_number", "resident_id"})
_USCC_CHARS = frozenset(USCC_ALPHABET)


def is_uscc(value: object) -> bool:
    """A syntactically valid USCC with a correct check digit (enterprise identifiers are public)."""
    return (isinstance(value, str) and len(value) == 18 and value[0] in "123456789ANY"
            and set(value) <= _USCC_CHARS and value[17] == uscc_check_digit(value))


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
canonical_json = _ENCODER.encode


class Shaped(NamedTuple):
    """A record ready to be written (the columns of ``records`` a batch decides). A named tuple:
    cheap to pickle when validation runs in worker processes."""

    row_no: int | None
    subject_kind: str
    subject_key: str
    natural_key_hash: str
    content_hash: str
    data_json: str
    person_keys_json: str | None
    clean: Mapping[str, Any] | None = None  # kept only when the caller asks (registration base)


class RecordShaper:
    """Turns clean rows of one category into ``Shaped`` records; build once per batch."""

    def __init__(self, category: CategoryDef, *, lookup_key: bytes | None = None,
                 data_key: bytes | None = None, keep_clean: bool = False) -> None:
        ring = get_keyring() if lookup_key is None or data_key is None else None
        self.category = category
        self.code = category.code
        self.hasher = KeyedHash(lookup_key or ring.lookup_key)  # type: ignore[union-attr]
        self.data_key = data_key or ring.data_key  # type: ignore[union-attr]
        self.keep_clean = keep_clean
        self.subject_field = category.subject_field
        self.natural_key = tuple(category.natural_key)
        verification = set(category.verification_fields)
        self.identifier_fields = tuple(f.name for f in category.fields
                                       if f.personal and f.type in _IDENTIFIER_TYPES)
        self.verification_fields = tuple(f.name for f in category.fields
                                         if f.name in verification and f.name not in self.identifier_fields)
        self.verification = verification
        self.protects = bool(self.identifier_fields or self.verification_fields)

    def subject(self, clean: Mapping[str, Any]) -> tuple[str, str]:
        value = str(clean[self.subject_field.name])
        if self.subject_field.type == "uscc":
            return "enterprise", value
        if self.category.subject == "person":
            return "person", self.hasher.blind_index(value)
        if is_uscc(value):
            return "enterprise", value
        return "person", self.hasher.blind_index(value)

    def natural_key_hash(self, clean: Mapping[str, Any]) -> str:
        """Keyed hash of the category code and the natural-key values (unit-separated; clean text
        values cannot contain control characters, a missing value is NUL)."""
        parts = [self.code]
        for name in self.natural_key:
            value = clean.get(name)
            parts.append("\x00" if value is None else value if isinstance(value, str) else canonical_json(value))
        return self.hasher.hex("\x1f".join(parts))

    def shape(self, clean: Mapping[str, Any], row_no: int | None = None) -> Shaped:
        return self.shape_many([(clean, row_no)])[0]

    def shape_many(self, items: Sequence[tuple[Mapping[str, Any], int | None]]) -> list[Shaped]:
        """``shape`` of each ``(clean, row_no)``: the values to protect are encrypted together
        (``sm4_encrypt_many``: one draw of nonces, one key object for the whole list)."""
        texts = [canonical_json(clean) for clean, _row in items]
        content_hashes = self.hasher.hex_many(texts)
        persons: list[list[str]] = [[] for _ in items]
        if self.protects:
            # Every value to encrypt, in row order: where it goes (row index, field) and its plaintext.
            slots: list[tuple[int, str]] = []
            plain: list[str] = []
            for k, (clean, _row) in enumerate(items):
                for name in self.identifier_fields:
                    value = clean.get(name)
                    if isinstance(value, str) and not is_uscc(value):
                        persons[k].append(self.hasher.blind_index(value))
                        slots.append((k, name))
                        plain.append(value)
                    elif isinstance(value, str) and name in self.verification:
                        slots.append((k, name))  # verification-only, even a USCC
                        plain.append(value)
                for name in self.verification_fields:
                    if name in clean:
                        slots.append((k, name))
                        plain.append(canonical_json(clean[name]))
            datas = [dict(clean) for clean, _row in items]
            for (k, name), sealed in zip(slots, sm4_encrypt_many(plain, self.data_key), strict=True):
                datas[k][name] = sealed
            texts = [canonical_json(data) for data in datas]
        return [Shaped(row_no, *self.subject(clean), self.natural_key_hash(clean), content_hash, text,
                       json.dumps(sorted(set(keys))) if keys else None, clean if self.keep_clean else None)
                for (clean, row_no), content_hash, text, keys in zip(items, content_hashes, texts, persons, strict=True)]


def reveal(category: CategoryDef, data: Mapping[str, Any], *, data_key: bytes | None = None) -> dict[str, Any]:
    """The plain values of a stored record (for the enterprise itself, objections, verification)."""
    verification = set(category.verification_fields)
    identifiers = {f.name for f in category.fields if f.personal and f.type in _IDENTIFIER_TYPES}
    out: dict[str, Any] = {}
    for name, value in data.items():
        if isinstance(value, str) and value.startswith(ENCRYPTED_PREFIX):
            plain = sm4_decrypt(value, data_key)
            out[name] = json.loads(plain) if name in verification and name not in identifiers else plain
        else:
            out[name] = value
    return out
