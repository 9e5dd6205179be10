"""The ledger service on a real, migrated database: appends, transactions, checkpoints, proofs."""

from __future__ import annotations

import base64
import json
import threading

import pytest
from sqlalchemy import bindparam, func, select, update
from sqlalchemy import insert as sa_insert

from fincredit.crypto import get_keyring
from fincredit.db import utcnow
from fincredit.errors import BadRequest, NotFound, Unprocessable
from fincredit.ledger import merkle, service
from fincredit.ledger.merkle import SM3
from fincredit.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerHead, LedgerNode
from fincredit.ledger.verifier import verify_document

ENT = "enterprise:91320000MA1XXXXX0A"


def fill(session, n: int, start: int = 0) -> list[LedgerEntry]:
    entries = service.append_many(session, [
        ("disclosure", {"n": i, "category": "12", "note": "披露"}, [ENT, f"institution:{i % 3}"])
        for i in range(start, start + n)])
    session.commit()
    return entries


def test_append_assigns_consecutive_indexes_and_canonical_bytes(session) -> None:
    first = service.append(session, "authorization.granted", {"id": 7, "purpose": "pre_loan"},
                           ["institution:3", ENT, ENT])
    second = service.append(session, "batch.accepted", {"sha256": "ab" * 32}, ["provider:P01"])
    session.commit()
    assert (first.index, second.index) == (0, 1)
    doc = json.loads(first.body)
    assert list(doc) == ["index", "kind", "parties", "payload", "timestamp"]
    assert doc["parties"] == sorted({ENT, "institution:3"})
    assert first.body.encode() == merkle.canonical_json(doc)
    assert bytes(first.leaf_hash) == SM3.leaf(first.body.encode())
    assert doc["timestamp"].endswith("Z")


def test_batched_entries_are_canonical_too(session) -> None:
    entries = service.append_many(session, [
        ("evidence.notarized", {"文件": "合同.pdf", "nested": {"z": [1, 2.5, None], "a": True}}, ["admin"]),
        service.EntryInput("disclosure", {}, [ENT]),
    ])
    session.commit()
    for e in entries:
        assert e.body.encode() == merkle.canonical_json(e.document)
        assert e.leaf_hash == SM3.leaf(e.body.encode())
    assert entries[0].document["payload"]["文件"] == "合同.pdf"
    assert service.get_entry(session, 1).body == entries[1].body


def test_oversized_entry_is_refused_before_the_lock(session) -> None:
    from fincredit.errors import PayloadTooLarge

    with pytest.raises(PayloadTooLarge):
        service.append(session, "disclosure", {"blob": "x" * service.MAX_ENTRY_BYTES}, [ENT])
    session.rollback()
    assert service.tree_size(session) == 0


def test_nodes_are_stored_as_subtrees_complete(session) -> None:
    fill(session, 13)
    levels = dict(session.execute(select(LedgerNode.level, func.count()).group_by(LedgerNode.level)).all())
    assert levels == {1: 6, 2: 3, 3: 1}
    assert service.tree_size(session) == 13


def _audit_ok(session) -> bool:
    from fincredit.ledger.audit import audit
    from fincredit.ledger.verifier import key_id

    ring = get_keyring()
    raw = base64.b64decode(ring.public_key_b64())
    return audit(session.connection(), {key_id(raw): ring.public_key}).ok


def test_head_keeps_the_compact_range_and_a_stale_copy_is_not_trusted(session) -> None:
    fill(session, 13)
    head = session.get(LedgerHead, 1)
    expected = service._compact_range(session, 13)  # from the stored nodes and leaves
    assert (head.frontier_size, head.frontier) == (13, b"".join(expected.hashes()))
    # A copy that does not describe the current size (an older writer, a restore) is not used: the
    # append reads the nodes from the tables and writes a current copy again.
    for frontier, size in ((b"\xff" * 64, 12), (None, None)):
        session.execute(update(LedgerHead).values(frontier=frontier, frontier_size=size))
        session.commit()
        fill(session, 3, start=service.tree_size(session))
        session.expire_all()
        head = session.get(LedgerHead, 1)
        n = service.tree_size(session)
        assert head.frontier_size == n and head.frontier == b"".join(service._compact_range(session, n).hashes())
    assert service.tree_size(session) == 19 and _audit_ok(session)


def test_rollback_removes_the_entry_and_its_index(session) -> None:
    fill(session, 3)
    service.append(session, "disclosure", {"x": 1}, [ENT])
    session.rollback()
    again = service.append(session, "disclosure", {"x": 2}, [ENT])
    session.commit()
    assert again.index == 3
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 4


def test_writes_sent_with_an_append_share_its_transaction(session) -> None:
    """``lock_with`` and ``insert_with`` (one statement with the append on PostgreSQL): written with the
    entries, rolled back with them, and the rows written after see the entries' indexes."""
    from fincredit.disclosure.models import OperatorAlert
    from fincredit.ledger import repository

    alerts = OperatorAlert.__table__
    now = utcnow()
    before = repository.template(sa_insert(alerts).values(
        kind="possible_scraping", subject=bindparam("w_before_subject"), message="m", details={}, created_at=now))
    after = repository.template(sa_insert(alerts).values(
        kind="possible_scraping", subject=bindparam("w_after_subject"), message="m", details={}, created_at=now))

    def append(tag: str) -> list[service.AppendedEntry]:
        return service.append_many(
            session, [("disclosure", {"n": i}, [ENT]) for i in range(3)],
            lock_with=[(before, {"w_before_subject": f"{tag}:lock"})],
            insert_with=lambda entries: [(after, {"w_after_subject": f"{tag}:{entries[0].index}-{entries[-1].index}"})])

    fill(session, 2)
    append("gone")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(alerts)) == 0
    entries = append("kept")
    session.commit()
    assert [e.index for e in entries] == [2, 3, 4]
    assert sorted(session.scalars(select(alerts.c.subject))) == ["kept:2-4", "kept:lock"]
    assert service.tree_size(session) == 5
    fresh = merkle.CompactRange(SM3)  # the root recomputed from the stored leaves alone
    for leaf in session.scalars(select(LedgerEntry.leaf_hash).order_by(LedgerEntry.index)):
        fresh.append(bytes(leaf))
    assert service.tree_root(session, 5) == fresh.root()


