"""``fincredit ledger verify``: recompute the whole log from its entries and compare with what is stored.

One pass over the entries in index order, in aligned chunks of 2^k leaves (memory O(2^k + log n)):

- fast path (``audit_chunks``), per complete chunk, optionally in worker processes: indexes, the index
  written in each entry's bytes, the leaf hashes and every level of the chunk's perfect subtree are
  recomputed with list operations and compared with the stored rows; the chunk's root then joins a
  compact-range stack whose merges are compared with the stored nodes above the chunk level;
- slow path, for the last partial chunk, ``--deep``, or any chunk the fast path rejects: entry by entry,
  so that the report names the first bad entry and why;
- at each signed checkpoint's size the recomputed root is compared with the signed root.

Catches an entry edited, deleted, inserted or swapped, a node edited or removed, and a checkpoint
forged or edited.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection

from fincredit.ledger.audit_chunks import ChunkResult, chunk_results, entry_rows, fetch, stored_nodes, stream
from fincredit.ledger.merkle import SM3, Hasher, checkpoint_message, fold
from fincredit.ledger.models import LedgerCheckpoint

CHUNK_LEVEL = 14  # 16,384 leaves per chunk


@dataclass
class Problem:
    index: int | None  # the first bad entry index, when one can be named
    reason: str  # Chinese, for operators
    detail: str = ""  # English/technical


@dataclass
class AuditReport:
    size: int = 0
    checkpoints: int = 0
    seconds: float = 0.0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        problem = None if self.problem is None else vars(self.problem)
        return {"ok": self.ok, "size": self.size, "checkpoints": self.checkpoints,
                "seconds": round(self.seconds, 3), "problem": problem}


class _Found(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _checkpoints(conn: Connection, keys: dict[str, Ed25519PublicKey], hasher: Hasher
                 ) -> tuple[list[tuple[int, int, bytes]], Problem | None]:
    """Validly signed checkpoints as (size, id, root), sorted by size, and the first bad one, if any."""
    rows = fetch(conn, "SELECT id, tree_size, root_hash, hash_alg, timestamp, alg, kid, signature "
                        f"FROM {LedgerCheckpoint.__tablename__} ORDER BY tree_size, id")
    out, bad = [], None
    for cid, size, root_hex, hash_alg, timestamp, alg, kid, sig in rows:
        key = keys.get(kid)
        problem = None
        if alg != "Ed25519" or key is None:
            problem = Problem(None, f"检查点 #{cid} 的签名密钥 {kid} 未知", "unknown signing key")
        elif hash_alg != hasher.name:
            problem = Problem(None, f"检查点 #{cid} 的哈希算法 {hash_alg} 不符", "hash algorithm mismatch")
        else:
            message = checkpoint_message(size=int(size), root_hex=root_hex, timestamp=timestamp, hash_alg=hash_alg)
            try:
                key.verify(base64.b64decode(sig), message)
            except (InvalidSignature, ValueError):
                problem = Problem(None, f"检查点 #{cid}（大小 {size}）的签名无效", "bad checkpoint signature")
        if problem is not None:
            bad = bad or problem  # a checkpoint that is not validly signed vouches for nothing
            continue
        out.append((int(size), int(cid), bytes.fromhex(root_hex)))
    return out, bad


def audit(conn: Connection, keys: dict[str, Ed25519PublicKey], *, hasher: Hasher = SM3, deep: bool = False,
          chunk_level: int = CHUNK_LEVEL, workers: int = 1) -> AuditReport:
    """Verify the whole log on ``conn``; ``keys`` maps key ids to the platform's public keys.
    ``deep`` also parses every entry and checks its JSON fields against the columns; ``workers`` > 1
    spreads the fast path over that many processes (each with its own database connection)."""
    started = time.perf_counter()
    report = AuditReport()
    checkpoints, signature_problem = _checkpoints(conn, keys, hasher)
    report.checkpoints = len(checkpoints)
    try:
        report.size = _Walker(conn, hasher, checkpoints, deep, chunk_level, workers).run()
        if signature_problem is not None:
            raise _Found(signature_problem)
    except _Found as found:
        report.problem = found.problem
    report.seconds = time.perf_counter() - started
    return report


class _Walker:
    def __init__(self, conn: Connection, hasher: Hasher, checkpoints: list[tuple[int, int, bytes]],
                 deep: bool, chunk_level: int, workers: int) -> None:
        self.conn, self.hasher, self.deep, self.workers = conn, hasher, deep, workers
        self.chunk_level, self.chunk = chunk_level, 1 << chunk_level
        self.checkpoints, self.cp_pos, self.verified_upto = checkpoints, 0, 0
        self.stack: list[tuple[int, bytes]] = []  # compact range of leaves [0, count)
        self.count = 0
        self.frontier: bytes | None = None  # the head's compact range, when current
        self.local: dict[tuple[int, int], bytes] = {}  # stored nodes of the chunk on the slow path
        self.high = {(int(lv), int(i)): bytes(h) for lv, i, h in fetch(
            conn, f"SELECT level, node_index, hash FROM ledger_nodes WHERE level > {chunk_level}")}

    def run(self) -> int:
        head = fetch(self.conn, "SELECT size, frontier, frontier_size FROM ledger_head WHERE id = 1")
        head_size = int(head[0][0]) if head else 0
        self.frontier = bytes(head[0][1]) if head and head[0][1] is not None and head[0][2] == head_size else None
        stray = fetch(self.conn, "SELECT MIN(entry_index) FROM ledger_entries")
        if stray and stray[0][0] is not None and stray[0][0] < 0:
            index = int(stray[0][0])
            raise _Found(Problem(index, f"条目 #{index} 重复或顺序错误", "entry out of order"))
        self._checkpoints_upto(0, self.hasher.empty_root)
        chunks = 0 if self.deep else head_size >> self.chunk_level
        sizes = sorted({size for size, _cid, _root in self.checkpoints})
        for result in chunk_results(self.conn, self.hasher, self.chunk_level, chunks, sizes, self.workers):
            if result.root is None:
                self._slow(entry_rows(self.conn, result.start, result.start + self.chunk))
                if self.count != result.start + self.chunk:
                    raise _Found(Problem(self.count, f"条目 #{self.count} 缺失", "entry missing"))
            else:
                self._accept(result)
        columns = "entry_index, body, leaf_hash" + (", kind" if self.deep else "")
        rows = stream(self.conn, f"SELECT {columns} FROM ledger_entries WHERE entry_index >= {self.count} "
                                 "ORDER BY entry_index")
        try:
            while tail := list(islice(rows, self.chunk)):
                self._slow(tail)
        finally:
            rows.close()  # type: ignore[attr-defined]
        self._finish(head_size)
        return self.count

    def _accept(self, result: ChunkResult) -> None:
        prefix = [h for _lv, h in self.stack]
        for size in sorted(result.partials):
            self._checkpoints_upto(size, lambda s=size: fold(self.hasher, prefix + result.partials[s]))
        end = result.start + self.chunk
        self._push(self.chunk_level, result.root or b"", end)
        self.count = end

    # -- checkpoints -------------------------------------------------------------------------
    def _checkpoints_upto(self, size: int, root: Callable[[], bytes]) -> None:
        """Compare every checkpoint of exactly ``size`` with ``root()``."""
        while self.cp_pos < len(self.checkpoints) and self.checkpoints[self.cp_pos][0] == size:
            _size, cid, signed_root = self.checkpoints[self.cp_pos]
            if root() != signed_root:
                first = self.verified_upto
                raise _Found(Problem(first, f"条目 #{first}–#{max(size - 1, first)} 与已签名检查点 #{cid} 不符",
                                     "checkpoint root mismatch"))
            self.verified_upto = size
            self.cp_pos += 1

    # -- the compact-range stack -------------------------------------------------------------
    def _push(self, level: int, node_hash: bytes, count: int) -> None:
        stack, node = self.stack, self.hasher.node
        while stack and stack[-1][0] == level:
            node_hash = node(stack.pop()[1], node_hash)
            level += 1
            want = (count >> level) - 1
            stored = (self.high if level > self.chunk_level else self.local).get((level, want))
            if stored != node_hash:
                first = want << level
                what = "缺失" if stored is None else "不符"
                raise _Found(Problem(first, f"节点 ({level}, {want}) 与条目 #{first}–#{count - 1} {what}",
                                     f"stored node ({level}, {want}) {'missing' if stored is None else 'mismatch'}"))
        stack.append((level, node_hash))

    # -- slow path: entry by entry -----------------------------------------------------------
    def _slow(self, rows: list[Any]) -> None:
        start = self.count
        self.local = {}
        for level in range(1, self.chunk_level + 1):
            self.local.update(stored_nodes(self.conn, level, start, start + self.chunk))
        leaf_of = self.hasher.leaf
        for row in rows:
            index, body, stored_leaf = row[0], row[1], row[2]
            expected = self.count
            if index != expected:
                raise _Found(Problem(expected, f"条目 #{expected} 缺失（下一条为 #{index}）", "entry missing")
                             if index > expected else
                             Problem(index, f"条目 #{index} 重复或顺序错误", "entry out of order"))
            data = body.encode()
            if not data.startswith(b'{"index":%d,' % index):
                raise _Found(Problem(index, f"条目 #{index} 的内容记载的序号不是 {index}（被移动或调换）",
                                     "entry bytes name another index"))
            if self.deep:
                _deep_check(index, data, row[3])
            leaf = leaf_of(data)
            if leaf != bytes(stored_leaf):
                raise _Found(Problem(index, f"条目 #{index} 的内容与其叶哈希不符（内容被修改）", "leaf hash mismatch"))
            self._push(0, leaf, index + 1)
            self.count = index + 1
            self._checkpoints_upto(self.count, lambda: fold(self.hasher, [h for _lv, h in self.stack]))
        self.local = {}

    # -- after the last entry ----------------------------------------------------------------
    def _finish(self, head_size: int) -> None:
        count = self.count
        if count < head_size:
            raise _Found(Problem(count, f"条目 #{count} 缺失（账本头记载 {head_size} 条）", "entry missing"))
        if count > head_size:
            raise _Found(Problem(head_size, f"账本头记载 {head_size} 条，实有 {count} 条", "head size mismatch"))
        if self.cp_pos < len(self.checkpoints):
            size, cid, _root = self.checkpoints[self.cp_pos]
            raise _Found(Problem(count, f"已签名检查点 #{cid} 覆盖 {size} 条，实有 {count} 条（条目被删除）",
                                 "checkpoint beyond the log"))
        if self.frontier is not None and self.frontier != b"".join(h for _lv, h in self.stack):
            # Appenders build on this copy of the compact range: a wrong one would corrupt what follows.
            raise _Found(Problem(None, "账本头记载的紧凑范围（frontier）与条目重算结果不符",
                                 "head frontier mismatch"))
        expected_nodes = sum(count >> level for level in range(1, count.bit_length()))
        stored_nodes = int(fetch(self.conn, "SELECT COUNT(*) FROM ledger_nodes")[0][0])
        if stored_nodes != expected_nodes:
            top = max(count.bit_length(), 1)
            extra = fetch(self.conn, "SELECT level, node_index FROM ledger_nodes WHERE "
                          + " OR ".join([f"(level = {lv} AND node_index >= {count >> lv})" for lv in range(1, top)]
                                        + [f"level >= {top}", "level < 1"]) + " LIMIT 1")
            where = f"({extra[0][0]}, {extra[0][1]})" if extra else ""
            raise _Found(Problem(None, f"存在多余的节点 {where}（应有 {expected_nodes} 个，实有 {stored_nodes} 个）",
                                 "extra nodes"))


def _deep_check(index: int, data: bytes, kind: str) -> None:
    try:
        doc = json.loads(data)
    except ValueError:
        raise _Found(Problem(index, f"条目 #{index} 不是有效的 JSON", "invalid JSON")) from None
    if doc.get("kind") != kind or set(doc) != {"index", "kind", "parties", "payload", "timestamp"}:
        raise _Found(Problem(index, f"条目 #{index} 的字段与记录列不符", "fields mismatch"))
