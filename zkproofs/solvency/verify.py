"""The auditor's (or anyone's) check of a global proof against a published root, without the database.

Accepts only if: the set answers this root (hash, depth, assets, pledge classes) under the verifier's own
policy (the prices, decimals and tiers the auditor holds: a set proven at other prices is
rejected, not re-judged); it has every proof the plan calls for; every key is the one
the set names and one the verifier trusts (:func:`zkproofs.groth16.trust.require_trusted`:
a ceremony key whose transcript was verified, or a single-party key with the explicit
opt-in); every proof verifies with the public inputs the verifier computes itself: the
policy's tier slots (:func:`zkproofs.solvency.policy.policy_inputs` from the verifier's
policy, which the set must name; per pledge class of the root, that class's tiers), the digest of the
root's pledge class names (which every leaf hashes, so relabelled classes fail) and the batch's output
commitment for a batch; the commitments of exactly
its 2^c children in the layer below, in order, and its output for an aggregation; the
children and the root file's hash and totals for the top proof. The wiring is by
position, so every subtree commitment is consumed exactly once, and the top proof ties
the chain to the published root: together the proofs show statements 1-4 of
:mod:`zkproofs.solvency` for every leaf under that root.

Each layer is checked with one batched Groth16 verification
(:func:`zkproofs.groth16.verifier.verify_batch`: a random linear combination with
128-bit weights, so proofs that are wrong only in ways that cancel out, such as C + D in
one and C - D in another, fail); if a layer's batch fails, each proof of it is checked
alone so the report names the bad ones. Cost: per layer n + 2 pairings and n G1
multiplications, plus one IC MSM; with arkworks about 1 to 2 ms per proof.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zkproofs.errors import MalformedInput, SolvencyError
from zkproofs.groth16 import verify, verify_batch
from zkproofs.groth16.serialize import vk_from_dict, vk_hash
from zkproofs.groth16.trust import KeyTrust, Transcript, TrustReport, require_trusted
from zkproofs.jsontext import loads
from zkproofs.solvency.plan import expected_public, key_label
from zkproofs.solvency.policy import SolvencyPolicy, policy_inputs
from zkproofs.solvency.proofset import ProofSet
from zkproofs.tree.root import PublishedRoot


@dataclass(frozen=True)
class SolvencyReport:
    """The outcome: accepted or not, why not, what was checked and on which keys."""

    ok: bool
    reason: str | None
    root_hash: int
    proofs: int
    layers: tuple[tuple[str, int], ...]
    keys: tuple[TrustReport, ...] = ()
    bad_proofs: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reason": self.reason,
            "root_hash": str(self.root_hash),
            "proofs": self.proofs,
            "layers": [{"circuit": c, "count": n} for c, n in self.layers],
            "keys": [k.to_dict() for k in self.keys],
            "bad_proofs": list(self.bad_proofs),
        }


def read_verification_key(vk_dir: str | os.PathLike, label: str):
    """``vk_dir/LABEL/verification_key.json``; SolvencyError naming a missing file."""
    path = Path(vk_dir) / label / "verification_key.json"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SolvencyError(f"{path}: cannot read the verification key ({exc.strerror})") from None
    return vk_from_dict(loads(data, str(path)), str(path))


def verify_solvency(
    root: PublishedRoot,
    proof_set: ProofSet,
    policy: SolvencyPolicy,
    vk_dir: str | os.PathLike,
    trust: KeyTrust,
    *,
    transcripts: dict[str, Transcript] | None = None,
    backend: str | None = None,
) -> SolvencyReport:
    """Check ``proof_set`` against ``root`` and the verifier's ``policy`` (module docstring); a report,
    never an exception for a bad proof.

    Raises UntrustedKey for a key the trust policy refuses, and MalformedInput (SolvencyError)
    for a missing or malformed key file.
    """
    plan = proof_set.plan
    layers_summary = tuple((layer.circuit, len(layer.proofs)) for layer in proof_set.layers)
    total = sum(n for _, n in layers_summary)

    def reject(reason: str, keys: tuple = (), bad: tuple = ()) -> SolvencyReport:
        return SolvencyReport(False, reason, root.root_hash, total, layers_summary, keys, bad)

    if proof_set.root_hash != root.root_hash:
        return reject(f"the proofs answer root {proof_set.root_hash}, not the published root {root.root_hash}")
    if (plan.depth, plan.assets, plan.pledges) != (root.depth, len(root.assets), len(root.pledges)):
        return reject(f"the proofs cover a tree of depth {plan.depth} with {plan.assets} assets and {plan.pledges} pledge classes; "
                      f"the root's has depth {root.depth}, {len(root.assets)} assets and {len(root.pledges)} pledge classes")
    if proof_set.policy != policy:
        return reject("the proofs were made under another policy than yours (prices, decimals or tiers differ)")
    try:
        slots = policy_inputs(policy, root.assets, plan.tiers, root.pledges)
    except SolvencyError as exc:
        return reject(f"the policy does not fit the root: {exc}")
    if len(proof_set.layers) != len(plan.layers):
        return reject(f"the plan has {len(plan.layers)} layers of proofs, the set {len(proof_set.layers)}")
    for layer, proved in zip(plan.layers, proof_set.layers):
        if len(proved.proofs) != layer.count or len(proved.commitments) != len(proved.proofs):
            return reject(f"layer {layer.index} ({layer.role}) needs {layer.count} proofs, the set has {len(proved.proofs)}")
        if (proved.circuit, proved.params) != (layer.circuit.name, layer.circuit.params):
            return reject(f"layer {layer.index} holds proofs of {proved.circuit}, the plan calls for {layer.circuit.name}")
        if any((c is None) != (layer.role == "root") for c in proved.commitments):
            return reject(f"layer {layer.index} ({layer.role}): a commitment is missing or out of place")
    vks, reports = {}, []
    for circuit in plan.circuits():
        label = key_label(circuit)
        vk = read_verification_key(vk_dir, label)
        reports.append(require_trusted(circuit, vk, trust, transcript=(transcripts or {}).get(label), what=f"{vk_dir}/{label}"))
        if proof_set.keys.get(label) != vk_hash(vk):
            return reject(f"the proofs of {circuit.name} were made for key {proof_set.keys.get(label)}, not {vk_dir}/{label}", tuple(reports))
        vks[label] = vk
    commitments = [list(layer.commitments) for layer in proof_set.layers]
    bad: list[str] = []
    for layer, proved in zip(plan.layers, proof_set.layers):
        vk = vks[key_label(layer.circuit)]
        items = []
        for j, proof in enumerate(proved.proofs):
            public = expected_public(plan, layer, j, slots, commitments, root)
            items.append((public, dataclasses.replace(proof, circuit_digest=vk.circuit.digest)))
        try:
            verdicts = verify_batch(vk, items, backend=backend)
        except MalformedInput:
            verdicts = []
            for public, proof in items:
                try:
                    verdicts.append(verify(vk, public, proof, backend=backend))
                except MalformedInput:
                    verdicts.append(False)
        bad += [f"layer {layer.index} ({layer.role}) proof {j}" for j, ok in enumerate(verdicts) if not ok]
    if bad:
        return reject(f"{len(bad)} proof(s) do not verify: {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}", tuple(reports), tuple(bad))
    return SolvencyReport(True, None, root.root_hash, total, layers_summary, tuple(reports))
