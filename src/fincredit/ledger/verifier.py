"""Offline verification of ledger receipts and evidence bundles (回执与证据包离线核验).

Imports only the standard library, ``cryptography`` and the pure Merkle module: it needs no server,
no database, no settings. Usable as ``fincredit ledger verify-receipt FILE`` or
``python -m fincredit.ledger.verifier FILE [--public-key B64 | --public-key-file F]``.

File formats (JSON, ``kind`` selects the shape; both share ``version``, ``hash_alg``, ``checkpoint``
and optionally ``public_key``):

- ``fincredit.ledger.receipt``: one entry item at the top level;
- ``fincredit.ledger.evidence_bundle``: ``entries``: a list of entry items.

Unknown fields are refused, so every byte of a valid file is covered by a check (anything a caller
wants to prove belongs in an entry's payload).

An entry item is ``{index, entry_b64, entry?, leaf_hash?, inclusion_proof: [hex…]}``; ``entry_b64`` is
the canonical entry bytes (the leaf hash covers them), ``entry`` a readable copy that must match.
A checkpoint is ``{origin, size, root, timestamp, hash_alg, signature: {alg, kid, sig}}``; the
signature covers ``merkle.checkpoint_message(...)``.

Trust: a key embedded in the file only proves the file is self-consistent. Pass the platform's key
(``GET /api/v1/ledger/public-key``) to pin it; an embedded key that differs from the pinned one fails.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fincredit.ledger.merkle import (
    CHECKPOINT_ORIGIN,
    SM3,
    ProofError,
    checkpoint_message,
    get_hasher,
    verify_inclusion,
)

RECEIPT_KIND = "fincredit.ledger.receipt"
BUNDLE_KIND = "fincredit.ledger.evidence_bundle"
SUPPORTED_VERSIONS = {1}
# Unknown fields are refused: whatever a file says must be covered by the checks below.
_COMMON_KEYS = {"kind", "version", "hash_alg", "tree_size", "checkpoint", "public_key"}
_ITEM_KEYS = {"index", "entry_b64", "entry", "leaf_hash", "inclusion_proof"}
ALLOWED_KEYS = {RECEIPT_KIND: _COMMON_KEYS | _ITEM_KEYS, BUNDLE_KIND: _COMMON_KEYS | {"entries"}}
_CHECKPOINT_KEYS = {"origin", "size", "root", "timestamp", "hash_alg", "signature"}


class VerificationError(Exception):
    """The document does not verify; the message says why (English, for logs and the CLI)."""


@dataclass
class VerifyResult:
    ok: bool
    kind: str = ""
    error: str = ""
    indexes: list[int] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    tree_size: int = 0
    root: str = ""
    timestamp: str = ""
    kid: str = ""
    key_pinned: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "kind": self.kind, "error": self.error, "indexes": self.indexes,
                "tree_size": self.tree_size, "root": self.root, "timestamp": self.timestamp,
                "kid": self.kid, "key_pinned": self.key_pinned}


def key_id(raw_public_key: bytes) -> str:
    """The platform's key id: the first 16 hex digits of SM3 of the raw Ed25519 public key."""
    return SM3.digest(raw_public_key).hex()[:16]


