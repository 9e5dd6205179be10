"""National cryptographic primitives (SM3 hashing, HMAC-SM3, SM4-GCM) and key storage.

Keys live under ``$FINCREDIT_DATA_DIR/keys``; ``fincredit init`` creates them when absent.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fincredit.settings import get_settings


def sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


class _SM3ForHmac:
    """Adapter so the stdlib ``hmac`` module can use SM3 (block size 64 bytes)."""

    digest_size = 32
    block_size = 64
    name = "sm3"

    def __init__(self, data: bytes = b"") -> None:
        self._h = hashes.Hash(hashes.SM3())
        if data:
            self._h.update(data)

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.copy().finalize()

    def copy(self) -> _SM3ForHmac:
        c = _SM3ForHmac.__new__(_SM3ForHmac)
        c._h = self._h.copy()
        return c


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, _SM3ForHmac).digest()  # type: ignore[arg-type]


def token_hash(token: str) -> str:
    """Bearer tokens are 256-bit random strings, so a plain SM3 digest is a safe stored form."""
    return sm3_hex(token.encode())


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class KeyRing:
    data_key: bytes  # SM4 key for personal data at rest
    lookup_key: bytes  # HMAC-SM3 key for blind indexes of personal identifiers
    signing_key: Ed25519PrivateKey
    key_id: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def public_key_b64(self) -> str:
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()


def _keys_path(data_dir: Path) -> Path:
    return data_dir / "keys" / "keyring.json"


def ensure_keyring(data_dir: Path | None = None) -> bool:
    """Create the key ring when absent. Returns True when keys were created."""
    data_dir = data_dir or get_settings().data_dir
    path = _keys_path(data_dir)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    sk = Ed25519PrivateKey.generate()
    raw = sk.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                           serialization.NoEncryption())
    pub = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    doc = {
        "data_key": base64.b64encode(os.urandom(16)).decode(),
        "lookup_key": base64.b64encode(os.urandom(32)).decode(),
        "signing_key": base64.b64encode(raw).decode(),
        "key_id": sm3_hex(pub)[:16],
        "algorithm": "Ed25519",
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh)
    os.replace(tmp, path)
    return True


@lru_cache
def get_keyring() -> KeyRing:
    data_dir = get_settings().data_dir
    ensure_keyring(data_dir)
    doc = json.loads(_keys_path(data_dir).read_text())
    return KeyRing(
        data_key=base64.b64decode(doc["data_key"]),
        lookup_key=base64.b64decode(doc["lookup_key"]),
        signing_key=Ed25519PrivateKey.from_private_bytes(base64.b64decode(doc["signing_key"])),
        key_id=doc["key_id"],
    )


def sm4_encrypt(plaintext: str, key: bytes | None = None) -> str:
    key = key or get_keyring().data_key
    nonce = os.urandom(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    ct = enc.update(plaintext.encode()) + enc.finalize()
    return "sm4gcm:" + base64.b64encode(nonce + enc.tag + ct).decode()


def sm4_encrypt_many(plaintexts: Sequence[str], key: bytes | None = None) -> list[str]:
    """``sm4_encrypt`` of each text — the same format, a fresh random nonce for each — with one
    draw of randomness for all the nonces and one key object: a fifth cheaper a value, for the
    columns of a batch. Nothing is kept between calls (no nonce can be handed out twice)."""
    if not plaintexts:
        return []
    algorithm = algorithms.SM4(key or get_keyring().data_key)
    nonces = os.urandom(12 * len(plaintexts))
    gcm, encode = modes.GCM, binascii.b2a_base64
    out = []
    for i, text in enumerate(plaintexts):
        nonce = nonces[12 * i:12 * i + 12]
        enc = Cipher(algorithm, gcm(nonce)).encryptor()
        ct = enc.update(text.encode()) + enc.finalize()
        out.append("sm4gcm:" + encode(nonce + enc.tag + ct, newline=False).decode())
    return out


def sm4_decrypt(token: str, key: bytes | None = None) -> str:
    key = key or get_keyring().data_key
    if not token.startswith("sm4gcm:"):
        raise ValueError("not an SM4-GCM token")
    raw = base64.b64decode(token[7:])
    nonce, tag, ct = raw[:12], raw[12:28], raw[28:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    return (dec.update(ct) + dec.finalize()).decode()


class KeyedHash:
    """HMAC-SM3 under a fixed key, with the keyed state prepared once (OpenSSL)."""

    __slots__ = ("_base",)

    def __init__(self, key: bytes) -> None:
        base = hmac.new(key, digestmod="sm3")
        self._base = getattr(base, "_hmac", None) or base  # the OpenSSL object itself: cheaper copies

    def hex(self, data: str | bytes) -> str:
        h = self._base.copy()
        h.update(data.encode() if isinstance(data, str) else data)
        return h.hexdigest()

    def hex_many(self, texts: list[str]) -> list[str]:
        """``hex`` of each text (one loop, no call per text)."""
        copy = self._base.copy
        out = []
        for text in texts:
            h = copy()
            h.update(text.encode())
            out.append(h.hexdigest())
        return out

    def blind_index(self, value: str) -> str:
        """Keyed SM3 hash of a personal identifier (trimmed, upper case), for look-up without decrypting."""
        return self.hex(value.strip().upper())


@lru_cache(maxsize=4)
def _keyed_hash(key: bytes) -> KeyedHash:
    return KeyedHash(key)


def blind_index(value: str) -> str:
    """Keyed SM3 hash of a personal identifier, for look-up without decrypting (``hmac_sm3``)."""
    return _keyed_hash(get_keyring().lookup_key).blind_index(value)


def sign(data: bytes) -> dict[str, str]:
    ring = get_keyring()
    return {
        "alg": "Ed25519",
        "kid": ring.key_id,
        "sig": base64.b64encode(ring.signing_key.sign(data)).decode(),
    }


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


__all__ = [
    "sm3", "sm3_hex", "hmac_sm3", "token_hash", "new_token", "KeyRing", "ensure_keyring", "get_keyring",
    "sm4_encrypt", "sm4_decrypt", "blind_index", "sign", "constant_time_equal",
]
