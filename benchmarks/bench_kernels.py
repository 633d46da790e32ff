"""Field-kernel benchmark: compiled C (zkproofs.kernels.native) vs the Python reference.

Times, in one run and side by side, the Poseidon permutation (t = 3 and t = 5, per
permutation over a batch), the Poseidon sponge (a t = 5 hash of 8 inputs, the tree's
node shape, per hash over a batch), the NTT (per transform, sizes 2^10 .. 2^16),
batch inversion and the prover's G1 and G2 MSMs (against the curve backend's MSM,
arkworks' Pippenger in Rust, which is the reference kernel's), and prints a Markdown table with the ratio and the peak memory the
call allocates (tracemalloc: Python objects and the kernels' buffers, which the C
allocates with PyMem_RawMalloc). A second table compares the compiled Poseidon code
paths this CPU has (ifma, adx, generic) in the same run: per permutation (Python ints
in and out), per node of a Merkle-sum tree level (stored records in and out, the
build's hot path) and per point of a G1 MSM (the F_q product follows the same choice),
with each path's ratio to the portable one.

    python benchmarks/bench_kernels.py             # default sizes
    python benchmarks/bench_kernels.py --quick     # smaller batches and NTTs up to 2^14

Each figure is the best of --repeat runs (the least disturbed on a shared machine),
wall clock.
"""

from __future__ import annotations

import argparse
import platform
import random
import time
import tracemalloc

from zkproofs.domain import EvaluationDomain
from zkproofs.field import R
from zkproofs.kernels import native, reference
from zkproofs.poseidon import poseidon_params
from zkproofs.poseidon.optimized import optimized_constants


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def row(name: str, unit: str, per: int, native_fn, python_fn, repeat: int) -> str:
    t_native = best(native_fn, repeat) / per
    t_python = best(python_fn, max(1, repeat // 2)) / per
    scale, label = (1e6, "us") if unit == "us" else (1e3, "ms")
    return (
        f"| {name} | {t_python * scale:.1f} {label} | {t_native * scale:.2f} {label} | {t_python / t_native:.1f}x "
        f"| {peak_mb(python_fn):.1f} | {peak_mb(native_fn):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller batches, NTTs up to 2^14")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best taken)")
    args = parser.parse_args()
    rng = random.Random(1)
    batch = 500 if args.quick else 2000
    max_log = 14 if args.quick else 16

    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print()
    print("| kernel | Python reference | C kernel | speed-up | peak MB (Python) | peak MB (C) |")
    print("|---|---|---|---|---|---|")
    for t in (3, 5):
        opt = optimized_constants(poseidon_params(t))
        states = [[rng.randrange(R) for _ in range(t)] for _ in range(batch)]
        print(row(f"Poseidon permutation t = {t} (batch of {batch}), per permutation", "us", batch,
                  lambda: native.permute_many(states, opt), lambda: reference.permute_many(states, opt), args.repeat), flush=True)
    opt5 = optimized_constants(poseidon_params(5))
    rows = [[rng.randrange(R) for _ in range(8)] for _ in range(batch)]
    print(row(f"Poseidon sponge t = 5, 8 inputs (batch of {batch}), per hash", "us", batch,
              lambda: native.poseidon_hash_many(rows, opt5), lambda: reference.poseidon_hash_many(rows, opt5), args.repeat), flush=True)
    for log in range(10, max_log + 1, 2):
        size = 1 << log
        domain = EvaluationDomain(size)
        values = [rng.randrange(R) for _ in range(size)]
        print(row(f"NTT 2^{log}, per transform", "ms", 1,
                  lambda: native.ntt(values, size, domain.omega), lambda: reference.ntt(values, size, domain.omega), args.repeat), flush=True)
    size = 1 << max_log
    values = [rng.randrange(1, R) for _ in range(size)]
    print(row(f"batch inversion of 2^{max_log}", "ms", 1,
              lambda: native.batch_inverse(values), lambda: reference.batch_inverse(values), args.repeat), flush=True)
    for group in ("G1", "G2"):
        for log in range(12, max_log + 1, 2):
            size = 1 << log
            lem = msm_bases_lem(rng, group, size)
            scalars = [rng.randrange(R) for _ in range(size)]
            nb, rb = native.msm_bases(group, lem), reference.msm_bases(group, lem)
            print(row(f"{group} MSM 2^{log}, random scalars (reference: arkworks), per MSM", "ms", 1,
                      lambda: native.msm(nb, scalars), lambda: reference.msm(rb, scalars), args.repeat), flush=True)
    code_paths(rng, batch, args.repeat)


def msm_bases_lem(rng: random.Random, group: str, size: int) -> bytes:
    """``size`` random points of ``group`` in snarkjs' LEM layout (random multiples of the generator)."""
    from zkproofs.backends import get_backend
    from zkproofs.ceremony import encoding as enc

    be = get_backend()
    gen = enc.g1_to_lem(be, be.g1_generator()) if group == "G1" else enc.g2_to_lem(be, be.g2_generator())
    return native.fixed_base_mul(native.fixed_base_table(group, gen, size), [rng.randrange(1, R) for _ in range(size)])


def code_paths(rng: random.Random, batch: int, repeat: int) -> None:
    """Per-permutation, per-node and per-MSM-point times of every compiled code path this CPU has."""
    from zkproofs.tree.hashing import parent_records, record_sum_bytes

    chosen = native.code_path()
    paths = []
    for name in ("generic", "adx", "ifma"):
        try:
            native._native.set_isa(name)
            paths.append(name)
        except ValueError:
            pass
    depth, n_sums, m = 16, 8, 8 * batch
    size = record_sum_bytes(depth)
    records = b"".join(rng.randrange(R).to_bytes(32, "big") + b"".join(rng.randrange(1 << 64).to_bytes(size, "big") for _ in range(n_sums))
                       for _ in range(2 * m))
    workloads = []
    for t in (3, 5):
        opt = optimized_constants(poseidon_params(t))
        states = [[rng.randrange(R) for _ in range(t)] for _ in range(batch)]
        workloads.append((f"permutation t = {t}, Python ints in and out", batch, lambda opt=opt, states=states: native.permute_many(states, opt)))
    workloads.append((f"tree level, 4 assets, depth {depth}: one node from stored records", m, lambda: parent_records(records, depth, n_sums)))
    bases = native.msm_bases("G1", msm_bases_lem(rng, "G1", 1 << 14))
    scalars = [rng.randrange(R) for _ in range(1 << 14)]
    workloads.append(("G1 MSM 2^14 (F_q product: portable or ADX), per point", 1 << 14, lambda: native.msm(bases, scalars)))
    print()
    print(f"Compiled code paths (chosen at import: {chosen}), µs per call, best of {repeat}:")
    print()
    print("| workload | " + " | ".join(paths) + " | " + " | ".join(f"generic / {p}" for p in paths[1:]) + " |")
    print("|---|" + "---|" * (2 * len(paths) - 1))
    for label, per, fn in workloads:
        times = {}
        for name in paths:
            native._native.set_isa(name)
            times[name] = best(fn, repeat) / per * 1e6
        cells = [f"{times[p]:.2f}" for p in paths] + [f"{times['generic'] / times[p]:.1f}x" for p in paths[1:]]
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    native._native.set_isa(chosen)


if __name__ == "__main__":
    main()
