"""The pure core of the tamper-evident log: RFC 9162 (Certificate Transparency 2.0) Merkle trees.

No database, no settings, no web framework: only the standard library and ``cryptography``, so the
offline verifier (``verifier.py``) can rely on it.

Terms (RFC 9162 §2.1):
- leaf hash ``H(0x00 ‖ entry)``, node hash ``H(0x01 ‖ left ‖ right)``, ``H`` = SM3 on this platform
  (SHA-256 is kept for cross-checking against published RFC 6962 test data);
- a *perfect node* ``(level, index)`` is the root of the aligned perfect subtree covering leaves
  ``[index·2^level, (index+1)·2^level)``; level 0 are the leaf hashes;
- every hash in an inclusion or consistency proof is the root of a leaf range ``[begin, end)``
  whose begin is aligned to a power of two ≥ its length, so it is the right-to-left fold of at
  most log2(n) perfect nodes. Storing perfect nodes as leaves arrive is therefore enough to
  answer any proof in O(log n) reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

NodeId = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [begin, end)


class ProofError(ValueError):
    """A proof does not verify, or its parameters are impossible."""


class _CryptographySM3:
    """cryptography's SM3 with the small hashlib-like surface the Hasher needs."""

    def __init__(self, data: bytes = b"", _h: hashes.Hash | None = None) -> None:
        self._h = _h or hashes.Hash(hashes.SM3())
        if data:
            self._h.update(data)

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def copy(self) -> _CryptographySM3:
        return _CryptographySM3(_h=self._h.copy())

    def digest(self) -> bytes:
        return self._h.copy().finalize()


def _sm3_factory() -> Callable[[bytes], Any]:
    # OpenSSL's SM3 through hashlib is the same algorithm with less per-call overhead than
    # cryptography's Hash object; both are cross-checked in the tests.
    try:
        hashlib.new("sm3", b"abc")
    except ValueError:
        return _CryptographySM3
    return lambda data=b"": hashlib.new("sm3", data)


class Hasher:
    """RFC 9162 leaf and node hashing over one hash function.

    ``new(data)`` returns a hashlib-style object. Leaf and node hashes copy a state that has already
    absorbed the one-byte prefix, which avoids looking the algorithm up on every call (the verifier of
    a million-entry log computes two million hashes).
    """

    def __init__(self, name: str, new: Callable[[bytes], Any], size: int) -> None:
        self.name = name
        self.size = size
        self._new = new
        self._leaf_state = new(LEAF_PREFIX)
        self._node_state = new(NODE_PREFIX)

    def digest(self, data: bytes) -> bytes:
        return bytes(self._new(data).digest())

    def leaf(self, data: bytes) -> bytes:
        h = self._leaf_state.copy()
        h.update(data)
        return bytes(h.digest())

    def node(self, left: bytes, right: bytes) -> bytes:
        h = self._node_state.copy()
        h.update(left)
        h.update(right)
        return bytes(h.digest())

    def empty_root(self) -> bytes:
        return self.digest(b"")

    def __repr__(self) -> str:
        return f"Hasher({self.name!r})"


SM3 = Hasher("sm3", _sm3_factory(), 32)
SHA256 = Hasher("sha256", hashlib.sha256, 32)
SM3_CRYPTOGRAPHY = Hasher("sm3", _CryptographySM3, 32)  # the fallback, kept for cross-checks
HASHERS = {h.name: h for h in (SM3, SHA256)}


def get_hasher(name: str) -> Hasher:
    try:
        return HASHERS[name]
    except KeyError:
        raise ProofError(f"unknown hash algorithm {name!r}") from None


# --- tree geometry ---------------------------------------------------------------------------

def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2): RFC 9162's ``k``."""
    if n < 2:
        raise ValueError("split_point needs n >= 2")
    return 1 << ((n - 1).bit_length() - 1)


def node_leaves(level: int, index: int) -> Range:
    return index << level, (index + 1) << level


def range_nodes(begin: int, end: int) -> list[NodeId]:
    """The perfect nodes, left to right, whose fold is the root of leaves ``[begin, end)``.

    ``begin`` must be aligned to a power of two ≥ ``end - begin`` (true of every subtree of an
    RFC 9162 tree), so the pieces are the set bits of the length, largest first.
    """
    if not 0 <= begin < end:
        raise ValueError(f"empty or negative range [{begin}, {end})")
    nodes: list[NodeId] = []
    size = end - begin
    position = begin
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            if position & ((1 << level) - 1):
                raise ValueError(f"range [{begin}, {end}) is not a subtree")
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def fold(hasher: Hasher, hashes_left_to_right: Sequence[bytes]) -> bytes:
    """Root of consecutive perfect subtrees of decreasing size: merged right to left."""
    result = hashes_left_to_right[-1]
    for h in reversed(hashes_left_to_right[:-1]):
        result = hasher.node(h, result)
    return result


