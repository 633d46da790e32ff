"""The escrow venue: deposits bound to registered transfers, withdrawals with payouts, and
two-party atomic settlement of matched trades, every change proven with ``valid_transition``.

Prices come only from price epochs: quotes signed by a quorum of the policy's
oracles (:mod:`~zkproofs.settlement.epochs`), published with :meth:`Venue.publish_epoch`
and kept in the ledger. Every transition names the epoch it proves at (bound
into its context); the venue takes that epoch's prices and refuses a proof made
with any others, or at an epoch that is no longer the latest.

A request is checked in two phases. Outside the write lock, everything that
does not depend on the ledger's mutable state: shape, key, expiry, context, the
epoch's prices, haircuts and ratio, the deltas' form, and the Groth16 proof (the
expensive part, so concurrent requests verify in parallel). Then in ONE ledger
transaction (``BEGIN IMMEDIATE``): the epoch is still the latest, the anchor is
one of the last K roots, no nullifier was seen, the transfer or settlement id is
unused, and only then are the nullifiers, new notes, root and records written.
Any refusal changes nothing.

Reason codes (:class:`Reason`) name every refusal. A settlement id already
settled with the same two nullifiers answers ``ALREADY_SETTLED`` with the
record, so a client that lost the response can tell that it was applied.
Both legs of a settlement are verified in one batch (n + 2 pairings, not 3n). Cost per transition: one Groth16 verification, O(depth) SQLite reads and
hashes for the tree, one transaction.
"""

from __future__ import annotations

import enum
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from circuits.liquidation import Liquidation
from circuits.valid_transition import ValidTransition
from nacl.public import PrivateKey

from zkproofs.errors import MalformedInput
from zkproofs.field import decode_scalar
from zkproofs.gadgets.margin import below_margin, margin_parameters_ok, ratio_reached_bps
from zkproofs.groth16 import verify, verify_batch
from zkproofs.groth16.keys import Proof, ProvingKey, VerifyingKey
from zkproofs.groth16.serialize import proof_from_dict, vk_from_json
from zkproofs.groth16.trust import KeyTrust, Transcript, check_key, require_trusted
from zkproofs.settlement.epochs import EpochRefused, PriceEpoch, epoch_from_json, epoch_to_json, quotes_from_dict, assemble_epoch, verify_epoch
from zkproofs.settlement.material import Material, open_material, sealing_key_from_json
from zkproofs.settlement.note_tree import NoteTree
from zkproofs.settlement.notes import nullifier as note_nullifier
from zkproofs.settlement.liquidation import build_liquidation
from zkproofs.settlement.transition import (
    TRANSFER_KINDS,
    Kind,
    NAME_PATTERN,
    TransitionRefused,
    field_to_signed,
    prove_transition,
    receipt_hash,
    transition_context,
    transition_request,
)
from zkproofs.settlement.units import format_fixed
from zkproofs.settlement.venue_ledger import VenueLedger
from zkproofs.settlement.venue_policy import VenuePolicy, load_venue_policy

MAX_TRANSFER_UNITS = (1 << 63) - 1
"""Largest registrable transfer: SQLite's INTEGER is signed 64-bit (2^63 units would not be stored)."""
KINDS = {"deposit": Kind.DEPOSIT, "withdraw": Kind.WITHDRAW, "trade": Kind.TRADE, "borrow": Kind.BORROW, "repay": Kind.REPAY,
         "health": Kind.HEALTH, "liquidate": Kind.LIQUIDATE}
FRESH_PRICE_KINDS = ("withdraw", "trade", "borrow", "liquidate")
"""Kinds that can worsen a note (or take it): they need an epoch at most ``max_epoch_age_seconds`` old. A deposit or a
repayment only improves a note and a health proof speaks of its own epoch, so an oracle outage does not block them."""
MAX_EPOCH_PRICE = 1 << 64
"""The margin statement's price domain is [1, 2^64] (:func:`~zkproofs.gadgets.margin.margin_parameters_ok`)."""
PAYOUTS = {"withdraw": "withdrawal_id", "borrow": "borrow_id"}
"""Kinds whose request names a payout destination (:data:`~zkproofs.settlement.transition.PAYOUT_KINDS`), and
the name of their reference in the payout record."""
TRANSFERS = tuple(k.name.lower() for k in TRANSFER_KINDS)
"""Kinds that credit a registered custody transfer (each transfer once, across them)."""


class Reason(str, enum.Enum):
    """Why a request was accepted or refused."""

    ACCEPTED = "ACCEPTED"
    ALREADY_SETTLED = "ALREADY_SETTLED"
    MALFORMED = "MALFORMED"
    WRONG_KEY = "WRONG_KEY"
    UNKNOWN_MARKET = "UNKNOWN_MARKET"
    WRONG_MARKET = "WRONG_MARKET"
    CONTEXT_MISMATCH = "CONTEXT_MISMATCH"
    EXPIRED = "EXPIRED"
    SPEND_REQUIRED = "SPEND_REQUIRED"
    POLICY_MISMATCH = "POLICY_MISMATCH"
    NO_EPOCH = "NO_EPOCH"
    UNKNOWN_EPOCH = "UNKNOWN_EPOCH"
    EPOCH_NOT_CURRENT = "EPOCH_NOT_CURRENT"
    STALE_EPOCH = "STALE_EPOCH"
    PRICE_MISMATCH = "PRICE_MISMATCH"
    BAD_DELTA = "BAD_DELTA"
    INVALID_PROOF = "INVALID_PROOF"
    UNKNOWN_ANCHOR = "UNKNOWN_ANCHOR"
    DOUBLE_SPEND = "DOUBLE_SPEND"
    UNKNOWN_TRANSFER = "UNKNOWN_TRANSFER"
    TRANSFER_USED = "TRANSFER_USED"
    TRANSFER_CONFLICT = "TRANSFER_CONFLICT"
    DEPOSIT_MISMATCH = "DEPOSIT_MISMATCH"
    REFERENCE_USED = "REFERENCE_USED"
    NOT_A_TRADE = "NOT_A_TRADE"
    COUNTERPARTY_MISMATCH = "COUNTERPARTY_MISMATCH"
    DELTAS_DO_NOT_CANCEL = "DELTAS_DO_NOT_CANCEL"
    SETTLEMENT_ID_TAKEN = "SETTLEMENT_ID_TAKEN"
    MATERIAL_REQUIRED = "MATERIAL_REQUIRED"
    MATERIAL_MISMATCH = "MATERIAL_MISMATCH"
    NOT_A_DEBT_NOTE = "NOT_A_DEBT_NOTE"
    NOTE_IN_GRACE = "NOTE_IN_GRACE"
    NOT_LIQUIDATABLE = "NOT_LIQUIDATABLE"
    PENALTY_ABOVE_POLICY = "PENALTY_ABOVE_POLICY"
    # a price epoch refused (zkproofs.settlement.epochs' codes)
    BAD_SIGNATURE = "BAD_SIGNATURE"
    UNKNOWN_SIGNER = "UNKNOWN_SIGNER"
    DUPLICATE_SIGNER = "DUPLICATE_SIGNER"
    NO_QUORUM = "NO_QUORUM"
    SEQUENCE_MISMATCH = "SEQUENCE_MISMATCH"
    STALE_SEQUENCE = "STALE_SEQUENCE"
    SEQUENCE_GAP = "SEQUENCE_GAP"
    TIMESTAMP_BACKWARDS = "TIMESTAMP_BACKWARDS"
    TIMESTAMP_FUTURE = "TIMESTAMP_FUTURE"
    MISSING_PRICE = "MISSING_PRICE"
    PRICE_OUT_OF_BOUNDS = "PRICE_OUT_OF_BOUNDS"
    WRONG_VENUE = "WRONG_VENUE"


@dataclass(frozen=True)
class Decision:
    """The venue's answer: accepted or not, a reason code, a message and (if applied) the record."""

    accepted: bool
    reason: Reason
    message: str
    record: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "reason": self.reason.value, "message": self.message, **self.record}


