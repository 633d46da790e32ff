"""LIQUIDATION: a note under the maintenance ratio loses its debt and at most debt + penalty of collateral.

The statement a liquidator proves when it takes a margin note that fell below the venue's
maintenance ratio at an epoch's prices (the lending side of :mod:`circuits.valid_transition`;
the liquidation incentive of lending protocols, Aave V3 technical paper section 4.5 and
Compound's "liquidation incentive"). It needs the owner's nullifier key nk and the note's
opening (which a borrower gives the venue, sealed to its key), not the spending key: the spend
authority ak enters privately and pk = P(ak, nk) is derived from both. Over A assets and a
4-ary note tree of ``depth`` bits:

public:  anchor               a root of the note commitment tree
         collateral_delta[A]  minus the collateral seized, per asset (field elements, -x is r - x)
         debt_delta[A]        minus the note's whole debt, per asset
         price[A], haircut_bps[A], maintenance_ratio_bps
                              the epoch's prices and the venue's margin policy
         penalty_bps          the venue's liquidation penalty
         context              kind LIQUIDATE, the venue, reference, epoch, expiry
                              (:func:`zkproofs.settlement.transition.transition_context`)
         nullifier            (derived) the liquidated note's nullifier
         new_commitment       (derived) the note left to the owner
private: ak, nk, old collateral[A], old debt[A], old salt,
         path_bits[depth], siblings[3 * depth / 2]

constraints:
    pk = P(ak, nk); old = NoteCommitment(pk, old amounts, old salt) is in the tree under
    ``anchor`` (every path bit boolean); nullifier = Nullifier(nk, position, old);
    the old note is strictly below the maintenance ratio at the prices
    (:func:`zkproofs.gadgets.margin.assert_below_margin_unchecked`);
    old debt + debt_delta = 0 for every asset (the whole debt is repaid);
    seized_i = -collateral_delta_i is in [0, 2^64) and old collateral - seized_i is in
    [0, 2^64) (nothing is taken that the note does not hold, nothing is added);
    10^4 x value(seized) <= (10^4 + penalty) x value(debt)
    (:func:`zkproofs.gadgets.liquidation.assert_seizure_within_penalty_unchecked`);
    new = NoteCommitment(pk, old collateral - seized, 0, salt) with salt =
    P(nk, nullifier) (:func:`zkproofs.settlement.notes.liquidation_salt`): the remainder
    belongs to the same owner, who can open it from the public nullifier.

Domains the VERIFIER checks (public inputs): prices in [1, 2^64], haircuts in [0, 10^4],
ratio in [1, 2^24], penalty in [0, 10^4] (:meth:`Liquidation.public_domain_problem`).
Old amounts are not range-checked again (every note in the tree was created by a
statement that range-checks its amounts).
"""

from __future__ import annotations

from typing import Mapping

from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitError, MalformedInput
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.liquidation import assert_seizure_within_penalty_unchecked, penalty_ok
from zkproofs.gadgets.margin import MAX_ASSETS, assert_below_margin_unchecked, margin_parameters_ok
from zkproofs.gadgets.note_tree import membership_root
from zkproofs.gadgets.notes import note_commitment, nullifier, tagged_sponge
from zkproofs.r1cs import ConstraintSystem
from zkproofs.settlement.note_tree import DEFAULT_DEPTH, levels_of
from zkproofs.settlement.notes import AMOUNT_BITS, LIQ_SALT_TAG, PK_TAG


