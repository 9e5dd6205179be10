"""The offline verifier on documents built here with an in-memory tree and a throw-away key: no
database, no settings."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fincredit.ledger import merkle
from fincredit.ledger.merkle import SM3, CompactRange
from fincredit.ledger.verifier import BUNDLE_KIND, RECEIPT_KIND, key_id, verify_document, verify_file


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Log:
    def __init__(self, n: int) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.raw_key = self.key.public_key().public_bytes_raw()
        self.bodies = [merkle.canonical_json({"index": i, "kind": "disclosure", "parties": ["admin"],
                                              "payload": {"n": i}, "timestamp": "2025-01-01T00:00:00.000000Z"})
                       for i in range(n)]
        self.nodes: dict[merkle.NodeId, bytes] = {}
        compact = CompactRange(SM3)
        for i, body in enumerate(self.bodies):
            leaf = SM3.leaf(body)
            self.nodes[(0, i)] = leaf
            self.nodes.update({(lv, ix): h for lv, ix, h in compact.append(leaf)})
        self.size, self.root = n, compact.root()

    def checkpoint(self) -> dict:
        cp = {"origin": merkle.CHECKPOINT_ORIGIN, "size": self.size, "root": self.root.hex(),
              "timestamp": "2025-01-01T00:00:01.000000Z", "hash_alg": "sm3"}
        message = merkle.checkpoint_message(size=self.size, root_hex=cp["root"], timestamp=cp["timestamp"],
                                            hash_alg="sm3")
        cp["signature"] = {"alg": "Ed25519", "kid": key_id(self.raw_key), "sig": _b64(self.key.sign(message))}
        return cp

    def item(self, index: int) -> dict:
        proof = merkle.hash_ranges(SM3, merkle.inclusion_ranges(index, self.size), self.nodes)
        return {"index": index, "entry_b64": _b64(self.bodies[index]), "entry": json.loads(self.bodies[index]),
                "leaf_hash": SM3.leaf(self.bodies[index]).hex(), "inclusion_proof": [h.hex() for h in proof]}

    def common(self) -> dict:
        return {"version": 1, "hash_alg": "sm3", "tree_size": self.size, "checkpoint": self.checkpoint(),
                "public_key": {"alg": "Ed25519", "kid": key_id(self.raw_key), "key": _b64(self.raw_key)}}

    def receipt(self, index: int) -> dict:
        return {"kind": RECEIPT_KIND, **self.common(), **self.item(index)}

    def bundle(self, *indexes: int) -> dict:
        return {"kind": BUNDLE_KIND, **self.common(), "entries": [self.item(i) for i in indexes]}


@pytest.fixture(scope="module")
def log() -> Log:
    return Log(11)


def test_receipts_for_every_entry_verify(log: Log) -> None:
    pinned = _b64(log.raw_key)
    for index in range(log.size):
        result = verify_document(log.receipt(index), pinned)
        assert result.ok and result.key_pinned and result.indexes == [index], result.error


def test_bundle_verifies_and_each_part_matters(log: Log) -> None:
    pinned = _b64(log.raw_key)
    good = log.bundle(0, 5, 10)
    assert verify_document(good, pinned).ok

    def broken(change) -> str:  # type: ignore[no-untyped-def]
        doc = copy.deepcopy(good)
        change(doc)
        result = verify_document(doc, pinned)
        assert not result.ok
        return result.error

    assert "not in the signed tree" in broken(lambda d: d["entries"][1]["inclusion_proof"].pop())
    assert "another index" in broken(lambda d: d["entries"][1].update(index=6))
    assert "readable entry" in broken(lambda d: d["entries"][2]["entry"]["payload"].update(n=99))
    assert "unknown fields" in broken(lambda d: d.update(context={"title": "x"}))
    assert "unknown fields" in broken(lambda d: d["checkpoint"].update(note="x"))
    assert "non-empty" in broken(lambda d: d.update(entries=[]))
    assert "signature is invalid" in broken(lambda d: d["checkpoint"].update(size=12))
    assert "unknown document kind" in broken(lambda d: d.update(kind="receipt"))
    assert "unsupported version" in broken(lambda d: d.update(version=2))
    assert "base64" in broken(lambda d: d["entries"][0].update(entry_b64=d["entries"][0]["entry_b64"] + "\n"))
    # The same bytes under a non-canonical encoding (different unused padding bits) are refused too.
    # Flipping a bit of a random signature gives either non-canonical or invalid base64; both refused.
    assert "base64" in broken(lambda d: d["checkpoint"]["signature"].update(
        sig=d["checkpoint"]["signature"]["sig"][:-3] + chr(ord(d["checkpoint"]["signature"]["sig"][-3]) ^ 1) + "=="))


def test_a_forger_with_an_own_key_is_caught_only_by_pinning(log: Log) -> None:
    forger = Log(11)
    forged = forger.receipt(3)  # self-consistent, signed and embedding the forger's key
    assert verify_document(forged).ok and not verify_document(forged).key_pinned
    result = verify_document(forged, _b64(log.raw_key))
    assert not result.ok and "differs from the pinned" in result.error
    del forged["public_key"]
    result = verify_document(forged, _b64(log.raw_key))
    assert not result.ok and "signed by key" in result.error
    assert "no public key" in verify_document(forged).error


def test_verify_file_reports_unreadable_files(tmp_path) -> None:
    assert "cannot read" in verify_file(tmp_path / "missing.json").error
    (tmp_path / "x.json").write_text("not json")
    assert "not a JSON document" in verify_file(tmp_path / "x.json").error


def test_verifier_imports_no_database_web_or_settings_code() -> None:
    code = ("import sys, fincredit.ledger.verifier; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'fastapi', 'pydantic', 'pydantic_settings', 'typer') or m in "
            "('fincredit.db', 'fincredit.settings', 'fincredit.crypto')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_module_entry_point(log: Log, tmp_path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(log.bundle(1, 2)))
    key_file = tmp_path / "key.txt"
    key_file.write_text(_b64(log.raw_key) + "\n")
    done = subprocess.run([sys.executable, "-m", "fincredit.ledger.verifier", str(path), "--public-key-file",
                           str(key_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["indexes"] == [1, 2]
