"""Phase 2 of the ceremony: key new / contribute / verify, zkproofs and snarkjs side by side.

For each circuit, in one run: a prepared ``.ptau`` is synthesized from a known tau
(fixed-base multiplications; timing only, it has no contribution), then
``zkproofs`` (in-process, arkworks backend) and ``snarkjs`` (CLI, one process per
step, node start-up included) each run ``key new``, one ``contribute`` and
``verify`` on the same files, alternating which tool goes first. Phase-1
verification is excluded on both sides (snarkjs' ``zkey verify`` does not verify
the ``.ptau``; ours is called with ``ptau_verified=True``). Prints a Markdown table.

    python benchmarks/bench_ceremony_phase2.py                  # demo circuits and 2^16
    python benchmarks/bench_ceremony_phase2.py --max-log 12     # quicker
    ZKPROOFS_SNARKJS=/path/to/snarkjs python benchmarks/bench_ceremony_phase2.py
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from circuits import get_circuit
from circuits.range_poseidon import RangePoseidon
from zkproofs.backends import get_backend
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony import phase2
from zkproofs.ceremony import zkey as zk
from zkproofs.ceremony.ptau import Ptau, write_ptau
from zkproofs.domain import EvaluationDomain
from zkproofs.export.iden3 import r1cs_to_bytes
from zkproofs.field import R
from zkproofs.groth16.qap import domain_for


def synthetic_ptau(power: int, be) -> Ptau:
    """A prepared .ptau for a known tau, alpha, beta (benchmark input only: no contribution).

    Lagrange level p holds ifft_{2^p}([tau^0 .. tau^(2^p - 1)]) times the base, the top
    tauG1 level with tau^(2N-1) taken as zero, as snarkjs' ``prepare phase2`` computes it.
    """
    tau, alpha, beta = 5**77 % R, 7**55 % R, 11**33 % R
    n = 1 << power
    powers = [1] * (2 * n)
    for i in range(1, 2 * n):
        powers[i] = powers[i - 1] * tau % R
    g1, g2 = be.g1_generator(), be.g2_generator()

    def g1s(scalars):
        return enc.points_to_lem(be, "G1", be.g1_batch_mul(g1, scalars))

    def g2s(scalars):
        return enc.points_to_lem(be, "G2", be.g2_batch_mul(g2, scalars))

    def lagrange(top: int, mul: int, last_zero: bool) -> list[int]:
        out = []
        for p in range(top + 1):
            size = 1 << p
            values = [x * mul % R for x in powers[:size]]
            if last_zero and p == top:
                values[-1] = 0
            out += EvaluationDomain(size).ifft(values)
        return out

    sections = {
        2: g1s(powers[: 2 * n - 1]),
        3: g2s(powers[:n]),
        4: g1s([x * alpha % R for x in powers[:n]]),
        5: g1s([x * beta % R for x in powers[:n]]),
        6: g2s([beta]),
        12: g1s(lagrange(power + 1, 1, True)),
        13: g2s(lagrange(power, 1, False)),
        14: g1s(lagrange(power, alpha, False)),
        15: g1s(lagrange(power, beta, False)),
    }
    return Ptau(power, power, sections)


def count_for(log_size: int) -> int:
    per_value = RangePoseidon(count=2).shape.num_constraints - RangePoseidon(count=1).shape.num_constraints
    base = RangePoseidon(count=1).shape.num_constraints - per_value
    return max(1, ((1 << log_size) - 2 - base) // per_value)


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def run_snarkjs(snarkjs: str, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([snarkjs, *args], capture_output=True, text=True, timeout=7200)
    if done.returncode != 0 or "ERROR" in done.stdout or "INVALID" in done.stdout:
        raise RuntimeError(f"snarkjs {' '.join(args)} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-log", type=int, default=16, help="Largest range_poseidon size, 2^N (default 16).")
    parser.add_argument("--only", default="", help="Run only the circuits whose label contains this text.")
    args = parser.parse_args()
    be = get_backend("arkworks")
    snarkjs = os.environ.get("ZKPROOFS_SNARKJS") or shutil.which("snarkjs")
    if shutil.which("node") is None:
        snarkjs = None
    cases = [
        ("merkle_sum_inclusion depth=8 assets=4 (demo)", get_circuit("merkle_sum_inclusion", {"depth": 8, "assets": 4})),
        ("valid_transition assets=3 depth=32 (demo)", get_circuit("valid_transition", {"assets": 3, "depth": 32})),
    ]
    if args.max_log >= 16:
        cases.append(("range_poseidon 2^16", RangePoseidon(count=count_for(16))))
    elif args.max_log >= 12:
        cases.append((f"range_poseidon 2^{args.max_log}", RangePoseidon(count=count_for(args.max_log))))
    cases = [(label, circuit) for label, circuit in cases if args.only in label]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs, noisy); python {platform.python_version()}")
    print(f"snarkjs: {snarkjs or 'not found (zkproofs columns only)'}\n")
    print("| circuit | constraints | domain | tool | key new (s) | contribute (s) | verify (s) |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for i, (label, circuit) in enumerate(cases):
            r1cs = circuit.shape
            n_size = domain_for(r1cs).size
            power = n_size.bit_length() - 1
            ptau, t_ptau = timed(lambda: synthetic_ptau(power, be))
            ptau_path = work / f"p{i}.ptau"
            write_ptau(ptau_path, ptau, be)
            r1cs_path = work / f"c{i}.r1cs"
            r1cs_path.write_bytes(r1cs_to_bytes(r1cs))
            results = {}

            def ours():
                key0, t_new = timed(lambda: phase2.new_zkey(r1cs, ptau, be))
                res, t_con = timed(lambda: phase2.contribute(key0, "bench", be))
                _, t_ver = timed(lambda: phase2.verify(res.zkey, circuit, ptau, be, ptau_verified=True))
                zk.write_zkey(work / f"ours{i}.zkey", res.zkey, be)
                results["zkproofs"] = (t_new, t_con, t_ver)

            def theirs():
                z0, z1 = work / f"s{i}_0.zkey", work / f"s{i}_1.zkey"
                t_new = run_snarkjs(snarkjs, "zkey", "new", str(r1cs_path), str(ptau_path), str(z0))
                t_con = run_snarkjs(snarkjs, "zkey", "contribute", str(z0), str(z1), "--name=bench", "-e=bench entropy")
                t_ver = run_snarkjs(snarkjs, "zkey", "verify", str(r1cs_path), str(ptau_path), str(z1))
                results["snarkjs"] = (t_new, t_con, t_ver)

            order = [ours, theirs] if snarkjs else [ours]
            for step in order if i % 2 == 0 else order[::-1]:
                step()
            for tool, (t_new, t_con, t_ver) in results.items():
                print(f"| {label} | {r1cs.num_constraints} | 2^{power} | {tool} | {t_new:.2f} | {t_con:.2f} | {t_ver:.2f} |", flush=True)
            if "snarkjs" in results:
                ours_t, theirs_t = results["zkproofs"], results["snarkjs"]
                ratios = " / ".join(f"{a / b:.2f}" for a, b in zip(ours_t, theirs_t))
                print(f"| {label} | | | zkproofs / snarkjs | {ratios} | | |", flush=True)
            if snarkjs:  # our contributed key must pass snarkjs' verification too
                run_snarkjs(snarkjs, "zkey", "verify", str(r1cs_path), str(ptau_path), str(work / f"ours{i}.zkey"))
            print(f"<!-- synthetic ptau 2^{power}: {t_ptau:.1f} s -->", flush=True)


if __name__ == "__main__":
    main()