class Liquidation(Circuit):
    """A note below maintenance is spent by its nk holder: debt repaid, at most debt + penalty of collateral taken."""

    name = "liquidation"
    description = "margin note below maintenance: debt repaid from collateral plus a penalty at most, remainder to its owner"
    parameters = {
        "assets": (4, "number of assets of the venue"),
        "depth": (DEFAULT_DEPTH, "note commitment tree height in bits (even; depth / 2 levels of 4-ary nodes)"),
    }

    def validate_params(self) -> None:
        if self.params["assets"] > MAX_ASSETS:
            raise CircuitError(f"at most {MAX_ASSETS} assets")
        try:
            levels_of(self.params["depth"])
        except MalformedInput as exc:
            raise CircuitError(str(exc)) from None

    def public_inputs(self) -> list[str]:
        a = self.params["assets"]
        return (
            ["anchor"]
            + [f"collateral_delta[{i}]" for i in range(a)]
            + [f"debt_delta[{i}]" for i in range(a)]
            + [f"price[{i}]" for i in range(a)]
            + [f"haircut_bps[{i}]" for i in range(a)]
            + ["maintenance_ratio_bps", "penalty_bps", "context", "nullifier", "new_commitment"]
        )

    def derived_public_inputs(self) -> list[str]:
        return ["nullifier", "new_commitment"]

    def private_inputs(self) -> list[str]:
        a, d = self.params["assets"], self.params["depth"]
        return (
            ["ak", "nk"]
            + [f"old_collateral[{i}]" for i in range(a)]
            + [f"old_debt[{i}]" for i in range(a)]
            + ["old_salt"]
            + [f"path_bits[{k}]" for k in range(d)]
            + [f"siblings[{k}]" for k in range(3 * d // 2)]
        )

    @classmethod
    def public_domain_problem(cls, public: Mapping[str, int]) -> str | None:
        """Prices in [1, 2^64], haircuts in [0, 10^4], the ratio in [1, 2^24], the penalty in [0, 10^4] bps.
        None when they hold. O(A)."""
        assets = sum(1 for name in public if name.startswith("price["))
        try:
            prices = [public[f"price[{i}]"] for i in range(assets)]
            haircuts = [public[f"haircut_bps[{i}]"] for i in range(assets)]
            ratio, penalty = public["maintenance_ratio_bps"], public["penalty_bps"]
        except KeyError as exc:
            return f"public input {exc.args[0]!r} is missing"
        if not margin_parameters_ok(prices, haircuts, ratio) or not penalty_ok(penalty):
            return "prices, haircuts, maintenance_ratio_bps or penalty_bps outside [1, 2^64], [0, 10^4], [1, 2^24], [0, 10^4]"
        return None

    def define(self, cs: ConstraintSystem) -> None:
        a, d = self.params["assets"], self.params["depth"]
        anchor = cs.public_input("anchor")
        collateral_delta = [cs.public_input(f"collateral_delta[{i}]") for i in range(a)]
        debt_delta = [cs.public_input(f"debt_delta[{i}]") for i in range(a)]
        prices = [cs.public_input(f"price[{i}]") for i in range(a)]
        haircuts = [cs.public_input(f"haircut_bps[{i}]") for i in range(a)]
        ratio = cs.public_input("maintenance_ratio_bps")
        penalty = cs.public_input("penalty_bps")
        cs.public_input("context")  # bound by the input-consistency rows only
        ak, nk = cs.private_input("ak"), cs.private_input("nk")
        old_collateral = [cs.private_input(f"old_collateral[{i}]") for i in range(a)]
        old_debt = [cs.private_input(f"old_debt[{i}]") for i in range(a)]
        old_salt = cs.private_input("old_salt")
        bits = [cs.private_input(f"path_bits[{k}]") for k in range(d)]
        flat = [cs.private_input(f"siblings[{k}]") for k in range(3 * d // 2)]
        siblings = [flat[k : k + 3] for k in range(0, len(flat), 3)]

        with cs.scope("owner"):
            (pk,) = tagged_sponge(cs, [ak, nk], PK_TAG)
        old = note_commitment(cs, pk, old_collateral, old_debt, old_salt)
        root, position = membership_root(cs, old, bits, siblings)
        cs.enforce(1, root - anchor, 0, "anchor: root = anchor")
        nf = nullifier(cs, nk, position, old)
        assert_below_margin_unchecked(cs, old_collateral, old_debt, prices, haircuts, ratio)
        with cs.scope("debt repaid"):
            for i in range(a):
                cs.enforce(1, old_debt[i] + debt_delta[i], 0, f"debt[{i}] + debt_delta[{i}] = 0")
        seized = [-delta for delta in collateral_delta]
        left = [o + delta for o, delta in zip(old_collateral, collateral_delta)]
        with cs.scope("seized"):
            for i in range(a):
                with cs.scope(f"seized[{i}]"):
                    range_check(cs, seized[i], AMOUNT_BITS)
                with cs.scope(f"left[{i}]"):
                    range_check(cs, left[i], AMOUNT_BITS)
        assert_seizure_within_penalty_unchecked(cs, seized, old_debt, prices, penalty)
        with cs.scope("remainder salt"):
            (salt,) = tagged_sponge(cs, [nk, nf], LIQ_SALT_TAG)
        new = note_commitment(cs, pk, left, [cs.constant(0)] * a, salt)
        cs.public_output("nullifier", nf)
        cs.public_output("new_commitment", new)
