"""CPU seconds of a 4-asset, depth-32 trade-leg proof and of one verification, for same-session comparisons.

Run from a checkout: ``PYTHONPATH=. python benchmarks/bench_transition_cpu.py``. It uses
only APIs that predate the 4-ary note tree (``ValidTransition``, ``NoteTree``,
``build_transition``, ``prove``, ``verify``), so the same file run in a checkout of an
older commit measures the older design on the same machine, minutes apart. Prints the
medians of five proofs (build + synthesis, then ``prove``; CPU of all threads) and of
20 verifications, with the load average: on a shared machine CPU time drifts far less
than wall time.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())

from circuits.valid_transition import ValidTransition  # noqa: E402
from zkproofs.groth16 import prove, setup, verify  # noqa: E402
from zkproofs.groth16.qap import domain_for  # noqa: E402
from zkproofs.settlement.note_tree import NoteTree  # noqa: E402
from zkproofs.settlement.notes import Note, OwnerKeys  # noqa: E402
from zkproofs.settlement.transition import build_transition  # noqa: E402

ONE = 10**8


def main() -> None:
    load0 = os.getloadavg()[0]
    c = ValidTransition(assets=4, depth=32)
    pk = setup(c, backend="arkworks", party="cmp")
    keys = OwnerKeys.from_spending_key(77)
    note = Note(pk=keys.pk, collateral=(2 * ONE, 0, 60_000 * ONE, 0), debt=(0,) * 4, salt=5)
    tree = NoteTree(depth=32)
    tree.append_many([1, 2, 3, note.commitment()])
    rows = {"synth_cpu": [], "prove_cpu": [], "total_cpu": [], "total_wall": [], "verify_cpu": []}
    for _ in range(5):
        w0, c0 = time.perf_counter(), time.process_time()
        t = build_transition(keys, (note, tree.path(3), tree.root()), [-ONE, 0, 27_000 * ONE, 0], [0] * 4,
                             [27_000 * ONE, 1_800 * ONE, ONE, ONE], [500, 1000, 0, 0], 15_000, 5, depth=32)
        r1cs, w = t.circuit.synthesize(t.inputs)
        c1 = time.process_time()
        proof = prove(pk, r1cs, w)
        c2, w2 = time.process_time(), time.perf_counter()
        rows["synth_cpu"].append(c1 - c0)
        rows["prove_cpu"].append(c2 - c1)
        rows["total_cpu"].append(c2 - c0)
        rows["total_wall"].append(w2 - w0)
    xs = w[1 : 1 + r1cs.num_public]
    for _ in range(20):
        c0 = time.process_time()
        assert verify(pk.vk, xs, proof, backend="arkworks")
        rows["verify_cpu"].append(time.process_time() - c0)
    print(f"{os.getcwd()}: {r1cs.num_constraints} constraints, domain {domain_for(r1cs).size}; load {load0:.1f} -> {os.getloadavg()[0]:.1f}; "
          + "; ".join(f"{k} {statistics.median(v) * (1000 if k == 'verify_cpu' else 1):.3f}{' ms' if k == 'verify_cpu' else ' s'}" for k, v in rows.items()))


if __name__ == "__main__":
    main()
