"""The trader's side of a transition: context, witness and proof of :class:`circuits.valid_transition.ValidTransition`.

A transition takes the owner's note (or nothing, for the first deposit) to
old + delta. :func:`build_transition` checks the result natively first and
refuses, with the figures, what the circuit would refuse: an amount that would
leave [0, 2^64) (``INSUFFICIENT_BALANCE``) or a note under the margin
(``BELOW_MARGIN``, saying the ratio reached and the ratio required).
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass
from typing import Sequence

from circuits.valid_transition import ValidTransition
from zkproofs.errors import MalformedInput
from zkproofs.field import R
from zkproofs.gadgets.margin import margin_holds, ratio_reached_bps
from zkproofs.groth16 import ProvingKey, prove
from zkproofs.groth16.keys import Proof, VerifyingKey
from zkproofs.groth16.serialize import proof_to_dict
from zkproofs.poseidon import poseidon_hash
from zkproofs.settlement.note_tree import MembershipPath
from zkproofs.settlement.notes import AMOUNT_BITS, NOTE_HASH_T, Note, OwnerKeys, nullifier, random_scalar

CONTEXT_TAG = 0x7A6B2D637478  # "zk-ctx"
RECEIPT_TAG = 0x7A6B2D726374  # "zk-rct"
RECEIPT_HASH_TAG = 0x7A6B2D726368  # "zk-rch"
CONTEXT_DOMAIN = b"zkproofs/transition-context/v2\x00"
NAME_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
"""Markets, settlement ids, transfer references and payout destinations."""


class Kind(enum.IntEnum):
    """What a transition is for (bound into its context)."""

    DEPOSIT = 1
    WITHDRAW = 2
    TRADE = 3
    BORROW = 4
    REPAY = 5
    HEALTH = 6
    LIQUIDATE = 7


PAYOUT_KINDS = (Kind.WITHDRAW, Kind.BORROW)
"""Transitions that pay an asset out to a destination (the collateral withdrawn, or the amount borrowed)."""
TRANSFER_KINDS = (Kind.DEPOSIT, Kind.REPAY)
"""Transitions that credit a registered custody transfer, once (as collateral, or against a debt); they only
improve a note, so they prove no margin (:meth:`zkproofs.settlement.venue_policy.VenuePolicy.ratio_for`)."""


class TransitionRefused(MalformedInput):
    """The trader's own check refused a transition; ``reason`` is a reason code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def check_name(value: object, what: str) -> str:
    """MalformedInput unless ``value`` is 1-128 characters from A-Z a-z 0-9 . _ : -."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise MalformedInput(f"{what}: expected 1-128 characters from A-Z a-z 0-9 . _ : -")
    return value


def receipt_secret(nk: int, nullifier_value: int) -> int:
    """The owner's receipt for the transition revealing ``nullifier_value`` (0 for a first deposit):
    Poseidon([RECEIPT_TAG, nk, nf]). Shown to the venue to read the transition's record; it
    reveals neither nk nor sk."""
    return poseidon_hash([RECEIPT_TAG, nk, nullifier_value], t=NOTE_HASH_T)


def receipt_hash(secret: int) -> int:
    """Poseidon([RECEIPT_HASH_TAG, secret]): what the context binds, so only the receipt's holder can present it."""
    return poseidon_hash([RECEIPT_HASH_TAG, secret])


def transition_context(kind: Kind, market: str, reference: str, expiry: int, counterparty_nullifier: int = 0,
                       destination: str = "-", receipt: int = 0, *, epoch: int) -> int:
    """The public ``context`` of a transition.

    Poseidon_t5([CONTEXT_TAG, kind, names, expiry, counterparty_nullifier, receipt]) where
    names = the first 31 bytes (big-endian) of SHA-256(CONTEXT_DOMAIN || market ||
    0x00 || reference || 0x00 || destination || 0x00 || epoch as u64 big-endian): the
    settlement id of a trade, the transfer reference of a deposit, the withdrawal id and
    payout destination of a withdrawal, the price epoch whose prices the proof uses;
    ``receipt`` is the owner's :func:`receipt_hash`. MalformedInput for a name outside
    its pattern, an expiry outside [0, 2^63), an epoch outside [1, 2^63) or a nullifier
    or receipt hash that is not a field element.
    """
    for value, what in ((market, "market"), (reference, "reference"), (destination, "destination")):
        check_name(value, what)
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not 0 <= expiry < 1 << 63:
        raise MalformedInput("expiry: expected unix seconds in [0, 2^63)")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch < 1 << 63:
        raise MalformedInput("epoch: expected a price epoch's sequence number in [1, 2^63)")
    for value, what in ((counterparty_nullifier, "counterparty nullifier"), (receipt, "receipt hash")):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
            raise MalformedInput(f"{what}: not a field element")
    message = CONTEXT_DOMAIN + b"\x00".join(x.encode("ascii") for x in (market, reference, destination)) + b"\x00" + epoch.to_bytes(8, "big")
    names = int.from_bytes(hashlib.sha256(message).digest()[:31], "big")
    return poseidon_hash([CONTEXT_TAG, int(kind), names, expiry, counterparty_nullifier, receipt], t=NOTE_HASH_T)


@dataclass(frozen=True)
class Transition:
    """A transition ready to prove: circuit inputs, the new note and the public values."""

    circuit: ValidTransition
    inputs: dict[str, int]
    new_note: Note
    nullifier: int
    """0 for a first deposit."""