class Refused(Exception):
    """Internal: a refusal with its reason (turned into a Decision by the public methods)."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class TransitionRequest:
    """One transition as submitted: its context fields and its proof file (public inputs included)."""

    kind: str
    market: str
    reference: str
    epoch: int
    expiry: int
    counterparty_nullifier: int
    destination: str
    receipt_hash: int
    proof: Proof
    public: Mapping[str, int]
    proof_file: Mapping[str, Any]
    material: str | None = None
    """The new note's liquidation material sealed to the venue (:mod:`zkproofs.settlement.material`), hex."""


def _name(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise MalformedInput(f"{where}.{key}: expected 1-128 characters from A-Z a-z 0-9 . _ : -")
    return value


def parse_transition(obj: Any, where: str = "transition") -> TransitionRequest:
    """Decode a transition request; MalformedInput naming the field.

    Layout: ``{"kind": "deposit"|"withdraw"|"trade"|"borrow"|"repay"|"health", "market", "reference",
    "epoch": the price epoch's sequence number, "expiry": unix seconds, "counterparty_nullifier": decimal string (trade only),
    "destination": payout destination (withdraw and borrow only), "receipt_hash": decimal
    string (the owner's :func:`~zkproofs.settlement.transition.receipt_hash`), "proof": proof file,
    "material": the new note's sealed liquidation material, hex (optional: required for a borrow and
    for a transition spending a note that carries debt)}``.
    For every kind but trade ``market`` is the venue's name; for a deposit or a repayment
    ``reference`` is the registered custody transfer it credits.
    """
    if not isinstance(obj, dict):
        raise MalformedInput(f"{where}: expected a JSON object")
    kind = obj.get("kind")
    if kind not in KINDS:
        raise MalformedInput(f"{where}.kind: expected one of {', '.join(KINDS)}")
    allowed = {"kind", "market", "reference", "epoch", "expiry", "receipt_hash", "proof"}
    allowed |= {"counterparty_nullifier"} if kind == "trade" else {"destination"} if kind in PAYOUTS else set()
    extra = set(obj) - allowed - {"material"}
    missing = allowed - set(obj)
    if extra or missing:
        raise MalformedInput(f"{where}: {'unexpected field ' + repr(sorted(extra)[0]) if extra else 'missing field ' + repr(sorted(missing)[0])}")
    expiry = obj["expiry"]
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not 0 <= expiry < 1 << 63:
        raise MalformedInput(f"{where}.expiry: expected integer unix seconds")
    epoch = obj["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch < 1 << 63:
        raise MalformedInput(f"{where}.epoch: expected a price epoch's sequence number (an integer >= 1)")
    counterparty = 0
    if kind == "trade":
        raw = obj["counterparty_nullifier"]
        if not isinstance(raw, str):
            raise MalformedInput(f"{where}.counterparty_nullifier: expected a decimal string")
        counterparty = decode_scalar(raw, what=f"{where}.counterparty_nullifier")
    if not isinstance(obj["receipt_hash"], str):
        raise MalformedInput(f"{where}.receipt_hash: expected a decimal string")
    receipt = decode_scalar(obj["receipt_hash"], what=f"{where}.receipt_hash")
    if not isinstance(obj["proof"], dict):
        raise MalformedInput(f"{where}.proof: expected a proof file object")
    material = obj.get("material")
    if material is not None and not isinstance(material, str):
        raise MalformedInput(f"{where}.material: expected a sealed box in hex")
    proof, public = proof_from_dict(obj["proof"], f"{where}.proof")
    return TransitionRequest(
        kind=kind,
        market=_name(obj, "market", where),
        reference=_name(obj, "reference", where),
        epoch=epoch,
        expiry=expiry,
        counterparty_nullifier=counterparty,
        destination=_name(obj, "destination", where) if kind in PAYOUTS else "-",
        receipt_hash=receipt,
        proof=proof,
        public=public,
        proof_file=obj["proof"],
        material=material,
    )


@dataclass(frozen=True)
class Checked:
    """A transition whose proof verified and whose public inputs fit the policy (ledger checks pending)."""

    request: TransitionRequest
    spend: bool
    anchor: int
    nullifier: int
    new_commitment: int
    collateral_delta: tuple[int, ...]
    debt_delta: tuple[int, ...]
    material: Material | None = None
    """The new note's opened liquidation material, if the request carried one."""

    def payout(self) -> tuple[int, int]:
        """(asset index, amount) paid out: the collateral withdrawn, or the debt borrowed."""
        if self.request.kind == "borrow":
            i = next(i for i, d in enumerate(self.debt_delta) if d)
            return i, self.debt_delta[i]
        i = next(i for i, d in enumerate(self.collateral_delta) if d)
        return i, -self.collateral_delta[i]


def epoch_record(epoch: PriceEpoch) -> dict[str, Any]:
    """What the venue answers about an epoch: sequence, timestamp (unix seconds), prices (decimal strings)."""
    return {"sequence": epoch.sequence, "timestamp": epoch.timestamp,
            "prices": {asset: format_fixed(price) for asset, price in epoch.prices.items()}}


def publish_epoch(ledger: VenueLedger, policy: VenuePolicy, body: Any, now: int) -> Decision:
    """Accept the next price epoch from oracles' signed quotes: ``{"quotes": [signed quotes, ...]}``
    (:func:`~zkproofs.settlement.epochs.quotes_to_dict` each). Anyone may relay quotes: the
    signatures are the authority. Assembled at unix time ``now`` against the ledger's latest
    epoch (:func:`~zkproofs.settlement.epochs.assemble_epoch`: quorum, sequence, timestamp,
    bounds; refused with its code, e.g. BAD_SIGNATURE, STALE_SEQUENCE, PRICE_OUT_OF_BOUNDS)
    and recorded in one transaction. Prices above 2^64 units (outside the margin statement's
    domain) are PRICE_OUT_OF_BOUNDS. The record: sequence, timestamp, prices (decimal strings)."""
    try:
        if not isinstance(body, dict) or set(body) != {"quotes"} or not isinstance(body["quotes"], list):
            raise MalformedInput('epoch: expected {"quotes": [signed quotes, ...]}')
        if len(body["quotes"]) > len(policy.oracles.keys):
            raise MalformedInput(f"epoch.quotes: more quotes than the venue has oracles ({len(policy.oracles.keys)})")
        quotes = [quotes_from_dict(q, f"epoch.quotes[{i}]") for i, q in enumerate(body["quotes"])]
        with ledger.write() as conn:
            latest = ledger.latest_epoch(conn)
            previous = None if latest is None else epoch_from_json(latest[1], f"ledger epoch {latest[0]}")
            epoch = assemble_epoch(policy.oracles, quotes, previous, now)
            for asset, price in epoch.prices.items():
                if price > MAX_EPOCH_PRICE:
                    raise EpochRefused(Reason.PRICE_OUT_OF_BOUNDS.value,
                                       f"{asset} is priced above 2^64 units, outside the margin statement's domain")
            ledger.insert_epoch(conn, epoch.sequence, epoch.timestamp, epoch_to_json(epoch), now)
    except EpochRefused as exc:
        return Decision(False, Reason(exc.reason), exc.detail)
    except MalformedInput as exc:
        return Decision(False, Reason.MALFORMED, str(exc))
    return Decision(True, Reason.ACCEPTED, f"price epoch {epoch.sequence} published", epoch_record(epoch))


def register_transfer(ledger: VenueLedger, policy: VenuePolicy, reference: str, asset: str, amount: int) -> Decision:
    """Record an incoming custody transfer (operator). The same registration twice is idempotent;
    the same reference with another asset or amount is TRANSFER_CONFLICT; bad fields MALFORMED
    (an amount outside [1, MAX_TRANSFER_UNITS] included)."""
    try:
        if not isinstance(reference, str) or not NAME_PATTERN.fullmatch(reference):
            raise Refused(Reason.MALFORMED, "reference: expected 1-128 characters from A-Z a-z 0-9 . _ : -")
        if asset not in policy.assets:
            raise Refused(Reason.MALFORMED, f"asset {asset!r} is not one of the venue's {list(policy.assets)}")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_TRANSFER_UNITS:
            raise Refused(Reason.MALFORMED, "amount: expected an integer of 10^-8 units in [1, 2^63 - 1]")
        with ledger.write() as conn:
            existing = ledger.transfer(conn, reference)
            if existing is None:
                ledger.add_transfer(conn, reference, asset, amount)
            elif existing != (asset, amount):
                raise Refused(Reason.TRANSFER_CONFLICT,
                              f"transfer {reference} is registered as {format_fixed(existing[1])} {existing[0]}")
    except Refused as r:
        return Decision(False, r.reason, r.message)
    return Decision(True, Reason.ACCEPTED, f"transfer {reference}: {format_fixed(amount)} {asset} registered",
                    {"reference": reference, "asset": asset, "amount": amount})


class Venue:
    """The venue's state machine over a :class:`VenueLedger`.

    ``vk`` must be the ``valid_transition`` key of the policy's parameters
    (checked against the circuit's digest: CircuitMismatch otherwise) and one
    the venue trusts (:func:`~zkproofs.groth16.trust.require_trusted`: a
    single-party key only with the policy's ``trust_single_party_keys``, a
    ceremony key once its transcript is verified, ``transcript``; UntrustedKey
    otherwise); ``key_report`` says which and why. ``clock``
    gives unix seconds. Methods never raise for bad requests: they return a
    refused :class:`Decision` and change nothing.
    """

    def __init__(self, policy: VenuePolicy, vk: VerifyingKey, ledger: VenueLedger, *,
                 clock: Callable[[], float] = time.time, backend: str | None = None,
                 transcript: Transcript | None = None, reverify: bool = False,
                 liquidation_vk: VerifyingKey | None = None, liquidation_transcript: Transcript | None = None,
                 sealing_key: PrivateKey | None = None):
        trust = KeyTrust(single_party=policy.trust_single_party_keys, reverify=reverify)
        self.key_report = require_trusted(
            ValidTransition(**policy.circuit_params), vk, trust, transcript=transcript,
            what="the venue's verification key", opt_in="venue policy: trust_single_party_keys = true",
        )  # fmt: skip
        if liquidation_vk is not None:
            require_trusted(Liquidation(**policy.circuit_params), liquidation_vk, trust, transcript=liquidation_transcript,
                            what="the venue's liquidation key", opt_in="venue policy: trust_single_party_keys = true")
        self.liquidation_vk, self.sealing_key = liquidation_vk, sealing_key
        if ledger.depth != policy.tree_depth:
            raise ValueError("the ledger's tree depth is not the policy's")
        self.policy, self.vk, self.ledger = policy, vk, ledger
        self.clock, self.backend = clock, backend
        self._names = list(vk.public_names)
        self._epochs: dict[int, tuple[PriceEpoch, float]] = {}
        """Epochs read from the ledger (immutable once recorded): sequence -> (epoch, published_at)."""

    # operator ------------------------------------------------------------------
    def register_transfer(self, reference: str, asset: str, amount: int) -> Decision:
        """:func:`register_transfer` on this venue's ledger."""
        return register_transfer(self.ledger, self.policy, reference, asset, amount)

    # price epochs ----------------------------------------------------------------
    def publish_epoch(self, body: Any) -> Decision:
        """:func:`publish_epoch` on this venue's ledger at its clock."""
        return publish_epoch(self.ledger, self.policy, body, int(self.clock()))

    def current_epoch(self) -> PriceEpoch | None:
        """The latest price epoch (None before the first), as recorded with its signed quotes."""
        with self.ledger.read() as conn:
            latest = self.ledger.latest_epoch(conn)
        return None if latest is None else self._decode_epoch(latest)[0]

    def epoch(self, sequence: int) -> PriceEpoch | None:
        """Epoch ``sequence`` as recorded, or None."""
        found = self._epoch(sequence)
        return None if found is None else found[0]

    def _epoch(self, sequence: int) -> tuple[PriceEpoch, float] | None:
        if sequence not in self._epochs:
            with self.ledger.read() as conn:
                row = self.ledger.epoch(conn, sequence)
            if row is None:
                return None
            self._decode_epoch(row)
        return self._epochs[sequence]

    def _decode_epoch(self, row: tuple[int, str, float]) -> tuple[PriceEpoch, float]:
        if row[0] not in self._epochs:
            self._epochs[row[0]] = (epoch_from_json(row[1], f"ledger epoch {row[0]}"), row[2])
        return self._epochs[row[0]]

    # traders -------------------------------------------------------------------
    def deposit(self, body: Any) -> Decision:
        """Credit a registered transfer to a note (new, or spent and re-created)."""
        return self._single(body, "deposit")

    def withdraw(self, body: Any) -> Decision:
        """Spend a note with a public payout of one asset; records the payout for custody."""
        return self._single(body, "withdraw")

    def borrow(self, body: Any) -> Decision:
        """Raise a note's debt in one asset by a public amount, paid out to the trader (recorded
        for custody and in the lending book); the new note meets the venue's ratio."""
        return self._single(body, "borrow")

    def health(self, body: Any) -> Decision:
        """Re-prove a note at the maintenance ratio at the latest epoch's prices: a zero-delta
        transition that spends the note and re-creates it with a fresh salt (no payout)."""
        return self._single(body, "health")

    # liquidations --------------------------------------------------------------
    def at_risk(self) -> list[dict[str, Any]]:
        """The notes that carry debt and are not spent, with where each stands after the latest epoch:
        ``status`` "proven" (proven at the latest epoch), "due" (an epoch since, inside the grace
        period), "overdue" (the grace period after the first epoch it missed has passed); ``deadline``
        (unix seconds, None when proven); with the sealing key, ``debt`` and ``ratio_bps`` at the
        latest prices, and ``liquidatable`` (overdue and strictly below maintenance). By position. O(notes)."""
        out = []
        latest = self.current_epoch()
        now = self.clock()
        for row in self.ledger.open_debt_notes():
            status, deadline = self._status(row["proven_epoch"], now)
            entry: dict[str, Any] = {"position": row["position"], "proven_epoch": row["proven_epoch"], "status": status,
                                     "deadline": deadline}
            if self.sealing_key is not None and latest is not None:
                note = open_material(self.sealing_key, row["material"], len(self.policy.assets), int(row["commitment"])).note
                prices = [latest.prices[a] for a in self.policy.assets]
                entry["debt"] = {a: format_fixed(d) for a, d in zip(self.policy.assets, note.debt) if d}
                entry["ratio_bps"] = ratio_reached_bps(note.collateral, note.debt, prices, list(self.policy.haircut_bps))
                entry["liquidatable"] = status == "overdue" and below_margin(
                    note.collateral, note.debt, prices, list(self.policy.haircut_bps), self.policy.maintenance_ratio_bps)
            out.append(entry)
        return out

    def _status(self, proven_epoch: int, now: float, conn=None) -> tuple[str, float | None]:
        """("proven" | "due" | "overdue", deadline) of a note last proven at ``proven_epoch``: the grace period
        runs from the publication of the first epoch after it."""
        if conn is None:
            with self.ledger.read() as c:
                return self._status(proven_epoch, now, c)
        latest = self.ledger.latest_epoch(conn)
        if latest is None or latest[0] <= proven_epoch:
            return "proven", None
        missed = self.ledger.epoch(conn, proven_epoch + 1)
        deadline = missed[2] + self.policy.grace_period_seconds
        return ("due" if now < deadline else "overdue"), deadline

    def liquidate(self, position: int, proving_key: ProvingKey, *, ttl: int = 600) -> Decision:
        """Liquidate the debt-carrying note at ``position`` (the venue as liquidator): open its sealed
        material, prove :class:`~circuits.liquidation.Liquidation` at the latest epoch's prices with the
        policy's penalty, and apply it (:meth:`apply_liquidation`). Refused, changing nothing:
        NOT_A_DEBT_NOTE (no open debt note there), NOTE_IN_GRACE (proven at the latest epoch, or the grace
        period has not passed), NOT_LIQUIDATABLE (at or above maintenance: the prover refuses first)."""
        try:
            if self.sealing_key is None:
                raise Refused(Reason.NOT_A_DEBT_NOTE, "this venue has no sealing key: it holds no liquidation material")
            rows = [r for r in self.ledger.open_debt_notes() if r["position"] == position]
            if not rows:
                raise Refused(Reason.NOT_A_DEBT_NOTE, f"no open note carrying debt at position {position}")
            row = rows[0]
            now = self.clock()
            status, deadline = self._status(row["proven_epoch"], now)
            if status != "overdue":
                raise Refused(Reason.NOTE_IN_GRACE, f"the note was proven at epoch {row['proven_epoch']}" + (
                    "" if deadline is None else f"; its grace period ends at {int(deadline)}"))
            material = open_material(self.sealing_key, row["material"], len(self.policy.assets), int(row["commitment"]))
            epoch = self.current_epoch()
            path, anchor = self.ledger.membership_path(position)
            expiry = int(now) + ttl
            reference = f"liq-{position}"
            context = transition_context(Kind.LIQUIDATE, self.policy.name, reference, expiry, epoch=epoch.sequence)
            try:
                w = build_liquidation(material.ak, material.nk, material.note, path, anchor,
                                      [epoch.prices[a] for a in self.policy.assets], list(self.policy.haircut_bps),
                                      self.policy.maintenance_ratio_bps, self.policy.liquidation_penalty_bps, context,
                                      depth=self.policy.tree_depth)
            except TransitionRefused as exc:
                raise Refused(Reason.NOT_LIQUIDATABLE, str(exc)) from None
            proof, public = prove_transition(proving_key, w)
        except Refused as r:
            return Decision(False, r.reason, r.message)
        body = transition_request(Kind.LIQUIDATE, self.policy.name, reference, expiry, proof, public, proving_key.vk,
                                  epoch=epoch.sequence)
        return self.apply_liquidation(body)

    def apply_liquidation(self, body: Any) -> Decision:
        """Verify and apply a liquidation request (layout of :func:`parse_transition`, kind "liquidate", a
        :class:`~circuits.liquidation.Liquidation` proof). Checked: the liquidation key, market (the
        venue), expiry, context, the latest epoch's prices, the policy's haircuts and maintenance ratio,
        the penalty (PENALTY_ABOVE_POLICY above the policy's), non-positive deltas, the proof; then in one
        transaction the anchor, the nullifier unseen and that of an open debt note (NOT_A_DEBT_NOTE)
        whose grace period has passed (NOTE_IN_GRACE). The record: position of the remainder, the
        collateral seized and the debt repaid per asset."""
        try:
            req = parse_transition(body)
            if req.kind != "liquidate":
                raise Refused(Reason.MALFORMED, f"expected a liquidate transition, got {req.kind}")
            c = self._check_liquidation(req)
            with self.ledger.write() as conn:
                tree = self._ledger_checks(conn, [c])
                tracked = self.ledger.debt_note_by_nullifier(conn, c.nullifier)
                if tracked is None:
                    raise Refused(Reason.NOT_A_DEBT_NOTE, "the liquidated note is not one the venue knows to carry debt")
                status, deadline = self._status(tracked["proven_epoch"], self.clock(), conn)
                if status != "overdue":
                    raise Refused(Reason.NOTE_IN_GRACE, f"the note was proven at epoch {tracked['proven_epoch']}" + (
                        "" if deadline is None else f"; its grace period ends at {int(deadline)}"))
                (seq,) = self._apply(conn, tree, [c])
                record = {"seq": seq, "position": tree.size - 1, "liquidated_position": tracked["position"],
                          "new_commitment": str(c.new_commitment), "root": str(tree.root()), "epoch": req.epoch,
                          "seized": {a: -d for a, d in zip(self.policy.assets, c.collateral_delta) if d},
                          "repaid": {a: -d for a, d in zip(self.policy.assets, c.debt_delta) if d}}
        except Refused as r:
            return Decision(False, r.reason, r.message)
        except MalformedInput as exc:
            return Decision(False, Reason.MALFORMED, str(exc))
        return Decision(True, Reason.ACCEPTED, f"note at position {record['liquidated_position']} liquidated", record)

    def liquidation_record(self, nullifier_value: int) -> dict | None:
        """The liquidation that revealed ``nullifier_value``: {"position" (of the remainder), "new_commitment",
        "seized", "repaid" (asset -> units)}, or None. Public: liquidations are recorded with their public inputs."""
        rows = self.ledger.query("SELECT position, new_commitment, proof FROM transitions WHERE kind = 'liquidate' AND nullifier = ?",
                                 (str(nullifier_value),))
        if not rows:
            return None
        position, commitment, proof = rows[0]
        public = json.loads(proof)["public_inputs"]
        a = len(self.policy.assets)
        seized = [-field_to_signed(int(public[f"collateral_delta[{i}]"])) for i in range(a)]
        repaid = [-field_to_signed(int(public[f"debt_delta[{i}]"])) for i in range(a)]
        return {"position": position, "new_commitment": commitment,
                "seized": {x: str(v) for x, v in zip(self.policy.assets, seized) if v},
                "repaid": {x: str(v) for x, v in zip(self.policy.assets, repaid) if v}}

    def _check_liquidation(self, req: TransitionRequest) -> Checked:
        p, vk = self.policy, self.liquidation_vk
        if vk is None or req.proof.circuit_digest != vk.circuit.digest or set(req.public) != set(vk.public_names):
            raise Refused(Reason.WRONG_KEY, "the proof is not a liquidation proof for this venue's liquidation key")
        if req.market != p.name:
            raise Refused(Reason.WRONG_MARKET, f"a liquidation names the venue {p.name!r} as its market, not {req.market!r}")
        now = self.clock()
        if req.expiry <= now:
            raise Refused(Reason.EXPIRED, f"expiry {req.expiry} has passed (now {int(now)})")
        pub = req.public
        if pub["context"] != self.context_of(req):
            raise Refused(Reason.CONTEXT_MISMATCH, "the proof's context is not this request's kind, market, reference, epoch and expiry")
        problem = Liquidation.public_domain_problem(pub)
        if problem is not None:
            raise Refused(Reason.PRICE_MISMATCH, problem)
        a = len(p.assets)
        if any(pub[f"haircut_bps[{i}]"] != p.haircut_bps[i] for i in range(a)) or pub["maintenance_ratio_bps"] != p.maintenance_ratio_bps:
            raise Refused(Reason.POLICY_MISMATCH, "a liquidation proves the venue's haircuts and maintenance ratio")
        if pub["penalty_bps"] > p.liquidation_penalty_bps:
            raise Refused(Reason.PENALTY_ABOVE_POLICY, f"penalty {pub['penalty_bps']} bps is above the policy's "
                                                       f"{p.liquidation_penalty_bps} bps")
        if pub["penalty_bps"] != p.liquidation_penalty_bps:
            raise Refused(Reason.POLICY_MISMATCH, f"a liquidation takes the policy's penalty, {p.liquidation_penalty_bps} bps")
        self._check_epoch(req, [pub[f"price[{i}]"] for i in range(a)], now)
        try:
            cdelta = tuple(field_to_signed(pub[f"collateral_delta[{i}]"]) for i in range(a))
            ddelta = tuple(field_to_signed(pub[f"debt_delta[{i}]"]) for i in range(a))
        except MalformedInput as exc:
            raise Refused(Reason.BAD_DELTA, str(exc)) from None
        if any(d > 0 for d in (*cdelta, *ddelta)) or not any(ddelta):
            raise Refused(Reason.BAD_DELTA, "a liquidation takes collateral and repays debt; it adds nothing")
        names = list(vk.public_names)
        if not verify(vk, [pub[n] for n in names], req.proof, backend=self.backend):
            raise Refused(Reason.INVALID_PROOF, "the liquidation proof does not verify for these public inputs")
        return Checked(req, True, pub["anchor"], pub["nullifier"], pub["new_commitment"], cdelta, ddelta)

    def repay(self, body: Any) -> Decision:
        """Lower a note's debt in one asset by a registered custody transfer of that asset (paid in),
        once per transfer; no ratio is required (the note only improves)."""
        return self._single(body, "repay")

    def settle(self, leg_a: Any, leg_b: Any) -> Decision:
        """Settle a matched trade: both legs or nothing, in one ledger transaction."""
        try:
            a = self._check(parse_transition(leg_a, "legs[0]"), "trade")
            b = self._check(parse_transition(leg_b, "legs[1]"), "trade")
            self._verify([a, b], ["legs[0]", "legs[1]"])
            self._check_pair(a, b)
            sid = a.request.reference
            with self.ledger.write() as conn:
                existing = self.ledger.settlement(conn, sid)
                if existing is not None:
                    if {existing["legs"][0]["nullifier"], existing["legs"][1]["nullifier"]} == {str(a.nullifier), str(b.nullifier)}:
                        return Decision(True, Reason.ALREADY_SETTLED, f"settlement {sid} was already applied", existing)
                    raise Refused(Reason.SETTLEMENT_ID_TAKEN, f"settlement id {sid} is settled with other nullifiers")
                tree = self._ledger_checks(conn, [a, b])
                seqs = self._apply(conn, tree, [a, b])
                self.ledger.insert_settlement(conn, sid, a.request.market, (seqs[0], seqs[1]), (a.nullifier, b.nullifier))
                record = self.ledger.settlement(conn, sid)
                record["root"] = str(tree.root())
        except Refused as r:
            return Decision(False, r.reason, r.message)
        except MalformedInput as exc:
            return Decision(False, Reason.MALFORMED, str(exc))
        return Decision(True, Reason.ACCEPTED, f"settlement {sid} applied", record)

    def settlement_status(self, settlement_id: str, *, receipt: int | None = None, operator: bool = False) -> dict | None:
        """The settlement's record (both legs' nullifiers, new commitments and positions) for the
        operator or a party presenting its receipt (:func:`~zkproofs.settlement.transition.receipt_secret`);
        None if there is no such settlement or the caller may not see it (indistinguishable)."""
        if not operator and receipt is None:
            return None
        with self.ledger.read() as conn:
            record = self.ledger.settlement(conn, settlement_id)
            if record is None or operator:
                return record
            hashes = self.ledger.query("SELECT receipt_hash FROM transitions WHERE kind = 'trade' AND reference = ?", (settlement_id,))
        return record if str(receipt_hash(receipt)) in {h for (h,) in hashes} else None

    # checks --------------------------------------------------------------------
    def _single(self, body: Any, kind: str) -> Decision:
        try:
            c = self._check(parse_transition(body), kind)
            self._verify([c], ["the proof"])
            with self.ledger.write() as conn:
                tree = self._ledger_checks(conn, [c])
                (seq,) = self._apply(conn, tree, [c])
                record = {"seq": seq, "position": tree.size - 1, "new_commitment": str(c.new_commitment), "root": str(tree.root()),
                          "epoch": c.request.epoch}
                if kind in PAYOUTS:
                    i, amount = c.payout()
                    record["payout"] = {"asset": self.policy.assets[i], "amount": amount,
                                        "destination": c.request.destination, PAYOUTS[kind]: c.request.reference}
        except Refused as r:
            return Decision(False, r.reason, r.message)
        except MalformedInput as exc:
            return Decision(False, Reason.MALFORMED, str(exc))
        return Decision(True, Reason.ACCEPTED, f"{kind} {c.request.reference} applied", record)

    def context_of(self, req: TransitionRequest, market: str | None = None) -> int:
        return transition_context(KINDS[req.kind], market or req.market, req.reference, req.expiry,
                                  req.counterparty_nullifier, req.destination, req.receipt_hash, epoch=req.epoch)

    def _check(self, req: TransitionRequest, kind: str) -> Checked:
        """Everything that does not read the ledger, except the proof (:meth:`_verify`). Raises Refused."""
        p, vk = self.policy, self.vk
        if req.kind != kind:
            raise Refused(Reason.MALFORMED, f"expected a {kind} transition, got {req.kind}")
        if req.proof.circuit_digest != vk.circuit.digest or set(req.public) != set(self._names):
            raise Refused(Reason.WRONG_KEY, f"the proof is not a valid_transition proof for this venue's key "
                                            f"(digest {vk.circuit.digest[:16]}..., {len(self._names)} public inputs)")
        if kind == "trade":
            if req.market not in p.markets:
                raise Refused(Reason.UNKNOWN_MARKET, f"unknown market {req.market!r}")
        elif req.market != p.name:
            raise Refused(Reason.WRONG_MARKET, f"a {kind} names the venue {p.name!r} as its market, not {req.market!r}")
        now = self.clock()
        if req.expiry <= now:
            raise Refused(Reason.EXPIRED, f"expiry {req.expiry} has passed (now {int(now)})")
        pub = req.public
        if pub["context"] != self.context_of(req):
            others = [m for m in [*p.markets, p.name] if m != req.market and pub["context"] == self.context_of(req, m)]
            if others:
                raise Refused(Reason.WRONG_MARKET, f"the proof is bound to market {others[0]}, not {req.market}")
            raise Refused(Reason.CONTEXT_MISMATCH, "the proof's context is not this request's kind, market, reference, "
                                                   "expiry, counterparty and destination")
        a = len(p.assets)
        if pub["spend"] not in (0, 1):
            raise Refused(Reason.MALFORMED, "spend must be 0 or 1")
        spend = pub["spend"] == 1
        if not spend and kind != "deposit":
            raise Refused(Reason.SPEND_REQUIRED, f"a {kind} must spend an existing note")
        if pub["min_ratio_bps"] != p.ratio_for(kind):
            raise Refused(Reason.POLICY_MISMATCH, f"min_ratio_bps {pub['min_ratio_bps']} is not the {p.ratio_for(kind)} bps a {kind} "
                                                  f"proves at this venue (initial {p.initial_ratio_bps}, maintenance "
                                                  f"{p.maintenance_ratio_bps} for a health proof, 1 for a deposit or repayment)")
        prices = [pub[f"price[{i}]"] for i in range(a)]
        if not margin_parameters_ok(prices, [pub[f"haircut_bps[{i}]"] for i in range(a)], pub["min_ratio_bps"]):
            # the circuit leaves these domains to its verifier (zkproofs.gadgets.margin): never skip this check
            raise Refused(Reason.PRICE_MISMATCH, "prices must be in [1, 2^64], haircuts in [0, 10^4] bps, the ratio in [1, 2^24] bps")
        for i in range(a):
            if pub[f"haircut_bps[{i}]"] != p.haircut_bps[i]:
                raise Refused(Reason.POLICY_MISMATCH, f"haircut_bps[{i}] ({p.assets[i]}) {pub[f'haircut_bps[{i}]']} "
                                                      f"is not the venue's {p.haircut_bps[i]}")
        self._check_epoch(req, prices, now)
        try:
            cdelta = tuple(field_to_signed(pub[f"collateral_delta[{i}]"]) for i in range(a))
            ddelta = tuple(field_to_signed(pub[f"debt_delta[{i}]"]) for i in range(a))
        except MalformedInput as exc:
            raise Refused(Reason.BAD_DELTA, str(exc)) from None
        nonzero = [d for d in cdelta if d]
        debts = [d for d in ddelta if d]
        if kind in ("borrow", "repay"):
            sign = 1 if kind == "borrow" else -1
            if nonzero or len(debts) != 1 or debts[0] * sign < 0:
                raise Refused(Reason.BAD_DELTA, f"a {kind} {'raises' if sign > 0 else 'lowers'} the debt of exactly one asset "
                                                "and changes no collateral")
        elif debts:
            raise Refused(Reason.BAD_DELTA, f"a {kind} leaves the debts unchanged (borrow or repay to change one)")
        if kind == "health" and nonzero:
            raise Refused(Reason.BAD_DELTA, "a health proof changes no amount")
        if kind == "deposit" and (len(nonzero) != 1 or nonzero[0] < 0):
            raise Refused(Reason.BAD_DELTA, "a deposit credits exactly one asset")
        if kind == "withdraw" and (len(nonzero) != 1 or nonzero[0] > 0):
            raise Refused(Reason.BAD_DELTA, "a withdrawal pays out exactly one asset")
        material = self._open_material(req, pub["new_commitment"])
        if kind == "borrow" and material is None:
            raise Refused(Reason.MATERIAL_REQUIRED, "a borrow must carry the new note's liquidation material, sealed to the "
                                                    "venue's key (the venue liquidates the note if it falls under maintenance)")
        return Checked(req, spend, pub["anchor"], pub["nullifier"], pub["new_commitment"], cdelta, ddelta, material)

    def _open_material(self, req: TransitionRequest, commitment: int) -> Material | None:
        if req.material is None:
            return None
        if self.sealing_key is None:
            raise Refused(Reason.MATERIAL_MISMATCH, "this venue has no sealing key: it takes no liquidation material (no loans)")
        try:
            return open_material(self.sealing_key, req.material, len(self.policy.assets), commitment)
        except MalformedInput as exc:
            raise Refused(Reason.MATERIAL_MISMATCH, str(exc)) from None

    def _verify(self, checked: list[Checked], names: list[str]) -> None:
        """Verify the transitions' proofs together (:func:`~zkproofs.groth16.verifier.verify_batch`:
        both legs of a settlement in one multi-pairing); INVALID_PROOF naming the first bad one."""
        verdicts = verify_batch(self.vk, [([c.request.public[n] for n in self._names], c.request.proof) for c in checked],
                                backend=self.backend)
        for ok, name in zip(verdicts, names):
            if not ok:
                raise Refused(Reason.INVALID_PROOF, f"{name}: the proof does not verify for these public inputs")

    def _check_epoch(self, req: TransitionRequest, prices: list[int], now: float) -> None:
        """The request's epoch is recorded, the latest, fresh enough for its kind, and the proof's prices are its own."""
        found = self._epoch(req.epoch)
        if found is None:
            latest = self.current_epoch()
            if latest is None:
                raise Refused(Reason.NO_EPOCH, "the venue has no price epoch yet; the oracles must publish one first")
            raise Refused(Reason.UNKNOWN_EPOCH, f"there is no price epoch {req.epoch} (the latest is {latest.sequence})")
        epoch, _ = found
        self._check_latest(req)
        age = now - epoch.timestamp
        if req.kind in FRESH_PRICE_KINDS and age > self.policy.max_epoch_age_seconds:
            raise Refused(Reason.STALE_EPOCH, f"epoch {epoch.sequence} is {int(age)} s old; a {req.kind} needs prices at most "
                                              f"{self.policy.max_epoch_age_seconds} s old (the oracles must publish a new epoch)")
        for i, (asset, price) in enumerate(zip(self.policy.assets, prices)):
            if price != epoch.prices[asset]:
                raise Refused(Reason.PRICE_MISMATCH, f"price[{i}] {format_fixed(price)} is not epoch {epoch.sequence}'s "
                                                     f"{format_fixed(epoch.prices[asset])} for {asset}")

    def _check_latest(self, req: TransitionRequest, conn=None) -> None:
        if conn is None:
            with self.ledger.read() as c:
                latest = self.ledger.latest_epoch(c)
        else:
            latest = self.ledger.latest_epoch(conn)
        if latest[0] != req.epoch:
            raise Refused(Reason.EPOCH_NOT_CURRENT, f"the proof uses epoch {req.epoch}'s prices; epoch {latest[0]} is the "
                                                    "latest (prove again at its prices)")

    def _check_pair(self, a: Checked, b: Checked) -> None:
        ra, rb = a.request, b.request
        if (ra.market, ra.reference, ra.expiry) != (rb.market, rb.reference, rb.expiry):
            raise Refused(Reason.MALFORMED, "both legs must name the same market, settlement id and expiry")
        if a.nullifier == b.nullifier:
            raise Refused(Reason.DOUBLE_SPEND, "both legs spend the same note")
        if ra.counterparty_nullifier != b.nullifier or rb.counterparty_nullifier != a.nullifier:
            raise Refused(Reason.COUNTERPARTY_MISMATCH, "each leg must name the other leg's nullifier as its counterparty")
        if any(x + y for x, y in zip(a.collateral_delta, b.collateral_delta)):
            raise Refused(Reason.DELTAS_DO_NOT_CANCEL, "the legs' deltas are not exactly opposite (value is not conserved)")
        market = self.policy.markets[ra.market]
        pair = {market.base, market.quote}
        da = a.collateral_delta
        if any(d for i, d in enumerate(da) if i not in pair) or da[market.base] * da[market.quote] >= 0:
            raise Refused(Reason.NOT_A_TRADE, f"each leg must give one of {ra.market}'s assets and receive the other")

    def _ledger_checks(self, conn, checked: list[Checked]):
        for c in checked:
            self._check_latest(c.request, conn)
            if c.spend:
                age = self.ledger.anchor_age(conn, c.anchor)
                if age is None or age >= self.policy.anchor_window:
                    raise Refused(Reason.UNKNOWN_ANCHOR, "the anchor is not one of the venue's last "
                                                         f"{self.policy.anchor_window} roots" + ("" if age is None else f" (it is {age} roots old)"))
                if self.ledger.nullifier_seen(conn, c.nullifier):
                    raise Refused(Reason.DOUBLE_SPEND, "the note was already spent (its nullifier is recorded)")
                if c.material is None and c.request.kind != "liquidate" and self.ledger.debt_note_by_nullifier(conn, c.nullifier):
                    raise Refused(Reason.MATERIAL_REQUIRED, "the spent note carries debt: the transition must carry the new "
                                                            "note's liquidation material, sealed to the venue's key")
            req = c.request
            if req.kind in TRANSFERS:
                transfer = self.ledger.transfer(conn, req.reference)
                if transfer is None:
                    raise Refused(Reason.UNKNOWN_TRANSFER, f"no transfer {req.reference} is registered")
                if any(self.ledger.reference_used(conn, k, req.reference) for k in TRANSFERS):
                    raise Refused(Reason.TRANSFER_USED, f"transfer {req.reference} was already credited")
                i = self.policy.assets.index(transfer[0])
                sign = 1 if req.kind == "deposit" else -1
                expected = tuple(sign * transfer[1] if j == i else 0 for j in range(len(self.policy.assets)))
                if (c.collateral_delta if req.kind == "deposit" else c.debt_delta) != expected:
                    raise Refused(Reason.DEPOSIT_MISMATCH, f"transfer {req.reference} is {format_fixed(transfer[1])} "
                                                           f"{transfer[0]}; the proof {'credits' if sign > 0 else 'repays'} something else")
            if req.kind in PAYOUTS and self.ledger.reference_used(conn, req.kind, req.reference):
                raise Refused(Reason.REFERENCE_USED, f"{req.kind} id {req.reference} was already used")
        return self.ledger.tree(conn)

    def _apply(self, conn, tree, checked: list[Checked]) -> list[int]:
        seqs = []
        for c in checked:
            req = c.request
            position = tree.size
            tree.append(c.new_commitment)
            seqs.append(self.ledger.insert_transition(
                conn, kind=req.kind, market=req.market, reference=req.reference, epoch=req.epoch, expiry=req.expiry,
                counterparty_nullifier=req.counterparty_nullifier, destination=req.destination, receipt_hash=req.receipt_hash,
                nullifier=c.nullifier if c.spend else None, anchor=c.anchor, new_commitment=c.new_commitment,
                position=position, proof=dict(req.proof_file)))
            if c.material is not None and any(c.material.note.debt):
                self.ledger.insert_debt_note(conn, position, c.new_commitment,
                                             note_nullifier(c.material.nk, position, c.new_commitment), req.epoch, req.material)
        self.ledger.publish_root(conn, tree)
        return seqs


@dataclass
class AuditReport:
    """What :func:`audit_ledger` found: counts and every problem (empty when the ledger is sound)."""

    epochs: int = 0
    transitions: int = 0
    settlements: int = 0
    roots: int = 0
    problems: list[str] = field(default_factory=list)
    lent: dict[str, int] = field(default_factory=dict)
    """The lending book: per asset, the units borrowed in all (10^-8 units), from the borrow proofs."""
    repaid: dict[str, int] = field(default_factory=dict)
    """Per asset, the units repaid in all, from the repay proofs and their registered transfers, and by liquidations."""
    seized: dict[str, int] = field(default_factory=dict)
    """Per asset, the collateral liquidations took (10^-8 units)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "epochs": self.epochs, "transitions": self.transitions, "settlements": self.settlements,
                "roots": self.roots, "problems": self.problems,
                "lent": {asset: format_fixed(units) for asset, units in self.lent.items()},
                "repaid": {asset: format_fixed(units) for asset, units in self.repaid.items()},
                "seized": {asset: format_fixed(units) for asset, units in self.seized.items()}}


def audit_ledger(ledger: VenueLedger, policy: VenuePolicy, vk: VerifyingKey, *, liquidation_vk: VerifyingKey | None = None,
                 backend: str | None = None) -> AuditReport:
    """Replay the whole ledger offline: re-verify every proof, recompute every root.

    Checks per price epoch: assembled again from its signed quotes against the
    previous epoch at its publication time, it gives exactly the recorded epoch
    (:func:`~zkproofs.settlement.epochs.verify_epoch`).
    Checks per transition: the stored proof verifies under ``vk`` for its stored
    public inputs; its context is the one recomputed from the stored kind,
    market, reference, epoch, expiry, counterparty and destination; its prices are its epoch's; its nullifier,
    anchor and new commitment are the columns; the anchor had been published
    (within the window) before it; deposits match their registered transfer,
    deltas have the form of their kind (only a borrow raises a debt, one asset's, and
    only the repayment of a registered transfer lowers one: their sums per asset are the
    lending book, ``AuditReport.lent`` and ``repaid``; a health proof changes nothing), haircuts and
    ratio are the policy's, and prices, haircuts and ratio are in the domains the circuit leaves to its verifier.
    Per settlement: two trade legs with the same id naming each other, deltas
    that cancel. Per root: the tree rebuilt from the new commitments in order
    has exactly that root. O(n) verifications and O(n) hashes, one Ed25519
    verification per oracle signature.
    """
    report = AuditReport()
    epochs: dict[int, PriceEpoch] = {}
    previous = None
    for sequence, text, published_at in ledger.query("SELECT sequence, epoch, published_at FROM epochs ORDER BY sequence"):
        report.epochs += 1
        try:
            epoch = verify_epoch(policy.oracles, epoch_from_json(text, f"epoch {sequence}"), previous, int(published_at))
            if epoch.sequence != sequence:
                raise MalformedInput(f"epoch {sequence}: the file is epoch {epoch.sequence}")
        except (EpochRefused, MalformedInput) as exc:
            report.problems.append(f"epoch {sequence}: {exc}")
            continue
        epochs[sequence] = previous = epoch
    check_key(ValidTransition(**policy.circuit_params), vk, "the venue's verification key")
    names = list(vk.public_names)
    roots = ledger.query("SELECT seq, root, size FROM roots ORDER BY seq")
    report.roots = len(roots)
    tree = NoteTree(depth=ledger.depth)
    published: dict[int, int] = {}
    root_iter = iter(roots)
    pending = next(root_iter, None)

    def catch_up_roots() -> None:
        nonlocal pending
        while pending is not None and pending[2] <= tree.size:
            if pending[2] == tree.size:
                if str(tree.root()) != pending[1]:
                    report.problems.append(f"root {pending[0]}: recomputed {tree.root()} but the ledger published {pending[1]}")
                published[int(pending[1])] = pending[0]
            pending = next(root_iter, None)

    catch_up_roots()
    deltas: dict[int, tuple[int, ...]] = {}
    transfers = {r[0]: (r[1], r[2]) for r in ledger.query("SELECT reference, asset, amount FROM transfers")}
    seen_nf: set[str] = set()
    credited: set[str] = set()
    for row in ledger.transitions():
        report.transitions += 1
        at = f"transition {row['seq']} ({row['kind']} {row['reference']})"
        try:
            proof, public = proof_from_dict(json.loads(row["proof"]), at)
            if row["kind"] == "liquidate":
                _audit_liquidation(report, row, proof, public, epochs, policy, liquidation_vk, backend, at)
                tree.append(public["new_commitment"])
                catch_up_roots()
                continue
            if not verify(vk, [public[n] for n in names], proof, backend=backend):
                report.problems.append(f"{at}: the proof does not verify")
            context = transition_context(KINDS[row["kind"]], row["market"], row["reference"], row["expiry"],
                                         int(row["counterparty_nullifier"]), row["destination"], int(row["receipt_hash"]),
                                         epoch=row["epoch"])
            if public["context"] != context:
                report.problems.append(f"{at}: the proof's context is not the recorded one")
            epoch = epochs.get(row["epoch"])
            if epoch is None or [public[f"price[{i}]"] for i in range(len(policy.assets))] != [epoch.prices[a] for a in policy.assets]:
                report.problems.append(f"{at}: its prices are not those of its epoch {row['epoch']} (or the epoch is not sound)")
            spend = public["spend"] == 1
            if row["nullifier"] != (str(public["nullifier"]) if spend else None):
                report.problems.append(f"{at}: the recorded nullifier is not the proof's")
            if spend:
                if row["nullifier"] in seen_nf:
                    report.problems.append(f"{at}: nullifier spent twice")
                seen_nf.add(row["nullifier"])
                latest = max(published.values())
                if public["anchor"] not in published or latest - published[public["anchor"]] >= policy.anchor_window:
                    report.problems.append(f"{at}: the anchor was not a recent published root")
            if str(public["new_commitment"]) != row["new_commitment"] or row["position"] != tree.size:
                report.problems.append(f"{at}: the recorded new note is not the proof's or not at the next position")
            n_assets = len(policy.assets)
            if not margin_parameters_ok([public[f"price[{i}]"] for i in range(n_assets)],
                                        [public[f"haircut_bps[{i}]"] for i in range(n_assets)], public["min_ratio_bps"]):
                report.problems.append(f"{at}: prices, haircuts or ratio outside the margin statement's domains")
            if public["min_ratio_bps"] != policy.ratio_for(row["kind"]) or any(
                    public[f"haircut_bps[{i}]"] != h for i, h in enumerate(policy.haircut_bps)):
                report.problems.append(f"{at}: haircuts or ratio are not the policy's")
            d = tuple(field_to_signed(public[f"collateral_delta[{i}]"]) for i in range(len(policy.assets)))
            debt = tuple(field_to_signed(public[f"debt_delta[{i}]"]) for i in range(len(policy.assets)))
            deltas[row["seq"]] = d
            if row["kind"] in TRANSFERS:
                if row["reference"] in credited:
                    report.problems.append(f"{at}: transfer {row['reference']} was already credited")
                credited.add(row["reference"])
            if row["kind"] == "borrow":
                if any(d) or sum(1 for x in debt if x) != 1 or min(debt) < 0:
                    report.problems.append(f"{at}: not a single-asset borrow")
                for asset, x in zip(policy.assets, debt):
                    if x:
                        report.lent[asset] = report.lent.get(asset, 0) + x
            elif row["kind"] == "repay":
                asset, amount = transfers.get(row["reference"], (None, 0))
                if asset is None or any(d) or debt != tuple(-amount if a == asset else 0 for a in policy.assets):
                    report.problems.append(f"{at}: does not repay its registered transfer")
                else:
                    report.repaid[asset] = report.repaid.get(asset, 0) + amount
            elif any(debt):
                report.problems.append(f"{at}: a {row['kind']} changes a debt")
            if row["kind"] == "health" and any(d):
                report.problems.append(f"{at}: a health proof changes an amount")
            if row["kind"] == "deposit":
                asset, amount = transfers.get(row["reference"], (None, 0))
                if asset is None or d != tuple(amount if a == asset else 0 for a in policy.assets):
                    report.problems.append(f"{at}: does not credit its registered transfer")
            elif row["kind"] == "withdraw" and (sum(1 for x in d if x) != 1 or min(d) >= 0):
                report.problems.append(f"{at}: not a single-asset payout")
            tree.append(public["new_commitment"])
        except (MalformedInput, KeyError, ValueError) as exc:
            report.problems.append(f"{at}: unreadable ({exc})")
            tree.append(int(row["new_commitment"]))
        catch_up_roots()
    if pending is not None:
        report.problems.append(f"root {pending[0]} covers {pending[2]} notes; the transitions hold {tree.size}")
    orphans = ledger.query("SELECT seq FROM transitions WHERE kind = 'trade' AND seq NOT IN "
                           "(SELECT leg_a FROM settlements UNION SELECT leg_b FROM settlements)")
    for (seq,) in orphans:
        report.problems.append(f"transition {seq}: a trade leg outside any settlement")
    for sid, leg_a, leg_b, nf_a, nf_b in ledger.query("SELECT settlement_id, leg_a, leg_b, nullifier_a, nullifier_b FROM settlements"):
        report.settlements += 1
        legs = ledger.query("SELECT seq, kind, reference, nullifier, counterparty_nullifier FROM transitions WHERE seq IN (?, ?)", (leg_a, leg_b))
        by_seq = {r[0]: r for r in legs}
        if set(by_seq) != {leg_a, leg_b} or any(r[1] != "trade" or r[2] != sid for r in legs):
            report.problems.append(f"settlement {sid}: legs are not two trade transitions with its id")
            continue
        a, b = by_seq[leg_a], by_seq[leg_b]
        if (a[3], b[3]) != (nf_a, nf_b) or a[4] != b[3] or b[4] != a[3]:
            report.problems.append(f"settlement {sid}: legs do not name each other's nullifiers")
        if any(x + y for x, y in zip(deltas.get(leg_a, ()), deltas.get(leg_b, ()))):
            report.problems.append(f"settlement {sid}: deltas do not cancel")
    return report


def _audit_liquidation(report: AuditReport, row: dict, proof: Proof, public: Mapping[str, int], epochs: Mapping[int, PriceEpoch],
                       policy: VenuePolicy, vk: VerifyingKey | None, backend: str | None, at: str) -> None:
    """The checks of :func:`audit_ledger` for one liquidation; adds its seizure and repayment to the report."""
    if vk is None:
        report.problems.append(f"{at}: a liquidation, and no liquidation key was given to check it")
    else:
        check_key(Liquidation(**policy.circuit_params), vk, "the venue's liquidation key")
        if not verify(vk, [public[n] for n in vk.public_names], proof, backend=backend):
            report.problems.append(f"{at}: the proof does not verify")
    context = transition_context(Kind.LIQUIDATE, row["market"], row["reference"], row["expiry"], epoch=row["epoch"])
    if public["context"] != context or row["nullifier"] != str(public["nullifier"]):
        report.problems.append(f"{at}: the proof's context or nullifier is not the recorded one")
    a = len(policy.assets)
    epoch = epochs.get(row["epoch"])
    if epoch is None or [public[f"price[{i}]"] for i in range(a)] != [epoch.prices[x] for x in policy.assets]:
        report.problems.append(f"{at}: its prices are not those of its epoch {row['epoch']}")
    if (public["maintenance_ratio_bps"], public["penalty_bps"]) != (policy.maintenance_ratio_bps, policy.liquidation_penalty_bps) or any(
            public[f"haircut_bps[{i}]"] != h for i, h in enumerate(policy.haircut_bps)):
        report.problems.append(f"{at}: maintenance ratio, penalty or haircuts are not the policy's")
    seized = [-field_to_signed(public[f"collateral_delta[{i}]"]) for i in range(a)]
    repaid = [-field_to_signed(public[f"debt_delta[{i}]"]) for i in range(a)]
    if min(seized + repaid) < 0:
        report.problems.append(f"{at}: a liquidation that adds collateral or debt")
    for asset, x, d in zip(policy.assets, seized, repaid):
        if x:
            report.seized[asset] = report.seized.get(asset, 0) + x
        if d:
            report.repaid[asset] = report.repaid.get(asset, 0) + d


VERIFYING_KEY_FILE = "verification_key.json"
PROVING_KEY_FILE = "proving_key.bin"
LIQUIDATION_VERIFYING_KEY_FILE = "liquidation_verification_key.json"
LIQUIDATION_PROVING_KEY_FILE = "liquidation_proving_key.bin"
SEALING_KEY_FILE = "sealing_key.json"
"""The venue's X25519 secret (mode 0600): it opens the liquidation material traders seal to it."""
SEALING_PUBLIC_KEY_FILE = "sealing_public_key"
"""Its public key, hex: what traders seal to (published with the proving key)."""


def load_venue_key(keys_dir: str | os.PathLike, policy: VenuePolicy) -> VerifyingKey:
    """The venue's ``valid_transition`` verification key from ``keys_dir`` (the one place keys are loaded).

    Layout: KEYS/verification_key.json (and proving_key.bin for traders), as
    written by ``zkproofs venue init``. Raises MalformedInput naming the file,
    CircuitMismatch if the key is not for the policy's circuit.
    """
    path = Path(keys_dir) / VERIFYING_KEY_FILE
    try:
        vk = vk_from_json(path.read_bytes(), str(path))
    except OSError as exc:
        raise MalformedInput(f"{path}: {exc.strerror}") from None
    check_key(ValidTransition(**policy.circuit_params), vk, str(path))
    return vk


def load_lending_keys(keys_dir: str | os.PathLike, policy: VenuePolicy) -> tuple[VerifyingKey | None, PrivateKey | None]:
    """The venue's liquidation verification key and sealing key from ``keys_dir``, each None when its
    file is absent (KEYS/liquidation_verification_key.json, KEYS/sealing_key.json: ``zkproofs venue init``
    writes both). MalformedInput naming the file, also for a sealing key others may read; CircuitMismatch
    for a key of another circuit."""
    folder = Path(keys_dir)
    vk = None
    path = folder / LIQUIDATION_VERIFYING_KEY_FILE
    if path.is_file():
        vk = vk_from_json(path.read_bytes(), str(path))
        check_key(Liquidation(**policy.circuit_params), vk, str(path))
    sealing = None
    path = folder / SEALING_KEY_FILE
    if path.is_file():
        if path.stat().st_mode & 0o077:
            raise MalformedInput(f"{path}: others may read the venue's sealing key (chmod 600 {path})")
        sealing = sealing_key_from_json(path.read_bytes(), str(path))
    return vk, sealing


def open_venue(policy_path: str | os.PathLike, keys_dir: str | os.PathLike, db: str | os.PathLike, *,
               backend: str | None = None, transcript: Transcript | None = None, reverify: bool = False) -> Venue:
    """The venue ``zkproofs serve`` and ``zkproofs venue`` run: policy, keys (:func:`load_venue_key`,
    :func:`load_lending_keys`), ledger (with its price epochs).

    ``transcript`` / ``reverify``: for a ceremony key, as :class:`Venue` takes them.
    """
    policy = load_venue_policy(policy_path)
    vk = load_venue_key(keys_dir, policy)
    liquidation_vk, sealing = load_lending_keys(keys_dir, policy)
    return Venue(policy, vk, VenueLedger(db, depth=policy.tree_depth), backend=backend,
                 transcript=transcript, reverify=reverify, liquidation_vk=liquidation_vk, sealing_key=sealing)
