"""Global proof of solvency benchmark: circuit sizes, end-to-end proving on Dask with 1 and 2
workers, batched verification of 1,000+ proofs.

    python benchmarks/bench_solvency.py                 # sizes; 2^10 with 1 and 2 workers; 2^12 with 2; verify
    python benchmarks/bench_solvency.py --quick         # sizes and 2^8 only
    python benchmarks/bench_solvency.py --pledges       # sizes; 2^10 with and without 3 pledge classes

Rows:
* sizes: constraints of a batch of 2^b accounts (4 assets, 5 tier slots: the sample
  policy's 4 tiers + the tail; 11 slots: Binance's 10 tiers + the tail) and of an
  aggregation of 32 commitments; constraints per account; accounts per 2^16-constraint proof;
* prove: a random tree of N accounts x 4 assets (one in eight with a debt, covered), built
  first (not timed), keys made by single-party setup (timed apart), then ``prove_solvency``
  on a Dask LocalCluster of W single-threaded worker processes, end to end (native checks,
  every batch and aggregation proof, each verified by the coordinator, the set written);
  accounts per second; peak RSS of the coordinator (ru_maxrss, monotone);
* verify: ``verify_solvency`` of a set of 1,000+ proofs (2^11 leaves in batches of 2)
  with arkworks, keys already trusted;
* pledges: the same 2^10 accounts with Binance's three pledge classes (a quarter of each
  equity pledged for loans, an eighth each for margin and portfolio margin; the policy's
  tiers for every class) against none, batches of 16 (under 2^16 constraints with
  pledges), 2 workers, in one run: the cost of committing and valuing pledged collateral.
The 10^7-account estimate scales the 2-worker throughput linearly in workers (tasks are
independent; the coordinator's native pass costs about 4 Poseidon permutations per leaf).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from circuits import get_circuit  # noqa: E402
from zkproofs.accounts.model import Account, AccountSet, Asset  # noqa: E402
from zkproofs.groth16.trust import KeyTrust  # noqa: E402
from zkproofs.solvency.keys import single_party_setup  # noqa: E402
from zkproofs.solvency.plan import make_plan  # noqa: E402
from zkproofs.solvency.policy import load_policy  # noqa: E402
from zkproofs.solvency.proofset import read_proof_set  # noqa: E402
from zkproofs.solvency.prove import prove_solvency  # noqa: E402
from zkproofs.solvency.verify import verify_solvency  # noqa: E402
from zkproofs.tree import TreeStore, build_tree, published_root  # noqa: E402

POLICY = Path(__file__).resolve().parents[1] / "zkproofs" / "data" / "sample_solvency_policy.json"
ASSETS = (Asset("BTC", 8), Asset("ETH", 8), Asset("BNB", 8), Asset("SHIB", 2))


PLEDGES = ("loan", "margin", "portfolio")


def accounts(n: int, seed: int = 1, pledges: bool = False) -> AccountSet:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        equities = (rng.randrange(10**9), rng.randrange(10**10), rng.randrange(10**10), rng.randrange(10**12))
        debts = (0, min(rng.randrange(10**8), equities[1] // 16), 0, 0) if i % 8 == 0 else (0, 0, 0, 0)
        pledged = tuple(e // share for share in (4, 8, 8) for e in equities) if pledges else ()
        rows.append(Account(f"user{i:08d}", equities, debts, pledged))
    return AccountSet(ASSETS, tuple(rows), pledges=PLEDGES if pledges else ())


def pledge_policy():
    """The sample policy with every asset's tiers as the tiers of each of Binance's pledge classes."""
    from zkproofs.solvency.policy import policy_from_dict

    doc = load_policy(POLICY).to_dict()
    for entry in doc["assets"].values():
        entry["pledge_tiers"] = {c: entry["tiers"] for c in PLEDGES}
    return policy_from_dict(doc)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sizes() -> None:
    print("\n## circuit sizes (4 assets, depth 12)")
    print(f"{'circuit':<58} {'constraints':>11} {'per account':>11} {'accounts / 2^16':>15}")
    for tiers, height, pledges in ((5, 3, 0), (5, 4, 0), (5, 5, 0), (11, 3, 0), (11, 4, 0), (5, 4, 3), (11, 4, 3)):
        c = get_circuit("solvency_batch", {"depth": 12, "assets": 4, "tiers": tiers, "height": height, "pledges": pledges})
        n = c.shape.num_constraints
        per = n / (1 << height)
        name = f"solvency_batch tiers={tiers} height={height}" + (f" pledges={pledges}" if pledges else "")
        print(f"{name:<58} {n:>11} {per:>11.0f} {int(65536 // per):>15}")
    c = get_circuit("solvency_aggregate", {"depth": 12, "assets": 4, "height": 5, "levels": 5})
    print(f"{'solvency_aggregate height=5 levels=5 (32 commitments)':<58} {c.shape.num_constraints:>11}")


def prove_run(n: int, workers: int, batch_height: int, levels: int, folder: Path, keys: Path | None = None,
              pledges: bool = False) -> tuple[float, Path, object]:
    policy = pledge_policy() if pledges else load_policy(POLICY)
    db = folder / f"tree-{n}{'-pledged' if pledges else ''}.db"
    if not db.exists():
        build_tree(accounts(n, pledges=pledges), db)
    with TreeStore(db) as store:
        root = published_root(store)
    plan = make_plan(root.depth, 4, policy.max_tiers() + 1, pledges=len(root.pledges), batch_height=batch_height, levels=levels)
    if keys is None:
        keys = folder / f"keys-{root.depth}-{batch_height}-{levels}-{len(root.pledges)}"
        t0 = time.perf_counter()
        single_party_setup(plan, keys, party="bench")
        print(f"  setup of {len(plan.circuits())} circuits: {time.perf_counter() - t0:.1f} s")
    out = folder / f"proofs-{n}-{workers}{'-pledged' if pledges else ''}"
    t0 = time.perf_counter()
    with TreeStore(db) as store:
        prove_solvency(store, root, policy, plan, keys, out, workers=workers)
    seconds = time.perf_counter() - t0
    print(f"  {n} accounts, {plan.proof_count} proofs (batches of {1 << plan.batch_height}), {workers} worker(s): "
          f"{seconds:.1f} s, {n / seconds:.2f} accounts/s, coordinator peak RSS {rss_mb():.0f} MB")
    return seconds, keys, root


def verify_run(root, folder: Path, keys: Path, out: Path) -> None:
    proof_set = read_proof_set(out)
    count = sum(len(layer.proofs) for layer in proof_set.layers)
    policy = load_policy(POLICY)
    verify_solvency(root, proof_set, policy, keys, KeyTrust(single_party=True))  # digests and trust remembered
    t0 = time.perf_counter()
    report = verify_solvency(root, proof_set, policy, keys, KeyTrust(single_party=True))
    seconds = time.perf_counter() - t0
    print(f"  verify {count} proofs (arkworks, batched per layer): {seconds:.2f} s, {'ok' if report.ok else report.reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pledges", action="store_true", help="only the sizes and the pledged-collateral comparison")
    args = parser.parse_args()
    print(f"# solvency benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    sizes()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.pledges:
            print("\n## prove 2^10 accounts x 4 assets, batches of 16, 2 workers: no pledge classes, then Binance's three")
            plain, _, _ = prove_run(1 << 10, 2, 4, 5, folder)
            pledged, _, _ = prove_run(1 << 10, 2, 4, 5, folder, pledges=True)
            print(f"  cost of committing and valuing 3 pledge classes: {pledged / plain:.2f}x")
            return
        if args.quick:
            print("\n## prove 2^8 accounts")
            prove_run(1 << 8, 2, 3, 5, folder)
            return
        print("\n## prove 2^10 accounts x 4 assets, batches of 32: 1 worker, then 2")
        one, keys, _ = prove_run(1 << 10, 1, 5, 5, folder)
        two, _, _ = prove_run(1 << 10, 2, 5, 5, folder, keys)
        print(f"  speed-up with 2 workers: {one / two:.2f}x")
        print("\n## prove 2^12 accounts x 4 assets, batches of 32, 2 workers")
        seconds, _, _ = prove_run(1 << 12, 2, 5, 5, folder)
        rate = (1 << 12) / seconds
        for workers in (2, 64, 512):
            print(f"  estimate for 10^7 accounts on {workers} workers: {10**7 / (rate / 2 * workers) / 3600:.1f} h")
        print("\n## verify 1,000+ proofs: 2^11 accounts in batches of 2 (1,024 batch proofs + 33 aggregations)")
        _, keys, root = prove_run(1 << 11, 2, 1, 5, folder)
        verify_run(root, folder, keys, folder / f"proofs-{1 << 11}-2")


if __name__ == "__main__":
    main()
