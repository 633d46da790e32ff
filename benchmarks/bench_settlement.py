"""Settlement benchmarks: prove / verify times by basket size of ``collateral_ratio``.

Run: ``PYTHONPATH=. python benchmarks/bench_settlement.py [--repeat 3]``.
Prints a table. Baskets 1x1, 4x4 and 16x16 (collateral x debt assets) of the
``collateral_ratio`` circuit: setup once, then the median of ``--repeat`` proofs
and verifications (arkworks backend). The HTTP service's throughput is measured by
``benchmarks/bench_venue_http.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from circuits.collateral_ratio import CollateralRatio  # noqa: E402
from zkproofs.groth16 import prove, setup, verify  # noqa: E402


def basket_inputs(c: int, d: int) -> dict:
    return {
        "collateral": [10**8 * (i + 1) for i in range(c)],
        "collateral_price": [2_700_000_000_000] * c,
        "haircut_bps": [500] * c,
        "debt": [10**8] * d,
        "debt_price": [100_000_000] * d,
        "min_ratio_bps": 15_000,
        "salt": 42,
        "settlement_context": 1,
        "expiry": 2_000_000_000,
    }


def bench_baskets(repeat: int) -> list[tuple]:
    rows = []
    for c, d in ((1, 1), (4, 4), (16, 16)):
        circuit = CollateralRatio(collateral=c, debt=d)
        started = time.perf_counter()
        pk = setup(circuit, party="bench")
        setup_s = time.perf_counter() - started
        prove_times, verify_times = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            r1cs, witness = circuit.synthesize(basket_inputs(c, d))
            proof = prove(pk, r1cs, witness)
            prove_times.append(time.perf_counter() - started)
            public = witness[1 : r1cs.num_public + 1]
            started = time.perf_counter()
            ok = verify(pk.vk, public, proof)
            verify_times.append(time.perf_counter() - started)
            assert ok
        rows.append((f"{c}x{d}", circuit.shape.num_constraints, setup_s, statistics.median(prove_times),
                     statistics.median(verify_times)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'basket':<8} {'constraints':>11} {'setup s':>8} {'prove s':>8} {'verify ms':>10}")
    for name, constraints, setup_s, prove_s, verify_s in bench_baskets(args.repeat):
        print(f"{name:<8} {constraints:>11} {setup_s:>8.2f} {prove_s:>8.3f} {verify_s * 1000:>10.2f}")


if __name__ == "__main__":
    main()
