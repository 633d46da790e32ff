"""A batch of the global solvency proof: every leaf of one subtree is in range and solvent,
and the subtree's root is committed (hidden) for the aggregation above it.

Statement (parameters: tree ``depth`` D, ``assets`` A, tier ``tiers`` n per slot set,
subtree ``height`` b, so 2^b leaves, ``pledges`` K (default 0): the pledge classes the
leaves commit; S = A slot sets without pledges, K A with them):

public:  slopes[s][k], intercepts[s][k], lows[s][k], highs[s][k] (s < S), debt_units[i]
         (the policy's tier slots, :func:`zkproofs.solvency.policy.policy_inputs`, which
         the verifier computes itself), then
         pledge_classes  (K > 0 only: the digest of the root's pledge class names), then
         commitment  (output: the subtree commitment)
private: leaf_commitments[j], equities[j][i], debts[j][i], pledged[j][k A + i] (j < 2^b: the
         subtree's leaves in order, padding leaves included), blinding

constraints, for every leaf j:
    every debt < 2^64 (range check) and every valued amount in the interval of a tier slot,
    hence < 2^64 (statement 1 of :mod:`zkproofs.solvency`); with pledges, every equity
    < 2^64 and e_i - sum_k p_ki < 2^64, so the classes together pledge at most the equity;
    sum_s f_s(x_s U_s) >= sum_i 10^4 d_i U_i, x = the equities, or with pledges the pledged
    amounts, each class by its own tiers (statement 2, :mod:`zkproofs.gadgets.solvency`);
    leaf hash = Poseidon_t5([commitment, (pledge_classes,) *pack_64([LEAF_TAG, e, d, p])])
    (statement 3: the amounts checked are the ones the leaf commits, and with pledges the
    classes whose tiers value them are the ones the leaf names);
then the subtree's nodes by the tree's node rule (:mod:`zkproofs.gadgets.merkle_sum`:
sums = left + right, hash binds both children's full sums; no range check is needed,
every sum at height k is < 2^(64 + k) by induction), and
    commitment = Poseidon_t5([root hash, *pack_W([SUBTREE_TAG, *sums]), blinding]).

Nothing about the leaves is public: the commitment hides the subtree's sums (the
blinding is a secret-derived field element per batch). Cost at A = 4 with n slots:
about 260 + 4 (5n + 133) + 178 + 300 constraints per leaf plus 600 per internal node
and 600 for the commitment (:func:`SolvencyBatch.describe`); with K pledge classes
S (5n + 132) + 4 + 130 A + 260 + 178 + 300 per leaf and 300 more per extra leaf permutation.
"""

from __future__ import annotations

from zkproofs.accounts.model import MAX_PLEDGES
from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitError
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.merkle_sum import leaf_hash, node_hash, subtree_commitment
from zkproofs.gadgets.solvency import assert_solvent
from zkproofs.r1cs import ConstraintSystem, linear_sum
from zkproofs.solvency.policy import MAX_AMOUNT, VALUE_BITS
from zkproofs.tree.hashing import AMOUNT_BITS, MAX_DEPTH


def slot_sets(assets: int, pledges: int) -> int:
    """S: slot sets of a batch, one per asset (no pledge classes) or per pledge class and asset."""
    return assets * max(1, pledges)


def slot_names(assets: int, tiers: int, pledges: int = 0) -> list[str]:
    """Names of the policy's public inputs, in :func:`zkproofs.solvency.policy.flat_inputs` order."""
    names = []
    for s in range(slot_sets(assets, pledges)):
        for what in ("slopes", "intercepts", "lows", "highs"):
            names += [f"{what}[{s}][{k}]" for k in range(tiers)]
    return names + [f"debt_units[{i}]" for i in range(assets)]


