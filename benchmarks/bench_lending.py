"""Lending benchmarks: the health proof of a 4-asset note, how many health proofs the venue re-verifies per
second after a price epoch, and a liquidation.

Run: ``PYTHONPATH=. python benchmarks/bench_lending.py [--notes 16] [--threads 2]``.

* Setup of ``valid_transition`` and ``liquidation`` with 4 assets at depth 32 (the venue's shape).
* ``--notes`` borrowers each deposit 2 BTC and borrow 30,000 USDC (their notes' material sealed to the venue);
  a second price epoch moves BTC by -5 %; then every borrower's health proof (a zero-delta transition at
  the maintenance ratio; synthesis + Groth16 prove with arkworks): median wall and CPU seconds.
* The venue re-verifies them as after an epoch: :meth:`~zkproofs.settlement.venue.Venue.health` for each
  (checks, one Groth16 verification, one SQLite transaction appending the re-randomised note), one thread
  and then ``--threads`` threads on a second batch, in the same run: notes per second, and the ratio.
* One liquidation after a crash (BTC -28 % over two more epochs, the grace period passed): open the sealed
  material, prove, verify and apply (:meth:`~zkproofs.settlement.venue.Venue.liquidate`).

Prints ``os.getloadavg()`` before and after and the peak RSS: timings on a shared machine mean little without them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nacl.public import PrivateKey
from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from circuits.liquidation import Liquidation  # noqa: E402
from circuits.valid_transition import ValidTransition  # noqa: E402
from zkproofs.groth16 import setup  # noqa: E402
from zkproofs.settlement.epochs import quotes_to_dict, sign_quotes  # noqa: E402
from zkproofs.settlement.material import seal_material  # noqa: E402
from zkproofs.settlement.notes import OwnerKeys, nullifier  # noqa: E402
from zkproofs.settlement.transition import (  # noqa: E402
    Kind,
    build_transition,
    prove_transition,
    receipt_hash,
    receipt_secret,
    transition_context,
    transition_request,
)
from zkproofs.settlement.venue import Venue  # noqa: E402
from zkproofs.settlement.venue_ledger import VenueLedger  # noqa: E402
from zkproofs.settlement.venue_policy import venue_policy_from_dict  # noqa: E402

ONE = 10**8
NOW = int(time.time())
ORACLE_SEED = hashlib.sha256(b"zkproofs benchmark oracle").digest()
SEALING = PrivateKey(hashlib.sha256(b"zkproofs benchmark sealing key").digest())
GRACE = 600
POLICY = venue_policy_from_dict({
    "venue": {"name": "bench", "assets": ["BTC", "ETH", "USDC", "USDT"], "initial_ratio_bps": 15_000,
              "maintenance_ratio_bps": 12_500, "haircut_bps": {"BTC": 500, "ETH": 1000}, "anchor_window": 100_000,
              "tree_depth": 32, "grace_period_seconds": GRACE, "trust_single_party_keys": True},
    "oracles": {"keys": [SigningKey(ORACLE_SEED).verify_key.encode().hex()], "quorum": 1},
    "markets": {"BTC-USDC": {"base": "BTC", "quote": "USDC"}},
})
PRICES = {"BTC": 27_000 * ONE, "ETH": 1_800 * ONE, "USDC": ONE, "USDT": ONE}


class Borrower:
    def __init__(self, seed: int, pk):
        self.keys, self.pk = OwnerKeys.from_spending_key(seed), pk
        self.note = self.position = None

    def body(self, kind, venue, delta, debt, ref, epoch, timed=None):
        ledger = venue.ledger
        old, nf = None, 0
        if self.note is not None:
            path, root = ledger.membership_path(self.position)
            old, nf = (self.note, path, root), nullifier(self.keys.nk, self.position, self.note.commitment())
        receipt = receipt_hash(receipt_secret(self.keys.nk, nf))
        ctx = transition_context(kind, "bench", ref, NOW + 86_400, 0, "-", receipt, epoch=epoch.sequence)
        started, cpu = time.perf_counter(), time.process_time()
        t = build_transition(self.keys, old, delta, debt, [epoch.prices[a] for a in POLICY.assets], list(POLICY.haircut_bps),
                             POLICY.ratio_for(kind.name.lower()), ctx, depth=32)
        proof, public = prove_transition(self.pk, t)
        if timed is not None:
            timed.append((time.perf_counter() - started, time.process_time() - cpu))
        body = transition_request(kind, "bench", ref, NOW + 86_400, proof, public, self.pk.vk, epoch=epoch.sequence, receipt=receipt)
        if any(t.new_note.debt) or (self.note is not None and any(self.note.debt)):
            body["material"] = seal_material(SEALING.public_key, self.keys.ak, self.keys.nk, t.new_note)
        return body, t


def publish(venue: Venue, sequence: int, prices: dict[str, int], at: int) -> None:
    quotes = sign_quotes(ORACLE_SEED, POLICY.name, sequence, at, prices, POLICY.assets)
    assert venue.publish_epoch({"quotes": [quotes_to_dict(quotes)]}).accepted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notes", type=int, default=16, help="borrowers (health proofs per batch; two batches)")
    parser.add_argument("--threads", type=int, default=2, help="threads re-verifying the second batch")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    started = time.perf_counter()
    pk = setup(ValidTransition(**POLICY.circuit_params), backend="arkworks", party="benchmark")
    liquidation_pk = setup(Liquidation(**POLICY.circuit_params), backend="arkworks", party="benchmark")
    print(f"setup of valid_transition and liquidation (4 assets, depth 32): {time.perf_counter() - started:.1f} s")
    clock = [float(NOW)]
    with tempfile.TemporaryDirectory() as folder:
        ledger = VenueLedger(Path(folder) / "bench.db", depth=32, clock=lambda: clock[0])
        venue = Venue(POLICY, pk.vk, ledger, clock=lambda: clock[0], backend="arkworks", liquidation_vk=liquidation_pk.vk,
                      sealing_key=SEALING)
        publish(venue, 1, PRICES, NOW)
        borrowers = [Borrower(1000 + i, pk) for i in range(2 * args.notes)]
        for i, b in enumerate(borrowers):
            venue.register_transfer(f"tx-{i}", "BTC", 2 * ONE)
            body, t = b.body(Kind.DEPOSIT, venue, [2 * ONE, 0, 0, 0], [0] * 4, f"tx-{i}", venue.current_epoch())
            d = venue.deposit(body)
            assert d.accepted, d
            b.note, b.position = t.new_note, d.record["position"]
            body, t = _borrow(b, venue)
            d = venue.borrow(body)
            assert d.accepted, d
            b.note, b.position = t.new_note, d.record["position"]
        publish(venue, 2, {**PRICES, "BTC": PRICES["BTC"] * 95 // 100}, NOW)
        epoch = venue.current_epoch()
        proving = []
        bodies = [b.body(Kind.HEALTH, venue, [0] * 4, [0] * 4, f"h-{i}", epoch, timed=proving)[0] for i, b in enumerate(borrowers)]
        print(f"health proof (4 assets, depth 32; synthesis + prove), median of {len(proving)}: "
              f"{statistics.median(w for w, _ in proving):.2f} s wall, {statistics.median(c for _, c in proving):.2f} s CPU")
        first, second = bodies[: args.notes], bodies[args.notes :]
        started = time.perf_counter()
        assert all(venue.health(body).accepted for body in first)
        one = len(first) / (time.perf_counter() - started)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            assert all(d.accepted for d in pool.map(venue.health, second))
        many = len(second) / (time.perf_counter() - started)
        print(f"venue re-verifies health proofs (checks, verification, one transaction each): {one:.1f} notes/s on one thread, "
              f"{many:.1f} notes/s on {args.threads} (ratio {many / one:.2f})")
        victim = borrowers[0]
        victim.position = ledger.query("SELECT position FROM transitions WHERE reference = 'h-0'")[0][0]
        publish(venue, 3, {**PRICES, "BTC": PRICES["BTC"] * 80 // 100}, NOW)
        clock[0] = NOW + GRACE + 1
        publish(venue, 4, {**PRICES, "BTC": PRICES["BTC"] * 72 // 100}, NOW + GRACE)
        started, cpu = time.perf_counter(), time.process_time()
        d = venue.liquidate(victim.position, liquidation_pk)
        assert d.accepted, d
        print(f"one liquidation (open the material, prove, verify, apply): {time.perf_counter() - started:.2f} s wall, "
              f"{time.process_time() - cpu:.2f} s CPU; seized {d.record['seized']}")
        ledger.close()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; load average after: {os.getloadavg()}")


def _borrow(b: Borrower, venue: Venue):
    epoch = venue.current_epoch()
    ledger = venue.ledger
    path, root = ledger.membership_path(b.position)
    nf = nullifier(b.keys.nk, b.position, b.note.commitment())
    receipt = receipt_hash(receipt_secret(b.keys.nk, nf))
    ref = f"b-{b.position}"
    ctx = transition_context(Kind.BORROW, "bench", ref, NOW + 86_400, 0, "bank", receipt, epoch=epoch.sequence)
    t = build_transition(b.keys, (b.note, path, root), [0] * 4, [0, 0, 30_000 * ONE, 0], [epoch.prices[a] for a in POLICY.assets],
                         list(POLICY.haircut_bps), POLICY.initial_ratio_bps, ctx, depth=32)
    proof, public = prove_transition(b.pk, t)
    body = transition_request(Kind.BORROW, "bench", ref, NOW + 86_400, proof, public, b.pk.vk, epoch=epoch.sequence,
                              destination="bank", receipt=receipt)
    body["material"] = seal_material(SEALING.public_key, b.keys.ak, b.keys.nk, t.new_note)
    return body, t


if __name__ == "__main__":
    main()
