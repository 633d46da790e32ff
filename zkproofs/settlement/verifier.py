"""The settlement verifier: policy, prices, replay and the proof, then a durable decision.

``SettlementVerifier.submit(request)`` checks, in this order, and stops at the
first failure (each has its :class:`Reason`):

1. the body decodes (MALFORMED, naming the field);
2. the market is known (UNKNOWN_MARKET);
3. the proof is for the market's key: circuit name, parameters and digest (WRONG_KEY);
4. the assets are the market's, in its order (UNACCEPTED_ASSET);
5. the proof's public inputs are exactly the key's names, canonical, and equal
   to the request's fields, market and settlement id hashed with
   :func:`~zkproofs.settlement.request.settlement_context_to_field` (MALFORMED);
6. the expiry has not passed (EXPIRED: expiry <= now);
7. the id was not accepted before (REPLAY; checked again inside the ledger's
   write transaction, which is what makes it race-free);
8. every price has a feed quote (PRICE_UNAVAILABLE, also for a quote dated more
   than :data:`MAX_CLOCK_SKEW_SECONDS` in the future), fresh (STALE_PRICE:
   now - updated_at > max_price_age_seconds), and conservative within tolerance
   (PRICE_MISMATCH): a collateral price in [feed * (1 - tol), feed], a debt
   price in [feed, feed * (1 + tol)], tol = price_tolerance_bps / 10^4. The
   band is one-sided so that the proven inequality at the proof's prices
   implies it at the feed's prices: a prover may understate collateral and
   overstate debt, never the reverse;
9. haircuts are at least the policy's (HAIRCUT_BELOW_POLICY) and the ratio at
   least the policy's (RATIO_BELOW_POLICY);
10. the Groth16 proof verifies (INVALID_PROOF; a point off the curve or outside
    the subgroup is MALFORMED).

Replay protection is on the settlement id, not on proof bytes: Groth16 proofs
are malleable (anyone can re-randomise an accepted proof) and a prover can make
any number of fresh proofs of the same position. Every decision on a request
the venue can act on (known market, the market's key, well-formed) is appended
to the ledger in one transaction, rejections included; a request refused at
steps 1-3 or as MALFORMED is a bad request: it is answered and changes nothing.
"""

from __future__ import annotations

import enum
import hashlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from circuits.collateral_ratio import CollateralRatio
from zkproofs.errors import MalformedInput, UntrustedKey
from zkproofs.groth16 import VerifyingKey, verify
from zkproofs.groth16.trust import KeyTrust, Transcript, TrustReport, require_trusted
from zkproofs.settlement.ledger import Ledger, LedgerEntry
from zkproofs.settlement.policy import Policy, PolicyError
from zkproofs.settlement.prices import PriceFeed, PriceUnavailable
from zkproofs.settlement.request import SETTLEMENT_ID_PATTERN, SettlementRequest, expected_public_inputs, parse_request
from zkproofs.settlement.units import format_fixed


MAX_CLOCK_SKEW_SECONDS = 60
"""How far in the future a feed quote may be dated (clock skew between oracle and venue)."""


class Reason(str, enum.Enum):
    """Why a settlement was accepted or rejected (stored in the ledger by value)."""

    ACCEPTED = "ACCEPTED"
    MALFORMED = "MALFORMED"
    UNKNOWN_MARKET = "UNKNOWN_MARKET"
    WRONG_KEY = "WRONG_KEY"
    UNACCEPTED_ASSET = "UNACCEPTED_ASSET"
    EXPIRED = "EXPIRED"
    REPLAY = "REPLAY"
    PRICE_UNAVAILABLE = "PRICE_UNAVAILABLE"
    STALE_PRICE = "STALE_PRICE"
    PRICE_MISMATCH = "PRICE_MISMATCH"
    HAIRCUT_BELOW_POLICY = "HAIRCUT_BELOW_POLICY"
    RATIO_BELOW_POLICY = "RATIO_BELOW_POLICY"
    INVALID_PROOF = "INVALID_PROOF"


BAD_REQUEST = frozenset({Reason.MALFORMED, Reason.UNKNOWN_MARKET, Reason.WRONG_KEY})
"""Refusals that are not recorded: the request names no settlement the venue can decide on."""


@dataclass(frozen=True)
class Decision:
    """The outcome of one submission, as stored in the ledger (``seq`` is its row;
    None for a bad request, which is not recorded)."""

    accepted: bool
    reason: Reason
    message: str
    settlement_id: str
    market: str | None = None
    proof_digest: str | None = None
    received_at: float = 0.0
    seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "reason": self.reason.value,
            "message": self.message,
            "settlement_id": self.settlement_id,
            "market": self.market,
            "proof_digest": self.proof_digest,
            "received_at": self.received_at,
            "seq": self.seq,
        }


