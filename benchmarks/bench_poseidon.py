"""Poseidon benchmark: native permutation and sponge timings, gadget constraint counts.

Times the appendix-B optimised permutation on the Python reference kernels
(:func:`zkproofs.kernels.reference.permute_one`) against
:func:`zkproofs.poseidon.permute_reference` (the literal spec) at t = 3 and t = 5,
the sponge on 2 inputs (t = 3, a hash2) and 20 inputs (t = 5, a Merkle-sum tree
node) on the active kernels (``zkproofs doctor``; benchmarks/bench_kernels.py
compares the C and Python kernels), and counts the constraints of the gadget for
the same hashes. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_poseidon.py             # default: best of 7 runs
    python benchmarks/bench_poseidon.py --repeat 3  # quicker

Timings are the best of ``--repeat`` runs of ``--number`` calls (timeit), in
microseconds per call: the least-disturbed run on a shared machine.
"""

from __future__ import annotations

import argparse
import platform
import random
import time
import timeit

from zkproofs.field import R
from zkproofs.gadgets.poseidon import poseidon_hash as poseidon_hash_gadget
from zkproofs.kernels import active_kernels, reference
from zkproofs.poseidon import permute_reference, poseidon_hash, poseidon_params
from zkproofs.poseidon.optimized import derive
from zkproofs.r1cs import ConstraintSystem


def best_us(fn, number: int, repeat: int) -> float:
    """Best per-call time of ``fn`` in microseconds over ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def gadget_constraints(n_inputs: int, t: int) -> int:
    """Constraints of the in-circuit hash of ``n_inputs`` private inputs (shape mode)."""
    cs = ConstraintSystem()
    poseidon_hash_gadget(cs, [cs.private_input(f"x{i}") for i in range(n_inputs)], t=t)
    return cs.num_constraints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=100, help="calls per timing run")
    parser.add_argument("--repeat", type=int, default=7, help="timing runs; the best is reported")
    args = parser.parse_args()
    rng = random.Random(7)

    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print()
    print("| operation | spec (µs) | optimised, Python (µs) | speed-up | multiplications spec / optimised |")
    print("|---|---|---|---|---|")
    derive_times = []
    for t in (3, 5):
        params = poseidon_params(t)
        started = time.perf_counter()
        opt = derive(params)
        derive_ms = (time.perf_counter() - started) * 1e3
        state = [rng.randrange(R) for _ in range(t)]
        spec = best_us(lambda: permute_reference(state, params), args.number, args.repeat)
        fast = best_us(lambda: reference.permute_one(state, opt), args.number, args.repeat)
        spec_mults = 3 * (params.r_f * t + params.r_p) + params.rounds * t * t
        print(f"| permutation t={t} | {spec:.0f} | {fast:.0f} | {spec / fast:.2f}x | {spec_mults} / {opt.multiplications} |")
        derive_times.append(f"{derive_ms:.1f} ms at t={t}")
    print()
    print(f"Optimised constants are derived once per instance: {', '.join(derive_times)}.")
    print()
    print(f"| hash | width | permutations | {active_kernels()} kernels (µs) | gadget constraints |")
    print("|---|---|---|---|---|")
    for n_inputs, t in ((2, 3), (20, 5)):
        inputs = [rng.randrange(R) for _ in range(n_inputs)]
        native_us = best_us(lambda: poseidon_hash(inputs, t=t), max(1, args.number // n_inputs), args.repeat)
        permutations = -(-n_inputs // (t - 1))
        print(f"| {n_inputs} inputs | t={t} | {permutations} | {native_us:.0f} | {gadget_constraints(n_inputs, t)} |")


if __name__ == "__main__":
    main()