def _b64(value: Any, what: str) -> bytes:
    """Strict base64: only the canonical encoding is accepted, so no two files mean the same bytes."""
    if not isinstance(value, str):
        raise VerificationError(f"{what} must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError(f"{what} is not valid base64") from exc
    if base64.b64encode(data).decode() != value:
        raise VerificationError(f"{what} is not canonical base64")
    return data


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise VerificationError(f"{what} must be a hex string")
    try:
        data = bytes.fromhex(value)
    except ValueError as exc:
        raise VerificationError(f"{what} is not valid hex") from exc
    if data.hex() != value:
        raise VerificationError(f"{what} must be lower-case hex without spaces")
    return data


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise VerificationError(f"{what} must be a non-negative integer")
    return value


def read_public_key(text: str) -> str:
    """A pinned key from a file's text: bare base64, or the JSON of ``GET /api/v1/ledger/public-key``."""
    text = text.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise VerificationError("the public key file is not valid JSON") from exc
        if not isinstance(doc, dict) or doc.get("alg", "Ed25519") != "Ed25519":
            raise VerificationError("the pinned key is not an Ed25519 key")
        return str(doc.get("key", ""))
    return text


def _only(obj: dict[str, Any], allowed: set[str], what: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise VerificationError(f"{what} has unknown fields: {', '.join(unknown)}")


def _select_key(doc: dict[str, Any], pinned_b64: str | None) -> tuple[Ed25519PublicKey, str, bool]:
    embedded = doc.get("public_key")
    embedded_raw = None
    if embedded is not None:
        if not isinstance(embedded, dict) or embedded.get("alg", "Ed25519") != "Ed25519":
            raise VerificationError("embedded public key must be {alg: Ed25519, kid, key}")
        _only(embedded, {"alg", "kid", "key"}, "public_key")
        embedded_raw = _b64(embedded.get("key"), "embedded public key")
    pinned_raw = _b64(pinned_b64.strip(), "pinned public key") if pinned_b64 else None
    if pinned_raw is not None and embedded_raw is not None and pinned_raw != embedded_raw:
        raise VerificationError("the embedded public key differs from the pinned public key")
    raw = pinned_raw if pinned_raw is not None else embedded_raw
    if raw is None:
        raise VerificationError("no public key: pass --public-key or --public-key-file")
    if len(raw) != 32:
        raise VerificationError("an Ed25519 public key has 32 bytes")
    kid = key_id(raw)
    if isinstance(embedded, dict) and embedded.get("kid", kid) != kid:
        raise VerificationError("the embedded key id does not belong to the public key")
    return Ed25519PublicKey.from_public_bytes(raw), kid, pinned_raw is not None


def _check_checkpoint(doc: dict[str, Any], key: Ed25519PublicKey, kid: str, hash_alg: str
                      ) -> tuple[int, bytes, str]:
    cp = doc.get("checkpoint")
    if not isinstance(cp, dict):
        raise VerificationError("missing checkpoint")
    _only(cp, _CHECKPOINT_KEYS, "checkpoint")
    size = _int(cp.get("size"), "checkpoint size")
    root_hex = cp.get("root")
    root = _hex(root_hex, "checkpoint root")
    timestamp = cp.get("timestamp")
    if not isinstance(timestamp, str):
        raise VerificationError("checkpoint timestamp must be a string")
    if cp.get("hash_alg") != hash_alg:
        raise VerificationError("checkpoint hash algorithm differs from the document's")
    origin = cp.get("origin", CHECKPOINT_ORIGIN)
    sig = cp.get("signature")
    if not isinstance(sig, dict) or sig.get("alg") != "Ed25519":
        raise VerificationError("checkpoint signature must be {alg: Ed25519, kid, sig}")
    _only(sig, {"alg", "kid", "sig"}, "checkpoint signature")
    if sig.get("kid") != kid:
        raise VerificationError(f"checkpoint signed by key {sig.get('kid')!r}, expected {kid!r}")
    message = checkpoint_message(size=size, root_hex=str(root_hex), timestamp=timestamp, hash_alg=hash_alg,
                                 origin=str(origin))
    try:
        key.verify(_b64(sig.get("sig"), "checkpoint signature"), message)
    except InvalidSignature as exc:
        raise VerificationError("checkpoint signature is invalid") from exc
    if "tree_size" in doc and doc["tree_size"] != size:
        raise VerificationError("tree_size differs from the checkpoint size")
    return size, root, timestamp


def _check_item(item: Any, hasher_name: str, size: int, root: bytes, where: str) -> dict[str, Any]:
    hasher = get_hasher(hasher_name)
    if not isinstance(item, dict):
        raise VerificationError(f"{where}: an entry must be an object")
    if where != "receipt":
        _only(item, _ITEM_KEYS, where)
    index = _int(item.get("index"), f"{where}: index")
    body = _b64(item.get("entry_b64"), f"{where}: entry_b64")
    leaf = hasher.leaf(body)
    if "leaf_hash" in item and _hex(item["leaf_hash"], f"{where}: leaf_hash") != leaf:
        raise VerificationError(f"{where}: leaf_hash does not match the entry bytes")
    try:
        entry = json.loads(body)
    except ValueError as exc:
        raise VerificationError(f"{where}: entry bytes are not JSON") from exc
    if not isinstance(entry, dict) or entry.get("index") != index:
        raise VerificationError(f"{where}: the entry bytes name another index")
    if "entry" in item and item["entry"] != entry:
        raise VerificationError(f"{where}: the readable entry differs from the signed entry bytes")
    proof = item.get("inclusion_proof")
    if not isinstance(proof, list):
        raise VerificationError(f"{where}: inclusion_proof must be a list of hex hashes")
    hashes = [_hex(h, f"{where}: inclusion_proof[{i}]") for i, h in enumerate(proof)]
    try:
        verify_inclusion(hasher, index, size, leaf, hashes, root)
    except ProofError as exc:
        raise VerificationError(f"{where}: entry #{index} is not in the signed tree: {exc}") from exc
    return entry


def verify_document(doc: Any, public_key_b64: str | None = None) -> VerifyResult:
    """Check a parsed receipt or evidence bundle. Never raises for a bad document: see ``.ok``/``.error``."""
    result = VerifyResult(ok=False)
    try:
        if not isinstance(doc, dict):
            raise VerificationError("the document must be a JSON object")
        result.kind = str(doc.get("kind", ""))
        if result.kind not in (RECEIPT_KIND, BUNDLE_KIND):
            raise VerificationError(f"unknown document kind {result.kind!r}")
        _only(doc, ALLOWED_KEYS[result.kind], result.kind)
        if doc.get("version") not in SUPPORTED_VERSIONS:
            raise VerificationError(f"unsupported version {doc.get('version')!r}")
        hash_alg = doc.get("hash_alg")
        try:
            get_hasher(str(hash_alg))
        except ProofError as exc:
            raise VerificationError(str(exc)) from exc
        key, kid, result.key_pinned = _select_key(doc, public_key_b64)
        size, root, timestamp = _check_checkpoint(doc, key, kid, str(hash_alg))
        if result.kind == RECEIPT_KIND:
            items = [doc]
        else:
            items = doc.get("entries")
            if not isinstance(items, list) or not items:
                raise VerificationError("an evidence bundle needs a non-empty entries list")
        for n, item in enumerate(items):
            where = "receipt" if result.kind == RECEIPT_KIND else f"entries[{n}]"
            result.entries.append(_check_item(item, str(hash_alg), size, root, where))
            result.indexes.append(item["index"])
        result.tree_size, result.root, result.timestamp, result.kid = size, root.hex(), timestamp, kid
        result.ok = True
    except VerificationError as exc:
        result.error = str(exc)
        result.entries, result.indexes = [], []
    return result


def verify_file(path: str | Path, public_key_b64: str | None = None) -> VerifyResult:
    """Check a receipt or evidence bundle file against the pinned key (or, failing that, its own)."""
    try:
        doc = json.loads(Path(path).read_bytes())
    except OSError as exc:
        return VerifyResult(ok=False, error=f"cannot read {path}: {exc.strerror or exc}")
    except ValueError:
        return VerifyResult(ok=False, error=f"{path} is not a JSON document")
    return verify_document(doc, public_key_b64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a fincredit ledger receipt or evidence bundle.")
    parser.add_argument("file")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--public-key", help="the platform's Ed25519 public key, base64")
    group.add_argument("--public-key-file", help="a file holding the key (base64 or the public-key JSON)")
    args = parser.parse_args(argv)
    key = args.public_key
    if args.public_key_file:
        try:
            key = read_public_key(Path(args.public_key_file).read_text())
        except (OSError, VerificationError) as exc:
            print(f"cannot read the public key file: {exc}", file=sys.stderr)
            return 2
    result = verify_file(args.file, key)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
