"""Groth16 benchmark: setup, prove and verify time and peak memory per circuit size.

Runs the ``range_poseidon`` circuit (64-bit range checks + a Poseidon chain: a
realistic mix of bits and full field elements in the witness) at sizes from
2^10 to 2^16 constraints and prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_groth16.py                 # 2^10 .. 2^16, arkworks
    python benchmarks/bench_groth16.py --max-log 12    # quicker
    python benchmarks/bench_groth16.py --pyecc-verify  # also time py_ecc verification

Peak memory is the process's maximum resident set size (ru_maxrss) after each
size, so it is monotone over the run: read it as "at most".
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import time

from circuits.range_poseidon import RangePoseidon
from zkproofs.groth16 import prove, setup, verify
from zkproofs.groth16.serialize import pk_to_bytes


def count_for(log_size: int) -> int:
    """The number of values whose circuit needs a QAP domain of exactly 2^log_size."""
    per_value = RangePoseidon(count=2).shape.num_constraints - RangePoseidon(count=1).shape.num_constraints
    base = RangePoseidon(count=1).shape.num_constraints - per_value
    target = (1 << log_size) - 2 - base  # keep constraints + public inputs + 1 <= 2^log_size
    return max(1, target // per_value)


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-log", type=int, default=10)
    parser.add_argument("--max-log", type=int, default=16)
    parser.add_argument("--pyecc-verify", action="store_true", help="also time verification with py_ecc")
    args = parser.parse_args()

    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print()
    header = "| constraints | domain | synthesize (s) | setup (s) | prove (s) | verify arkworks (ms) |"
    if args.pyecc_verify:
        header += " verify py_ecc (s) |"
    header += " pk size (MB) | peak RSS (MB) |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rng = random.Random(7)
    for log_size in range(args.min_log, args.max_log + 1):
        circuit = RangePoseidon(count=count_for(log_size))
        inputs = {"values": [rng.randrange(2**64) for _ in range(circuit.params["count"])]}
        (r1cs, witness), t_syn = timed(lambda: circuit.synthesize(inputs))
        pk, t_setup = timed(lambda: setup(circuit, party="benchmark"))
        proof, t_prove = timed(lambda: prove(pk, r1cs, witness))
        public = witness[1 : r1cs.num_public + 1]
        verify(pk.vk, public, proof)  # warm the prepared key (e(alpha, beta) is computed once per key)
        runs = 20
        _, t_verify = timed(lambda: [verify(pk.vk, public, proof) for _ in range(runs)])
        row = f"| {r1cs.num_constraints} | 2^{pk.domain_size.bit_length() - 1} | {t_syn:.2f} | {t_setup:.1f} | {t_prove:.2f} | {t_verify / runs * 1000:.2f} |"
        if args.pyecc_verify:
            ok, t_py = timed(lambda: verify(pk.vk, public, proof, backend="py_ecc"))
            if not ok:
                raise SystemExit("py_ecc rejected a valid proof")
            row += f" {t_py:.2f} |"
        size = len(pk_to_bytes(pk)) / 2**20
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row += f" {size:.1f} | {rss:.0f} |"
        print(row, flush=True)
        if not verify(pk.vk, public, proof):
            raise SystemExit("arkworks rejected a valid proof")


if __name__ == "__main__":
    main()
