"""``fincredit ledger verify`` catches rows edited, deleted or swapped directly in the database, and
``fincredit ledger verify-receipt`` rejects any single-byte change to a receipt."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from fincredit.cli import app
from fincredit.crypto import get_keyring
from fincredit.db import session_scope
from fincredit.ledger import service
from fincredit.ledger.verifier import verify_file

ENT = "enterprise:91320000MA1XXXXX0A"
runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def log(db) -> int:
    with session_scope() as s:
        service.append_many(s, [("disclosure", {"n": i, "what": "基本信息"}, [ENT]) for i in range(5)])
        service.issue_checkpoint(s)
        service.append_many(s, [("disclosure", {"n": i, "what": "基本信息"}, [ENT]) for i in range(5, 12)])
        service.issue_checkpoint(s)
        service.append_many(s, [("authorization.granted", {"n": i}, [ENT, "institution:1"])
                                for i in range(12, 21)])
        service.issue_checkpoint(s)
    return 21


@pytest.fixture(params=["cli", "2", "3", "2x2"])
def chunk_level(request: pytest.FixtureRequest) -> str:
    """The command itself, and the audit with tiny chunks (``level`` or ``level x workers``) so that its
    fast path, in this process and in worker processes, sees these small logs."""
    return request.param


def verify(chunk_level: str = "cli") -> tuple[int, dict, str]:
    if chunk_level == "cli":
        result = runner.invoke(app, ["ledger", "verify", "--json"])
        lines = [ln for ln in result.stdout.splitlines() if ln.startswith("{")]
        return result.exit_code, json.loads(lines[-1]) if lines else {}, result.output
    from fincredit.ledger.audit import audit
    from fincredit.ledger.verifier import key_id

    ring = get_keyring()
    with session_scope() as s:
        level, _, workers = chunk_level.partition("x")
        report = audit(s.connection(), {key_id(ring.public_key.public_bytes_raw()): ring.public_key},
                       chunk_level=int(level), workers=int(workers or 1))
    return (0 if report.ok else 1), report.to_dict(), ""


def tamper(sql: str, **params: object) -> None:
    with session_scope() as s:
        s.execute(text(sql), params)


def test_intact_log_verifies(log, chunk_level) -> None:
    code, report, output = verify(chunk_level)
    assert code == 0, output
    assert report["ok"] and report["size"] == 21 and report["checkpoints"] == 3
    assert chunk_level != "cli" or "账本完整" in output


def test_edited_payload_is_caught(log, chunk_level) -> None:
    tamper("UPDATE ledger_entries SET body = replace(body, :old, :new) WHERE entry_index = 7",
           old='"n":7', new='"n":8')
    code, report, output = verify(chunk_level)
    assert code == 1
    assert report["problem"]["index"] == 7 and report["problem"]["detail"] == "leaf hash mismatch"
    assert chunk_level != "cli" or "#7" in output


def test_edited_payload_with_recomputed_leaf_hash_is_caught(log, chunk_level) -> None:
    from fincredit.ledger.merkle import SM3

    with session_scope() as s:
        body = s.execute(text("SELECT body FROM ledger_entries WHERE entry_index = 15")).scalar_one()
        forged = body.replace('"n":15', '"n":99')
        s.execute(text("UPDATE ledger_entries SET body = :b, leaf_hash = :h WHERE entry_index = 15"),
                  {"b": forged, "h": SM3.leaf(forged.encode())})
    code, report, _ = verify(chunk_level)
    assert code == 1 and report["problem"]["index"] == 14  # node (1, 7) covers entries 14–15


def test_deleted_row_is_caught(log, chunk_level) -> None:
    tamper("DELETE FROM ledger_entries WHERE entry_index = 4")
    code, report, output = verify(chunk_level)
    assert code == 1 and report["problem"]["index"] == 4
    assert "缺失" in report["problem"]["reason"]


def test_deleted_last_row_is_caught(log, chunk_level) -> None:
    tamper("DELETE FROM ledger_entries WHERE entry_index = 20")
    code, report, _ = verify(chunk_level)
    assert code == 1 and report["problem"]["index"] == 20


@pytest.mark.parametrize("variant", ["index", "content"])
def test_swapped_rows_are_caught(log, variant, chunk_level) -> None:
    if variant == "index":  # reorder: the two rows exchange their positions
        tamper("UPDATE ledger_entries SET entry_index = -1 WHERE entry_index = 3")
        tamper("UPDATE ledger_entries SET entry_index = 3 WHERE entry_index = 9")
        tamper("UPDATE ledger_entries SET entry_index = 9 WHERE entry_index = -1")
    else:  # the rows keep their positions but exchange bytes and leaf hashes
        tamper("""UPDATE ledger_entries SET
                    body = CASE entry_index WHEN 3 THEN (SELECT body FROM ledger_entries WHERE entry_index = 9)
                                            ELSE (SELECT body FROM ledger_entries WHERE entry_index = 3) END,
                    leaf_hash = CASE entry_index
                        WHEN 3 THEN (SELECT leaf_hash FROM ledger_entries WHERE entry_index = 9)
                        ELSE (SELECT leaf_hash FROM ledger_entries WHERE entry_index = 3) END
                  WHERE entry_index IN (3, 9)""")
    code, report, _ = verify(chunk_level)
    assert code == 1 and report["problem"]["index"] == 3


def test_edited_node_is_caught(log, chunk_level) -> None:
    tamper("UPDATE ledger_nodes SET hash = :h WHERE level = 2 AND node_index = 1", h=b"\x00" * 32)
    code, report, _ = verify(chunk_level)
    assert code == 1 and report["problem"]["index"] == 4  # node (2, 1) covers entries 4–7


def test_edited_head_frontier_is_caught(log, chunk_level) -> None:
    # The head's copy of the compact range is what the next append builds on.
    tamper("UPDATE ledger_head SET frontier = :f WHERE id = 1", f=b"\x00" * 96)  # 21 = 10101b: 3 hashes
    code, report, _ = verify(chunk_level)
    assert code == 1 and report["problem"]["detail"] == "head frontier mismatch"


def test_edited_checkpoint_is_caught(log, chunk_level) -> None:
    tamper("UPDATE ledger_checkpoints SET root_hash = CASE WHEN substr(root_hash, 1, 1) = 'f' THEN '0' "
           "ELSE 'f' END || substr(root_hash, 2) WHERE tree_size = 21")
    code, report, _ = verify(chunk_level)
    assert code == 1 and "签名无效" in report["problem"]["reason"]


def test_verify_receipt_offline_and_single_byte_changes(log, tmp_path) -> None:
    with session_scope() as s:
        receipt = service.receipt(s, 16)
    path = tmp_path / "receipt.json"
    raw = json.dumps(receipt, ensure_ascii=False, indent=1).encode()
    path.write_bytes(raw)
    key = get_keyring().public_key_b64()

    # A subprocess with no database and an empty data directory: nothing may be created.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINCREDIT_")}
    empty = tmp_path / "nowhere"
    env["FINCREDIT_DATA_DIR"] = str(empty)
    env["FINCREDIT_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    done = subprocess.run(["uv", "run", "--offline", "fincredit", "ledger", "verify-receipt", str(path),
                           "--public-key", key, "--json"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["indexes"] == [16]
    assert not empty.exists()

    # Every single-byte change that keeps the file parseable must fail (the rest fail to parse).
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(raw[:40] + bytes([raw[40] ^ 1]) + raw[41:])
    result = runner.invoke(app, ["ledger", "verify-receipt", str(tampered), "--public-key", key])
    assert result.exit_code == 1 and "核验失败" in result.output
    accepted = []
    for position in range(len(raw)):
        for replacement in {raw[position] ^ 1, ord("0") if raw[position] != ord("0") else ord("1")}:
            mutated = raw[:position] + bytes([replacement]) + raw[position + 1:]
            try:
                doc = json.loads(mutated)
            except ValueError:
                continue
            if doc == receipt:
                continue  # e.g. whitespace: the same document
            tampered.write_bytes(mutated)
            if verify_file(tampered, key).ok:
                accepted.append(mutated[max(0, position - 30):position + 10])
    assert accepted == []


def test_verify_receipt_key_pinning(log, tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    with session_scope() as s:
        receipt = service.receipt(s, 2)
    path = tmp_path / "r.json"
    path.write_text(json.dumps(receipt))
    result = runner.invoke(app, ["ledger", "verify-receipt", str(path)])
    assert result.exit_code == 0 and "固定平台公钥" in result.output  # embedded key only: a warning
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    import base64

    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps({"alg": "Ed25519", "kid": "x", "key": base64.b64encode(other).decode()}))
    result = runner.invoke(app, ["ledger", "verify-receipt", str(path), "--public-key-file", str(key_file)])
    assert result.exit_code == 1 and "differs" in result.output
    del receipt["public_key"]
    path.write_text(json.dumps(receipt))
    assert runner.invoke(app, ["ledger", "verify-receipt", str(path)]).exit_code == 1
    key_file.write_text(get_keyring().public_key_b64())
    result = runner.invoke(app, ["ledger", "verify-receipt", str(path), "--public-key-file", str(key_file)])
    assert result.exit_code == 0, result.output
