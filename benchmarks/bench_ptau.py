"""Powers-of-tau benchmark: new, contribute, verify and prepare, zkproofs beside snarkjs.

For each power, both tools run the same steps in the same process run: zkproofs
(arkworks backend, in-process, file writes included) and snarkjs 0.7 through
its CLI (``ZKPROOFS_SNARKJS`` or ``snarkjs`` on PATH; its times include node's
start-up, about 0.5 s, measured separately as ``snarkjs --version``). The
verified transcript has two contributions and a beacon; prepare is timed on it.
Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_ptau.py                  # powers 8, 10, 12
    python benchmarks/bench_ptau.py --powers 8 12 14
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

from zkproofs.backends import get_backend
from zkproofs.ceremony import powersoftau as phase1
from zkproofs.ceremony.ptau import read_ptau, write_ptau

BEACON = "0123456789abcdef0123456789abcdef"


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def ours(power: int, folder: Path) -> dict[str, float]:
    be = get_backend("arkworks")
    out: dict[str, float] = {}
    f = lambda name: folder / f"z{power}_{name}.ptau"  # noqa: E731
    _, out["new"] = timed(lambda: write_ptau(f("0"), phase1.new(power, be), be))

    def contribute(src, dst, name):
        write_ptau(dst, phase1.contribute(read_ptau(src, be), name, be).ptau, be)

    _, out["contribute"] = timed(lambda: contribute(f("0"), f("1"), "a"))
    contribute(f("1"), f("2"), "b")
    write_ptau(f("3"), phase1.beacon(read_ptau(f("2"), be), "beacon", BEACON, 10, be).ptau, be)
    _, out["verify"] = timed(lambda: phase1.verify(read_ptau(f("3"), be), be))
    _, out["prepare"] = timed(lambda: write_ptau(f("4"), phase1.prepare(read_ptau(f("3"), be), be), be))
    return out


def theirs(snarkjs: str, power: int, folder: Path) -> dict[str, float]:
    def run(*args):
        done = subprocess.run([snarkjs, *map(str, args)], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"snarkjs {' '.join(map(str, args))} failed: {done.stdout}{done.stderr}")

    f = lambda name: folder / f"s{power}_{name}.ptau"  # noqa: E731
    out: dict[str, float] = {}
    _, out["new"] = timed(lambda: run("powersoftau", "new", "bls12381", power, f("0")))
    _, out["contribute"] = timed(lambda: run("powersoftau", "contribute", f("0"), f("1"), "--name=a", "-e=x"))
    run("powersoftau", "contribute", f("1"), f("2"), "--name=b", "-e=y")
    run("powersoftau", "beacon", f("2"), f("3"), BEACON, 10, "-n=beacon")
    _, out["verify"] = timed(lambda: run("powersoftau", "verify", f("3")))
    _, out["prepare"] = timed(lambda: run("powersoftau", "prepare", "phase2", f("3"), f("4")))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--powers", type=int, nargs="+", default=[8, 10, 12])
    args = parser.parse_args()
    snarkjs = os.environ.get("ZKPROOFS_SNARKJS") or shutil.which("snarkjs")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (shared with other jobs), Python {platform.python_version()}")
    if snarkjs:
        _, startup = timed(lambda: subprocess.run([snarkjs, "--version"], capture_output=True))
        print(f"snarkjs CLI start-up (node): {startup:.2f} s, included in its times below")
    print()
    print("| power | step | zkproofs (s) | snarkjs (s) | zkproofs / snarkjs |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for power in args.powers:
            a = ours(power, Path(tmp))
            b = theirs(snarkjs, power, Path(tmp)) if snarkjs else {}
            for step in ("new", "contribute", "verify", "prepare"):
                other = f"{b[step]:.2f}" if step in b else "-"
                ratio = f"{a[step] / b[step]:.1f}" if step in b else "-"
                print(f"| 2^{power} | {step} | {a[step]:.2f} | {other} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
