"""A trader's hidden position, its commitment, and the prover's side of a settlement.

Position JSON (whole-unit decimal strings, converted exactly to 10^-8 units)::

    {"collateral": {"BTC": "1.5"}, "debt": {"USDC": "20000"}, "salt": "<decimal>"}

The commitment is the circuit's: Poseidon (t = 3 sponge) over the collateral
amounts, then the debt amounts, then the salt, in the order of the position's
assets (for a proof: the market's order, see :meth:`Position.for_market`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from circuits.collateral_ratio import AMOUNT_BITS, CollateralRatio, commitment_tag
from zkproofs.errors import CircuitMismatch, MalformedInput
from zkproofs.field import R, decode_scalar
from zkproofs.groth16 import ProvingKey, prove
from zkproofs.groth16.serialize import proof_to_dict
from zkproofs.poseidon import poseidon_hash
from zkproofs.settlement.policy import CIRCUIT_NAME, Policy
from zkproofs.settlement.prices import PriceFeed
from zkproofs.settlement.request import check_settlement_id, settlement_context_to_field
from zkproofs.settlement.units import format_fixed, parse_fixed


@dataclass(frozen=True)
class Position:
    """Ordered (asset, amount in 10^-8 units) pairs and the salt (a field element)."""

    collateral: tuple[tuple[str, int], ...]
    debt: tuple[tuple[str, int], ...]
    salt: int

    @classmethod
    def from_dict(cls, obj: Any, where: str = "position", *, salt: int | None = None) -> "Position":
        """Decode the position JSON; MalformedInput naming the field.

        ``salt`` fills in a missing salt (callers that allow one generate it with
        :func:`new_salt`). Amounts must be < 2^64 units.
        """
        if not isinstance(obj, dict):
            raise MalformedInput(f"{where}: expected a JSON object")
        extra = set(obj) - {"collateral", "debt", "salt"}
        if extra:
            raise MalformedInput(f"{where}: unexpected field {sorted(extra)[0]!r}")
        sides = []
        for side in ("collateral", "debt"):
            table = obj.get(side, {})
            if not isinstance(table, dict):
                raise MalformedInput(f"{where}.{side}: expected an object of asset -> amount")
            items = []
            for asset, amount in table.items():
                if not isinstance(amount, str):
                    raise MalformedInput(f"{where}.{side}.{asset}: expected a decimal string such as \"1.5\"")
                units = parse_fixed(amount, f"{where}.{side}.{asset}")
                if units >= 1 << AMOUNT_BITS:
                    raise MalformedInput(f"{where}.{side}.{asset}: {amount} is 2^64 units (10^-8) or more")
                items.append((asset, units))
            sides.append(tuple(items))
        if "salt" in obj:
            raw = obj["salt"]
            if not isinstance(raw, str):
                raise MalformedInput(f"{where}.salt: expected a decimal string")
            salt = decode_scalar(raw, what=f"{where}.salt")
        elif salt is None:
            raise MalformedInput(f"{where}.salt: missing")
        if not sides[0] and not sides[1]:
            raise MalformedInput(f"{where}: no assets")
        return cls(collateral=sides[0], debt=sides[1], salt=salt)

    def to_dict(self) -> dict[str, Any]:
        return {
            "collateral": {a: format_fixed(u) for a, u in self.collateral},
            "debt": {a: format_fixed(u) for a, u in self.debt},
            "salt": str(self.salt),
        }

    def for_market(self, collateral_assets: tuple[str, ...], debt_assets: tuple[str, ...]) -> "Position":
        """The same position in a market's asset order; assets it lacks count as 0.

        MalformedInput if the position holds an asset the market does not accept.
        """
        for side, own, allowed in (("collateral", self.collateral, collateral_assets), ("debt", self.debt, debt_assets)):
            stray = [a for a, _ in own if a not in allowed]
            if stray:
                raise MalformedInput(f"position.{side}: {stray[0]} is not a {side} asset of this market ({', '.join(allowed)})")
        col, deb = dict(self.collateral), dict(self.debt)
        return Position(
            collateral=tuple((a, col.get(a, 0)) for a in collateral_assets),
            debt=tuple((a, deb.get(a, 0)) for a in debt_assets),
            salt=self.salt,
        )


def new_salt() -> int:
    """A uniformly random salt in [0, r): it hides the amounts behind the commitment."""
    return secrets.randbelow(R)


def position_commitment(position: Position) -> int:
    """Poseidon(C * 2^32 + D, collateral amounts..., debt amounts..., salt), as the circuit
    computes it (:mod:`circuits.collateral_ratio`). O(C + D)."""
    tag = commitment_tag(len(position.collateral), len(position.debt))
    return poseidon_hash([tag] + [u for _, u in position.collateral] + [u for _, u in position.debt] + [position.salt])


@dataclass(frozen=True)
class SettlementTerms:
    """What the prover proves against: the market's assets in order, prices (8-decimal
    USD per whole unit), haircuts and ratio (bps), and the settlement context."""

    market: str
    settlement_id: str
    expiry: int
    collateral_assets: tuple[str, ...]
    collateral_prices: tuple[int, ...]
    haircuts_bps: tuple[int, ...]
    debt_assets: tuple[str, ...]
    debt_prices: tuple[int, ...]
    min_ratio_bps: int


def terms_from_policy(policy: Policy, market: str, feed: PriceFeed, settlement_id: str, expiry: int) -> SettlementTerms:
    """Terms at the feed's current prices with the policy's minimum haircuts and ratio.

    MalformedInput for an unknown market or settlement id; PriceUnavailable from the feed.
    """
    spec = policy.market(market)
    if spec is None:
        raise MalformedInput(f"unknown market {market!r}; the policy has {', '.join(sorted(policy.markets))}")
    check_settlement_id(settlement_id)
    return SettlementTerms(
        market=market,
        settlement_id=settlement_id,
        expiry=expiry,
        collateral_assets=spec.collateral_assets,
        collateral_prices=tuple(feed.quote(a).price for a in spec.collateral_assets),
        haircuts_bps=spec.min_haircut_bps,
        debt_assets=spec.debt_assets,
        debt_prices=tuple(feed.quote(a).price for a in spec.debt_assets),
        min_ratio_bps=spec.min_ratio_bps,
    )


def prove_position(pk: ProvingKey, position: Position, terms: SettlementTerms) -> dict[str, Any]:
    """Prove ``position`` against ``terms``; return the settlement request (the POST body) as a dict.

    Raises CircuitMismatch if ``pk`` is not the key of the market's circuit shape,
    UnsatisfiedConstraint if the position is below the ratio (no proof of a false
    statement is ever made), MalformedInput for a position with foreign assets.
    Cost: one Groth16 proof (see :func:`zkproofs.groth16.prove`).
    """
    check_settlement_id(terms.settlement_id)
    aligned = position.for_market(terms.collateral_assets, terms.debt_assets)
    circuit = CollateralRatio(collateral=len(terms.collateral_assets), debt=len(terms.debt_assets))
    if pk.vk.circuit.name != CIRCUIT_NAME or pk.vk.circuit.params_dict != circuit.params:
        raise CircuitMismatch(
            f"market {terms.market} needs the key of {CIRCUIT_NAME} {circuit.params}, "
            f"got {pk.vk.circuit.name} {pk.vk.circuit.params_dict}"
        )
    inputs = {
        "collateral": [u for _, u in aligned.collateral],
        "debt": [u for _, u in aligned.debt],
        "salt": aligned.salt,
        "collateral_price": list(terms.collateral_prices),
        "haircut_bps": list(terms.haircuts_bps),
        "debt_price": list(terms.debt_prices),
        "min_ratio_bps": terms.min_ratio_bps,
        "settlement_context": settlement_context_to_field(terms.market, terms.settlement_id),
        "expiry": terms.expiry,
    }
    r1cs, witness = circuit.synthesize(inputs)
    proof = prove(pk, r1cs, witness)
    public = witness[1 : r1cs.num_public + 1]
    return {
        "market": terms.market,
        "settlement_id": terms.settlement_id,
        "expiry": terms.expiry,
        "collateral": [
            {"asset": a, "price": format_fixed(p), "haircut_bps": h}
            for a, p, h in zip(terms.collateral_assets, terms.collateral_prices, terms.haircuts_bps)
        ],
        "debt": [{"asset": a, "price": format_fixed(p)} for a, p in zip(terms.debt_assets, terms.debt_prices)],
        "min_ratio_bps": terms.min_ratio_bps,
        "proof": proof_to_dict(proof, pk.vk, public),
    }
