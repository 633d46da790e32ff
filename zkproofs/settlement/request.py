"""The settlement request: exactly the JSON body of ``POST /settlements``.

Layout (prices are decimal strings, USD per whole unit with at most 8 decimals;
haircuts and the ratio are integers in basis points; expiry is unix seconds)::

    {
      "market": "BTC-USDC",
      "settlement_id": "trade-2024-0001",
      "expiry": 1700000600,
      "collateral": [{"asset": "BTC", "price": "27000.12", "haircut_bps": 500}],
      "debt": [{"asset": "USDC", "price": "1"}],
      "min_ratio_bps": 15000,
      "proof": { ... zkproofs.groth16.serialize.proof_to_dict layout, public inputs included ... }
    }

The settlement id is a string of 1-128 characters from ``[A-Za-z0-9._:-]`` (safe in
a URL path), the market name 1-64 of the same characters; the proof binds both
through :func:`settlement_context_to_field`, so it cannot be replayed for another
settlement or presented to another market.
Parsing refuses anything unexpected with a :class:`RequestError` naming the
field (``collateral[0].price: ...``); a proof's public inputs that are not
canonical field elements raise NonCanonicalFieldElement. Parsing checks shape
only: whether the public inputs agree with the fields is the verifier's job.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Mapping

from zkproofs.errors import MalformedInput
from zkproofs.groth16.keys import Proof
from zkproofs.groth16.serialize import proof_from_dict
from zkproofs.settlement.units import parse_fixed

SETTLEMENT_ID_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
MARKET_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
SETTLEMENT_CONTEXT_DOMAIN = b"zkproofs/settlement-context/v1\x00"
MAX_EXPIRY = 2**63 - 1
FIELDS = ("market", "settlement_id", "expiry", "collateral", "debt", "min_ratio_bps", "proof")


class RequestError(MalformedInput):
    """A settlement request that does not have the expected shape; ``field`` names where."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def settlement_context_to_field(market: str, settlement_id: str) -> int:
    """Hash-to-field of the settlement context: the first 31 bytes of
    SHA-256(b"zkproofs/settlement-context/v1\\x00" || market || 0x00 || id), big-endian,
    market and id in ASCII (their patterns exclude 0x00, so the encoding is injective).

    The result is < 2^248 < r, so no reduction (and no bias) occurs; distinct
    contexts collide only with a SHA-256 (truncated to 248 bits) collision.
    RequestError for a market or id outside its pattern. O(len(market) + len(id)).
    """
    check_market(market)
    check_settlement_id(settlement_id)
    message = SETTLEMENT_CONTEXT_DOMAIN + market.encode("ascii") + b"\x00" + settlement_id.encode("ascii")
    return int.from_bytes(hashlib.sha256(message).digest()[:31], "big")


def check_market(value: Any, field: str = "market") -> str:
    """Return ``value`` if it is a valid market name; RequestError otherwise."""
    if not isinstance(value, str) or not MARKET_PATTERN.fullmatch(value):
        raise RequestError(field, "expected a market name of 1-64 characters from A-Z a-z 0-9 . _ : -")
    return value


def check_settlement_id(value: Any, field: str = "settlement_id") -> str:
    """Return ``value`` if it is a valid settlement id; RequestError otherwise."""
    if not isinstance(value, str):
        raise RequestError(field, f"expected a string, got {type(value).__name__}")
    if not SETTLEMENT_ID_PATTERN.fullmatch(value):
        raise RequestError(field, "expected 1-128 characters from A-Z a-z 0-9 . _ : -")
    return value


@dataclass(frozen=True)
class CollateralLine:
    asset: str
    price: int
    """USD per whole unit, 8 decimals."""
    haircut_bps: int


@dataclass(frozen=True)
class DebtLine:
    asset: str
    price: int


@dataclass(frozen=True)
class SettlementRequest:
    """A decoded request; ``public_inputs`` are the proof's, by name, canonical."""

    market: str
    settlement_id: str
    expiry: int
    collateral: tuple[CollateralLine, ...]
    debt: tuple[DebtLine, ...]
    min_ratio_bps: int
    proof: Proof
    circuit_name: str
    circuit_params: Mapping[str, int]
    public_inputs: Mapping[str, int]


