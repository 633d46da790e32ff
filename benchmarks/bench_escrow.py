"""Escrow settlement benchmarks: trade-leg proof, two-leg settlement verification, note tree appends.

Run: ``PYTHONPATH=. python benchmarks/bench_escrow.py [--repeat 3] [--notes 100000]``.

* ``valid_transition`` with 4 assets at depth 32 (the venue's shape: a 4-ary
  tree of 16 levels): setup once, then the median of ``--repeat`` trade-leg proofs
  (synthesis + Groth16 prove, arkworks; wall and CPU seconds, and the synthesis
  alone) and of 20 verifications;
* a two-leg settlement's verification, median of 20: both legs in one batch
  (:func:`zkproofs.groth16.verifier.verify_batch`) against two single
  verifications, in the same run;
* the same batch with the input combination by arkworks' MSM against the kernels'
  fixed-base tables the venue's service prepares its keys with
  (:func:`zkproofs.groth16.verifier.prepare`, ``fixed_base=True``), interleaved, median of
  20 each, and the tables' one-time cost;
* a two-leg settlement through :meth:`zkproofs.settlement.venue.Venue.settle`
  on a fresh SQLite ledger: both proofs verified, then the one transaction
  (median of ``--repeat`` settlements of distinct note pairs; the pairs are
  proven before the clock starts);
* the note commitment tree: ``--notes`` batched appends (1,000 per call) and
  2,000 single appends on top, then the root and one membership path.

Prints ``os.getloadavg()`` before and after: timings on a shared machine mean
little without the load.
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
from pathlib import Path

from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from circuits.valid_transition import ValidTransition  # noqa: E402
from zkproofs.groth16 import setup, verify, verify_batch  # noqa: E402
from zkproofs.groth16 import verifier as verifier_module  # noqa: E402
from zkproofs.groth16.qap import domain_for  # noqa: E402
from zkproofs.groth16.serialize import proof_from_dict  # noqa: E402
from zkproofs.settlement.note_tree import NoteTree  # noqa: E402
from zkproofs.settlement.notes import OwnerKeys  # noqa: E402
from zkproofs.settlement.epochs import quotes_to_dict, sign_quotes  # noqa: E402
from zkproofs.settlement.transition import (  # noqa: E402
    Kind,
    build_transition,
    prove_transition,
    receipt_hash,
    receipt_secret,
    transition_context,
    transition_request,
)
from zkproofs.settlement.notes import nullifier  # noqa: E402
from zkproofs.settlement.venue import Venue  # noqa: E402
from zkproofs.settlement.venue_ledger import VenueLedger  # noqa: E402
from zkproofs.settlement.venue_policy import venue_policy_from_dict  # noqa: E402

ONE = 10**8
NOW = int(time.time())
ORACLE_SEED = hashlib.sha256(b"zkproofs benchmark oracle").digest()
"""The benchmark venue's one price oracle (quorum 1)."""
POLICY = venue_policy_from_dict({
    "venue": {"name": "bench", "assets": ["BTC", "ETH", "USDC", "USDT"], "initial_ratio_bps": 15_000,
              "maintenance_ratio_bps": 12_500, "haircut_bps": {"BTC": 500, "ETH": 1000}, "anchor_window": 1000, "tree_depth": 32,
              "trust_single_party_keys": True},  # the bench's venue runs its own single-party setup
    "oracles": {"keys": [SigningKey(ORACLE_SEED).verify_key.encode().hex()], "quorum": 1},
    "markets": {"BTC-USDC": {"base": "BTC", "quote": "USDC"}},
})
PRICES = [27_000 * ONE, 1_800 * ONE, ONE, ONE]


class Trader:
    def __init__(self, seed: int, pk):
        self.keys, self.pk = OwnerKeys.from_spending_key(seed), pk
        self.note = self.position = None

    def body(self, kind, ledger, delta, market, ref, *, counterparty=0, timed=None):
        old = None
        nf = 0
        if self.note is not None:
            path, root = ledger.membership_path(self.position)
            old = (self.note, path, root)
            nf = nullifier(self.keys.nk, self.position, self.note.commitment())
        receipt = receipt_hash(receipt_secret(self.keys.nk, nf))
        ctx = transition_context(kind, market, ref, NOW + 3600, counterparty, "-", receipt, epoch=1)
        started, cpu = time.perf_counter(), time.process_time()
        t = build_transition(self.keys, old, delta, [0] * 4, PRICES, list(POLICY.haircut_bps), POLICY.ratio_for(kind.name.lower()), ctx, depth=32)
        proof, public = prove_transition(self.pk, t)
        if timed is not None:
            timed.append((time.perf_counter() - started, time.process_time() - cpu))
            synth = time.perf_counter()
            t.circuit.synthesize(t.inputs)
            timed.append(("synthesis", time.perf_counter() - synth))
        return transition_request(kind, market, ref, NOW + 3600, proof, public, self.pk.vk, epoch=1,
                                  counterparty_nullifier=counterparty, receipt=receipt), t, public, proof

    def nf(self):
        return nullifier(self.keys.nk, self.position, self.note.commitment())