def completed_nodes(index: int) -> list[NodeId]:
    """The perfect nodes above level 0 that become complete when leaf ``index`` is appended."""
    out: list[NodeId] = []
    level, count = 1, index + 1
    while count % (1 << level) == 0:
        out.append((level, (count >> level) - 1))
        level += 1
    return out


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) as leaf ranges, leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index - lo < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def consistency_ranges(size1: int, size2: int) -> list[Range]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) as leaf ranges, in proof order."""
    if not 0 <= size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == 0 or size1 == size2:
        return []
    out: list[Range] = []
    lo, hi, m, complete = 0, size2, size1, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                out.append((lo, hi))
            break
        k = split_point(n)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    out.reverse()
    return out


def nodes_for_ranges(ranges: Iterable[Range]) -> list[NodeId]:
    seen: dict[NodeId, None] = {}
    for begin, end in ranges:
        for node in range_nodes(begin, end):
            seen[node] = None
    return list(seen)


def hash_ranges(hasher: Hasher, ranges: Sequence[Range], lookup: Mapping[NodeId, bytes]) -> list[bytes]:
    """Proof hashes for ``ranges`` from a store of perfect nodes (raises KeyError when one is absent)."""
    return [fold(hasher, [lookup[node] for node in range_nodes(b, e)]) for b, e in ranges]


# --- appending: the compact range of a growing tree --------------------------------------------

class CompactRange:
    """The perfect-node roots covering leaves ``[0, size)``: O(log n) state for appending."""

    def __init__(self, hasher: Hasher, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError("a compact range of size n has one hash per set bit of n")
        self.hasher = hasher
        self.size = size
        levels = [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]
        self._stack: list[tuple[int, bytes]] = list(zip(levels, hashes, strict=True))

    @staticmethod
    def node_ids(size: int) -> list[NodeId]:
        return range_nodes(0, size) if size else []

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; returns the newly completed perfect nodes ``(level, index, hash)`` above level 0."""
        stack = self._stack
        node_hash = leaf_hash
        level = 0
        created: list[tuple[int, int, bytes]] = []
        while stack and stack[-1][0] == level:
            node_hash = self.hasher.node(stack.pop()[1], node_hash)
            level += 1
            created.append((level, ((self.size + 1) >> level) - 1, node_hash))
        stack.append((level, node_hash))
        self.size += 1
        return created

    def hashes(self) -> list[bytes]:
        """The perfect-node roots, highest level first (the order ``node_ids`` lists them in)."""
        return [h for _level, h in self._stack]

    def root(self) -> bytes:
        if not self._stack:
            return self.hasher.empty_root()
        return fold(self.hasher, [h for _level, h in self._stack])


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) -------------------------------------------

def _check_sizes(hasher: Hasher, items: Iterable[bytes], what: str) -> None:
    for h in items:
        if len(h) != hasher.size:
            raise ProofError(f"{what} has a hash of {len(h)} bytes, expected {hasher.size}")


def root_from_inclusion_proof(hasher: Hasher, index: int, size: int, leaf_hash: bytes,
                              proof: Sequence[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_sizes(hasher, [leaf_hash], "leaf")
    _check_sizes(hasher, proof, "inclusion proof")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = hasher.node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hasher.node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    return r


def verify_inclusion(hasher: Hasher, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes],
                     root: bytes) -> None:
    if root_from_inclusion_proof(hasher, index, size, leaf_hash, proof) != root:
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(hasher: Hasher, size1: int, size2: int, proof: Sequence[bytes], root1: bytes,
                       root2: bytes) -> None:
    if not 0 <= size1 <= size2:
        raise ProofError(f"tree size {size2} is smaller than {size1}")
    if size1 == size2:
        if proof:
            raise ProofError("equal tree sizes need an empty consistency proof")
        if root1 != root2:
            raise ProofError("equal tree sizes with different roots")
        return
    if size1 == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_sizes(hasher, proof, "consistency proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = hasher.node(c, fr)
            sr = hasher.node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hasher.node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise ProofError("consistency proof does not lead to the first root")
    if sr != root2:
        raise ProofError("consistency proof does not lead to the second root")


# --- wire formats shared by the service and the offline verifier ------------------------------

CHECKPOINT_ORIGIN = "fincredit.ledger/v1"


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8, no NaN/Infinity: the bytes that are hashed and signed."""
    return _CANONICAL.encode(value).encode()


def checkpoint_message(*, size: int, root_hex: str, timestamp: str, hash_alg: str,
                       origin: str = CHECKPOINT_ORIGIN) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return canonical_json({"origin": origin, "size": size, "root": root_hex, "timestamp": timestamp,
                           "hash_alg": hash_alg})