def signed_to_field(value: int) -> int:
    """A signed delta in (-2^64, 2^64) as a field element (-x is r - x)."""
    if isinstance(value, bool) or not isinstance(value, int) or not -(1 << AMOUNT_BITS) < value < 1 << AMOUNT_BITS:
        raise MalformedInput(f"delta {value!r} is not an integer in (-2^64, 2^64)")
    return value % R


def field_to_signed(value: int) -> int:
    """Inverse of :func:`signed_to_field`; MalformedInput outside (-2^64, 2^64)."""
    signed = value - R if value > R // 2 else value
    if not -(1 << AMOUNT_BITS) < signed < 1 << AMOUNT_BITS:
        raise MalformedInput(f"delta {value} is not in (-2^64, 2^64)")
    return signed


def build_transition(
    keys: OwnerKeys,
    old: tuple[Note, MembershipPath, int] | None,
    collateral_delta: Sequence[int],
    debt_delta: Sequence[int],
    prices: Sequence[int],
    haircuts_bps: Sequence[int],
    min_ratio_bps: int,
    context: int,
    *,
    depth: int,
    assets: Sequence[str] | None = None,
) -> Transition:
    """Inputs of :class:`ValidTransition` for spending ``old`` = (note, path, anchor), or creating (None).

    Deltas are signed integers (10^-8 units). Raises TransitionRefused
    (INSUFFICIENT_BALANCE, BELOW_MARGIN) naming the asset or the ratios, and
    MalformedInput for a note of another owner or shape. O(A) plus the hashes.
    """
    a = len(collateral_delta)
    names = list(assets) if assets is not None else [f"asset {i}" for i in range(a)]
    if old is None:
        note, path, anchor, spend = Note.empty(keys.pk, a), MembershipPath(0, ((0, 0, 0),) * (depth // 2)), 0, 0
    else:
        (note, path, anchor), spend = old, 1
        if note.pk != keys.pk:
            raise MalformedInput("the note is not owned by these keys")
    if note.assets != a or path.depth != depth:
        raise MalformedInput(f"the note has {note.assets} assets and a path of depth {path.depth}; expected {a} and {depth}")
    for side, amounts, deltas in (("collateral", note.collateral, collateral_delta), ("debt", note.debt, debt_delta)):
        for i, (amount, delta) in enumerate(zip(amounts, deltas, strict=True)):
            signed_to_field(delta)
            if not 0 <= amount + delta < 1 << AMOUNT_BITS:
                raise TransitionRefused(
                    "INSUFFICIENT_BALANCE", f"{side} of {names[i]}: the note holds {amount} units, the delta is {delta}"
                )
    new = note.apply(collateral_delta, debt_delta, random_scalar())
    if not margin_holds(new.collateral, new.debt, prices, haircuts_bps, min_ratio_bps):
        reached = ratio_reached_bps(new.collateral, new.debt, prices, haircuts_bps)
        raise TransitionRefused(
            "BELOW_MARGIN",
            f"the new note would reach a collateral ratio of {reached / 100:.2f} % "
            f"({reached} bps, haircuts applied); the market requires {min_ratio_bps / 100:.2f} % ({min_ratio_bps} bps)",
        )
    circuit = ValidTransition(assets=a, depth=depth)
    inputs = {
        "anchor": anchor,
        "spend": spend,
        **{f"collateral_delta[{i}]": signed_to_field(d) for i, d in enumerate(collateral_delta)},
        **{f"debt_delta[{i}]": signed_to_field(d) for i, d in enumerate(debt_delta)},
        **{f"price[{i}]": p for i, p in enumerate(prices)},
        **{f"haircut_bps[{i}]": h for i, h in enumerate(haircuts_bps)},
        "min_ratio_bps": min_ratio_bps,
        "context": context,
        "sk": keys.sk,
        **{f"old_collateral[{i}]": x for i, x in enumerate(note.collateral)},
        **{f"old_debt[{i}]": x for i, x in enumerate(note.debt)},
        "old_salt": note.salt,
        "new_salt": new.salt,
        **{f"path_bits[{k}]": b for k, b in enumerate(path.bits)},
        **{f"siblings[{k}]": s for k, s in enumerate(x for level in path.siblings for x in level)},
    }
    nf = nullifier(keys.nk, path.position, note.commitment()) if spend else 0
    return Transition(circuit=circuit, inputs=inputs, new_note=new, nullifier=nf)


def prove_transition(pk: ProvingKey, transition: Transition) -> tuple[Proof, dict[str, int]]:
    """Synthesize and prove; returns (proof, public inputs by name). Raises as :func:`zkproofs.groth16.prove`."""
    r1cs, witness = transition.circuit.synthesize(transition.inputs)
    proof = prove(pk, r1cs, witness)
    public = dict(zip(r1cs.public_names, witness[1 : 1 + r1cs.num_public]))
    return proof, public


def transition_request(kind: Kind, market: str, reference: str, expiry: int, proof: Proof, public: dict[str, int],
                       vk: VerifyingKey, *, epoch: int, counterparty_nullifier: int = 0, destination: str = "-",
                       receipt: int = 0) -> dict:
    """The JSON body the venue takes for one transition (layout: :func:`zkproofs.settlement.venue.parse_transition`)."""
    body = {"kind": kind.name.lower(), "market": market, "reference": reference, "expiry": expiry, "epoch": epoch,
            "receipt_hash": str(receipt), "proof": proof_to_dict(proof, vk, [public[n] for n in vk.public_names])}
    if kind is Kind.TRADE:
        body["counterparty_nullifier"] = str(counterparty_nullifier)
    if kind in PAYOUT_KINDS:
        body["destination"] = destination
    return body
