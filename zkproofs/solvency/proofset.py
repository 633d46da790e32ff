"""The published global proof: a folder the auditor and customers verify without the database.

Layout (``format`` "zkproofs/solvency-proofs", ``version`` 2; version 1 plans had no pledge classes)::

    DIR/manifest.json  {"format", "version", "created_at",
                        "root_hash" (decimal string: the root file it answers),
                        "policy" (the policy file's object: prices and tiers),
                        "plan" ({depth, assets, tiers, batch_height, levels, pledges}),
                        "keys" ({key label: SHA-256 of the verification key used}),
                        "layers": [{"circuit", "params", "file", "count"}]}
    DIR/layer-L.json   {"proofs": [{"commitment" (decimal string; absent in the root layer),
                                    "a", "b", "c" (hex, compressed points)}]}

A proof's public inputs are not stored: the verifier recomputes them from the policy,
the commitments of the layer below and the root file (:mod:`zkproofs.solvency.verify`),
so the files cannot claim inputs other than the ones checked. The folder reveals the
number of proofs and the subtree commitments, nothing else. Written atomically: the new
set is written and synced in a temporary folder beside ``DIR``, then ``DIR`` is renamed
aside, the new folder renamed to ``DIR`` and the old one removed, so a reader or a crash
sees the old set, the new set or (between the two renames) none, never a mixture.
``DIR`` must hold nothing but a set and its progress file (:func:`check_output_folder`).
"""

from __future__ import annotations

import datetime
import json
import re
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkproofs.errors import SolvencyError
from zkproofs.field import decode_scalar
from zkproofs.groth16.keys import Proof
from zkproofs.groth16.serialize import vk_hash
from zkproofs.jsontext import is_exactly, loads
from zkproofs.solvency.plan import ProofPlan, key_label, plan_from_dict
from zkproofs.solvency.policy import SolvencyPolicy, policy_from_dict

SET_FORMAT = "zkproofs/solvency-proofs"
SET_VERSION = 2
G1_BYTES, G2_BYTES = 48, 96
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)


@dataclass(frozen=True)
class ProvedLayer:
    """One layer's proofs, in order, and the commitment each outputs (None in the root layer)."""

    circuit: str
    params: dict[str, int]
    proofs: tuple[Proof, ...]
    commitments: tuple[int | None, ...]


@dataclass(frozen=True)
class ProofSet:
    """A global proof: the root hash it answers, the policy, the plan, the key hashes and every layer."""

    root_hash: int
    policy: SolvencyPolicy
    plan: ProofPlan
    keys: dict[str, str]
    layers: tuple[ProvedLayer, ...]
    created_at: str

    @classmethod
    def from_run(cls, prepared: Any, proofs: dict[tuple[int, int], Proof], vks: dict) -> "ProofSet":
        """The set of a finished run (:class:`zkproofs.solvency.prove.Prepared` and its proofs by (layer, index))."""
        plan = prepared.plan
        layers = []
        for layer in plan.layers:
            outputs = prepared.commitments[layer.index] if layer.role != "root" else [None]
            layers.append(ProvedLayer(layer.circuit.name, dict(layer.circuit.params),
                                      tuple(proofs[(layer.index, j)] for j in range(layer.count)), tuple(outputs)))
        keys = {key_label(c): vk_hash(vks[key_label(c)]) for c in plan.circuits()}
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        return cls(prepared.root.root_hash, prepared.policy, plan, keys, tuple(layers), now)


SET_FILES = re.compile(r"manifest\.json|layer-[0-9]+\.json|progress\.sqlite(-journal|-wal|-shm)?")
"""Names a proof-set folder may hold (the set and the prover's progress file)."""


