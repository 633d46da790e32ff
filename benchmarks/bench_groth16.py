"""Groth16 benchmark: setup, prove and verify time and peak memory per circuit size.

Runs the ``range_poseidon`` circuit (64-bit range checks + a Poseidon chain: a
realistic mix of bits and full field elements in the witness) at sizes from
2^10 to 2^16 constraints and prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_groth16.py                 # 2^10 .. 2^16, arkworks
    python benchmarks/bench_groth16.py --max-log 12    # quicker
    python benchmarks/bench_groth16.py --pyecc-verify  # also time py_ecc verification
    python benchmarks/bench_groth16.py --min-log 16 --peers --peer-reps 2
        # then the chain circuit at 2^16 in fresh processes, interleaved: zkproofs on the
        # C kernels, zkproofs on the Python reference kernels (ZKPROOFS_KERNELS=python),
        # zksnake (BLS12-381) and groth16py (BN254), with the shared harness of
        # /work/shared/bench-peers (run its prep.sh once); medians and ratios

Peak memory is the process's maximum resident set size (ru_maxrss) after each
size, so it is monotone over the run: read it as "at most".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


PEER_DIRS = (Path("/work/shared/bench-peers"), Path(__file__).resolve().parents[1] / ".." / "shared" / "bench-peers")
PEER_TOOLS = ("zkproofs", "zkproofs-python-kernels", "zksnake", "groth16py")


def peer_command(harness: Path, tool: str, log_size: int) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of one fresh-process run of the shared harness."""
    env = dict(os.environ)
    if tool.startswith("zkproofs"):
        if tool == "zkproofs-python-kernels":
            env["ZKPROOFS_KERNELS"] = "python"
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
        return [sys.executable, str(harness / "g16_one.py"), "zkproofs", str(log_size)], env
    perf = Path(os.environ.get("PERF_DIR", Path.home() / ".cache" / "zkperf"))
    return [str(perf / "venv" / "bin" / "python"), str(harness / "g16_one.py"), tool, str(log_size)], env


def run_peers(log_size: int, reps: int, tools: tuple[str, ...] = PEER_TOOLS) -> None:
    """The chain circuit at 2^log_size for every tool, interleaved (order reversed on odd reps)."""
    harness = next((d for d in PEER_DIRS if (d / "g16_one.py").is_file()), None)
    if harness is None:
        print("peers: skipped, no bench-peers harness found in " + ", ".join(map(str, PEER_DIRS)))
        return
    results: dict[str, list[dict]] = {tool: [] for tool in tools}
    for rep in range(reps):
        for tool in tools if rep % 2 == 0 else tools[::-1]:
            cmd, env = peer_command(harness, tool, log_size)
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
            if done.returncode != 0:
                print(f"peers: {tool} 2^{log_size} failed (exit {done.returncode}): {done.stderr[-400:]}", flush=True)
                continue
            results[tool].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"peers: {tool} rep {rep}: {done.stdout.strip().splitlines()[-1]}", file=sys.stderr, flush=True)
    print()
    print(f"Chain circuit, 2^{log_size} constraints, fresh process per run, median of {reps} (interleaved):")
    print()
    print("| tool | curve | setup (s) | setup CPU (s) | prove (s) | prove CPU (s) | verify (ms) | zkproofs setup / tool | zkproofs prove / tool |")
    print("|---|---|---|---|---|---|---|---|---|")
    ours = results.get("zkproofs", [])
    for tool in tools:
        runs = results[tool]
        if not runs:
            print(f"| {tool} | - | failed | | | | | | |")
            continue
        med = {k: statistics.median(r[k] for r in runs) for k in ("setup_s", "setup_cpu_s", "prove_s", "prove_cpu_s", "verify_ms")}
        ratios = [f"{statistics.median(r[key] for r in ours) / med[key]:.2f}" if ours else "-" for key in ("setup_s", "prove_s")]
        print(f"| {tool} | {runs[0]['curve']} | {med['setup_s']:.1f} | {med['setup_cpu_s']:.1f} | {med['prove_s']:.2f} | {med['prove_cpu_s']:.1f} | {med['verify_ms']:.1f} | {' | '.join(ratios)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-log", type=int, default=10)
    parser.add_argument("--max-log", type=int, default=16)
    parser.add_argument("--pyecc-verify", action="store_true", help="also time verification with py_ecc")
    parser.add_argument("--peers", action="store_true", help="then run the chain circuit against zksnake and groth16py (shared harness)")
    parser.add_argument("--peer-log", type=int, default=16, help="log2 of the chain circuit's size for --peers")
    parser.add_argument("--peer-reps", type=int, default=1, help="interleaved repetitions for --peers (median)")
    parser.add_argument("--peer-tools", default=",".join(PEER_TOOLS), help=f"comma-separated subset of {', '.join(PEER_TOOLS)}")
    parser.add_argument("--no-range", action="store_true", help="skip the range_poseidon table (with --peers)")
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
    for log_size in range(args.min_log, args.max_log + 1) if not args.no_range else ():
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
    if args.peers:
        tools = tuple(t for t in args.peer_tools.split(",") if t)
        unknown = set(tools) - set(PEER_TOOLS)
        if unknown:
            raise SystemExit(f"--peer-tools: unknown {', '.join(sorted(unknown))}")
        run_peers(args.peer_log, args.peer_reps, tools)


if __name__ == "__main__":
    main()
