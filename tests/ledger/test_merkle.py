"""The pure Merkle core against RFC 6962/9162: published SHA-256 vectors, an independent recursive
reference, and the corruption probes of transparency-dev/merkle's proof/verify_test.go."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes

from fincredit.ledger import merkle
from fincredit.ledger.merkle import SHA256, SM3, SM3_CRYPTOGRAPHY, CompactRange, Hasher, ProofError
from tests.ledger import rfc6962_vectors as v

HASHERS = [SHA256, SM3, SM3_CRYPTOGRAPHY]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
MAX_SIZE = 33


# --- an independent reference: the recursive definitions of RFC 9162 §2.1 -----------------------

def ref_root(h: Hasher, leaves: list[bytes]) -> bytes:
    if not leaves:
        return h.empty_root()
    if len(leaves) == 1:
        return h.leaf(leaves[0])
    k = merkle.split_point(len(leaves))
    return h.node(ref_root(h, leaves[:k]), ref_root(h, leaves[k:]))


def ref_path(h: Hasher, m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = merkle.split_point(len(leaves))
    if m < k:
        return ref_path(h, m, leaves[:k]) + [ref_root(h, leaves[k:])]
    return ref_path(h, m - k, leaves[k:]) + [ref_root(h, leaves[:k])]


def ref_subproof(h: Hasher, m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [ref_root(h, leaves)]
    k = merkle.split_point(n)
    if m <= k:
        return ref_subproof(h, m, leaves[:k], complete) + [ref_root(h, leaves[k:])]
    return ref_subproof(h, m - k, leaves[k:], False) + [ref_root(h, leaves[:k])]


class Store:
    """Perfect nodes collected while appending, as the database stores them."""

    def __init__(self, h: Hasher, leaves: list[bytes]) -> None:
        self.h = h
        self.nodes: dict[merkle.NodeId, bytes] = {}
        self.roots = [h.empty_root()]
        compact = CompactRange(h)
        for i, data in enumerate(leaves):
            leaf = h.leaf(data)
            self.nodes[(0, i)] = leaf
            created = compact.append(leaf)
            assert [(lv, ix) for lv, ix, _ in created] == merkle.completed_nodes(i)
            self.nodes.update({(lv, ix): hh for lv, ix, hh in created})
            self.roots.append(compact.root())

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return merkle.hash_ranges(self.h, merkle.inclusion_ranges(index, size), self.nodes)

    def consistency(self, size1: int, size2: int) -> list[bytes]:
        return merkle.hash_ranges(self.h, merkle.consistency_ranges(size1, size2), self.nodes)


def leaves_for(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


@pytest.fixture(scope="module", params=HASHERS, ids=["sha256", "sm3-openssl", "sm3-cryptography"])
def store(request: pytest.FixtureRequest) -> Store:
    return Store(request.param, leaves_for(MAX_SIZE))


# --- hash functions ---------------------------------------------------------------------------

def test_sm3_matches_gbt_32905_example() -> None:
    expected = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert SM3.digest(b"abc").hex() == expected
    h = hashes.Hash(hashes.SM3())
    h.update(b"abc")
    assert h.finalize().hex() == expected  # the implementation fincredit.crypto.sm3 uses
    data = b"abcd" * 16  # GB/T 32905 example 2 (512-bit message)
    assert SM3.digest(data).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm3_implementations_agree() -> None:
    data = bytes(range(256)) * 4
    for n in (0, 1, 55, 56, 64, 65, 1000):
        c = hashes.Hash(hashes.SM3())
        c.update(data[:n])
        assert SM3.digest(data[:n]) == c.finalize() == SM3_CRYPTOGRAPHY.digest(data[:n])
        assert SM3.leaf(data[:n]) == SM3_CRYPTOGRAPHY.leaf(data[:n])
    assert SM3.node(data[:32], data[32:64]) == SM3_CRYPTOGRAPHY.node(data[:32], data[32:64])


def test_rfc6962_hashing_prefixes() -> None:
    assert SHA256.leaf(b"") == hashlib.sha256(b"\x00").digest()
    assert SHA256.node(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert SHA256.empty_root() == v.EMPTY_ROOT


# --- published RFC 6962 data (SHA-256) --------------------------------------------------------

def test_roots_match_published_vectors() -> None:
    s = Store(SHA256, v.LEAF_INPUTS)
    assert s.roots[0] == v.EMPTY_ROOT
    assert s.roots[1:] == v.ROOTS


def test_stored_nodes_match_published_node_hashes() -> None:
    s = Store(SHA256, v.LEAF_INPUTS)
    for level, row in enumerate(v.NODE_HASHES):
        for index, expected in enumerate(row):
            assert s.nodes[(level, index)] == expected, (level, index)


@pytest.mark.parametrize(("leaf", "size", "proof"), v.INCLUSION_PROOFS)
def test_published_inclusion_proofs(leaf: int, size: int, proof: list[bytes]) -> None:
    s = Store(SHA256, v.LEAF_INPUTS)
    assert s.inclusion(leaf - 1, size) == proof
    leaf_hash = SHA256.leaf(v.LEAF_INPUTS[leaf - 1])
    assert merkle.root_from_inclusion_proof(SHA256, leaf - 1, size, leaf_hash, proof) == v.ROOTS[size - 1]
    for index, tree_size, lh, pr, root in inclusion_probes(leaf - 1, size, proof, v.ROOTS[size - 1], leaf_hash):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(SHA256, index, tree_size, lh, pr, root)


@pytest.mark.parametrize(("size1", "size2", "proof"), v.CONSISTENCY_PROOFS)
def test_published_consistency_proofs(size1: int, size2: int, proof: list[bytes]) -> None:
    s = Store(SHA256, v.LEAF_INPUTS)
    assert s.consistency(size1, size2) == proof
    root1, root2 = v.ROOTS[size1 - 1], v.ROOTS[size2 - 1]
    merkle.verify_consistency(SHA256, size1, size2, proof, root1, root2)
    if proof:
        for probe in consistency_probes(size1, size2, root1, root2, proof):
            with pytest.raises(ProofError):
                merkle.verify_consistency(SHA256, *probe)


# --- corruption probes (after transparency-dev/merkle proof/verify_test.go) -------------------

def inclusion_probes(index, size, proof, root, leaf_hash):  # type: ignore[no-untyped-def]
    probes = [
        (index - 1, size, leaf_hash, proof, root),  # wrong index
        (index + 1, size, leaf_hash, proof, root),
        (index ^ 2, size, leaf_hash, proof, root),
        (index, size * 2, leaf_hash, proof, root),  # wrong tree size
        (index, size // 2, leaf_hash, proof, root),
        (index, size, b"WrongLeaf", proof, root),
        (index, size, leaf_hash, proof, v.EMPTY_ROOT),
        (index, size, leaf_hash, proof, SOME_HASH),
        (index, size, leaf_hash, [*proof, b""], root),  # trailing garbage
        (index, size, leaf_hash, [*proof, root], root),
        (index, size, leaf_hash, [b"", *proof], root),  # preceding garbage
        (index, size, leaf_hash, [root, *proof], root),
    ]
    for i in range(len(proof)):  # a flipped bit in each element
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((index, size, leaf_hash, wrong, root))
    if proof:
        probes.append((index, size, leaf_hash, proof[:-1], root))  # removed component
    if len(proof) > 1:
        probes.append((index, size, leaf_hash, [proof[0], SOME_HASH, *proof[1:]], root))
    return [p for p in probes if p[:2] != (index, size) or p[2:] != (leaf_hash, proof, root)]


def consistency_probes(size1, size2, root1, root2, proof):  # type: ignore[no-untyped-def]
    probes = [
        (size1 - 1, size2, proof, root1, root2),  # wrong sizes
        (size1 + 1, size2, proof, root1, root2),
        (size1 ^ 2, size2, proof, root1, root2),
        (size1, size2 * 2, proof, root1, root2),
        (size1, size2 // 2, proof, root1, root2),
        (size1, size2, proof, b"WrongRoot", root2),  # wrong roots
        (size1, size2, proof, root1, b"WrongRoot"),
        (size1, size2, proof, root2, root1),
        (size1, size2, [], root1, root2),  # empty proof
        (size1, size2, [*proof, b""], root1, root2),  # trailing garbage
        (size1, size2, [*proof, root1], root1, root2),
        (size1, size2, [*proof, root2], root1, root2),
        (size1, size2, [b"", *proof], root1, root2),  # preceding garbage
        (size1, size2, [root1, *proof], root1, root2),
        (size1, size2, [root2, *proof], root1, root2),
        (size1, size2, [proof[0], *proof], root1, root2),
        (size1, size2, proof[:-1], root1, root2),  # truncated
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((size1, size2, wrong, root1, root2))
    # A probe that changes nothing (e.g. size1 ^ 2 == size1 + 1 coincidences are distinct) is dropped.
    return [p for p in probes if p != (size1, size2, proof, root1, root2)]


# --- every tree size and every leaf, both hash functions --------------------------------------

def test_roots_match_reference(store: Store) -> None:
    leaves = leaves_for(MAX_SIZE)
    for size in range(MAX_SIZE + 1):
        assert store.roots[size] == ref_root(store.h, leaves[:size]), size


def test_inclusion_proofs_for_every_leaf(store: Store) -> None:
    leaves = leaves_for(MAX_SIZE)
    for size in range(1, MAX_SIZE + 1):
        root = store.roots[size]
        for index in range(size):
            proof = store.inclusion(index, size)
            assert proof == ref_path(store.h, index, leaves[:size]), (index, size)
            leaf_hash = store.h.leaf(leaves[index])
            merkle.verify_inclusion(store.h, index, size, leaf_hash, proof, root)
            for probe in inclusion_probes(index, size, proof, root, leaf_hash):
                with pytest.raises(ProofError):
                    merkle.verify_inclusion(store.h, *probe)


def test_consistency_proofs_for_every_pair(store: Store) -> None:
    leaves = leaves_for(MAX_SIZE)
    for size2 in range(1, MAX_SIZE + 1):
        for size1 in range(1, size2 + 1):
            proof = store.consistency(size1, size2)
            assert proof == ref_subproof(store.h, size1, leaves[:size2], True), (size1, size2)
            root1, root2 = store.roots[size1], store.roots[size2]
            merkle.verify_consistency(store.h, size1, size2, proof, root1, root2)
            if proof:
                for probe in consistency_probes(size1, size2, root1, root2, proof):
                    with pytest.raises(ProofError):
                        merkle.verify_consistency(store.h, *probe)


def test_proofs_read_at_most_log_n_nodes() -> None:
    size = 1_000_003
    for index in (0, 1, size // 2, size - 2, size - 1):
        ids = merkle.nodes_for_ranges(merkle.inclusion_ranges(index, size))
        assert len(ids) <= 2 * size.bit_length()
    ids = merkle.nodes_for_ranges(merkle.consistency_ranges(777_777, size))
    assert len(ids) <= 2 * size.bit_length()


# --- edge cases (proof/verify_test.go TestVerifyInclusionSingleEntry, TestVerifyConsistency) ---

def test_single_entry_inclusion() -> None:
    h = SHA256.leaf(b"data")
    merkle.verify_inclusion(SHA256, 0, 1, h, [], h)
    for leaf, root in ((b"", h), (h, b""), (b"", b"")):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(SHA256, 0, 1, leaf, [], root)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1)])
def test_inclusion_outside_the_tree(index: int, size: int) -> None:
    for leaf, root in ((SOME_HASH, b""), (b"", v.EMPTY_ROOT), (SOME_HASH, v.EMPTY_ROOT)):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(SHA256, index, size, leaf, [], root)
    with pytest.raises(ProofError):
        merkle.inclusion_ranges(index, size)


@pytest.mark.parametrize(("size1", "size2", "root1", "root2", "proof", "ok"), [
    (0, 0, b"r1", b"r2", [], False),
    (1, 1, b"r1", b"r2", [], False),
    (0, 0, b"r1", b"r1", [], True),
    (0, 1, b"r1", b"r2", [], True),
    (1, 1, b"r2", b"r2", [], True),
    (1, 0, b"r1", b"r2", [], False),  # time travel to the past
    (2, 1, b"r1", b"r2", [], False),
    (1, 2, b"r1", b"r2", [], False),  # empty proof
    (0, 0, v.EMPTY_ROOT, b"r2", [], False),
    (1, 1, v.EMPTY_ROOT, b"r2", [], False),
    (0, 0, v.EMPTY_ROOT, v.EMPTY_ROOT, [v.EMPTY_ROOT], False),  # roots match, proof not empty
    (0, 1, v.EMPTY_ROOT, v.EMPTY_ROOT, [v.EMPTY_ROOT], False),
    (1, 1, v.EMPTY_ROOT, v.EMPTY_ROOT, [v.EMPTY_ROOT], False),
])
def test_consistency_edge_cases(size1, size2, root1, root2, proof, ok) -> None:  # type: ignore[no-untyped-def]
    if ok:
        merkle.verify_consistency(SHA256, size1, size2, proof, root1, root2)
    else:
        with pytest.raises(ProofError):
            merkle.verify_consistency(SHA256, size1, size2, proof, root1, root2)


def test_range_nodes_and_compact_range() -> None:
    assert merkle.range_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert merkle.range_nodes(8, 13) == [(2, 2), (0, 12)]
    with pytest.raises(ValueError):
        merkle.range_nodes(1, 4)  # not a subtree
    s = Store(SM3, leaves_for(13))
    ids = CompactRange.node_ids(13)
    resumed = CompactRange(SM3, 13, [s.nodes[i] for i in ids])
    assert resumed.root() == s.roots[13]
    with pytest.raises(ValueError):
        CompactRange(SM3, 13, [])


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert merkle.canonical_json({"b": 1, "a": ["中", 2]}) == '{"a":["中",2],"b":1}'.encode()
    with pytest.raises(ValueError):
        merkle.canonical_json({"x": float("nan")})
