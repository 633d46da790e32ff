"""Keys of a plan's circuits: a folder per circuit, named by :func:`~zkproofs.solvency.plan.key_label`.

``DIR/plan.json`` (the plan, :meth:`~zkproofs.solvency.plan.ProofPlan.to_dict`) and, per
circuit, ``DIR/LABEL/proving_key.bin`` and ``DIR/LABEL/verification_key.json`` (the
formats of ``zkproofs setup``). :func:`single_party_setup` makes them with
:func:`zkproofs.groth16.setup.setup`, whose author could forge proofs: verifiers accept
such keys only with the explicit opt-in. Keys from a ceremony (``zkproofs ceremony`` for
each circuit of the plan, ``zkproofs solvency setup --dry-run`` lists them) go in the
same folders.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from zkproofs.atomic import atomic_write_bytes, atomic_write_text
from zkproofs.errors import SolvencyError
from zkproofs.groth16 import setup
from zkproofs.groth16.serialize import pk_to_bytes, vk_to_json
from zkproofs.jsontext import loads
from zkproofs.solvency.plan import ProofPlan, key_label, plan_from_dict

PLAN_FILE = "plan.json"


def single_party_setup(plan: ProofPlan, out_dir: str | os.PathLike, *, party: str, backend: str | None = None,
                       progress: Callable[[str], None] | None = None) -> list[str]:
    """Run a single-party setup for every circuit of ``plan`` into ``out_dir``; the key labels written.

    Each key file is written atomically; the plan file last, so a folder with a plan
    file holds every key. Cost: one Groth16 setup per circuit (about 6.5 s at 2^16
    constraints with the compiled kernels).
    """
    out = Path(out_dir)
    labels = []
    for circuit in plan.circuits():
        label = key_label(circuit)
        if progress:
            progress(label)
        pk = setup(circuit, party=party, backend=backend)
        (out / label).mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / label / "proving_key.bin", pk_to_bytes(pk))
        atomic_write_text(out / label / "verification_key.json", vk_to_json(pk.vk))
        labels.append(label)
    atomic_write_text(out / PLAN_FILE, json.dumps(plan.to_dict(), indent=2) + "\n")
    return labels


def read_plan(key_dir: str | os.PathLike) -> ProofPlan:
    """The plan a key folder was made for; SolvencyError if it has none or it is malformed."""
    path = Path(key_dir) / PLAN_FILE
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SolvencyError(f"{path}: cannot read the keys' plan ({exc.strerror}); make the keys with zkproofs solvency setup") from None
    return plan_from_dict(loads(data, str(path), SolvencyError), str(path))
