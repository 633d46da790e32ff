"""Plain inclusion proofs: a user's leaf, its sibling hashes and sums, checked natively.

JSON layout (``format`` "zkproofs/inclusion-proof", ``version`` 2, ``kind`` "plain")::

    {"user_id", "salt", "leaf_index", "assets": [symbols],
     "equities": [...], "debts": [...],            (base units, decimal strings)
     "pledged": {CLASS: [...], ...},               (pledged amounts per pledge class, in the
                                                    root's class order; {} without classes)
     "path": [{"hash", "equities", "debts"}, ...]  (siblings bottom-up, height 0 first)
     "root": {"hash", "equities", "debts"}}

Verification recomputes the commitment, the leaf, every parent (sums as
integers, never reduced), checks every range (user amounts < 2^64, sibling sums
at height k < 2^(64 + k)) and compares the result with a *published* root
(:class:`~zkproofs.tree.root.PublishedRoot`), not with the root the proof
carries. Sibling sums reveal other customers' aggregates: the zero-knowledge
variant (:mod:`zkproofs.proofs.inclusion`) hides them. Version 1 carried no
pledged amounts and is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from zkproofs.accounts.model import canonical_id, pledge_problem
from zkproofs.errors import NonCanonicalFieldElement
from zkproofs.field import R, decode_scalar, parse_decimal
from zkproofs.jsontext import is_exactly
from zkproofs.tree.hashing import MAX_DEPTH, TreeError, check_sums, id_bytes, json_field, leaf_hash, node_hash, user_commitment
from zkproofs.tree.root import PublishedRoot
from zkproofs.tree.store import TreeStore

PROOF_FORMAT = "zkproofs/inclusion-proof"
PROOF_VERSION = 2


class UnknownAccount(TreeError):
    """The tree has no account with the requested id."""


@dataclass(frozen=True)
class InclusionProof:
    """A user's leaf and authentication path. Amounts in base units, per asset in ``assets`` order.

    ``siblings[k]`` is (hash, sums) of the sibling at height k (sums: equities
    then debts, length 2A); bit k of ``leaf_index`` says whether the path node at
    height k is a right child. ``root_hash`` / ``root_sums`` are what the prover
    claims; verification uses the published root instead. ``pledges`` names the
    tree's pledge classes and ``pledged`` holds the user's K x A pledged amounts
    (class-major), which the leaf commits (both empty without pledge classes).
    """

    user_id: str
    salt: int
    leaf_index: int
    assets: tuple[str, ...]
    equities: tuple[int, ...]
    debts: tuple[int, ...]
    siblings: tuple[tuple[int, tuple[int, ...]], ...]
    root_hash: int
    root_sums: tuple[int, ...]
    pledges: tuple[str, ...] = ()
    pledged: tuple[int, ...] = ()

    @property
    def depth(self) -> int:
        """Number of levels in the path (the tree's depth)."""
        return len(self.siblings)

    @property
    def commitment(self) -> int:
        """The user commitment recomputed from id and salt."""
        return user_commitment(self.user_id, self.salt)


def make_inclusion_proof(store: TreeStore, user_id: str) -> InclusionProof:
    """The inclusion proof of ``user_id`` from an open tree. O(depth) primary-key reads.

    Raises UnknownAccount if the id is not in the tree, TreeError if the database
    is inconsistent (a missing node).
    """
    row = store.account(canonical_id(user_id))
    if row is None:
        raise UnknownAccount(f"{store.path}: no account {user_id!r} in the tree")
    depth = store.depth
    siblings = tuple(store.node(k, (row.leaf_index >> k) ^ 1) for k in range(depth))
    root_hash, root_sums = store.node(depth, 0)
    return InclusionProof(
        user_id=row.id,
        salt=row.salt,
        leaf_index=row.leaf_index,
        assets=tuple(a.symbol for a in store.assets),
        equities=row.equities,
        debts=row.debts,
        siblings=siblings,
        root_hash=root_hash,
        root_sums=root_sums,
        pledges=store.pledges,
        pledged=row.collateral,
    )


def path_root(proof: InclusionProof) -> tuple[int, tuple[int, ...]]:
    """(hash, sums) at the top of the proof's path, with every range checked.

    Raises TreeError naming the first amount or sibling sum out of range, or a
    sibling with the wrong number of sums. O(depth) Poseidon hashes.
    """
    n = len(proof.assets)
    if len(proof.equities) != n or len(proof.debts) != n:
        raise TreeError(f"proof: expected {n} equities and debts")
    if len(proof.pledged) != len(proof.pledges) * n:
        raise TreeError(f"proof: expected {len(proof.pledges) * n} pledged amounts ({len(proof.pledges)} pledge classes)")
    check_sums(proof.pledged, 0, "proof: pledged amounts")
    if proof.depth > MAX_DEPTH:
        raise TreeError(f"proof: path of {proof.depth} levels is deeper than {MAX_DEPTH}")
    current_sums = (*proof.equities, *proof.debts)
    check_sums(current_sums, 0, "proof: user balances")
    for field_name, value in (("salt", proof.salt), ("root hash", proof.root_hash)):
        if not 0 <= value < R:
            raise TreeError(f"proof: {field_name} is not in [0, r)")
    current = leaf_hash(proof.commitment, proof.equities, proof.debts, proof.pledged, proof.pledges)
    if not 0 <= proof.leaf_index < (1 << proof.depth):
        raise TreeError(f"proof: leaf index {proof.leaf_index} does not fit depth {proof.depth}")
    for k, (sib_hash, sib_sums) in enumerate(proof.siblings):
        if len(sib_sums) != 2 * n:
            raise TreeError(f"proof: sibling at height {k} has {len(sib_sums)} sums, expected {2 * n}")
        check_sums(sib_sums, k, f"proof: sibling at height {k}")
        if not 0 <= sib_hash < R:
            raise TreeError(f"proof: sibling hash at height {k} is not in [0, r)")
        parent_sums = tuple(a + b for a, b in zip(current_sums, sib_sums))
        if (proof.leaf_index >> k) & 1:
            current = node_hash(sib_hash, sib_sums, current, current_sums, depth=proof.depth)
        else:
            current = node_hash(current, current_sums, sib_hash, sib_sums, depth=proof.depth)
        current_sums = parent_sums
    return current, current_sums


def inclusion_failure(proof: InclusionProof, root: PublishedRoot) -> str | None:
    """Why ``proof`` does not show inclusion under the published ``root``, or None if it does.

    Checks the asset list and depth against the root, every range, the path
    hashes and sums, and equality with the root's hash and totals.
    """
    if proof.assets != tuple(a.symbol for a in root.assets):
        return f"the proof's assets {list(proof.assets)} differ from the root's"
    if proof.depth != root.depth:
        return f"the proof's path has {proof.depth} levels, the root's tree has depth {root.depth}"
    if proof.pledges != root.pledges:
        return f"the proof's pledge classes {list(proof.pledges)} differ from the root's {list(root.pledges)}"
    try:
        top_hash, top_sums = path_root(proof)
    except TreeError as exc:
        return str(exc)
    if top_hash != root.root_hash:
        return "the path does not hash to the published root"
    if top_sums != root.sums:
        return "the path's sums differ from the published totals"
    return None


def verify_inclusion(proof: InclusionProof, root: PublishedRoot) -> bool:
    """True iff :func:`inclusion_failure` finds nothing. O(depth) Poseidon hashes."""
    return inclusion_failure(proof, root) is None


def _sums_dict(sums: tuple[int, ...], n: int) -> dict[str, list[str]]:
    return {"equities": [str(v) for v in sums[:n]], "debts": [str(v) for v in sums[n:]]}


def proof_to_dict(proof: InclusionProof) -> dict[str, Any]:
    """The JSON object of a plain inclusion proof (layout in the module docstring)."""
    n = len(proof.assets)
    return {
        "format": PROOF_FORMAT,
        "version": PROOF_VERSION,
        "kind": "plain",
        "user_id": proof.user_id,
        "salt": str(proof.salt),
        "commitment": str(proof.commitment),
        "leaf_index": proof.leaf_index,
        "assets": list(proof.assets),
        "equities": [str(v) for v in proof.equities],
        "debts": [str(v) for v in proof.debts],
        "pledged": pledged_to_dict(proof.pledges, proof.pledged, n),
        "path": [{"hash": str(h), **_sums_dict(s, n)} for h, s in proof.siblings],
        "root": {"hash": str(proof.root_hash), **_sums_dict(proof.root_sums, n)},
    }


def proof_to_json(proof: InclusionProof) -> str:
    """:func:`proof_to_dict` as indented JSON text."""
    return json.dumps(proof_to_dict(proof), indent=2) + "\n"


def pledged_to_dict(pledges: Sequence[str], pledged: Sequence[int], n: int) -> dict[str, list[str]]:
    """{class: [n decimal strings]} of K x n pledged amounts (class-major): the proofs' ``pledged`` field."""
    return {c: [str(v) for v in pledged[k * n : (k + 1) * n]] for k, c in enumerate(pledges)}


def pledged_from_dict(obj: Any, n: int, where: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(pledge classes, K x n pledged amounts class-major) of a proof's ``pledged`` field
    (:func:`pledged_to_dict`); TreeError naming ``where`` for anything malformed."""
    if not isinstance(obj, dict):
        raise TreeError(f"{where}: expected an object of pledge class -> amounts")
    problem = pledge_problem(list(obj))
    if problem:
        raise TreeError(f"{where}: {problem}")
    return tuple(obj), tuple(v for c, amounts in obj.items() for v in _ints(amounts, n, f"{where}.{c}"))


def _ints(values: Any, n: int, where: str) -> tuple[int, ...]:
    if not isinstance(values, list) or len(values) != n:
        raise TreeError(f"{where}: expected a list of {n} decimal strings")
    return tuple(parse_decimal(v, what=f"{where}[{i}]", error=TreeError) for i, v in enumerate(values))


def _scalar(value: Any, where: str) -> int:
    if not isinstance(value, str):
        raise TreeError(f"{where}: expected a decimal string")
    try:
        return decode_scalar(value, what=where)
    except NonCanonicalFieldElement as exc:
        raise TreeError(str(exc)) from None


def proof_from_dict(obj: Any, where: str = "proof") -> InclusionProof:
    """Decode a plain proof object; TreeError naming the field for anything malformed.

    Decoding checks shapes and encodings only; ranges and hashes are the
    verifier's job (a well-formed but false proof decodes, then fails to verify).
    """
    if not isinstance(obj, dict) or obj.get("format") != PROOF_FORMAT or not is_exactly(obj.get("version"), PROOF_VERSION):
        raise TreeError(f"{where}: not a {PROOF_FORMAT} v{PROOF_VERSION} file")
    if obj.get("kind") != "plain":
        raise TreeError(f"{where}: field 'kind' must be 'plain'")
    assets = json_field(obj, "assets", list, where)
    if not assets or not all(isinstance(a, str) for a in assets):
        raise TreeError(f"{where}.assets: expected a list of symbols")
    n = len(assets)
    path = []
    for k, item in enumerate(json_field(obj, "path", list, where)):
        at = f"{where}.path[{k}]"
        sums = _ints(json_field(item, "equities", list, at), n, f"{at}.equities") + _ints(json_field(item, "debts", list, at), n, f"{at}.debts")
        path.append((_scalar(json_field(item, "hash", str, at), f"{at}.hash"), sums))
    if not path:
        raise TreeError(f"{where}.path: empty")
    root = json_field(obj, "root", dict, where)
    leaf_index = json_field(obj, "leaf_index", int, where)
    if leaf_index < 0:
        raise TreeError(f"{where}.leaf_index: negative")
    user_id = json_field(obj, "user_id", str, where)
    id_bytes(user_id)  # TreeError now, as malformed input, for an id with no UTF-8 form
    pledges, pledged = pledged_from_dict(json_field(obj, "pledged", dict, where), n, f"{where}.pledged")
    return InclusionProof(
        user_id=user_id,
        salt=_scalar(json_field(obj, "salt", str, where), f"{where}.salt"),
        leaf_index=leaf_index,
        assets=tuple(assets),
        equities=_ints(json_field(obj, "equities", list, where), n, f"{where}.equities"),
        debts=_ints(json_field(obj, "debts", list, where), n, f"{where}.debts"),
        siblings=tuple(path),
        root_hash=_scalar(json_field(root, "hash", str, f"{where}.root"), f"{where}.root.hash"),
        root_sums=_ints(json_field(root, "equities", list, f"{where}.root"), n, f"{where}.root.equities")
        + _ints(json_field(root, "debts", list, f"{where}.root"), n, f"{where}.root.debts"),
        pledges=pledges,
        pledged=pledged,
    )