class SolvencyBatch(Circuit):
    """Every leaf of a 2^height subtree in range and solvent; output: a hiding commitment to the subtree's root."""

    name = "solvency_batch"
    description = "global solvency proof, one batch: a subtree's leaves in range and solvent, its root committed"
    parameters = {
        "depth": (4, "depth of the whole tree (sets the node hash's packing)"),
        "assets": (2, "number of assets per leaf"),
        "tiers": (2, "tier slots per asset: the policy's most tiers + 1"),
        "height": (2, "height of the subtree (2^height leaves)"),
        "pledges": (0, "pledge classes the leaves commit (0: the equity is valued)"),
    }

    def validate_params(self) -> None:
        if self.params["depth"] > MAX_DEPTH:
            raise CircuitError(f"depth must be at most {MAX_DEPTH}")
        if self.params["pledges"] > MAX_PLEDGES:
            raise CircuitError(f"pledges must be at most {MAX_PLEDGES}")
        if self.params["height"] >= self.params["depth"]:
            raise CircuitError("height must be below depth (an aggregation proof outputs the root)")

    def public_inputs(self) -> list[str]:
        pledges = self.params["pledges"]
        return slot_names(self.params["assets"], self.params["tiers"], pledges) + (["pledge_classes"] if pledges else []) + ["commitment"]

    @classmethod
    def public_domain_problem(cls, public) -> str | None:
        """The slots' bounds the soundness argument needs (:mod:`zkproofs.gadgets.solvency`):
        every high <= 2^64 - 1, every low <= 2^160, slope * (2^64 - 1) + intercept < 2^174, debt
        unit < 2^110 (what :func:`~zkproofs.solvency.policy.policy_inputs` makes; the global
        verifier computes the slots itself, a generic verifier of one batch proof checks them here)."""
        for name, value in public.items():
            what = name.split("[", 1)[0]
            if what == "highs" and value > MAX_AMOUNT:
                return f"{name} = {value} is above 2^64 - 1"
            if what == "lows" and value > 1 << 160:
                return f"{name} = {value} is above 2^160"
            if what == "debt_units" and value >= 1 << 110:
                return f"{name} = {value} is not below 2^110"
            if what == "slopes":
                intercept = public.get(name.replace("slopes", "intercepts", 1), 0)
                if value * MAX_AMOUNT + intercept >= 1 << VALUE_BITS:
                    return f"{name} and its intercept can exceed 2^{VALUE_BITS}"
        return None

    def derived_public_inputs(self) -> list[str]:
        return ["commitment"]

    def private_inputs(self) -> list[str]:
        a, leaves = self.params["assets"], 1 << self.params["height"]
        names = [f"leaf_commitments[{j}]" for j in range(leaves)]
        names += [f"equities[{j}][{i}]" for j in range(leaves) for i in range(a)]
        names += [f"debts[{j}][{i}]" for j in range(leaves) for i in range(a)]
        names += [f"pledged[{j}][{s}]" for j in range(leaves) for s in range(self.params["pledges"] * a)]
        return names + ["blinding"]

    def define(self, cs: ConstraintSystem) -> None:
        d, a, n, b, pledges = (self.params[k] for k in ("depth", "assets", "tiers", "height", "pledges"))
        slots = [tuple([cs.public_input(f"{what}[{s}][{k}]") for k in range(n)] for what in ("slopes", "intercepts", "lows", "highs"))
                 for s in range(slot_sets(a, pledges))]
        debt_units = [cs.public_input(f"debt_units[{i}]") for i in range(a)]
        digest = cs.public_input("pledge_classes") if pledges else None
        level = []
        for j in range(1 << b):
            commitment = cs.private_input(f"leaf_commitments[{j}]")
            equities = [cs.private_input(f"equities[{j}][{i}]") for i in range(a)]
            debts = [cs.private_input(f"debts[{j}][{i}]") for i in range(a)]
            pledged = [cs.private_input(f"pledged[{j}][{s}]") for s in range(pledges * a)]
            with cs.scope(f"leaf[{j}]"):
                for i, debt in enumerate(debts):
                    with cs.scope(f"debt[{i}]"):
                        range_check(cs, debt, AMOUNT_BITS)
                for i, equity in enumerate(equities if pledges else ()):
                    with cs.scope(f"equity[{i}]"):
                        range_check(cs, equity, AMOUNT_BITS)
                    with cs.scope(f"pledged[{i}] <= equity"):
                        range_check(cs, equity - linear_sum(pledged[i::a], cs.witness_mode), AMOUNT_BITS)
                assert_solvent(cs, pledged if pledges else equities, slots, debts, debt_units)
                level.append((leaf_hash(cs, commitment, equities, debts, pledged, digest), [*equities, *debts]))
        for height in range(b):
            with cs.scope(f"height[{height + 1}]"):
                level = [
                    (node_hash(cs, d, lh, ls, rh, rs), [x + y for x, y in zip(ls, rs)])
                    for (lh, ls), (rh, rs) in zip(level[0::2], level[1::2])
                ]
        (top_hash, top_sums), = level
        cs.public_output("commitment", subtree_commitment(cs, d, top_hash, top_sums, cs.private_input("blinding")))
