"""Test helpers for the escrow venue: a small venue (3 assets, depth 6) and wallets that prove against it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from zkproofs.settlement.epochs import epoch_from_json, quotes_to_dict, sign_quotes
from zkproofs.settlement.material import seal_material
from zkproofs.settlement.notes import Note, OwnerKeys
from zkproofs.settlement.transition import (
    Kind,
    build_transition,
    prove_transition,
    receipt_hash,
    receipt_secret,
    transition_context,
    transition_request,
)
from zkproofs.settlement.venue import Venue
from zkproofs.settlement.venue_policy import venue_policy_from_dict

NOW = 1_800_000_000
EXPIRY = NOW + 600
ONE = 10**8
PRICES = {"BTC": 27_000 * ONE, "ETH": 1_800 * ONE, "USDC": ONE}
SEALING_KEY = PrivateKey(hashlib.sha256(b"zkproofs test venue sealing key").digest())
"""The tests' venue's sealing key (borrowers seal their notes' liquidation material to its public key)."""
ORACLE_SEEDS = [hashlib.sha256(f"zkproofs test oracle {i}".encode()).digest() for i in range(3)]
ORACLE_KEYS = [SigningKey(seed).verify_key.encode().hex() for seed in ORACLE_SEEDS]
POLICY_DICT = {
    "venue": {"name": "test-venue", "assets": ["BTC", "ETH", "USDC"], "initial_ratio_bps": 15_000,
              "maintenance_ratio_bps": 12_500, "haircut_bps": {"BTC": 500, "ETH": 1000}, "anchor_window": 4,
              "tree_depth": 6, "trust_single_party_keys": True},  # the tests' venue runs its own single-party setup
    "oracles": {"keys": ORACLE_KEYS, "quorum": 2, "max_move_bps": 9_000},  # the tests move prices far in one epoch
    "markets": {"BTC-USDC": {"base": "BTC", "quote": "USDC"}, "ETH-USDC": {"base": "ETH", "quote": "USDC"}},
}
POLICY = venue_policy_from_dict(POLICY_DICT)


def prices():
    return [PRICES[a] for a in POLICY.assets]


def epoch_body(sequence: int, price_map=None, timestamp: int = NOW, signers=(0, 1), policy=POLICY) -> dict:
    """The POST /epochs body: the test oracles ``signers`` sign ``price_map`` (default PRICES) for epoch ``sequence``."""
    price_map = PRICES if price_map is None else price_map
    return {"quotes": [quotes_to_dict(sign_quotes(ORACLE_SEEDS[i], policy.name, sequence, timestamp, price_map, policy.assets))
                       for i in signers]}


def make_venue(policy, vk, ledger, *, clock=lambda: NOW, backend="arkworks", price_map=None, **kwargs) -> Venue:
    """A Venue (with the tests' SEALING_KEY) whose ledger has a price epoch: epoch 1 at ``price_map``
    (default PRICES) if it has none yet."""
    kwargs.setdefault("sealing_key", SEALING_KEY)
    venue = Venue(policy, vk, ledger, clock=clock, backend=backend, **kwargs)
    if venue.current_epoch() is None:
        decision = venue.publish_epoch(epoch_body(1, price_map, int(clock()), policy=policy))
        assert decision.accepted, decision
    return venue


def latest_epoch(ledger):
    """The ledger's latest epoch (what a wallet would prove at)."""
    with ledger.read() as conn:
        row = ledger.latest_epoch(conn)
    return epoch_from_json(row[1], "ledger")


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
              debt=None, ratio=None, price_list=None, epoch=None, material=None):
        """Prove a transition at the ledger's latest epoch (its number and prices) unless ``epoch`` / ``price_list`` say
        otherwise; the new note's material sealed to SEALING_KEY when the old or new note carries debt (``material``:
        True or False to force it either way)."""
        old = self.spent(ledger) if spend else None
        nf = self.nullifier_now(ledger) if old else 0
        receipt = receipt_hash(receipt_secret(self.keys.nk, nf))
        current = latest_epoch(ledger)
        epoch = current.sequence if epoch is None else epoch
        ctx = transition_context(kind, market, reference, expiry, counterparty, destination, receipt, epoch=epoch)
        t = build_transition(self.keys, old, list(delta), list(debt or [0] * len(delta)),
                             price_list or [current.prices[a] for a in POLICY.assets],
                             list(haircuts or POLICY.haircut_bps), ratio or POLICY.ratio_for(kind.name.lower()), ctx,
                             depth=POLICY.tree_depth, assets=POLICY.assets)
        proof, public = prove_transition(self.pk, t)
        body = transition_request(kind, market, reference, expiry, proof, public, self.pk.vk, epoch=epoch,
                                  counterparty_nullifier=counterparty, destination=destination, receipt=receipt)
        if material is None:
            material = any(t.new_note.debt) or (old is not None and any(old[0].debt))
        if material:
            body["material"] = seal_material(SEALING_KEY.public_key, self.keys.ak, self.keys.nk, t.new_note)
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