class _Reject(Exception):
    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def proof_digest(request: SettlementRequest) -> str:
    """SHA-256 (hex) of the proof's compressed points A || B || C (for the audit trail only)."""
    return hashlib.sha256(request.proof.to_bytes()).hexdigest()


class SettlementVerifier:
    """Checks settlement requests against a policy, a price feed and the ledger.

    ``verification_keys``: market name -> the verifying key of that market's
    ``collateral_ratio`` circuit. Each must pass the trust policy
    (:func:`~zkproofs.groth16.trust.require_trusted`): a single-party key only if
    the policy sets ``trust_single_party_keys``; a ceremony key only if its
    transcript (``transcripts[market]``, a :class:`~zkproofs.groth16.trust.Transcript`)
    verifies against the circuit, or did before for this user (``reverify``
    repeats it). A key of another shape, whose digest is not this code's circuit,
    degenerate, or not trusted raises PolicyError here, before any request
    (one shape synthesis per market). ``key_reports`` keeps each market's decision.
    ``clock`` gives unix seconds. ``backend`` selects the curve backend (arkworks
    by default). Thread-safe: the ledger serialises the decisions.
    """

    def __init__(
        self,
        policy: Policy,
        verification_keys: Mapping[str, VerifyingKey],
        price_feed: PriceFeed,
        ledger: Ledger,
        clock: Callable[[], float] = time.time,
        *,
        backend: str | None = None,
        transcripts: Mapping[str, Transcript] | None = None,
        reverify: bool = False,
    ):
        trust = KeyTrust(single_party=policy.trust_single_party_keys, reverify=reverify)
        self.key_reports: dict[str, TrustReport] = {}
        for name, spec in policy.markets.items():
            vk = verification_keys.get(name)
            if vk is None:
                raise PolicyError(f"no verification key for market {name}")
            try:
                self.key_reports[name] = require_trusted(
                    CollateralRatio(**spec.circuit_params), vk, trust,
                    transcript=(transcripts or {}).get(name), what=f"the key of market {name}",
                    opt_in="policy: settlement.trust_single_party_keys = true",
                )  # fmt: skip
            except (MalformedInput, UntrustedKey) as exc:
                raise PolicyError(str(exc)) from None
        self.policy = policy
        self.keys = dict(verification_keys)
        self.price_feed = price_feed
        self.ledger = ledger
        self.clock = clock
        self.backend = backend

    def submit(self, body: Any) -> Decision:
        """Decide on one request (a parsed JSON body or a SettlementRequest) and record it.

        Never raises for bad input: every problem is a rejected Decision with its
        reason and a specific message. Cost: a few lookups and one Groth16 verification.
        """
        now = self.clock()
        settlement_id = body.get("settlement_id") if isinstance(body, dict) else getattr(body, "settlement_id", None)
        if not isinstance(settlement_id, str) or not SETTLEMENT_ID_PATTERN.fullmatch(settlement_id):
            settlement_id = ""  # recorded under the empty id: there is no valid one to key it on
        market = digest = None
        try:
            request = body if isinstance(body, SettlementRequest) else parse_request(body)
            market, digest = request.market, proof_digest(request)
            self._check(request, now)
        except _Reject as rejection:
            reason, message = rejection.reason, rejection.message
        except MalformedInput as exc:
            reason, message = Reason.MALFORMED, str(exc)
        else:
            reason, message = Reason.ACCEPTED, f"settlement {settlement_id} accepted"
        if reason in BAD_REQUEST:
            return Decision(False, reason, message, settlement_id, market, digest, now)
        entry = self.ledger.append(
            LedgerEntry(
                settlement_id=settlement_id,
                market=market,
                accepted=reason is Reason.ACCEPTED,
                reason=reason.value,
                message=message,
                proof_digest=digest,
                received_at=now,
            ),
            replay_reason=Reason.REPLAY.value,
            replay_message=f"settlement {settlement_id} was already accepted",
        )
        return Decision(
            accepted=entry.accepted,
            reason=Reason(entry.reason),
            message=entry.message,
            settlement_id=entry.settlement_id,
            market=entry.market,
            proof_digest=entry.proof_digest,
            received_at=entry.received_at,
            seq=entry.seq,
        )

    def _check(self, req: SettlementRequest, now: float) -> None:
        spec = self.policy.market(req.market)
        if spec is None:
            raise _Reject(Reason.UNKNOWN_MARKET, f"unknown market {req.market!r}")
        vk = self.keys[spec.name]
        if (req.circuit_name, dict(req.circuit_params)) != (vk.circuit.name, vk.circuit.params_dict) or (
            req.proof.circuit_digest != vk.circuit.digest
        ):
            raise _Reject(
                Reason.WRONG_KEY,
                f"market {spec.name} verifies {vk.circuit.name} {vk.circuit.params_dict} "
                f"(digest {vk.circuit.digest[:16]}...); the proof is for {req.circuit_name} "
                f"{dict(req.circuit_params)} (digest {req.proof.circuit_digest[:16]}...)",
            )
        collateral = tuple(line.asset for line in req.collateral)
        debt = tuple(line.asset for line in req.debt)
        for side, got, want in (("collateral", collateral, spec.collateral_assets), ("debt", debt, spec.debt_assets)):
            if got != want:
                raise _Reject(
                    Reason.UNACCEPTED_ASSET,
                    f"{side} assets {list(got)} are not market {spec.name}'s {side} assets {list(want)} (in this order)",
                )
        self.check_public_inputs(req, vk)
        if req.expiry <= now:
            raise _Reject(Reason.EXPIRED, f"expiry {req.expiry} has passed (now {int(now)})")
        if self.ledger.is_accepted(req.settlement_id):
            raise _Reject(Reason.REPLAY, f"settlement {req.settlement_id} was already accepted")
        for i, line in enumerate(req.collateral):
            self._check_price(f"collateral[{i}]", line.asset, line.price, now, collateral=True)
        for j, line in enumerate(req.debt):
            self._check_price(f"debt[{j}]", line.asset, line.price, now, collateral=False)
        for i, (line, floor) in enumerate(zip(req.collateral, spec.min_haircut_bps)):
            if line.haircut_bps < floor:
                raise _Reject(
                    Reason.HAIRCUT_BELOW_POLICY,
                    f"collateral[{i}].haircut_bps {line.haircut_bps} is below the policy's {floor} for {line.asset}",
                )
        if req.min_ratio_bps < spec.min_ratio_bps:
            raise _Reject(
                Reason.RATIO_BELOW_POLICY,
                f"min_ratio_bps {req.min_ratio_bps} is below market {spec.name}'s {spec.min_ratio_bps}",
            )
        public = [req.public_inputs[name] for name in vk.public_names]
        if not verify(vk, public, req.proof, backend=self.backend):
            raise _Reject(Reason.INVALID_PROOF, "the proof does not verify for these public inputs")

    @staticmethod
    def check_public_inputs(req: SettlementRequest, vk: VerifyingKey) -> None:
        """MalformedInput unless the proof's public inputs are exactly ``vk``'s names and equal the request's fields."""
        names = set(req.public_inputs)
        missing = [n for n in vk.public_names if n not in names]
        extra = sorted(names - set(vk.public_names))
        if missing or extra:
            raise MalformedInput(
                f"proof.public_inputs: missing {missing}, unexpected {extra} (the key expects {list(vk.public_names)})"
            )
        for name, value in expected_public_inputs(req).items():
            if name not in names:
                raise MalformedInput(
                    f"proof.public_inputs: the request's {len(req.collateral)} collateral and {len(req.debt)} debt "
                    f"lines do not fit the key's circuit {vk.circuit.name} {vk.circuit.params_dict}"
                )
            if req.public_inputs[name] != value:
                raise MalformedInput(
                    f"proof.public_inputs.{name}: {req.public_inputs[name]} does not match the request's value {value}"
                )

    def _check_price(self, field: str, asset: str, price: int, now: float, *, collateral: bool) -> None:
        try:
            quote = self.price_feed.quote(asset)
        except PriceUnavailable as exc:
            raise _Reject(Reason.PRICE_UNAVAILABLE, f"{field}: {exc}") from None
        age = now - quote.updated_at
        if age < -MAX_CLOCK_SKEW_SECONDS:
            raise _Reject(
                Reason.PRICE_UNAVAILABLE,
                f"{field}: the feed's {asset} quote is dated {int(-age)} s in the future "
                f"(allowed clock skew {MAX_CLOCK_SKEW_SECONDS} s); the feed cannot be trusted",
            )
        if age > self.policy.max_price_age_seconds:
            raise _Reject(
                Reason.STALE_PRICE,
                f"{field}: the feed's {asset} price is {int(age)} s old (limit {self.policy.max_price_age_seconds} s)",
            )
        optimistic = price > quote.price if collateral else price < quote.price
        if optimistic:
            raise _Reject(
                Reason.PRICE_MISMATCH,
                f"{field}.price {format_fixed(price)} is {'above' if collateral else 'below'} the feed's "
                f"{format_fixed(quote.price)} for {asset}: {'collateral' if collateral else 'debt'} may not be valued "
                f"{'above' if collateral else 'below'} the feed price",
            )
        if abs(price - quote.price) * 10_000 > self.policy.price_tolerance_bps * quote.price:
            raise _Reject(
                Reason.PRICE_MISMATCH,
                f"{field}.price {format_fixed(price)} differs from the feed's {format_fixed(quote.price)} for {asset} "
                f"by more than {self.policy.price_tolerance_bps} bps",
            )
