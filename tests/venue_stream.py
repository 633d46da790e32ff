"""A precomputed stream of venue operations for the HTTP service tests.

Proofs are expensive, so they are made once per test session (:func:`stream`),
against a scratch venue, and replayed into fresh ledgers: the note tree's roots
and paths depend only on the order of the commitments, so the replayed ledger
reaches the same states and every proof's anchor is known there. The stream:
``PAIRS`` pairs of traders each deposit (BTC / USDC), then each pair settles one
trade; ``race`` holds three withdrawals spending trader 0's note after its trade.
Expiries are at least two hours after the real clock, so a real ``zkproofs serve``
(wall clock) accepts the same bodies as the tests' venues (clock ``NOW``). Every
proof is at price epoch 1 (:data:`EPOCH`, dated a minute before the session
started, so that both clocks accept it; ``new_venue`` publishes it).
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from circuits.valid_transition import ValidTransition
from tests.venue_helpers import EXPIRY, NOW, ONE, POLICY, POLICY_DICT, Wallet, epoch_body, trade_legs
from zkproofs.groth16 import setup
from zkproofs.groth16.keys import ProvingKey
from zkproofs.groth16.serialize import vk_to_json
from zkproofs.settlement.notes import OwnerKeys
from zkproofs.settlement.transition import Kind
from zkproofs.settlement.venue import Venue
from zkproofs.settlement.venue_ledger import VenueLedger

PAIRS = 3
SERVICE_POLICY = dataclasses.replace(POLICY, anchor_window=64, max_epoch_age_seconds=10**9)
"""The tests' venue with a window wide enough that every proof of the stream keeps a valid anchor, and an epoch
age limit that the stream's one epoch meets at both clocks (the wall clock and ``NOW``, weeks apart)."""
EPOCH = epoch_body(1, timestamp=int(time.time()) - 60)
"""The stream's price epoch (POST /epochs body)."""


@dataclass(frozen=True)
class Stream:
    pk: ProvingKey
    ops: list[tuple]
    """("transfer", reference, asset, amount) | ("deposit", body) | ("settle", leg_a, leg_b, receipt_a, receipt_b)."""
    race: list[dict]
    """Three withdrawals spending trader 0's note after every op of ``ops``."""
    expiry: int


def new_venue(pk: ProvingKey, db: Path, *, clock=None, epoch: bool = True) -> Venue:
    """A venue of SERVICE_POLICY on ledger ``db``, with the stream's epoch published unless ``epoch`` is False."""
    clock = clock or (lambda: NOW)
    ledger = VenueLedger(db, depth=SERVICE_POLICY.tree_depth, clock=clock)
    venue = Venue(SERVICE_POLICY, pk.vk, ledger, clock=clock, backend="arkworks")
    if epoch:
        assert venue.publish_epoch(EPOCH).accepted
    return venue


@lru_cache(maxsize=None)
def stream() -> Stream:
    pk = setup(ValidTransition(**POLICY.circuit_params), backend="arkworks", party="test venue")
    expiry = max(EXPIRY, int(time.time()) + 7200)
    with tempfile.TemporaryDirectory() as folder:
        venue = new_venue(pk, Path(folder) / "scratch.db")
        ledger = venue.ledger
        wallets = [Wallet(OwnerKeys.from_spending_key(3000 + i), pk) for i in range(2 * PAIRS)]
        ops: list[tuple] = []
        for i, w in enumerate(wallets):
            asset, amount = ("BTC", 2 * ONE) if i % 2 == 0 else ("USDC", 60_000 * ONE)
            venue.register_transfer(f"tx-{i}", asset, amount)
            delta = [amount if a == asset else 0 for a in POLICY.assets]
            body, t = w.prove(Kind.DEPOSIT, ledger, delta, POLICY.name, f"tx-{i}", spend=False, expiry=expiry)
            decision = venue.deposit(body)
            assert decision.accepted, decision
            w.accept(t, decision.record["position"])
            ops += [("transfer", f"tx-{i}", asset, amount), ("deposit", body)]
        for p in range(PAIRS):
            a, b = wallets[2 * p], wallets[2 * p + 1]
            receipts = a.receipt(ledger), b.receipt(ledger)
            (la, ta), (lb, tb) = trade_legs(a, b, ledger, "BTC-USDC", f"trade-{p}", ("BTC", ONE), ("USDC", 27_000 * ONE),
                                            expiry=expiry)
            decision = venue.settle(la, lb)
            assert decision.accepted, decision
            a.accept(ta, decision.record["legs"][0]["position"])
            b.accept(tb, decision.record["legs"][1]["position"])
            ops.append(("settle", la, lb, *receipts))
        race = [wallets[0].prove(Kind.WITHDRAW, ledger, [-(i + 1), 0, 0], POLICY.name, f"race-{i}",
                                 destination="addr-race", expiry=expiry)[0] for i in range(3)]
        ledger.close()
    return Stream(pk, ops, race, expiry)


def replay(venue: Venue, ops: list[tuple]) -> None:
    """Apply ``ops`` to ``venue`` through the library (each must be accepted)."""
    for op in ops:
        if op[0] == "transfer":
            decision = venue.register_transfer(*op[1:])
        elif op[0] == "deposit":
            decision = venue.deposit(op[1])
        else:
            decision = venue.settle(op[1], op[2])
        assert decision.accepted, decision


def write_venue_files(folder: Path, pk: ProvingKey) -> tuple[Path, Path]:
    """A policy TOML (SERVICE_POLICY) and a keys folder for ``zkproofs serve``: (policy, keys). Publish
    :data:`EPOCH` to the served venue before the stream."""
    v, o = POLICY_DICT["venue"], POLICY_DICT["oracles"]
    cuts = ", ".join(f"{k} = {x}" for k, x in v["haircut_bps"].items())
    lines = ["[venue]", f'name = "{v["name"]}"', "assets = " + json.dumps(v["assets"]),
             f"initial_ratio_bps = {v['initial_ratio_bps']}", f"maintenance_ratio_bps = {v['maintenance_ratio_bps']}",
             f"haircut_bps = {{ {cuts} }}", f"anchor_window = {SERVICE_POLICY.anchor_window}",
             f"tree_depth = {v['tree_depth']}", f"max_epoch_age_seconds = {SERVICE_POLICY.max_epoch_age_seconds}",
             "trust_single_party_keys = true", "", "[oracles]", "keys = " + json.dumps(o["keys"]),
             f"quorum = {o['quorum']}", f"max_move_bps = {o['max_move_bps']}", ""]
    for name, market in POLICY_DICT["markets"].items():
        lines += [f"[markets.{name}]", f'base = "{market["base"]}"', f'quote = "{market["quote"]}"', ""]
    policy = folder / "policy.toml"
    policy.write_text("\n".join(lines))
    keys = folder / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "verification_key.json").write_text(vk_to_json(pk.vk))
    return policy, keys



