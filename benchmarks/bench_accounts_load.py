"""Reading a large accounts file: peak memory and time, side by side with another checkout.

Writes a synthetic accounts CSV in zkproofs' format (``id`` then equity and
``_debt`` columns for 4 assets at 8 decimals; 1.4 million rows by default, the
size issue 16 measured) and loads it with :func:`zkproofs.accounts.load_accounts`
in a fresh subprocess per code tree, reporting the child's peak resident set size
(``ru_maxrss``) and wall time. ``--baseline-src DIR`` names another source tree
(e.g. ``git archive <commit> | tar -x -C DIR``) to load the same file with, in
the same run.

    python benchmarks/bench_accounts_load.py --baseline-src /tmp/old-zkproofs
    python benchmarks/bench_accounts_load.py --rows 100000        # quicker
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ASSETS = ("BTC", "ETH", "BNB", "USDT")
CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from zkproofs.accounts import load_accounts
started = time.perf_counter()
accounts = load_accounts(sys.argv[2], decimals={a: 8 for a in %r})
seconds = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"accounts": len(accounts.accounts), "seconds": seconds, "peak_mib": peak_kib / 1024}))
""" % (ASSETS,)


def write_accounts(path: Path, rows: int, seed: int = 1) -> None:
    """``rows`` accounts with random balances (8 decimals) and a debt in one asset out of ten rows."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("id," + ",".join(ASSETS) + "," + ",".join(f"{a}_debt" for a in ASSETS) + "\n")
        for i in range(rows):
            equity = [f"{rng.randrange(10**6)}.{rng.randrange(10**8):08d}" for _ in ASSETS]
            debt = ["0"] * len(ASSETS)
            if i % 10 == 0:
                debt[rng.randrange(len(ASSETS))] = f"{rng.randrange(1000)}.5"
            out.write(f"user-{i:08d}," + ",".join(equity) + "," + ",".join(debt) + "\n")


def measure(src: Path, accounts: Path) -> dict:
    """Load ``accounts`` with the zkproofs found in ``src``, in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(src), str(accounts)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_400_000, help="accounts in the synthetic file")
    parser.add_argument("--baseline-src", type=Path, help="another source tree to measure side by side")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.csv"
        write_accounts(path, args.rows)
        size_mib = path.stat().st_size / 2**20
        print(f"{args.rows} rows, {len(ASSETS)} assets, {size_mib:.0f} MiB file")
        print("| code | accounts | peak RSS (MiB) | seconds |")
        print("|---|---:|---:|---:|")
        trees = [("this tree", here)] + ([("baseline", args.baseline_src)] if args.baseline_src else [])
        for name, src in trees:
            result = measure(src, path)
            print(f"| {name} | {result['accounts']} | {result['peak_mib']:.0f} | {result['seconds']:.1f} |")


if __name__ == "__main__":
    main()
