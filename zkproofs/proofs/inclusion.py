"""Zero-knowledge inclusion proofs: a Groth16 proof of :class:`~circuits.merkle_sum_inclusion.MerkleSumInclusion`.

The prover (the exchange) turns a plain inclusion proof into circuit inputs and
proves; the customer receives their id, salt and balances plus the Groth16
proof, whose public inputs are the commitment, the balances and the root with
its totals. Every sibling hash and sum stays hidden.

JSON layout (``format`` "zkproofs/zk-inclusion-proof", ``version`` 2)::

    {"user_id", "salt", "assets": [symbols], "equities", "debts" (decimal strings),
     "pledged": {CLASS: [decimal strings], ...} (the root's pledge classes, in order),
     "groth16": <zkproofs/proof object, zkproofs.groth16.serialize.proof_to_dict>}

Verification against a published root first decides whether to rely on the key
(:func:`trust_inclusion_key`): the root must name it (its SHA-256) and it must
pass the trust policy (:func:`zkproofs.groth16.trust.require_trusted`) for
``merkle_sum_inclusion`` at the root's depth, asset count and number of pledge
classes; then :func:`zk_failure` checks that the proof's public inputs are exactly
the user's commitment, balances and pledged amounts and the published root, and
runs the Groth16 verifier. Version 1 carried no pledged amounts and is refused.
"""

from __future__ import annotations

import json
from typing import Any

from circuits.merkle_sum_inclusion import MerkleSumInclusion
from zkproofs.errors import CircuitMismatch, UntrustedKey
from zkproofs.groth16 import ProvingKey, VerifyingKey, prove, verify
from zkproofs.groth16.serialize import proof_from_dict, proof_to_dict, public_inputs_in_order
from zkproofs.groth16.serialize import vk_hash
from zkproofs.groth16.trust import KeyTrust, Transcript, TrustReport, require_trusted
from zkproofs.jsontext import is_exactly
from zkproofs.tree.hashing import TreeError, json_field, pledge_digest, user_commitment
from zkproofs.tree.proof import InclusionProof, _ints, _scalar, pledged_from_dict, pledged_to_dict
from zkproofs.tree.root import PublishedRoot

ZK_FORMAT = "zkproofs/zk-inclusion-proof"
ZK_VERSION = 2


def circuit_inputs(proof: InclusionProof) -> dict[str, Any]:
    """The inputs of ``merkle_sum_inclusion`` (depth = proof.depth, assets = len(proof.assets),
    pledges = len(proof.pledges))."""
    n = len(proof.assets)
    return {
        "commitment": proof.commitment,
        "equities": list(proof.equities),
        "debts": list(proof.debts),
        "pledged": [list(proof.pledged[k * n : (k + 1) * n]) for k in range(len(proof.pledges))],
        **({"pledge_classes": pledge_digest(proof.pledges)} if proof.pledges else {}),
        "root": proof.root_hash,
        "root_equities": list(proof.root_sums[:n]),
        "root_debts": list(proof.root_sums[n:]),
        "path_bits": [(proof.leaf_index >> k) & 1 for k in range(proof.depth)],
        "sibling_hashes": [h for h, _ in proof.siblings],
        "sibling_equities": [list(s[:n]) for _, s in proof.siblings],
        "sibling_debts": [list(s[n:]) for _, s in proof.siblings],
    }


def inclusion_circuit(depth: int, assets: int, pledges: int) -> MerkleSumInclusion:
    """The inclusion circuit of a tree of ``depth``, ``assets`` and ``pledges`` pledge classes."""
    return MerkleSumInclusion(depth=depth, assets=assets, pledges=pledges)


def _check_circuit(vk: VerifyingKey, depth: int, assets: int, pledges: int, where: str) -> None:
    expected = inclusion_circuit(depth, assets, pledges).params
    if vk.circuit.name != MerkleSumInclusion.name or vk.circuit.params_dict != expected:
        raise CircuitMismatch(
            f"{where}: the key is for {vk.circuit.name} {vk.circuit.params_dict}, "
            f"this tree needs {MerkleSumInclusion.name} {expected}"
        )


def make_zk_proof(pk: ProvingKey, proof: InclusionProof) -> dict[str, Any]:
    """Prove ``proof`` in zero knowledge with ``pk``; return the ZK proof object.

    Raises CircuitMismatch if the key is not for merkle_sum_inclusion at the
    proof's depth and asset count, UnsatisfiedConstraint if the path is not a
    valid inclusion (an inconsistent tree). Cost: one Groth16 proof of about
    1,200 constraints per level (4 assets, depth <= 20; 12,456 in all at depth 10).
    """
    _check_circuit(pk.vk, proof.depth, len(proof.assets), len(proof.pledges), "proving key")
    instance = inclusion_circuit(proof.depth, len(proof.assets), len(proof.pledges))
    r1cs, witness = instance.synthesize(circuit_inputs(proof))
    groth = prove(pk, r1cs, witness)
    return {
        "format": ZK_FORMAT,
        "version": ZK_VERSION,
        "user_id": proof.user_id,
        "salt": str(proof.salt),
        "assets": list(proof.assets),
        "equities": [str(v) for v in proof.equities],
        "debts": [str(v) for v in proof.debts],
        "pledged": pledged_to_dict(proof.pledges, proof.pledged, len(proof.assets)),
        "groth16": proof_to_dict(groth, pk.vk, witness[1 : r1cs.num_public + 1]),
    }


