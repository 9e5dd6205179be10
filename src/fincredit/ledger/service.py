"""The tamper-evident ledger (防篡改账本): an append-only RFC 9162 Merkle log with SM3 and signed checkpoints.

Service API for other capabilities
----------------------------------
``append(session, kind, payload, parties) -> LedgerEntry``
    Appends one entry inside the caller's transaction. It flushes but never commits: when the caller
    rolls back, the entry disappears with its index (no gap). When it raises, the caller must let the
    exception propagate so that its own action is rolled back too (fail closed). It takes the ledger's
    append lock until the transaction ends, so call it late in the unit of work.
    ``kind`` is a short dotted name (``disclosure``, ``authorization.granted``, ``batch.accepted``,
    ``evidence.notarized`` …); ``payload`` a JSON object; ``parties`` strings such as
    ``"enterprise:<USCC>"``, ``"institution:<id>"``, ``"provider:<code>"``, ``"platform:<id>"`` or
    ``"admin"`` — the parties may later fetch the entry's proof.
``append_many(session, items) -> list[AppendedEntry]``
    The same for many ``(kind, payload, parties)`` tuples (or ``EntryInput``) under one lock; returns
    light records (``index``, ``kind``, ``body``, ``leaf_hash``, ``created_at``, ``document``).
``prepare(items) -> list[Fragment]``
    Validates and serializes entries ahead of the append (``append_many`` accepts the fragments):
    what another thread appends is prepared by the thread that asks for it.
``ledger.group`` (group commit)
    On PostgreSQL disclosures are appended by one appender thread per process (``group.submit``), which
    records every request queued while its previous group was committing — their own writes, then ONE
    ``append_many`` of all their entries in queue order — in one transaction, and resolves each request's
    future only after the commit: one lock acquisition and one commit per group, not per disclosure.
``receipt(session, index) -> dict``
    A self-contained receipt (kind ``fincredit.ledger.receipt``) that ``fincredit ledger verify-receipt``
    checks offline.
``evidence_bundle(session, indexes) -> dict``
    Several entries proven against one checkpoint (kind ``fincredit.ledger.evidence_bundle``). The
    format refuses unknown fields: what a bundle should prove (file hashes, titles) goes into the
    entries' payloads.
``inclusion_proof``, ``consistency_proof``, ``issue_checkpoint``, ``issue_checkpoint_if_due``
    (the worker calls the latter every few seconds), ``can_access(principal, entry)``.

Entry bytes (what the leaf hash covers): canonical JSON (sorted keys, no spaces, UTF-8) of
``{"index", "kind", "parties", "payload", "timestamp"}``; timestamps are UTC RFC 3339 with microseconds.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fincredit.auth.models import Role
from fincredit.auth.service import Principal
from fincredit.crypto import get_keyring, sign
from fincredit.db import as_utc, utcnow
from fincredit.errors import BadRequest, DomainError, NotFound, PayloadTooLarge, Unprocessable
from fincredit.ledger import merkle, repository
from fincredit.ledger.merkle import CHECKPOINT_ORIGIN, SM3, CompactRange, ProofError, canonical_json
from fincredit.ledger.models import LedgerCheckpoint, LedgerEntry

HASHER = SM3
RECEIPT_KIND = "fincredit.ledger.receipt"
BUNDLE_KIND = "fincredit.ledger.evidence_bundle"
FORMAT_VERSION = 1
MAX_ENTRY_BYTES = 256 * 1024
MAX_BUNDLE_ENTRIES = 1000

_KIND_RE = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_PARTY_RE = re.compile(r"^(admin|(enterprise|institution|provider|platform):[^\s:][^\s]{0,99})$")


class LedgerIntegrityError(DomainError):
    """The stored log contradicts itself; nothing is served or appended on top of it."""

    status_code = 500
    code = "ledger_integrity_error"


@dataclass(frozen=True)
class EntryInput:
    kind: str
    payload: dict[str, Any]
    parties: list[str]


@dataclass(frozen=True)
class AppendedEntry:
    """What ``append_many`` returns for each entry (lighter than an ORM object for large batches)."""

    index: int
    kind: str
    body: str
    leaf_hash: bytes
    created_at: dt.datetime

    @property
    def document(self) -> dict[str, Any]:
        return json.loads(self.body)


def format_timestamp(value: dt.datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Fragment:
    """An entry validated and serialized but for its index and timestamp (``prepare``)."""

    kind: str
    middle: bytes


Item = EntryInput | tuple[str, dict[str, Any], list[str]] | Fragment


def prepare(items: Iterable[Item]) -> list[Fragment]:
    """Validate and serialize entries ahead of the append (e.g. in the requesting thread, when another
    thread appends them: the group appender gets only what is left to do under the lock)."""
    return [_fragments(item) for item in items]


def _fragments(item: Item) -> Fragment:
    """Validate one entry and serialize everything but its index and timestamp, before the lock is taken:
    once indexes are reserved nothing may fail for a reason the caller could have avoided."""
    if isinstance(item, Fragment):
        return item
    kind, payload, parties = (item.kind, item.payload, item.parties) if isinstance(item, EntryInput) else item
    if not isinstance(kind, str) or not _KIND_RE.match(kind):
        raise Unprocessable(f"账本条目类型无效：{kind!r}", code="ledger_invalid_kind")
    if not isinstance(payload, dict):
        raise Unprocessable("账本条目内容必须是 JSON 对象", code="ledger_invalid_payload")
    if isinstance(parties, str) or not all(isinstance(p, str) and _PARTY_RE.match(p) for p in parties):
        raise Unprocessable(f"账本条目当事方格式无效：{parties!r}", code="ledger_invalid_parties")
    try:
        payload_json = canonical_json(payload)
    except (TypeError, ValueError) as exc:
        raise Unprocessable(f"账本条目内容无法序列化为 JSON：{exc}", code="ledger_invalid_payload") from exc
    # The keys of an entry, sorted: index, kind, parties, payload, timestamp.
    middle = (b',"kind":' + canonical_json(kind) + b',"parties":' + canonical_json(sorted(set(parties)))
              + b',"payload":' + payload_json + b',"timestamp":')
    if len(middle) > MAX_ENTRY_BYTES - 64:
        raise PayloadTooLarge(f"账本条目超过 {MAX_ENTRY_BYTES} 字节", code="ledger_entry_too_large")
    return Fragment(kind, middle)


def _prepare_rows(session: Session, items: Iterable[Item],
                  lock_with: Sequence[repository.Write] = ()
                  ) -> tuple[list[dict[str, Any]], list[tuple[int, int, bytes]], list[repository.Write]]:
    """Take the append lock, assign indexes and the timestamp, hash the leaves and the new nodes; returns
    the rows, the nodes and the head's new compact range (a write to send with them).

    Everything that does not need the indexes is done before the lock (``_fragments``); the statement
    that takes it also returns the tree's compact range, so the lock is held for that statement, the
    insert and the caller's commit (nodes are read from the tables only when the head's copy is stale)."""
    prepared = [_fragments(item) for item in items]
    if not prepared:
        for stmt, params in lock_with:
            session.execute(stmt, params)
        return [], [], []
    start, frontier = repository.reserve_indexes(session, len(prepared), lock_with)
    hash_size = HASHER.size
    if frontier is not None and len(frontier) == hash_size * bin(start).count("1"):
        compact = CompactRange(HASHER, start, [frontier[i:i + hash_size] for i in range(0, len(frontier), hash_size)])
    else:
        compact = _compact_range(session, start)
    now = utcnow()
    tail = b'"' + format_timestamp(now).encode() + b'"}'
    rows: list[dict[str, Any]] = []
    nodes: list[tuple[int, int, bytes]] = []
    leaf_of, add_leaf = HASHER.leaf, compact.append
    for index, fragment in enumerate(prepared, start):
        kind, body = fragment.kind, b'{"index":%d' % index + fragment.middle + tail
        leaf = leaf_of(body)
        nodes.extend(add_leaf(leaf))
        rows.append({"index": index, "kind": kind, "body": body.decode(), "leaf_hash": leaf, "created_at": now})
    return rows, nodes, [repository.frontier_write(b"".join(compact.hashes()), compact.size)]


def append(session: Session, kind: str, payload: dict[str, Any], parties: list[str]) -> LedgerEntry:
    """Append one entry within the caller's transaction (flush, never commit)."""
    rows, nodes, head = _prepare_rows(session, [EntryInput(kind, payload, parties)])
    entry = LedgerEntry(**rows[0])
    repository.add_entry(session, entry)
    repository.add_nodes(session, nodes)
    session.flush()
    for stmt, params in head:
        session.execute(stmt, params)
    return entry


