"""Test helpers for the escrow venue: a small venue (3 assets, depth 6) and wallets that prove against it."""

from __future__ import annotations

from dataclasses import dataclass, field

from zkproofs.settlement.notes import Note, OwnerKeys
from zkproofs.settlement.prices import PriceQuote, StaticPriceFeed
from zkproofs.settlement.transition import (
    Kind,
    build_transition,
    prove_transition,
    receipt_hash,
    receipt_secret,
    transition_context,
    transition_request,
)
from zkproofs.settlement.venue_policy import venue_policy_from_dict

NOW = 1_800_000_000
EXPIRY = NOW + 600
ONE = 10**8
PRICES = {"BTC": 27_000 * ONE, "ETH": 1_800 * ONE, "USDC": ONE}
POLICY_DICT = {
    "venue": {"name": "test-venue", "assets": ["BTC", "ETH", "USDC"], "min_ratio_bps": 15_000,
              "haircut_bps": {"BTC": 500, "ETH": 1000}, "anchor_window": 4, "tree_depth": 6,
              "trust_single_party_keys": True},  # the tests' venue runs its own single-party setup
    "markets": {"BTC-USDC": {"base": "BTC", "quote": "USDC"}, "ETH-USDC": {"base": "ETH", "quote": "USDC"}},
}
POLICY = venue_policy_from_dict(POLICY_DICT)


def feed(now=NOW):
    return StaticPriceFeed({a: PriceQuote(p, now) for a, p in PRICES.items()})


def prices():
    return [PRICES[a] for a in POLICY.assets]


@dataclass
class Wallet:
    """A trader's keys and current note (the CLI wallet's state, in memory)."""

    keys: OwnerKeys
    pk: object  # the proving key
    note: Note | None = None
    position: int | None = None
    history: list = field(default_factory=list)

    def spent(self, ledger):
        if self.note is None:
            return None
        path, root = ledger.membership_path(self.position)
        return self.note, path, root

    def prove(self, kind, ledger, delta, market, reference, *, counterparty=0, destination="-", expiry=EXPIRY, haircuts=None, spend=True,
              debt=None, ratio=None, price_list=None):
        old = self.spent(ledger) if spend else None
        nf = self.nullifier_now(ledger) if old else 0
        receipt = receipt_hash(receipt_secret(self.keys.nk, nf))
        ctx = transition_context(kind, market, reference, expiry, counterparty, destination, receipt)
        t = build_transition(self.keys, old, list(delta), list(debt or [0] * len(delta)), price_list or prices(),
                             list(haircuts or POLICY.haircut_bps), ratio or POLICY.ratio_for(kind.name.lower()), ctx,
                             depth=POLICY.tree_depth, assets=POLICY.assets)
        proof, public = prove_transition(self.pk, t)
        body = transition_request(kind, market, reference, expiry, proof, public, self.pk.vk,
                                  counterparty_nullifier=counterparty, destination=destination, receipt=receipt)
        return body, t

    def accept(self, t, position):
        self.note, self.position = t.new_note, position

    def deposit(self, venue, reference, asset, amount):
        venue.register_transfer(reference, asset, amount)
        delta = [amount if a == asset else 0 for a in POLICY.assets]
        body, t = self.prove(Kind.DEPOSIT, venue.ledger, delta, POLICY.name, reference, spend=self.note is not None)
        decision = venue.deposit(body)
        assert decision.accepted, decision
        self.accept(t, decision.record["position"])
        return decision, body

    def receipt(self, ledger):
        """The receipt of the transition that spends the current note."""
        return receipt_secret(self.keys.nk, self.nullifier_now(ledger))

    def nullifier_now(self, ledger):
        from zkproofs.settlement.notes import nullifier
        return nullifier(self.keys.nk, self.position, self.note.commitment())


def trade_legs(a: Wallet, b: Wallet, ledger, market, sid, give_a, get_a, *, expiry=EXPIRY):
    """Legs where a gives ``give_a`` (asset, amount) and receives ``get_a``; b the opposite."""
    nf_a, nf_b = a.nullifier_now(ledger), b.nullifier_now(ledger)
    delta_a = [0] * len(POLICY.assets)
    delta_a[POLICY.assets.index(give_a[0])] -= give_a[1]
    delta_a[POLICY.assets.index(get_a[0])] += get_a[1]
    body_a, ta = a.prove(Kind.TRADE, ledger, delta_a, market, sid, counterparty=nf_b, expiry=expiry)
    body_b, tb = b.prove(Kind.TRADE, ledger, [-d for d in delta_a], market, sid, counterparty=nf_a, expiry=expiry)
    return (body_a, ta), (body_b, tb)