def is_zk_proof(obj: Any) -> bool:
    """True if ``obj`` claims to be a ZK inclusion proof (by its format field)."""
    return isinstance(obj, dict) and obj.get("format") == ZK_FORMAT


def trust_inclusion_key(
    root: PublishedRoot, vk: VerifyingKey, trust: KeyTrust, *, transcript: Transcript | None = None, what: str = "verification key"
) -> TrustReport:
    """Decide whether ``vk`` may check ZK inclusion proofs under ``root``.

    UntrustedKey if the root names no key or another key (by SHA-256), or if the
    key fails ``trust`` (:func:`~zkproofs.groth16.trust.require_trusted`: a
    single-party key without the opt-in, a ceremony key whose transcript is not
    verified); CircuitMismatch if it is not labelled for ``merkle_sum_inclusion``
    at the root's depth and asset count. Cost: one shape synthesis per process (1.6 s
    at depth 10), plus a transcript verification the first time a ceremony key is seen.
    """
    if root.verification_key is None:
        raise UntrustedKey("the published root names no verification key: it admits plain inclusion proofs only")
    key_hash = vk_hash(vk)
    if key_hash != root.verification_key:
        raise UntrustedKey(
            f"{what} (sha256 {key_hash[:16]}...) is not the key the published root names "
            f"({root.verification_key[:16]}...)"
        )
    circuit = inclusion_circuit(root.depth, len(root.assets), len(root.pledges))
    return require_trusted(circuit, vk, trust, transcript=transcript, what=what)


def zk_failure(obj: Any, root: PublishedRoot, vk: VerifyingKey, trusted: TrustReport, *, backend: str | None = None, where: str = "proof") -> str | None:
    """Why the ZK proof object ``obj`` does not show inclusion under ``root``, or None if it does.

    ``trusted`` is the decision :func:`trust_inclusion_key` made for ``vk`` and
    ``root`` (UntrustedKey if it was made for another key or circuit shape).
    Raises TreeError / MalformedInput subclasses for a malformed file or a proof
    of another circuit (CircuitMismatch). Cost: one Poseidon commitment and one
    Groth16 verification (about 10 ms with arkworks, 2.5 s with py_ecc).
    """
    if not isinstance(obj, dict) or obj.get("format") != ZK_FORMAT or not is_exactly(obj.get("version"), ZK_VERSION):
        raise TreeError(f"{where}: not a {ZK_FORMAT} v{ZK_VERSION} file")
    assets = json_field(obj, "assets", list, where)
    n = len(assets)
    if assets != [a.symbol for a in root.assets]:
        return f"the proof's assets {assets} differ from the root's"
    user_id = json_field(obj, "user_id", str, where)
    salt = _scalar(json_field(obj, "salt", str, where), f"{where}.salt")
    equities = _ints(json_field(obj, "equities", list, where), n, f"{where}.equities")
    debts = _ints(json_field(obj, "debts", list, where), n, f"{where}.debts")
    pledges, pledged = pledged_from_dict(json_field(obj, "pledged", dict, where), n, f"{where}.pledged")
    if pledges != root.pledges:
        return f"the proof's pledge classes {list(pledges)} differ from the root's {list(root.pledges)}"
    if not trusted.covers(vk, MerkleSumInclusion.name, inclusion_circuit(root.depth, n, len(root.pledges)).params):
        raise UntrustedKey(f"{where}: the trust decision given was made for another key or circuit shape")
    groth, named = proof_from_dict(json_field(obj, "groth16", dict, where), f"{where}.groth16")
    if groth.circuit_digest != vk.circuit.digest:
        raise CircuitMismatch(f"{where}: the proof is for another circuit than the verification key")
    expected = {"commitment": user_commitment(user_id, salt), "root": root.root_hash}
    for i in range(n):
        expected[f"equities[{i}]"] = equities[i]
        expected[f"debts[{i}]"] = debts[i]
        expected[f"root_equities[{i}]"] = root.equity_totals[i]
        expected[f"root_debts[{i}]"] = root.debt_totals[i]
        for k in range(len(pledges)):
            expected[f"pledged[{k}][{i}]"] = pledged[k * n + i]
    if root.pledges:
        expected["pledge_classes"] = pledge_digest(root.pledges)
    public = public_inputs_in_order(vk, named)
    for name in vk.public_names:
        if named[name] != expected[name]:
            return f"public input {name} differs from the user's data or the published root"
    if not verify(vk, public, groth, backend=backend):
        return "the Groth16 proof does not verify"
    return None


def zk_to_json(obj: dict[str, Any]) -> str:
    """A ZK proof object as indented JSON text."""
    return json.dumps(obj, indent=2) + "\n"
