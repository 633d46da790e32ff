"""Aggregation of the global solvency proof: 2^levels subtree commitments combined by the
tree's node rule into the commitment one ``levels`` up (:class:`SolvencyAggregate`), or into
the published root and totals (:class:`SolvencyRoot`).

Statement (parameters: tree ``depth`` D, ``assets`` A, ``height`` h of the input subtrees,
``levels`` c, so 2^c inputs):

public:  inputs[m]  (m < 2^c: the input subtrees' commitments, left to right: the outputs
                     of the batch or aggregation proofs below), then
         SolvencyAggregate: commitment (output);
         SolvencyRoot (h + c = D): root, root_equities[i], root_debts[i]  (the published root file)
private: hashes[m], sums[m][s] (s < 2A: equity sums then debt sums), blindings[m];
         SolvencyAggregate also blinding

constraints:
    every opened sum < 2^(64 + h) (range check: without it two sum vectors that pack
    alike, s_i + 2^W and s_(i+1) - 1, would open the same commitment with other totals);
    inputs[m] = Poseidon_t5([hashes[m], *pack_W([SUBTREE_TAG, *sums[m]]), blindings[m]]);
    c levels of node hashes (:func:`zkproofs.gadgets.merkle_sum.node_hash`, sums added);
    SolvencyAggregate: commitment = the same commitment of the top node under ``blinding``;
    SolvencyRoot: the top hash and sums equal root, root_equities, root_debts (statement 4:
    the published totals are the exact sums of all leaves and the root hash is their root).

The input subtrees' sums are below 2^(64 + h) because the proofs below computed them from
64-bit leaves (the batch circuit) or from range-checked openings (this one), so the
parents' sums neither wrap mod r nor overflow a packing slot. Cost at A = 4 and D <= 20:
about 2A (65 + h) + 600 per input and 600 per node, plus 600 for an output commitment.
"""

from __future__ import annotations

from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitError
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.merkle_sum import node_hash, subtree_commitment
from zkproofs.r1cs import ConstraintSystem, LinearCombination
from zkproofs.tree.hashing import AMOUNT_BITS, MAX_DEPTH


class _Combine(Circuit):
    """Shared inputs and constraints of the two aggregation circuits."""

    parameters = {
        "depth": (4, "depth of the whole tree (sets the node hash's packing)"),
        "assets": (2, "number of assets per leaf"),
        "height": (2, "height of the input subtrees"),
        "levels": (1, "levels combined (2^levels inputs)"),
    }

    def validate_params(self) -> None:
        d, h, c = self.params["depth"], self.params["height"], self.params["levels"]
        if d > MAX_DEPTH:
            raise CircuitError(f"depth must be at most {MAX_DEPTH}")
        if h + c > d:
            raise CircuitError(f"height {h} + levels {c} is above the depth {d}")

    def _inputs_public(self) -> list[str]:
        return [f"inputs[{m}]" for m in range(1 << self.params["levels"])]

    def _openings(self) -> list[str]:
        n, a2 = 1 << self.params["levels"], 2 * self.params["assets"]
        names = [f"hashes[{m}]" for m in range(n)]
        names += [f"sums[{m}][{s}]" for m in range(n) for s in range(a2)]
        return names + [f"blindings[{m}]" for m in range(n)]

    def _combine(self, cs: ConstraintSystem) -> tuple[LinearCombination, list[LinearCombination]]:
        d, a, h, c = self.params["depth"], self.params["assets"], self.params["height"], self.params["levels"]
        commitments = [cs.public_input(f"inputs[{m}]") for m in range(1 << c)]
        level = []
        for m, public in enumerate(commitments):
            node = cs.private_input(f"hashes[{m}]")
            sums = [cs.private_input(f"sums[{m}][{s}]") for s in range(2 * a)]
            with cs.scope(f"input[{m}]"):
                for s, value in enumerate(sums):
                    with cs.scope(f"sum[{s}]"):
                        range_check(cs, value, AMOUNT_BITS + h)
                opened = subtree_commitment(cs, d, node, sums, cs.private_input(f"blindings[{m}]"))
                cs.assert_equal(opened, public, "opens the input commitment")
            level.append((node, sums))
        for k in range(c):
            with cs.scope(f"height[{h + k + 1}]"):
                level = [
                    (node_hash(cs, d, lh, ls, rh, rs), [x + y for x, y in zip(ls, rs)])
                    for (lh, ls), (rh, rs) in zip(level[0::2], level[1::2])
                ]
        (top_hash, top_sums), = level
        return top_hash, top_sums


class SolvencyAggregate(_Combine):
    """2^levels subtree commitments combined into the commitment of their common ancestor."""

    name = "solvency_aggregate"
    description = "global solvency proof, aggregation: subtree commitments combined into one a few levels up"

    def validate_params(self) -> None:
        super().validate_params()
        if self.params["height"] + self.params["levels"] >= self.params["depth"]:
            raise CircuitError("height + levels must be below depth (the top proof is solvency_root)")

    def public_inputs(self) -> list[str]:
        return self._inputs_public() + ["commitment"]

    def derived_public_inputs(self) -> list[str]:
        return ["commitment"]

    def private_inputs(self) -> list[str]:
        return self._openings() + ["blinding"]

    def define(self, cs: ConstraintSystem) -> None:
        top_hash, top_sums = self._combine(cs)
        out = subtree_commitment(cs, self.params["depth"], top_hash, top_sums, cs.private_input("blinding"))
        cs.public_output("commitment", out)


class SolvencyRoot(_Combine):
    """2^levels subtree commitments combined into the published root hash and totals."""

    name = "solvency_root"
    description = "global solvency proof, top: subtree commitments combined into the published root and totals"
    parameters = {**_Combine.parameters, "levels": (2, "levels combined (2^levels inputs; height + levels = depth)")}

    def validate_params(self) -> None:
        super().validate_params()
        if self.params["height"] + self.params["levels"] != self.params["depth"]:
            raise CircuitError("height + levels must equal depth (this proof outputs the root)")

    def public_inputs(self) -> list[str]:
        a = self.params["assets"]
        return (
            self._inputs_public()
            + ["root"]
            + [f"root_equities[{i}]" for i in range(a)]
            + [f"root_debts[{i}]" for i in range(a)]
        )

    def private_inputs(self) -> list[str]:
        return self._openings()

    def define(self, cs: ConstraintSystem) -> None:
        a = self.params["assets"]
        top_hash, top_sums = self._combine(cs)
        root = cs.public_input("root")
        totals = [cs.public_input(f"root_equities[{i}]") for i in range(a)] + [cs.public_input(f"root_debts[{i}]") for i in range(a)]
        cs.assert_equal(top_hash, root, "root hash")
        for s, (mine, published) in enumerate(zip(top_sums, totals)):
            cs.assert_equal(mine, published, f"root sum {s}")