def check_output_folder(out: Path) -> None:
    """SolvencyError unless ``out`` is absent or a folder holding only a proof set and its
    progress file: the set replaces the whole folder, which must not take other files with it."""
    if not out.exists():
        return
    if not out.is_dir():
        raise SolvencyError(f"{out}: not a folder")
    other = sorted(p.name for p in out.iterdir() if not SET_FILES.fullmatch(p.name))
    if other:
        raise SolvencyError(f"{out}: holds files that are not a proof set ({', '.join(other[:3])}); give an empty or a proof folder")


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_proof_set(out: Path, proof_set: ProofSet) -> None:
    """Replace the folder ``out`` by the set (module docstring). SolvencyError as :func:`check_output_folder`."""
    check_output_folder(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
    try:
        layers_doc = []
        for index, layer in enumerate(proof_set.layers):
            name = f"layer-{index}.json"
            entries = []
            for proof, commitment in zip(layer.proofs, layer.commitments):
                entry = {"a": proof.a.hex(), "b": proof.b.hex(), "c": proof.c.hex()}
                if commitment is not None:
                    entry = {"commitment": str(commitment), **entry}
                entries.append(entry)
            _write_synced(tmp / name, json.dumps({"proofs": entries}, indent=1) + "\n")
            layers_doc.append({"circuit": layer.circuit, "params": layer.params, "file": name, "count": len(layer.proofs)})
        manifest = {
            "format": SET_FORMAT,
            "version": SET_VERSION,
            "created_at": proof_set.created_at,
            "root_hash": str(proof_set.root_hash),
            "policy": proof_set.policy.to_dict(),
            "plan": proof_set.plan.to_dict(),
            "keys": proof_set.keys,
            "layers": layers_doc,
        }
        _write_synced(tmp / "manifest.json", json.dumps(manifest, indent=2) + "\n")
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.rmdir(old)
            os.rename(out, old)
        os.rename(tmp, out)
        tmp = old  # the old set, removed below
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _same_params(value: Any, expected: dict[str, int]) -> bool:
    return isinstance(value, dict) and value == expected and all(type(v) is int for v in value.values())


def _hex(value: Any, size: int, where: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise SolvencyError(f"{where}: expected {2 * size} hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise SolvencyError(f"{where}: not hex") from None


def read_proof_set(folder: str | os.PathLike) -> ProofSet:
    """Read a set (strict JSON); SolvencyError naming the file and field of anything malformed."""
    base = Path(folder)
    where = str(base / "manifest.json")
    try:
        manifest = loads((base / "manifest.json").read_bytes(), where, SolvencyError)
    except OSError as exc:
        raise SolvencyError(f"{where}: cannot read the proof set's manifest ({exc.strerror})") from None
    if not isinstance(manifest, dict) or not is_exactly(manifest.get("format"), SET_FORMAT) or not is_exactly(manifest.get("version"), SET_VERSION):
        raise SolvencyError(f"{where}: not a {SET_FORMAT} version {SET_VERSION} manifest")
    for key in ("created_at", "root_hash", "policy", "plan", "keys", "layers"):
        if key not in manifest:
            raise SolvencyError(f"{where}: missing field {key!r}")
    root_hash = decode_scalar(manifest["root_hash"], what=f"{where}: root_hash") if isinstance(manifest["root_hash"], str) else None
    if root_hash is None:
        raise SolvencyError(f"{where}: root_hash must be a decimal string")
    policy = policy_from_dict(manifest["policy"], f"{where}: policy")
    plan = plan_from_dict(manifest["plan"], f"{where}: plan")
    keys = manifest["keys"]
    if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
        raise SolvencyError(f"{where}: keys must map key labels to SHA-256 hex strings")
    expected = plan.layers
    docs = manifest["layers"]
    if not isinstance(docs, list) or len(docs) != len(expected):
        raise SolvencyError(f"{where}: the plan has {len(expected)} layers, the manifest lists {len(docs) if isinstance(docs, list) else 'none'}")
    layers = []
    for layer, doc in zip(expected, docs):
        here = f"{where}: layers[{layer.index}]"
        if not isinstance(doc, dict) or not is_exactly(doc.get("circuit"), layer.circuit.name) or not _same_params(doc.get("params"), layer.circuit.params):
            raise SolvencyError(f"{here}: expected circuit {layer.circuit.name} {layer.circuit.params}")
        name = doc.get("file")
        if name != f"layer-{layer.index}.json":
            raise SolvencyError(f"{here}: file must be layer-{layer.index}.json")
        path = base / name
        try:
            body = loads(path.read_bytes(), str(path), SolvencyError)
        except OSError as exc:
            raise SolvencyError(f"{path}: cannot read ({exc.strerror})") from None
        entries = body.get("proofs") if isinstance(body, dict) else None
        if not isinstance(entries, list) or len(entries) != layer.count:
            raise SolvencyError(f"{path}: expected {layer.count} proofs")
        proofs, commitments = [], []
        digest = ""
        for j, entry in enumerate(entries):
            at = f"{path}: proofs[{j}]"
            fields = {"a", "b", "c"} | ({"commitment"} if layer.role != "root" else set())
            if not isinstance(entry, dict) or set(entry) != fields:
                raise SolvencyError(f"{at}: expected exactly the fields {', '.join(sorted(fields))}")
            proofs.append(Proof(_hex(entry["a"], G1_BYTES, f"{at}.a"), _hex(entry["b"], G2_BYTES, f"{at}.b"),
                                _hex(entry["c"], G1_BYTES, f"{at}.c"), digest))
            if layer.role == "root":
                commitments.append(None)
            elif isinstance(entry["commitment"], str) and _DECIMAL.fullmatch(entry["commitment"]):
                commitments.append(decode_scalar(entry["commitment"], what=f"{at}.commitment"))
            else:
                raise SolvencyError(f"{at}.commitment: must be a decimal string")
        layers.append(ProvedLayer(layer.circuit.name, dict(layer.circuit.params), tuple(proofs), tuple(commitments)))
    if not isinstance(manifest["created_at"], str):
        raise SolvencyError(f"{where}: created_at must be a string")
    return ProofSet(root_hash, policy, plan, keys, tuple(layers), manifest["created_at"])
