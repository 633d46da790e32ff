"""Merkle-sum liability trees: build, store, prove inclusion, audit (no zk proof in here: see :mod:`zkproofs.proofs.inclusion`).

Multi-asset Merkle-sum tree with equity and debt per leaf and full sums per node
(Hu, Zhang, Guo 2019), Poseidon hashes, padding as DAPOL+ (Ji, Chalkias 2021).
Modules: :mod:`.hashing` (commitments, leaf and node hashes, ranges), :mod:`.build`,
:mod:`.store` (SQLite), :mod:`.root` (published root), :mod:`.proof` (plain
inclusion proofs), :mod:`.audit`.
"""

from zkproofs.tree.build import TreeSummary, build_tree, hash_tree, leaf_order, new_secret
from zkproofs.tree.hashing import TreeError
from zkproofs.tree.proof import InclusionProof, UnknownAccount, inclusion_failure, make_inclusion_proof, verify_inclusion
from zkproofs.tree.root import PublishedRoot, published_root, root_from_dict, root_to_dict
from zkproofs.tree.store import TreeStore

__all__ = [
    "InclusionProof",
    "PublishedRoot",
    "TreeError",
    "TreeStore",
    "TreeSummary",
    "UnknownAccount",
    "build_tree",
    "hash_tree",
    "inclusion_failure",
    "leaf_order",
    "make_inclusion_proof",
    "new_secret",
    "published_root",
    "root_from_dict",
    "root_to_dict",
    "verify_inclusion",
]
