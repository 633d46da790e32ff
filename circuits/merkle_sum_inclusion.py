"""Zero-knowledge inclusion of a customer's balances in a Merkle-sum liability tree.

Statement (parameters: ``depth`` D, ``assets`` A, ``pledges`` K, default 0):

public:  commitment (the user's Poseidon commitment to id and salt),
         equities[0..A), debts[0..A)   (the user's balances, base units),
         pledged[0..K)[0..A)           (the user's pledged collateral per pledge class),
         pledge_classes                (K > 0 only: the digest of the root's pledge class names),
         root, root_equities[0..A), root_debts[0..A)   (the published root)
private: path_bits[0..D)   (leaf index, little-endian: bit k = 1 when the node
                            at height k is a right child),
         sibling_hashes[0..D), sibling_equities[0..D)[0..A), sibling_debts[0..D)[0..A)

constraints:
    every user amount (pledged ones too) < 2^64;
    leaf = Poseidon_t5([commitment, (pledge_classes,) *pack_64([LEAF_TAG, equities, debts, pledged])]);
    per height k: path bit boolean, sibling sums < 2^(64 + k), conditional swap
    of (hash, sums) by the bit, parent sums = left + right, parent hash =
    Poseidon_t5([h_L, h_R, *pack_W([NODE_TAG, sums_L, sums_R])]), W = 64 + D;
    the top hash and sums equal root, root_equities, root_debts.

Layout and packing: :mod:`zkproofs.tree.hashing`. Size at 4 assets and
D <= 20: 512 + 300 + sum over k of (610 + 8 (65 + k)) constraints, about 12,400
at D = 10 (about 22,000 with layout version 1).

Every sibling hash and sum stays hidden. The native counterpart is
:mod:`zkproofs.tree` (Merkle-sum tree with full sums, Hu, Zhang, Guo 2019);
the gadgets are :mod:`zkproofs.gadgets.merkle_sum`.
"""

from __future__ import annotations

from zkproofs.accounts.model import MAX_PLEDGES
from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitError
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.merkle_sum import leaf_hash, level_step
from zkproofs.r1cs import ConstraintSystem
from zkproofs.tree.hashing import AMOUNT_BITS, MAX_DEPTH


class MerkleSumInclusion(Circuit):
    """A public leaf (commitment, balances) lies in the Merkle-sum tree with the public root and sums."""

    name = "merkle_sum_inclusion"
    description = "balances included in a Merkle-sum liability tree (siblings hidden)"
    parameters = {
        "depth": (4, "tree depth (2^depth leaves)"),
        "assets": (2, "number of assets per leaf"),
        "pledges": (0, "pledge classes whose amounts the leaf commits (0: none)"),
    }

    def validate_params(self) -> None:
        if self.params["depth"] > MAX_DEPTH:
            raise CircuitError(f"depth must be at most {MAX_DEPTH}")
        if self.params["pledges"] > MAX_PLEDGES:
            raise CircuitError(f"pledges must be at most {MAX_PLEDGES}")

    def public_inputs(self) -> list[str]:
        a = self.params["assets"]
        return (
            ["commitment"]
            + [f"equities[{i}]" for i in range(a)]
            + [f"debts[{i}]" for i in range(a)]
            + [f"pledged[{k}][{i}]" for k in range(self.params["pledges"]) for i in range(a)]
            + (["pledge_classes"] if self.params["pledges"] else [])
            + ["root"]
            + [f"root_equities[{i}]" for i in range(a)]
            + [f"root_debts[{i}]" for i in range(a)]
        )

    def private_inputs(self) -> list[str]:
        d, a = self.params["depth"], self.params["assets"]
        names = [f"path_bits[{k}]" for k in range(d)] + [f"sibling_hashes[{k}]" for k in range(d)]
        names += [f"sibling_equities[{k}][{i}]" for k in range(d) for i in range(a)]
        names += [f"sibling_debts[{k}][{i}]" for k in range(d) for i in range(a)]
        return names

    def define(self, cs: ConstraintSystem) -> None:
        d, a = self.params["depth"], self.params["assets"]
        commitment = cs.public_input("commitment")
        equities = [cs.public_input(f"equities[{i}]") for i in range(a)]
        debts = [cs.public_input(f"debts[{i}]") for i in range(a)]
        pledged = [cs.public_input(f"pledged[{k}][{i}]") for k in range(self.params["pledges"]) for i in range(a)]
        digest = cs.public_input("pledge_classes") if pledged else None
        root = cs.public_input("root")
        root_sums = [cs.public_input(f"root_equities[{i}]") for i in range(a)]
        root_sums += [cs.public_input(f"root_debts[{i}]") for i in range(a)]
        bits = [cs.private_input(f"path_bits[{k}]") for k in range(d)]
        sib_hashes = [cs.private_input(f"sibling_hashes[{k}]") for k in range(d)]
        sib_eq = [[cs.private_input(f"sibling_equities[{k}][{i}]") for i in range(a)] for k in range(d)]
        sib_debt = [[cs.private_input(f"sibling_debts[{k}][{i}]") for i in range(a)] for k in range(d)]

        for i, amount in enumerate([*equities, *debts, *pledged]):
            with cs.scope(f"user_amount[{i}]"):
                range_check(cs, amount, AMOUNT_BITS)
        current = leaf_hash(cs, commitment, equities, debts, pledged, digest)
        sums = [*equities, *debts]
        for k in range(d):
            current, sums = level_step(cs, d, k, bits[k], current, sums, sib_hashes[k], [*sib_eq[k], *sib_debt[k]])
        cs.assert_equal(current, root, "root hash")
        for i, (s, r) in enumerate(zip(sums, root_sums)):
            cs.assert_equal(s, r, f"root sum {i}")