def _int_field(obj: Mapping[str, Any], key: str, field: str, lo: int, hi: int) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(field, f"expected an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise RequestError(field, f"{value} is not in [{lo}, {hi}]")
    return value


def _require(obj: Any, keys: tuple[str, ...], field: str) -> None:
    if not isinstance(obj, dict):
        raise RequestError(field, "expected a JSON object")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise RequestError(f"{field}.{missing[0]}" if field else missing[0], "missing")
    extra = sorted(set(obj) - set(keys))
    if extra:
        raise RequestError(f"{field}.{extra[0]}" if field else extra[0], "unexpected field")


def _asset(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise RequestError(field, "expected an asset name (1-64 characters)")
    return value


def _price(value: Any, field: str) -> int:
    if not isinstance(value, str):
        raise RequestError(field, "expected a decimal string such as \"27000.12\"")
    try:
        price = parse_fixed(value, field)
    except MalformedInput as exc:
        raise RequestError(field, str(exc).removeprefix(f"{field}: ")) from None
    if not 1 <= price <= 1 << 64:
        raise RequestError(field, "must be positive and at most 2^64 in 10^-8 USD")
    return price


def parse_request(obj: Any) -> SettlementRequest:
    """Decode a request body (already parsed from JSON); RequestError naming the field.

    NonCanonicalFieldElement for a public input >= r. Points are decoded (and
    checked on the curve and in the subgroup) only by the verifier. O(size).
    """
    if not isinstance(obj, dict):
        raise RequestError("body", "expected a JSON object")
    _require(obj, FIELDS, "")
    market = check_market(obj["market"])
    settlement_id = check_settlement_id(obj["settlement_id"])
    expiry = _int_field(obj, "expiry", "expiry", 0, MAX_EXPIRY)
    min_ratio = _int_field(obj, "min_ratio_bps", "min_ratio_bps", 1, 1 << 24)
    for key in ("collateral", "debt"):
        if not isinstance(obj[key], list) or not obj[key]:
            raise RequestError(key, "expected a non-empty list")
    collateral = []
    for i, line in enumerate(obj["collateral"]):
        at = f"collateral[{i}]"
        _require(line, ("asset", "price", "haircut_bps"), at)
        collateral.append(CollateralLine(
            asset=_asset(line["asset"], f"{at}.asset"),
            price=_price(line["price"], f"{at}.price"),
            haircut_bps=_int_field(line, "haircut_bps", f"{at}.haircut_bps", 0, 10_000),
        ))
    debt = []
    for j, line in enumerate(obj["debt"]):
        at = f"debt[{j}]"
        _require(line, ("asset", "price"), at)
        debt.append(DebtLine(asset=_asset(line["asset"], f"{at}.asset"), price=_price(line["price"], f"{at}.price")))
    proof_obj = obj["proof"]
    if not isinstance(proof_obj, dict):
        raise RequestError("proof", "expected a proof object")
    proof, publics = proof_from_dict(proof_obj, "proof")
    circuit = proof_obj["circuit"]
    name, params = circuit.get("name"), circuit.get("params")
    if not isinstance(name, str):
        raise RequestError("proof.circuit.name", "expected a string")
    if not isinstance(params, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in params.values()):
        raise RequestError("proof.circuit.params", "expected an object of integers")
    return SettlementRequest(
        market=market,
        settlement_id=settlement_id,
        expiry=expiry,
        collateral=tuple(collateral),
        debt=tuple(debt),
        min_ratio_bps=min_ratio,
        proof=proof,
        circuit_name=name,
        circuit_params=dict(params),
        public_inputs=publics,
    )


def expected_public_inputs(request: SettlementRequest) -> dict[str, int]:
    """The public inputs the request's fields determine (all but the commitment), by circuit name."""
    out: dict[str, int] = {}
    for i, line in enumerate(request.collateral):
        out[f"collateral_price[{i}]"] = line.price
        out[f"haircut_bps[{i}]"] = line.haircut_bps
    for j, line in enumerate(request.debt):
        out[f"debt_price[{j}]"] = line.price
    out["min_ratio_bps"] = request.min_ratio_bps
    out["settlement_context"] = settlement_context_to_field(request.market, request.settlement_id)
    out["expiry"] = request.expiry
    return out