@pytest.mark.parametrize(("kind", "payload", "parties", "code"), [
    ("", {}, [ENT], "ledger_invalid_kind"),
    ("Bad Kind", {}, [ENT], "ledger_invalid_kind"),
    ("disclosure", ["not", "a", "dict"], [ENT], "ledger_invalid_payload"),
    ("disclosure", {"when": object()}, [ENT], "ledger_invalid_payload"),
    ("disclosure", {"x": float("inf")}, [ENT], "ledger_invalid_payload"),
    ("disclosure", {}, ["bank:1"], "ledger_invalid_parties"),
    ("disclosure", {}, "admin", "ledger_invalid_parties"),
])
def test_invalid_entries_fail_closed(session, kind, payload, parties, code) -> None:
    with pytest.raises(Unprocessable) as info:
        service.append(session, kind, payload, parties)
    assert info.value.code == code
    session.rollback()
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_checkpoint_is_signed_and_issued_when_due(session) -> None:
    cp = service.issue_checkpoint_if_due(session)
    assert cp is not None and cp.tree_size == 0 and cp.root_hash == SM3.empty_root().hex()
    assert service.issue_checkpoint_if_due(session) is None  # nothing new
    fill(session, 5)
    assert service.issue_checkpoint_if_due(session, max_age_seconds=3600) is None  # too recent
    cp = service.issue_checkpoint_if_due(session, max_age_seconds=0)
    assert cp is not None and cp.tree_size == 5
    doc = service.checkpoint_dict(cp)
    message = merkle.checkpoint_message(size=5, root_hex=doc["root"], timestamp=doc["timestamp"], hash_alg="sm3")
    get_keyring().public_key.verify(base64.b64decode(doc["signature"]["sig"]), message)
    assert doc["signature"]["kid"] == get_keyring().key_id


def test_inclusion_proofs_issue_a_covering_checkpoint(session) -> None:
    fill(session, 20)
    service.issue_checkpoint(session)
    fill(session, 7, start=20)
    proof = service.inclusion_proof(session, 25)  # not covered by the size-20 checkpoint
    session.commit()
    assert proof["tree_size"] == 27 and proof["checkpoint"]["size"] == 27
    for index in (0, 13, 19):
        p = service.inclusion_proof(session, index)
        assert p["tree_size"] == 27
        merkle.verify_inclusion(SM3, index, 27, bytes.fromhex(p["leaf_hash"]),
                                [bytes.fromhex(h) for h in p["inclusion_proof"]], bytes.fromhex(p["checkpoint"]["root"]))
    assert session.scalar(select(func.count()).select_from(LedgerCheckpoint)) == 2
    with pytest.raises(NotFound):
        service.inclusion_proof(session, 27)


def test_consistency_between_checkpoints(session) -> None:
    fill(session, 6)
    cp1 = service.issue_checkpoint(session)
    fill(session, 11, start=6)
    cp2 = service.issue_checkpoint(session)
    session.commit()
    doc = service.consistency_proof(session, 6, 17)
    assert doc["first_root"] == cp1.root_hash and doc["second_root"] == cp2.root_hash
    assert doc["first_checkpoint"]["size"] == 6
    merkle.verify_consistency(SM3, 6, 17, [bytes.fromhex(h) for h in doc["proof"]],
                              bytes.fromhex(cp1.root_hash), bytes.fromhex(cp2.root_hash))
    with pytest.raises(BadRequest):
        service.consistency_proof(session, 5, 18)


def test_receipt_and_bundle_verify_offline(session) -> None:
    fill(session, 9)
    receipt = service.receipt(session, 4)
    session.commit()
    pinned = get_keyring().public_key_b64()
    result = verify_document(receipt, pinned)
    assert result.ok and result.key_pinned and result.indexes == [4], result.error
    assert result.entries[0]["payload"]["n"] == 4
    bundle = service.evidence_bundle(session, [7, 2, 2])
    session.commit()
    assert [e["index"] for e in bundle["entries"]] == [2, 7]
    assert verify_document(bundle, pinned).ok
    with pytest.raises(NotFound):
        service.evidence_bundle(session, [1, 99])


def test_concurrent_appenders_get_distinct_consecutive_indexes(db) -> None:
    from fincredit.db import get_sessionmaker

    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                s = get_sessionmaker()()
                try:  # one entry through the ORM, or two with the statement-per-append path
                    if i % 2:
                        service.append_many(s, [("disclosure", {"worker": n, "i": i, "j": j}, [ENT])
                                                for j in range(2)])
                    else:
                        service.append(s, "disclosure", {"worker": n, "i": i}, [ENT])
                    s.commit()
                finally:
                    s.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with get_sessionmaker()() as s:
        indexes = list(s.scalars(select(LedgerEntry.index).order_by(LedgerEntry.index)))
        assert indexes == list(range(88))  # 4 workers × (8 single + 7 double)
        assert service.tree_size(s) == 88
        assert _audit_ok(s)