def bench_proofs(repeat: int) -> None:
    circuit = ValidTransition(**POLICY.circuit_params)
    started = time.perf_counter()
    pk = setup(circuit, backend="arkworks", party="benchmark")
    print(f"valid_transition assets=4 depth=32: {circuit.shape.num_constraints} constraints, domain {domain_for(circuit.shape).size}, setup {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        ledger = VenueLedger(Path(folder) / "bench.db", depth=32)
        venue = Venue(POLICY, pk.vk, ledger, clock=lambda: NOW, backend="arkworks")
        quotes = sign_quotes(ORACLE_SEED, POLICY.name, 1, NOW, dict(zip(POLICY.assets, PRICES)), POLICY.assets)
        assert venue.publish_epoch({"quotes": [quotes_to_dict(quotes)]}).accepted
        pairs, leg_times = [], []
        for r in range(repeat):
            a, b = Trader(10 + 2 * r, pk), Trader(11 + 2 * r, pk)
            for trader, ref, delta in ((a, f"tx-a{r}", [2 * ONE, 0, 0, 0]), (b, f"tx-b{r}", [0, 0, 60_000 * ONE, 0])):
                venue.register_transfer(ref, "BTC" if delta[0] else "USDC", max(delta))
                body, t, _, _ = trader.body(Kind.DEPOSIT, ledger, delta, "bench", ref)
                d = venue.deposit(body)
                assert d.accepted, d
                trader.note, trader.position = t.new_note, d.record["position"]
            pairs.append((a, b))
        legs = []
        for r, (a, b) in enumerate(pairs):
            la, _, public, proof = a.body(Kind.TRADE, ledger, [-ONE, 0, 27_000 * ONE, 0], "BTC-USDC", f"t{r}", counterparty=b.nf(), timed=leg_times)
            lb, _, _, _ = b.body(Kind.TRADE, ledger, [ONE, 0, -27_000 * ONE, 0], "BTC-USDC", f"t{r}", counterparty=a.nf(), timed=leg_times)
            legs.append((la, lb))
        values = [public[n] for n in pk.vk.public_names]
        verify_times = []
        for _ in range(20):
            started = time.perf_counter()
            assert verify(pk.vk, values, proof, backend="arkworks")
            verify_times.append(time.perf_counter() - started)
        names = list(pk.vk.public_names)
        two = [([int(leg["proof"]["public_inputs"][n]) for n in names], proof_from_dict(leg["proof"])[0]) for leg in legs[0]]
        batch_times, single_times = [], []
        for _ in range(20):
            started = time.perf_counter()
            assert verify_batch(pk.vk, two, backend="arkworks") == [True, True]
            batch_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert all(verify(pk.vk, xs, p, backend="arkworks") for xs, p in two)
            single_times.append(time.perf_counter() - started)
        cold, hot = [], []  # the input combination by the backend's MSM, then by fixed-base tables (the service's keys)
        started = time.perf_counter()
        pvk = verifier_module.prepare(pk.vk, "arkworks", fixed_base=True)
        build = time.perf_counter() - started
        tables = pvk.ic_state.pop("native")
        for _ in range(20):
            for made, times in ((None, cold), (tables, hot)):
                if made is None:
                    pvk.ic_state.pop("native", None)
                else:
                    pvk.ic_state["native"] = made
                started = time.perf_counter()
                assert verify_batch(pk.vk, two, backend="arkworks") == [True, True]
                times.append(time.perf_counter() - started)
        pvk.ic_state.pop("native", None)
        settle_times = []
        for la, lb in legs:
            started = time.perf_counter()
            d = venue.settle(la, lb)
            settle_times.append(time.perf_counter() - started)
            assert d.accepted, d
        ledger.close()
    proofs = [x for x in leg_times if x[0] != "synthesis"]
    synth = [x[1] for x in leg_times if x[0] == "synthesis"]
    print(f"trade-leg proof (synthesis + prove), median of {len(proofs)}: {statistics.median(w for w, _ in proofs):.2f} s wall, "
          f"{statistics.median(c for _, c in proofs):.2f} s CPU; synthesis alone {statistics.median(synth):.2f} s")
    print(f"one proof verified, median of 20: {statistics.median(verify_times) * 1000:.1f} ms")
    b, s2 = statistics.median(batch_times), statistics.median(single_times)
    print(f"two legs verified, median of 20: batch {b * 1000:.1f} ms, two single verifications {s2 * 1000:.1f} ms (ratio {s2 / b:.2f})")
    c, h = statistics.median(cold), statistics.median(hot)
    print(f"two legs batched, median of 20 interleaved: IC by arkworks' MSM {c * 1000:.2f} ms, by fixed-base tables {h * 1000:.2f} ms "
          f"(ratio {c / h:.2f}; the tables built once in {build * 1000:.0f} ms)")
    print(f"two-leg settlement (2 verifications + checks + one SQLite transaction), median of {len(settle_times)}: "
          f"{statistics.median(settle_times) * 1000:.1f} ms")


def bench_tree(notes: int) -> None:
    tree = NoteTree(depth=32)
    started = time.perf_counter()
    for start in range(0, notes, 1000):
        tree.append_many(range(start + 1, min(start + 1000, notes) + 1))
    batched = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(2000):
        tree.append(notes + 1 + i)
    single = time.perf_counter() - started
    started = time.perf_counter()
    tree.root()
    tree.path(notes // 2)
    rp = time.perf_counter() - started
    print(f"note tree depth 32 (16 4-ary levels): {notes} batched appends in {batched:.1f} s ({notes / batched:.0f}/s); "
          f"2000 single appends at {2000 / single:.0f}/s; root + one path {rp * 1000:.1f} ms; "
          f"{len(tree.store.nodes) / tree.size:.2f} stored nodes per note; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB (in-memory node store)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="trade-leg proofs and settlements to time")
    parser.add_argument("--notes", type=int, default=100_000, help="notes appended to the tree")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    bench_tree(args.notes)
    bench_proofs(args.repeat)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
