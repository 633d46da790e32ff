"""Liability-tree benchmark: build time and memory, proof serving, ZK inclusion setup/prove/verify.

    python benchmarks/bench_tree.py                      # build 2^10, 2^16; serve; ZK depth 10, 16
    python benchmarks/bench_tree.py --build-logs 10      # quicker
    python benchmarks/bench_tree.py --with-2-20          # also build 2^20 users and ZK depth 20
    python benchmarks/bench_tree.py --workers 1          # single-core build
    python benchmarks/bench_tree.py --build-logs 16 --pledged-logs 16 --zk-depths --layout-depths   # 3 pledge classes vs none
    python benchmarks/bench_tree.py --stream-logs 24 --build-logs --zk-depths --layout-depths
                                                         # 2^24 users streamed from a generator

Layout rows: the Poseidon cost of one user (its commitment, its leaf and one
node, the 2N - 1 hashes of a tree being N leaves and N - 1 nodes) with the
packed layout 2 against layout 1 (one sum per field element: a 10-input leaf
and a 19-input node), measured side by side on the same random inputs.

Users carry 4 assets (random equities below 2^40, a debt in one asset for one
user in eight), made up front into an AccountSet, or (``--stream-logs``) made one at a
time by a generator that the streaming build reads once (the input then costs no memory,
and the peak is the build's own). Build time includes salts, commitments, the keyed shuffle, all
2N - 1 Poseidon hashes and the SQLite writes. Peak memory: the maximum resident
set size (ru_maxrss, monotone over the run) of this process and of the largest
hashing worker (tracemalloc was dropped: tracing every big-int allocation made
the build three times slower). Proof serving: mean over
200 random users of opening the database's rows for one inclusion proof.
The ZK rows prove a synthetic path (random sibling hashes and sums, the root
computed natively) with the arkworks backend; prove includes witness synthesis.
"first verify" is in-process and synthesises the circuit once for its digest
(then kept in the user cache, here a fresh temporary one); the CLI columns run
`zkproofs tree verify` in a new process, timed from after its imports (process
start excluded) to the verdict, with the digest and Poseidon constants cached.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from circuits.merkle_sum_inclusion import MerkleSumInclusion
from zkproofs.accounts.model import Account, AccountSet, AccountStream, Asset
from zkproofs.groth16 import setup
from zkproofs.poseidon import poseidon_hash_many
from zkproofs.tree import TreeStore, build_tree, make_inclusion_proof
from zkproofs.tree.hashing import LEAF_TAG, NODE_TAG, leaf_inputs, node_inputs
from zkproofs.tree.proof import InclusionProof, path_root
from zkproofs.groth16.serialize import vk_hash, vk_to_dict
from zkproofs.groth16.trust import KeyTrust
from zkproofs.proofs.inclusion import make_zk_proof, trust_inclusion_key, zk_failure, zk_to_json
from zkproofs.tree.root import PublishedRoot, root_to_json

ASSETS = tuple(Asset(s, 8) for s in ("BTC", "ETH", "BNB", "USDT"))


PLEDGES = ("loan", "margin", "portfolio")


def account_rows(n: int, seed: int = 1, pledged: bool = False) -> Iterator[Account]:
    """The benchmark's n users, made one at a time (a generator: the streaming build holds none of them);
    ``pledged``: with Binance's three pledge classes (a quarter, an eighth and an eighth of each equity)."""
    rng = random.Random(seed)
    for i in range(n):
        equities = tuple(rng.randrange(1 << 40) for _ in ASSETS)
        debts = tuple(rng.randrange(1 << 30) if i % 8 == 0 and j == 3 else 0 for j in range(len(ASSETS)))
        yield Account(f"user{i:08d}", equities, debts, tuple(e // share for share in (4, 8, 8) for e in equities) if pledged else ())


def accounts(n: int, seed: int = 1, pledged: bool = False) -> AccountSet:
    return AccountSet(ASSETS, tuple(account_rows(n, seed, pledged)), source="benchmark", pledges=PLEDGES if pledged else ())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_build(log_n: int, folder: Path, workers: int | None, stream: bool = False, pledged: bool = False) -> tuple[dict, Path]:
    """Build 2^log_n users: from an AccountSet made first (held), or streamed from a generator (``stream``);
    ``pledged``: with 3 pledge classes."""
    data = AccountStream(ASSETS, account_rows(1 << log_n), source="benchmark") if stream else accounts(1 << log_n, pledged=pledged)
    db = folder / f"tree_{log_n}{'_stream' if stream else ''}{'_pledged' if pledged else ''}.db"
    started = time.perf_counter()
    summary = build_tree(data, db, secret=bytes(32), workers=workers, tmp_dir=folder)
    elapsed = time.perf_counter() - started
    return {
        "users": f"2^{log_n}",
        "input": "stream" if stream else "set",
        "pledges": len(data.pledges),
        "depth": summary.depth,
        "build_s": round(elapsed, 2),
        "max_rss_mb": round(rss_mb()),
        "workers_max_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "db_mb": round(db.stat().st_size / 2**20, 1),
    }, db


def bench_layouts(depth: int, samples: int = 256) -> list[dict]:
    """Poseidon time per user (commitment + leaf + node) with layouts 1 and 2, same inputs, same run."""
    rng = random.Random(depth)
    n = len(ASSETS)
    keys = [[rng.randrange(1 << 250), rng.randrange(1 << 250)] for _ in range(samples)]
    amounts = [[rng.randrange(1 << 40) for _ in range(2 * n)] for _ in range(samples)]
    hashes = [rng.randrange(1 << 250) for _ in range(samples)]
    layouts = {
        "1 (one sum per element)": (
            [[LEAF_TAG, k[0], *a] for k, a in zip(keys, amounts)],
            [[NODE_TAG, h, *a, h, *a] for h, a in zip(hashes, amounts)],
        ),
        "2 (packed)": (
            [leaf_inputs(k[0], a) for k, a in zip(keys, amounts)],
            [node_inputs(h, a, h, a, depth) for h, a in zip(hashes, amounts)],
        ),
    }
    rows = []
    for name, (leaves, nodes) in layouts.items():
        started = time.perf_counter()
        poseidon_hash_many(keys, t=3)
        poseidon_hash_many(leaves, t=5)
        poseidon_hash_many(nodes, t=5)
        per_user = (time.perf_counter() - started) / samples
        perms = 1 + -(-len(leaves[0]) // 4) + -(-len(nodes[0]) // 4)
        rows.append({"layout": name, "depth": depth, "leaf inputs": len(leaves[0]), "node inputs": len(nodes[0]),
                     "permutations per user (t=3 + t=5)": f"1 + {perms - 1}", "us per user (1 core)": round(per_user * 1e6)})
    return rows


def bench_serve(db: Path, n: int, samples: int = 200) -> float:
    rng = random.Random(2)
    ids = [f"user{rng.randrange(n):08d}" for _ in range(samples)]
    with TreeStore(db) as store:
        started = time.perf_counter()
        for user in ids:
            make_inclusion_proof(store, user)
        return (time.perf_counter() - started) / samples


def synthetic_path(depth: int) -> tuple[InclusionProof, PublishedRoot]:
    """A user's path in a tree of depth ``depth`` with random siblings (a full tree would cost 2^depth hashes)."""
    rng = random.Random(depth)
    user = accounts(1, seed=depth).accounts[0]
    siblings = tuple(
        (rng.randrange(1 << 250), tuple(rng.randrange(1 << (40 + k)) for _ in range(2 * len(ASSETS)))) for k in range(depth)
    )
    draft = InclusionProof(user.id, rng.randrange(1 << 250), rng.randrange(1 << depth), tuple(a.symbol for a in ASSETS),
                           user.equities, user.debts, siblings, 0, ())
    root_hash, sums = path_root(draft)
    n = len(ASSETS)
    proof = dataclasses.replace(draft, root_hash=root_hash, root_sums=sums)
    return proof, PublishedRoot(root_hash, depth, ASSETS, sums[:n], sums[n:], "")


CLI_VERIFY = """
import sys, time
started = time.perf_counter()
from cli.main import main
imported = time.perf_counter()
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    if exc.code:
        raise
print(f"{(time.perf_counter() - imported) * 1000:.1f}")
"""


def cli_verify_ms(folder: Path, doc: dict, root: PublishedRoot, vk, backend: str) -> float:
    """`zkproofs tree verify` in a fresh process, timed from after its imports to the verdict."""
    (folder / "zk.json").write_text(zk_to_json(doc))
    (folder / "root.json").write_text(root_to_json(root))
    (folder / "vk.json").write_text(json.dumps(vk_to_dict(vk)))
    out = subprocess.run(
        [sys.executable, "-c", CLI_VERIFY, "tree", "verify", str(folder / "zk.json"), "--root", str(folder / "root.json"),
         "--vk", str(folder / "vk.json"), "--trust-single-party-key", "--backend", backend, "--json"],
        check=True, capture_output=True, text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_zk(depth: int, folder: Path) -> dict:
    proof, root = synthetic_path(depth)
    circuit = MerkleSumInclusion(depth=depth, assets=len(ASSETS))
    started = time.perf_counter()
    constraints = circuit.shape.num_constraints
    pk = setup(circuit, party="bench")
    t_setup = time.perf_counter() - started
    started = time.perf_counter()
    doc = make_zk_proof(pk, proof)
    t_prove = time.perf_counter() - started
    started = time.perf_counter()
    root = dataclasses.replace(root, verification_key=vk_hash(pk.vk))
    # first verification: the customer's trust decision (synthesises the digest, then remembers it) and the check
    trusted = trust_inclusion_key(root, pk.vk, KeyTrust(single_party=True))
    ok = zk_failure(doc, root, pk.vk, trusted) is None
    t_verify = time.perf_counter() - started
    if not ok:
        raise SystemExit(f"depth {depth}: the ZK inclusion proof did not verify")
    return {
        "depth": depth,
        "constraints": constraints,
        "setup_s": round(t_setup, 2),
        "prove_s": round(t_prove, 2),
        "first verify_ms": round(t_verify * 1000, 1),
        "CLI verify arkworks_ms": cli_verify_ms(folder, doc, root, pk.vk, "arkworks"),
        "CLI verify py_ecc_ms": cli_verify_ms(folder, doc, root, pk.vk, "py_ecc"),
        "max_rss_mb": round(rss_mb()),
    }


def table(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-logs", type=int, nargs="*", default=[10, 16], help="log2 of the user counts to build")
    parser.add_argument("--zk-depths", type=int, nargs="*", default=[10, 16], help="ZK inclusion circuit depths")
    parser.add_argument("--with-2-20", action="store_true", help="also build 2^20 users and run ZK depth 20")
    parser.add_argument("--stream-logs", type=int, nargs="*", default=[], help="log2 of user counts to build from a generator (run first: peak RSS is monotone)")
    parser.add_argument("--pledged-logs", type=int, nargs="*", default=[], help="log2 of user counts to build with 3 pledge classes")
    parser.add_argument("--workers", type=int, default=None, help="hashing processes (default: all cores)")
    parser.add_argument("--layout-depths", type=int, nargs="*", default=[16, 24], help="depths of the layout comparison")
    args = parser.parse_args()
    logs = sorted(set(args.build_logs + ([20] if args.with_2_20 else [])))
    depths = sorted(set(args.zk_depths + ([20] if args.with_2_20 else [])))
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    layouts = [row for depth in args.layout_depths for row in bench_layouts(depth)]
    if layouts:
        print("\nPoseidon per user, layout 1 vs 2 (4 assets)\n" + table(layouts), flush=True)
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        folder = Path(tmp)
        os.environ["ZKPROOFS_CACHE_DIR"] = str(folder / "usercache")
        builds = []
        runs = [(n, True, False) for n in sorted(set(args.stream_logs))] + [(n, False, False) for n in logs]
        for log_n, stream, pledged in runs + [(n, False, True) for n in sorted(set(args.pledged_logs))]:
            row, db = bench_build(log_n, folder, args.workers, stream, pledged)
            row["serve_ms"] = round(bench_serve(db, 1 << log_n) * 1000, 2)
            builds.append(row)
            print(table([row]).splitlines()[-1], flush=True)
        if builds:
            print("\nTree build (4 assets)\n" + table(builds))
        zk = []
        for depth in depths:
            zk.append(bench_zk(depth, folder))
            print(table([zk[-1]]).splitlines()[-1], flush=True)
        if zk:
            print("\nZK inclusion (4 assets, arkworks)\n" + table(zk))


if __name__ == "__main__":
    main()
