"""Settlement of proven-solvent positions: policy, price feed, requests, ledger, verifier.

A trader proves with :class:`circuits.collateral_ratio.CollateralRatio` that a
hidden position is collateralised above the venue's minimum ratio at the feed's
prices; :class:`~zkproofs.settlement.verifier.SettlementVerifier` checks the
request against the venue's policy and prices, verifies the proof and appends its
decision to a durable SQLite :class:`~zkproofs.settlement.ledger.Ledger`.
"""

from zkproofs.settlement.ledger import Ledger, LedgerEntry
from zkproofs.settlement.policy import MarketPolicy, Policy, PolicyError, load_policy
from zkproofs.settlement.position import Position, SettlementTerms, position_commitment, prove_position, terms_from_policy
from zkproofs.settlement.prices import JsonFilePriceFeed, PriceFeed, PriceQuote, PriceUnavailable, StaticPriceFeed
from zkproofs.settlement.request import RequestError, SettlementRequest, parse_request, settlement_context_to_field
from zkproofs.settlement.verifier import Decision, Reason, SettlementVerifier

__all__ = [
    "Decision",
    "JsonFilePriceFeed",
    "Ledger",
    "LedgerEntry",
    "MarketPolicy",
    "Policy",
    "PolicyError",
    "Position",
    "PriceFeed",
    "PriceQuote",
    "PriceUnavailable",
    "Reason",
    "RequestError",
    "SettlementRequest",
    "SettlementTerms",
    "SettlementVerifier",
    "StaticPriceFeed",
    "load_policy",
    "parse_request",
    "position_commitment",
    "prove_position",
    "settlement_context_to_field",
    "terms_from_policy",
]
