"""VALID TRANSITION: one margin note spent under an anchor becomes old + a public delta, above margin.

The statement every change to a trader's escrowed position proves (the model of
Zcash Sapling's spend and output statements, Zcash protocol specification
section 4.17, and of Renegade's VALID REBLIND / VALID MATCH SETTLE), over A
assets (parameter ``assets``) and a 4-ary note commitment tree of ``depth`` bits
(``depth / 2`` levels; depth 32 = 16 levels = 2^32 notes, :mod:`zkproofs.settlement.note_tree`):

public:  anchor               a root of the note commitment tree
         spend                1: spend an existing note; 0: create the first note
         collateral_delta[A], debt_delta[A]
                              signed per-asset changes, as field elements (-x is r - x)
         price[A], haircut_bps[A], min_ratio_bps
                              the venue's prices and margin policy; the VERIFIER
                              checks their domains (prices in [1, 2^64], haircuts
                              in [0, 10^4], ratio in [1, 2^24]:
                              :func:`zkproofs.gadgets.margin.margin_parameters_ok`)
         context              the transition's binding: kind, market, settlement
                              id, expiry, counterparty's nullifier (hashed by
                              :func:`zkproofs.settlement.transition.transition_context`)
         nullifier            (derived) the spent note's nullifier; 0 when spend = 0
         new_commitment       (derived) the new note's commitment
private: sk, old collateral[A], old debt[A], old salt, new salt,
         path_bits[depth] (two per level, little-endian), siblings[3 * depth / 2]
         (three per level, leaf level first)

constraints:
    spend is boolean; (nk, pk) derived from sk (:func:`zkproofs.gadgets.notes.owner_keys`);
    old = NoteCommitment(pk, old amounts, old salt); its membership path hashes to
    a root with spend * (root - anchor) = 0 (every path bit boolean); with spend = 0
    every old amount is 0; nullifier = spend * Nullifier(nk, position of the path, old);
    new amounts = old amounts + deltas, each range-checked to [0, 2^64) (a delta
    that wraps the field leaves a value >= 2^64 - nothing in [0, 2^64) is reachable
    from an amount < 2^64 by adding a value in (-2^64, 2^64) mod r except the
    integer sum); new = NoteCommitment(pk, new amounts, new salt) with the same owner;
    the new note meets the margin (:func:`zkproofs.gadgets.margin.assert_margin_unchecked`,
    whose parameter domains the verifier checks, as above).

Old amounts are not range-checked again: every note in the tree was created by
this statement, which range-checks the amounts it commits to (induction from
the all-zero starting note). No constraint uses ``context``: Groth16's
input-consistency rows bind every public input into the proof, so a proof for
one settlement, market or counterparty does not verify for another.

Cost (A = 4, depth 32): membership 16 x 302, keys 477, two commitments 2 x 891,
nullifier 294, new amounts 8 x 65, margin 169, others 13: 8,087 constraints, so
with the 23 input-consistency rows the QAP domain is 2^13 (the binary depth-32
tree with in-circuit parameter checks needed 11,692 rows, domain 2^14).
"""

from __future__ import annotations

from typing import Mapping

from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitError
from zkproofs.gadgets.bits import range_check
from zkproofs.gadgets.margin import MAX_ASSETS, assert_margin_unchecked, margin_parameters_ok
from zkproofs.gadgets.note_tree import membership_root
from zkproofs.gadgets.notes import note_commitment, nullifier, owner_keys
from zkproofs.r1cs import ConstraintSystem
from zkproofs.errors import MalformedInput
from zkproofs.settlement.note_tree import DEFAULT_DEPTH, levels_of
from zkproofs.settlement.notes import AMOUNT_BITS


