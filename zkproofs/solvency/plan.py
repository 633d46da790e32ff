"""Which proofs cover a tree: batches of 2^b leaves, then aggregations of 2^c commitments.

For a tree of depth D (2^D leaves, padding included), batch height b (< D) and fan-in
levels c, the plan has layers, bottom first:

* layer 0: 2^(D - b) :class:`~circuits.solvency_batch.SolvencyBatch` proofs, batch j over
  leaves [j 2^b, (j + 1) 2^b), each outputting the commitment of node (b, j);
* then, while h + c < D: 2^(D - h - c) :class:`~circuits.solvency_aggregate.SolvencyAggregate`
  proofs, proof j combining the commitments of nodes (h, j 2^c .. (j + 1) 2^c - 1) into that
  of node (h + c, j); h += c;
* last: one :class:`~circuits.solvency_aggregate.SolvencyRoot` over the 2^(D - h) nodes at
  height h, outputting the published root and totals.

So the set holds 2^(D - b) + 2^(D - b - c) + ... + 1 proofs; 2^(D - b) + 1 of them when
D - b <= c. Every proof's circuit, and hence every key, is fixed by (D, A, slots, K, b, c)
(K: the tree's pledge classes, which only the batch circuit reads):
:meth:`ProofPlan.circuits`. The defaults (b = 5, c = 5) keep every circuit at 4 assets
and up to 5 tier slots under 2^16 constraints (62,849 for a batch of 32 leaves, 56,161
for an aggregation of 32 commitments at depth 12); pledge classes make a leaf dearer
(2,784 constraints at K = 1, 4,341 at K = 3, Binance's), so b defaults to 4 for K <= 2
(44,545 for 16 leaves at K = 1) and 3 above (34,729 for 8 leaves at K = 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from circuits import get_circuit
from zkproofs.accounts.model import MAX_PLEDGES
from zkproofs.circuit import Circuit
from zkproofs.errors import SolvencyError
from zkproofs.solvency.policy import TierSlots, flat_inputs
from zkproofs.tree.hashing import MAX_DEPTH, leaf_prefix
from zkproofs.tree.root import PublishedRoot

DEFAULT_BATCH_HEIGHT = 5
DEFAULT_LEVELS = 5


def default_batch_height(pledges: int) -> int:
    """The batch height that keeps a batch under 2^16 constraints at 4 assets and up to 5 tier
    slots (module docstring): 5 without pledge classes, 4 with one or two, 3 with three to
    eight (62,265 constraints at 8), 2 with more (up to 16 classes)."""
    return DEFAULT_BATCH_HEIGHT if pledges == 0 else 4 if pledges <= 2 else 3 if pledges <= 8 else 2


@dataclass(frozen=True)
class Layer:
    """One layer of the plan: its circuit, the height of the nodes it outputs, its number of proofs."""

    index: int
    circuit: Circuit
    height: int
    count: int

    @property
    def role(self) -> str:
        """``batch``, ``aggregate`` or ``root``."""
        return {"solvency_batch": "batch", "solvency_aggregate": "aggregate", "solvency_root": "root"}[self.circuit.name]

    @property
    def fan_in(self) -> int:
        """Commitments each proof of this layer opens (0 for batches)."""
        return 0 if self.role == "batch" else 1 << self.circuit.params["levels"]


def key_label(circuit: Circuit) -> str:
    """Folder name of a circuit's keys: name then parameters, e.g. ``solvency_batch-depth12-assets4-tiers5-height5``."""
    return "-".join([circuit.name, *(f"{k}{v}" for k, v in circuit.params.items())])