def append_many(session: Session, items: Iterable[Item], *,
                lock_with: Sequence[repository.Write] = (),
                insert_with: Callable[[list[AppendedEntry]], Sequence[repository.Write]] | None = None
                ) -> list[AppendedEntry]:
    """Append entries in order under one lock (flush, never commit); returns them with their indexes.

    Fewer round trips for callers that write rows of their own with the entries: ``lock_with`` are
    writes (``(statement, parameters)``, see ``repository.Write``: inserts, updates) executed with the
    index reservation, ``insert_with`` is called with the appended entries and returns writes executed
    with the entries' insert (on PostgreSQL each group is one statement, with data-modifying CTEs).
    All in the caller's transaction. The lock is held from the reservation to the caller's commit:
    commit right after.
    """
    rows, nodes, head = _prepare_rows(session, items, lock_with)
    entries = [AppendedEntry(**row) for row in rows]
    writes = [*head, *(insert_with(entries) if insert_with else ())]
    repository.insert_appended(session, rows, nodes, writes)
    return entries


def _lookup(session: Session, ids: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
    found = repository.load_nodes(session, ids)
    missing = [node for node in ids if node not in found]
    if missing:
        raise LedgerIntegrityError(f"账本缺少节点哈希 {missing[:3]}，请运行 fincredit ledger verify",
                                   details={"missing": [list(n) for n in missing[:10]]})
    return found


def _compact_range(session: Session, size: int) -> CompactRange:
    ids = CompactRange.node_ids(size)
    found = _lookup(session, ids)
    return CompactRange(HASHER, size, [found[node] for node in ids])


def tree_size(session: Session) -> int:
    return repository.head_size(session)


def tree_root(session: Session, size: int) -> bytes:
    return _compact_range(session, size).root()


# --- checkpoints ------------------------------------------------------------------------------

def issue_checkpoint(session: Session) -> LedgerCheckpoint:
    """Sign the current tree head (size, root, time) with the platform key."""
    size = repository.head_size(session)
    root_hex = tree_root(session, size).hex()
    timestamp = format_timestamp(utcnow())
    message = merkle.checkpoint_message(size=size, root_hex=root_hex, timestamp=timestamp,
                                        hash_alg=HASHER.name)
    signature = sign(message)
    return repository.add_checkpoint(session, LedgerCheckpoint(
        tree_size=size, root_hash=root_hex, hash_alg=HASHER.name, timestamp=timestamp,
        alg=signature["alg"], kid=signature["kid"], signature=signature["sig"]))


def issue_checkpoint_if_due(session: Session, max_age_seconds: float = 2.0) -> LedgerCheckpoint | None:
    """Issue a checkpoint when none exists, or when entries arrived and the latest is older than the
    maximum age. Returns the new checkpoint, or None when the latest one is still current."""
    latest = repository.latest_checkpoint(session)
    if latest is None:
        return issue_checkpoint(session)
    if repository.head_size(session) <= latest.tree_size:
        return None
    age = (utcnow() - as_utc(latest.issued_at)).total_seconds()
    return issue_checkpoint(session) if age >= max_age_seconds else None


def current_checkpoint(session: Session) -> LedgerCheckpoint:
    """The latest checkpoint, issuing a fresh one when due (at most ~2 s old while entries arrive)."""
    return issue_checkpoint_if_due(session) or repository.latest_checkpoint(session) or issue_checkpoint(session)


def checkpoint_covering(session: Session, index: int) -> LedgerCheckpoint:
    latest = repository.latest_checkpoint(session)
    if latest is not None and latest.tree_size > index:
        return latest
    return issue_checkpoint(session)


def checkpoint_dict(checkpoint: LedgerCheckpoint) -> dict[str, Any]:
    return {
        "origin": CHECKPOINT_ORIGIN,
        "size": checkpoint.tree_size,
        "root": checkpoint.root_hash,
        "timestamp": checkpoint.timestamp,
        "hash_alg": checkpoint.hash_alg,
        "signature": {"alg": checkpoint.alg, "kid": checkpoint.kid, "sig": checkpoint.signature},
    }


def public_key_info() -> dict[str, str]:
    ring = get_keyring()
    return {"alg": "Ed25519", "kid": ring.key_id, "key": ring.public_key_b64()}


# --- proofs -----------------------------------------------------------------------------------

def get_entry(session: Session, index: int) -> LedgerEntry:
    entry = repository.get_entry(session, index) if 0 <= index < 2**62 else None
    if entry is None:
        raise NotFound(f"账本条目 #{index} 不存在", code="ledger_entry_not_found")
    return entry


def can_access(principal: Principal, entry: LedgerEntry) -> bool:
    """Admins and the entry's parties (as written in the hashed bytes, not a mutable column)."""
    if principal.role == Role.admin:
        return True
    prefix = "institution" if principal.role == Role.platform else principal.role.value
    parties = set(entry.parties)
    return f"{prefix}:{principal.subject}" in parties or f"{principal.role.value}:{principal.subject}" in parties


def _entry_item(entry: LedgerEntry, proof: list[bytes]) -> dict[str, Any]:
    body = entry.body.encode()
    return {
        "index": entry.index,
        "entry_b64": base64.b64encode(body).decode(),
        "entry": entry.document,
        "leaf_hash": bytes(entry.leaf_hash).hex(),
        "inclusion_proof": [h.hex() for h in proof],
    }


def _inclusion_items(session: Session, entries: Sequence[LedgerEntry],
                     checkpoint: LedgerCheckpoint) -> list[dict[str, Any]]:
    size = checkpoint.tree_size
    ranges = {e.index: merkle.inclusion_ranges(e.index, size) for e in entries}
    lookup = _lookup(session, merkle.nodes_for_ranges(r for rs in ranges.values() for r in rs))
    root = bytes.fromhex(checkpoint.root_hash)
    items = []
    for entry in entries:
        proof = merkle.hash_ranges(HASHER, ranges[entry.index], lookup)
        leaf = HASHER.leaf(entry.body.encode())
        try:  # serve nothing that would not verify: a tampered store fails closed here
            merkle.verify_inclusion(HASHER, entry.index, size, leaf, proof, root)
        except ProofError as exc:
            raise LedgerIntegrityError(f"账本条目 #{entry.index} 的包含证明无法验证，请运行 fincredit ledger verify",
                                       details={"index": entry.index, "reason": str(exc)}) from exc
        items.append(_entry_item(entry, proof))
    return items


def inclusion_proof(session: Session, index: int) -> dict[str, Any]:
    """The entry and its inclusion proof against the latest checkpoint that covers it."""
    entry = get_entry(session, index)
    checkpoint = checkpoint_covering(session, index)
    item = _inclusion_items(session, [entry], checkpoint)[0]
    return {**item, "tree_size": checkpoint.tree_size, "hash_alg": HASHER.name,
            "checkpoint": checkpoint_dict(checkpoint)}


def consistency_proof(session: Session, first: int, second: int) -> dict[str, Any]:
    size = repository.head_size(session)
    if not 0 <= first <= second <= size:
        raise BadRequest(f"树大小须满足 0 ≤ first ≤ second ≤ {size}", code="ledger_invalid_tree_sizes")
    ranges = merkle.consistency_ranges(first, second)
    lookup = _lookup(session, merkle.nodes_for_ranges(ranges))
    proof = merkle.hash_ranges(HASHER, ranges, lookup)
    first_root, second_root = tree_root(session, first), tree_root(session, second)
    try:
        merkle.verify_consistency(HASHER, first, second, proof, first_root, second_root)
    except ProofError as exc:
        raise LedgerIntegrityError("账本一致性证明无法验证，请运行 fincredit ledger verify",
                                   details={"reason": str(exc)}) from exc
    cps = {n: repository.checkpoint_for_size(session, n) for n in (first, second)}
    return {
        "first": first, "second": second, "hash_alg": HASHER.name,
        "first_root": first_root.hex(), "second_root": second_root.hex(),
        "proof": [h.hex() for h in proof],
        "first_checkpoint": checkpoint_dict(cps[first]) if cps[first] else None,
        "second_checkpoint": checkpoint_dict(cps[second]) if cps[second] else None,
    }


def receipt(session: Session, index: int) -> dict[str, Any]:
    """A self-contained receipt of one entry, verifiable offline (``fincredit ledger verify-receipt``)."""
    entry = get_entry(session, index)
    checkpoint = checkpoint_covering(session, index)
    item = _inclusion_items(session, [entry], checkpoint)[0]
    return {"kind": RECEIPT_KIND, "version": FORMAT_VERSION, "hash_alg": HASHER.name, **item,
            "tree_size": checkpoint.tree_size, "checkpoint": checkpoint_dict(checkpoint),
            "public_key": public_key_info()}


def evidence_bundle(session: Session, indexes: Sequence[int]) -> dict[str, Any]:
    """Several entries, each with its inclusion proof against one signed checkpoint."""
    wanted = sorted(set(indexes))
    if not wanted or len(wanted) > MAX_BUNDLE_ENTRIES:
        raise BadRequest(f"证据包须包含 1 至 {MAX_BUNDLE_ENTRIES} 个条目", code="ledger_bundle_size")
    entries = repository.get_entries(session, wanted)
    if len(entries) != len(wanted):
        missing = sorted(set(wanted) - {e.index for e in entries})
        raise NotFound(f"账本条目 #{missing[0]} 不存在", code="ledger_entry_not_found")
    checkpoint = checkpoint_covering(session, wanted[-1])
    return {"kind": BUNDLE_KIND, "version": FORMAT_VERSION, "hash_alg": HASHER.name,
            "tree_size": checkpoint.tree_size, "checkpoint": checkpoint_dict(checkpoint),
            "public_key": public_key_info(), "entries": _inclusion_items(session, entries, checkpoint)}
