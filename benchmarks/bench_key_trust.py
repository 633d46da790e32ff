"""What the trust decision adds to checking a proof: side by side in one run.

For the escrow venue's valid_transition circuit (1 asset, depth 8) and a merkle_sum_inclusion circuit, times
in one process, each the median of --repeat runs:

- ``verify``: the Groth16 check alone (arkworks);
- ``single-party opt-in``: :func:`zkproofs.groth16.trust.require_trusted` with
  ``KeyTrust(single_party=True)`` then ``verify`` (label, points, provenance);
- ``remembered ceremony``: the same key labelled as a ceremony whose transcript
  was verified before (a user-cache entry under its transcript hash), then ``verify``.

The circuit digest is warmed first (the user cache keeps it across runs), so the
figures are a customer's steady state. Prints a Markdown table for BENCHMARKS.md.

    python benchmarks/bench_key_trust.py --repeat 20
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import tempfile
import time

from circuits.merkle_sum_inclusion import MerkleSumInclusion
from zkproofs.settlement.notes import OwnerKeys
from zkproofs.settlement.transition import build_transition
from zkproofs import usercache
from zkproofs.groth16 import prove, setup, verify
from zkproofs.groth16.keys import Ceremony
from zkproofs.groth16.serialize import vk_hash
from zkproofs.groth16.trust import CACHE_NAMESPACE, KeyTrust, require_trusted
from zkproofs.proofs.inclusion import circuit_inputs
from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.tree import TreeStore, build_tree, make_inclusion_proof


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def transition_case():
    """A first deposit of 1 BTC (valid_transition, 1 asset, depth 8)."""
    t = build_transition(OwnerKeys.from_spending_key(7), None, [10**8], [0], [2_700_012_000_000], [500], 15_000, 1, depth=8)
    return t.circuit, t.inputs


def inclusion_case(depth: int, folder: str):
    accounts = AccountSet((Asset("BTC", 8),), tuple(Account(f"u{i}", (i + 1,), (0,)) for i in range(1 << depth)))
    build_tree(accounts, os.path.join(folder, "t.db"), secret=bytes(32))
    with TreeStore(os.path.join(folder, "t.db")) as store:
        proof = make_inclusion_proof(store, "u3")
    return MerkleSumInclusion(depth=proof.depth, assets=1), circuit_inputs(proof)


def measure(name: str, circuit, inputs, repeat: int) -> dict:
    pk = setup(circuit, party="bench")
    r1cs, witness = circuit.synthesize(inputs)
    proof = prove(pk, r1cs, witness)
    public = witness[1 : r1cs.num_public + 1]
    vk = pk.vk
    ceremony = dataclasses.replace(vk, provenance=Ceremony("ab" * 64, 3, None))
    usercache.remember(CACHE_NAMESPACE, "ab" * 64, {"vk_sha256": vk_hash(ceremony)})
    require_trusted(circuit, vk, KeyTrust(single_party=True))  # warm: digest, prepared key
    verify(vk, public, proof)
    return {
        "circuit": name,
        "constraints": circuit.shape.num_constraints,
        "verify_ms": median_ms(lambda: verify(vk, public, proof), repeat),
        "single-party opt-in + verify_ms": median_ms(
            lambda: (require_trusted(circuit, vk, KeyTrust(single_party=True)), verify(vk, public, proof)), repeat),
        "remembered ceremony + verify_ms": median_ms(
            lambda: (require_trusted(circuit, ceremony, KeyTrust()), verify(ceremony, public, proof)), repeat),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="runs per figure (median)")
    parser.add_argument("--depth", type=int, default=8, help="depth of the inclusion circuit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["ZKPROOFS_CACHE_DIR"] = cache
        rows = [measure("valid_transition assets=1 depth=8", *transition_case(), args.repeat),
                measure(f"merkle_sum_inclusion depth={args.depth} assets=1", *inclusion_case(args.depth, cache), args.repeat)]
    keys = list(rows[0])
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, repeat {args.repeat}")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