@dataclass(frozen=True)
class ProofPlan:
    """The proofs that cover a tree of ``depth`` with ``assets`` assets, ``tiers`` slots per slot set
    and ``pledges`` pledge classes."""

    depth: int
    assets: int
    tiers: int
    batch_height: int
    levels: int
    pledges: int = 0

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Bottom first (module docstring)."""
        d, a, b, c = self.depth, self.assets, self.batch_height, self.levels
        batch = get_circuit("solvency_batch", {"depth": d, "assets": a, "tiers": self.tiers, "height": b, "pledges": self.pledges})
        out = [Layer(0, batch, b, 1 << (d - b))]
        h = b
        while h + c < d:
            out.append(Layer(len(out), get_circuit("solvency_aggregate", {"depth": d, "assets": a, "height": h, "levels": c}), h + c, 1 << (d - h - c)))
            h += c
        out.append(Layer(len(out), get_circuit("solvency_root", {"depth": d, "assets": a, "height": h, "levels": d - h}), d, 1))
        return tuple(out)

    def circuits(self) -> list[Circuit]:
        """One circuit per distinct key the plan needs (layers may share one)."""
        seen: dict[str, Circuit] = {}
        for layer in self.layers:
            seen.setdefault(key_label(layer.circuit), layer.circuit)
        return list(seen.values())

    @property
    def proof_count(self) -> int:
        """Proofs in the whole set."""
        return sum(layer.count for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, "assets": self.assets, "tiers": self.tiers, "batch_height": self.batch_height, "levels": self.levels,
                "pledges": self.pledges}


def make_plan(depth: int, assets: int, tiers: int, *, pledges: int = 0, batch_height: int | None = None,
              levels: int = DEFAULT_LEVELS) -> ProofPlan:
    """The plan for a tree; the batch height (default :func:`default_batch_height`) is lowered
    to depth - 1 for small trees.

    SolvencyError for a tree of depth 1 (two leaves: nothing to aggregate, and a batch
    over the whole tree would reveal its totals twice over), or out-of-range parameters.
    """
    if batch_height is None:
        batch_height = default_batch_height(pledges)
    for name, value, low, high in (("depth", depth, 2, MAX_DEPTH), ("batch height", batch_height, 1, MAX_DEPTH), ("levels", levels, 1, 16),
                                   ("tiers", tiers, 1, 64), ("assets", assets, 1, 1024), ("pledges", pledges, 0, MAX_PLEDGES)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SolvencyError(f"{name} {value!r} is not in [{low}, {high}]" + (" (a tree of 3 or more accounts)" if name == "depth" else ""))
    return ProofPlan(depth, assets, tiers, min(batch_height, depth - 1), levels, pledges)


def expected_public(plan: ProofPlan, layer: Layer, index: int, slots: Sequence[TierSlots], commitments: Sequence[Sequence[int | None]],
                    root: PublishedRoot) -> list[int]:
    """The public inputs of proof ``index`` of ``layer``: the policy's tier slots, the digest of the root's
    pledge classes (if any) and the batch's output commitment; the 2^c child commitments of the layer below, by position, and the output; or the
    children and the root file's hash and totals. What the coordinator checks each returned proof
    against and what the verifier recomputes (:mod:`zkproofs.solvency.verify`). IndexError-free only
    for commitment lists of the plan's shape (the verifier checks that first)."""
    if layer.role == "batch":
        return flat_inputs(slots, plan.assets) + leaf_prefix(root.pledges) + [commitments[0][index]]
    children = list(commitments[layer.index - 1][index * layer.fan_in : (index + 1) * layer.fan_in])
    if layer.role == "aggregate":
        return children + [commitments[layer.index][index]]
    return children + [root.root_hash, *root.equity_totals, *root.debt_totals]


def plan_from_dict(obj: Any, where: str) -> ProofPlan:
    """Decode :meth:`ProofPlan.to_dict`; SolvencyError naming ``where``."""
    if not isinstance(obj, dict) or set(obj) != {"depth", "assets", "tiers", "batch_height", "levels", "pledges"}:
        raise SolvencyError(f"{where}: plan must have exactly depth, assets, tiers, batch_height, levels, pledges")
    plan = make_plan(obj["depth"], obj["assets"], obj["tiers"], pledges=obj["pledges"], batch_height=obj["batch_height"], levels=obj["levels"])
    if plan.batch_height != obj["batch_height"]:
        raise SolvencyError(f"{where}: batch height {obj['batch_height']} is not below the depth {obj['depth']}")
    return plan