class ValidTransition(Circuit):
    """A margin note spent under an anchor (or created) becomes old + delta, above margin."""

    name = "valid_transition"
    description = "margin note: spend under an anchor, reveal the nullifier, new note = old + delta, margin held"
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
            ["anchor", "spend"]
            + [f"collateral_delta[{i}]" for i in range(a)]
            + [f"debt_delta[{i}]" for i in range(a)]
            + [f"price[{i}]" for i in range(a)]
            + [f"haircut_bps[{i}]" for i in range(a)]
            + ["min_ratio_bps", "context", "nullifier", "new_commitment"]
        )

    def derived_public_inputs(self) -> list[str]:
        return ["nullifier", "new_commitment"]

    def private_inputs(self) -> list[str]:
        a, d = self.params["assets"], self.params["depth"]
        return (
            ["sk"]
            + [f"old_collateral[{i}]" for i in range(a)]
            + [f"old_debt[{i}]" for i in range(a)]
            + ["old_salt", "new_salt"]
            + [f"path_bits[{k}]" for k in range(d)]
            + [f"siblings[{k}]" for k in range(3 * d // 2)]
        )

    @classmethod
    def public_domain_problem(cls, public: Mapping[str, int]) -> str | None:
        """Prices in [1, 2^64], haircuts in [0, 10^4] bps, the ratio in [1, 2^24] (:func:`margin_parameters_ok`).

        The circuit leaves these ranges to the verifier (they are public inputs): outside them
        the margin inequality could hold by wrapping the field. None when they hold. O(A).
        """
        assets = sum(1 for name in public if name.startswith("price["))
        try:
            prices = [public[f"price[{i}]"] for i in range(assets)]
            haircuts = [public[f"haircut_bps[{i}]"] for i in range(assets)]
            ratio = public["min_ratio_bps"]
        except KeyError as exc:
            return f"public input {exc.args[0]!r} is missing"
        if not margin_parameters_ok(prices, haircuts, ratio):
            return "prices, haircuts or min_ratio_bps outside [1, 2^64], [0, 10^4], [1, 2^24]"
        return None

    def define(self, cs: ConstraintSystem) -> None:
        a, d = self.params["assets"], self.params["depth"]
        anchor = cs.public_input("anchor")
        spend = cs.public_input("spend")
        collateral_delta = [cs.public_input(f"collateral_delta[{i}]") for i in range(a)]
        debt_delta = [cs.public_input(f"debt_delta[{i}]") for i in range(a)]
        prices = [cs.public_input(f"price[{i}]") for i in range(a)]
        haircuts = [cs.public_input(f"haircut_bps[{i}]") for i in range(a)]
        min_ratio = cs.public_input("min_ratio_bps")
        cs.public_input("context")  # bound by the input-consistency rows only
        sk = cs.private_input("sk")
        old_collateral = [cs.private_input(f"old_collateral[{i}]") for i in range(a)]
        old_debt = [cs.private_input(f"old_debt[{i}]") for i in range(a)]
        old_salt = cs.private_input("old_salt")
        new_salt = cs.private_input("new_salt")
        bits = [cs.private_input(f"path_bits[{k}]") for k in range(d)]
        flat = [cs.private_input(f"siblings[{k}]") for k in range(3 * d // 2)]
        siblings = [flat[k : k + 3] for k in range(0, len(flat), 3)]

        cs.assert_bool(spend, "spend boolean")
        nk, pk = owner_keys(cs, sk)
        old = note_commitment(cs, pk, old_collateral, old_debt, old_salt)
        root, position = membership_root(cs, old, bits, siblings)
        cs.enforce(spend, root - anchor, 0, "anchor: spend * (root - anchor) = 0")
        with cs.scope("creation"):
            for i, amount in enumerate([*old_collateral, *old_debt]):
                cs.enforce(1 - spend, amount, 0, f"old amount {i} is 0 without a spend")
        nf = cs.mul(spend, nullifier(cs, nk, position, old), "nullifier * spend")

        new_collateral = [o + delta for o, delta in zip(old_collateral, collateral_delta)]
        new_debt = [o + delta for o, delta in zip(old_debt, debt_delta)]
        with cs.scope("new amounts"):
            for i, amount in enumerate(new_collateral):
                with cs.scope(f"collateral[{i}]"):
                    range_check(cs, amount, AMOUNT_BITS)
            for i, amount in enumerate(new_debt):
                with cs.scope(f"debt[{i}]"):
                    range_check(cs, amount, AMOUNT_BITS)
        new = note_commitment(cs, pk, new_collateral, new_debt, new_salt)
        assert_margin_unchecked(cs, new_collateral, new_debt, prices, haircuts, min_ratio)
        cs.public_output("nullifier", nf)
        cs.public_output("new_commitment", new)
