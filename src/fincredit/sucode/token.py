"""The 苏信码 token: a compact signed statement of an enterprise's evaluation. Pure (stdlib + cryptography).

Format (JWS-like, but smaller and with a fixed algorithm)::

    token = base64url(payload) "." base64url(signature)          (no padding)
    payload = canonical JSON (sorted keys, no spaces, UTF-8) of the claims
    signature = Ed25519 over  b"fincredit-sucode-v1." + base64url(payload)

The domain prefix keeps a signature made for another kind of document (authorization artefacts,
ledger checkpoints are signed with the same platform key) from ever verifying as a 苏信码.

Claims: ``v`` format version (1), ``u`` USCC, ``n`` enterprise name, ``g`` grade, ``s`` score,
``t`` evaluation time, ``i`` issue time, ``e`` expiry (Unix seconds, UTC), ``a`` the ``sucode``
authorization id, ``k`` key id (first 16 hex digits of SM3 of the raw public key, as
``fincredit.crypto``). Offline, a token can be checked only for its signature and expiry; whether
the authorization was revoked needs the platform (``GET /api/v1/sucode/verify``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

VERSION = 1
DOMAIN = b"fincredit-sucode-v1."
MAX_TOKEN_CHARS = 2048
CLAIM_TYPES: dict[str, type | tuple[type, ...]] = {
    "v": int, "u": str, "n": str, "g": str, "s": int, "t": int, "i": int, "e": int, "a": str, "k": str}


class TokenError(Exception):
    """A token that is not a genuine 苏信码: ``code`` (stable) and a Chinese ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Claims:
    uscc: str
    name: str
    grade: str
    score: int
    evaluated_at: dt.datetime
    issued_at: dt.datetime
    expires_at: dt.datetime
    authorization_id: str
    key_id: str

    def to_json(self) -> dict[str, Any]:
        return {"v": VERSION, "u": self.uscc, "n": self.name, "g": self.grade, "s": self.score,
                "t": _epoch(self.evaluated_at), "i": _epoch(self.issued_at), "e": _epoch(self.expires_at),
                "a": self.authorization_id, "k": self.key_id}

    def as_dict(self) -> dict[str, Any]:
        return {"uscc": self.uscc, "name": self.name, "grade": self.grade, "score": self.score,
                "evaluated_at": self.evaluated_at.isoformat(), "issued_at": self.issued_at.isoformat(),
                "expires_at": self.expires_at.isoformat(), "authorization_id": self.authorization_id,
                "key_id": self.key_id}


@dataclass(frozen=True)
class Verified:
    claims: Claims
    expired: bool


def _epoch(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return int(moment.timestamp())


def _time(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashes.Hash(hashes.SM3())
    digest.update(raw)
    return digest.finalize().hex()[:16]


def load_public_key(b64: str) -> Ed25519PublicKey:
    """A raw 32-byte Ed25519 public key in base64 (as ``GET /api/v1/ledger/public-key`` publishes)."""
    try:
        raw = base64.b64decode(b64.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise TokenError("bad_public_key", "公钥格式不正确（应为 Base64 编码的 32 字节 Ed25519 公钥）") from exc


def signing_input(payload_b64: str) -> bytes:
    return DOMAIN + payload_b64.encode("ascii")


def encode(claims: Claims, sign: Callable[[bytes], bytes]) -> str:
    """The token for ``claims``; ``sign`` returns the raw 64-byte Ed25519 signature of its input."""
    payload = json.dumps(claims.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    payload_b64 = b64url(payload)
    return f"{payload_b64}.{b64url(sign(signing_input(payload_b64)))}"


def strip_url(token: str) -> str:
    """Accept a whole scanned URL (``https://host/sucode/<token>``) as well as the bare token."""
    token = token.strip()
    if "/" in token:
        token = token.rstrip("/").rsplit("/", 1)[-1]
    return token.split("?", 1)[0].split("#", 1)[0]


def parse(token: str) -> tuple[str, bytes, Claims]:
    """Split and decode without checking the signature; raises ``TokenError`` for malformed tokens."""
    token = strip_url(token or "")
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed", "不是有效的苏信码（内容为空或过长）")
    parts = token.split(".")
    if len(parts) != 2:
        raise TokenError("malformed", "不是有效的苏信码（格式不正确）")
    try:
        payload, signature = unb64url(parts[0]), unb64url(parts[1])
        data = json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("malformed", "不是有效的苏信码（无法解码）") from exc
    if not isinstance(data, dict) or set(data) != set(CLAIM_TYPES):
        raise TokenError("malformed", "不是有效的苏信码（内容字段不符）")
    for name, kind in CLAIM_TYPES.items():
        if not isinstance(data[name], kind) or isinstance(data[name], bool):
            raise TokenError("malformed", "不是有效的苏信码（内容字段类型不符）")
    if data["v"] != VERSION:
        raise TokenError("unsupported_version", f"不支持的苏信码版本 {data['v']}")
    if len(signature) != 64:
        raise TokenError("bad_signature", "签名无效：该苏信码不是平台签发的，或内容已被篡改")
    try:
        claims = Claims(data["u"], data["n"], data["g"], data["s"], _time(data["t"]), _time(data["i"]),
                        _time(data["e"]), data["a"], data["k"])
    except (OverflowError, OSError, ValueError) as exc:
        raise TokenError("malformed", "不是有效的苏信码（时间字段无效）") from exc
    return parts[0], signature, claims


def verify(token: str, public_key: Ed25519PublicKey, now: dt.datetime) -> Verified:
    """Check the signature (and key id) with ``public_key``; expiry is reported, not raised."""
    payload_b64, signature, claims = parse(token)
    if claims.key_id != key_id(public_key):
        raise TokenError("unknown_key", "签名密钥不符：该苏信码不是用此公钥对应的平台密钥签发的")
    try:
        public_key.verify(signature, signing_input(payload_b64))
    except InvalidSignature as exc:
        raise TokenError("bad_signature", "签名无效：该苏信码不是平台签发的，或内容已被篡改") from exc
    return Verified(claims, expired=now >= claims.expires_at)
