"""The coordinator of the global proof: check the tree natively, then prove every batch and
aggregation as independent tasks, in this process or on a Dask cluster, verify what each
task returns and keep it, so that a crash or Ctrl-C loses at most the proofs in flight.

Every proof's public inputs are known before any proving: the native pass
(:mod:`zkproofs.solvency.witness`) computes every node of the plan and its commitment, so
the aggregation proofs need not wait for the batches below them and all
:attr:`~zkproofs.solvency.plan.ProofPlan.proof_count` tasks run at once. A task
(:func:`prove_task`) is a pure function of (proving key bytes, inputs, backend) that
returns a :class:`~zkproofs.groth16.keys.Proof`; workers are not trusted: the coordinator
checks each proof with the verifying key and the public inputs *it* computed before
keeping it, and a proof that fails is an error naming the task (a worker that lies
cannot get a false statement into the set, only stop the run). Workers do see what they
prove: the leaves' amounts and the commitments' blindings. Run them on the exchange's own
machines and give a remote cluster Dask's TLS (``tls://`` scheduler addresses).

Progress is a SQLite file in the output folder (``progress.sqlite``: the statement's
digest, then one row per verified proof, committed as it arrives); a run over the same
tree, root, policy, plan and keys skips the proofs it holds. When every proof is in, the
set (:mod:`zkproofs.solvency.proofset`) replaces the folder atomically, progress file and all.

Dask (``dask.distributed``): ``scheduler=None`` starts a LocalCluster of ``workers``
single-threaded worker processes on loopback and closes it afterwards; an address
(``tcp://host:8786``) uses an existing cluster (workers started with ``dask worker``
in an environment with zkproofs installed). The proving keys are scattered to every
worker once (``broadcast=True``) and tasks refer to them; a task lost with a worker is
submitted again (:func:`_run_dask`). ``scheduler="inprocess"``
proves in this process, one proof after another (tests, tiny trees).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from circuits import get_circuit
from zkproofs.circuit import Circuit
from zkproofs.errors import SolvencyError
from zkproofs.groth16 import prove, verify
from zkproofs.groth16.keys import Proof, ProvingKey
from zkproofs.groth16.serialize import pk_from_bytes
from zkproofs.solvency.plan import ProofPlan, expected_public, key_label
from zkproofs.solvency.policy import SolvencyPolicy, policy_inputs
from zkproofs.groth16.serialize import vk_hash
from zkproofs.solvency.proofset import ProofSet, check_output_folder, write_proof_set
from zkproofs.solvency.witness import (
    Leaf,
    aggregate_inputs,
    batch_inputs,
    blinding,
    check_against_store,
    check_leaf,
    check_root,
    commit,
    layer_nodes,
    subtree_root,
    tree_leaves,
)
from zkproofs.tree.root import PublishedRoot
from zkproofs.tree.store import TreeStore

PROGRESS_FILE = "progress.sqlite"
INPROCESS = "inprocess"

Progress = Callable[[int, int], None]
"""progress(done, total): proofs held so far (resumed ones included) of the set's total."""


@functools.lru_cache(maxsize=8)
def _circuit(name: str, params: tuple[tuple[str, int], ...]) -> Circuit:
    """The circuit ``name`` with ``params``, one instance per process, so that its shape
    (seconds to build at 2^16 constraints) is built once per worker, not once per task."""
    return get_circuit(name, dict(params))


def prove_with(pk: ProvingKey, inputs: dict) -> Proof:
    """A proof for ``inputs`` under ``pk``: the witness built without rows
    (:meth:`zkproofs.circuit.Circuit.witness`) on the process's cached shape, then
    :func:`zkproofs.groth16.prover.prove`. Raises UnsatisfiedConstraint naming the
    constraint if the inputs break the statement."""
    circuit = _circuit(pk.vk.circuit.name, tuple(sorted(pk.vk.circuit.params_dict.items())))
    return prove(pk, circuit.shape, circuit.witness(inputs))


def prove_task(pk_bytes: bytes, inputs: dict, backend: str | None) -> Proof:
    """One proof: decode the key and :func:`prove_with`. A pure function of its arguments (the
    per-process circuit cache aside): what a Dask worker runs. Cost: a values-only witness build
    (about 0.6 s for a 62,849-constraint batch) plus a Groth16 proof."""
    return prove_with(pk_from_bytes(pk_bytes, backend=backend), inputs)


@dataclass
class Task:
    """One proof to make: where it goes, its circuit's key label, its inputs and expected public inputs."""

    layer: int
    index: int
    label: str
    inputs: dict = field(repr=False)
    public: list[int] = field(repr=False)


@dataclass(frozen=True)
class Prepared:
    """The native pass's result: the plan, the policy's slots, every layer's nodes and output commitments."""

    plan: ProofPlan
    root: PublishedRoot
    policy: SolvencyPolicy
    slots: list
    blindings: list[list[int]]
    commitments: list[list[int]]
    nodes: list[list[tuple[int, tuple[int, ...]]]]


def statement_digest(root: PublishedRoot, policy: SolvencyPolicy, plan: ProofPlan, keys: dict[str, str]) -> str:
    """SHA-256 of what a proof set is about and how it is proven (root hash and totals, policy,
    plan, the verifying keys' hashes by label): a resumed run must match it, so proofs made
    under other keys are never mixed in."""
    doc = {"root": str(root.root_hash), "sums": [str(s) for s in root.sums], "policy": policy.to_dict(), "plan": plan.to_dict(),
           "keys": keys}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def prepare(store: TreeStore, root: PublishedRoot, policy: SolvencyPolicy, plan: ProofPlan, root_where: str = "root") -> Prepared:
    """Check every leaf and the root natively and compute every node and commitment of the plan.

    SolvencyError naming the first bad leaf (amount out of range, account undercollateralised,
    leaf not the stored one), a published total that is not the sum over the leaves, a root
    that is not theirs, or a tree whose depth or assets differ from the root file or the plan.
    Holds one batch of leaves and every batch's root. O(2^D) Poseidon hashes.
    """
    if (store.depth, store.assets) != (root.depth, root.assets):
        raise SolvencyError(f"{root_where} is the root of another tree (depth or assets differ from {store.path})")
    if store.pledges != root.pledges:
        raise SolvencyError(f"{root_where} is the root of another tree (its pledge classes differ from {store.path}'s)")
    if (plan.depth, plan.assets, plan.pledges) != (root.depth, len(root.assets), len(root.pledges)):
        raise SolvencyError(f"the keys' plan is for depth {plan.depth}, {plan.assets} assets and {plan.pledges} pledge classes, "
                            f"the tree has depth {root.depth}, {len(root.assets)} and {len(root.pledges)}")
    slots = policy_inputs(policy, root.assets, plan.tiers, root.pledges)
    size = 1 << plan.batch_height
    tops: list = []
    batch: list[Leaf] = []
    for leaf in tree_leaves(store):
        check_leaf(leaf, slots, root.assets, root.pledges)
        batch.append(leaf)
        if len(batch) == size:
            hashes, top = subtree_root(batch, plan.depth, root.pledges)
            check_against_store(store, batch, hashes, top, plan.batch_height, len(tops))
            tops.append(top)
            batch = []
    nodes = layer_nodes(plan, tops)
    check_root(nodes[-1][0], root, root_where)
    blindings = [[blinding(store.secret, root.root_hash, layer.height, j) for j in range(layer.count)] for layer in plan.layers[:-1]]
    commitments = [[commit(node, r, plan.depth) for node, r in zip(level, rs)] for level, rs in zip(nodes, blindings)]
    return Prepared(plan, root, policy, slots, blindings, commitments, nodes)


def tasks(store: TreeStore, prepared: Prepared, skip: set[tuple[int, int]]) -> Iterator[Task]:
    """Every task not in ``skip``, batches first (leaves streamed from the store again)."""
    plan = prepared.plan
    size = 1 << plan.batch_height
    batch_layer = plan.layers[0]
    label = key_label(batch_layer.circuit)
    batch: list[Leaf] = []
    index = 0
    for leaf in tree_leaves(store):
        batch.append(leaf)
        if len(batch) == size:
            if (0, index) not in skip:
                inputs = batch_inputs(batch, prepared.slots, prepared.blindings[0][index], plan.assets, prepared.root.pledges)
                yield Task(0, index, label, inputs,
                           expected_public(plan, batch_layer, index, prepared.slots, prepared.commitments, prepared.root))
            batch, index = [], index + 1
    for layer in plan.layers[1:]:
        label = key_label(layer.circuit)
        below = layer.index - 1
        for j in range(layer.count):
            if (layer.index, j) in skip:
                continue
            children = [
                (prepared.nodes[below][m], prepared.blindings[below][m], prepared.commitments[below][m])
                for m in range(j * layer.fan_in, (j + 1) * layer.fan_in)
            ]
            is_root = layer.role == "root"
            inputs = aggregate_inputs(layer, children, prepared.root if is_root else None, None if is_root else prepared.blindings[layer.index][j])
            yield Task(layer.index, j, label, inputs, expected_public(plan, layer, j, prepared.slots, prepared.commitments, prepared.root))


class ProgressStore:
    """The verified proofs of an unfinished run (``progress.sqlite`` in the output folder)."""

    def __init__(self, path: Path, statement: str):
        self.path = path
        self.conn = sqlite3.connect(path)
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS proofs (layer INTEGER, idx INTEGER, a BLOB, b BLOB, c BLOB, digest TEXT, "
                          "PRIMARY KEY (layer, idx))")
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'statement'").fetchone()
        if row is None:
            self.conn.execute("INSERT INTO meta VALUES ('statement', ?)", (statement,))
            self.conn.commit()
        elif row[0] != statement:
            self.conn.close()
            raise SolvencyError(f"{path} holds proofs of another tree, root, policy, plan or keys: remove it to start again")

    def done(self) -> dict[tuple[int, int], Proof]:
        return {(layer, idx): Proof(a, b, c, digest) for layer, idx, a, b, c, digest in self.conn.execute("SELECT * FROM proofs")}

    def add(self, task: Task, proof: Proof) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO proofs VALUES (?, ?, ?, ?, ?, ?)",
                              (task.layer, task.index, proof.a, proof.b, proof.c, proof.circuit_digest))

    def close(self) -> None:
        self.conn.close()


def load_proving_keys(pk_dir: Path, plan: ProofPlan) -> dict[str, bytes]:
    """{key label: proving key bytes} for every circuit of the plan from ``pk_dir/LABEL/proving_key.bin``;
    SolvencyError naming a missing folder (``solvency setup`` writes them)."""
    out = {}
    for circuit in plan.circuits():
        label = key_label(circuit)
        path = pk_dir / label / "proving_key.bin"
        try:
            out[label] = path.read_bytes()
        except OSError as exc:
            raise SolvencyError(f"{path}: cannot read the proving key for {circuit.name} {circuit.params} ({exc.strerror}); "
                                f"run zkproofs solvency setup for this plan") from None
    return out


def _check_result(task: Task, proof: Proof, vks: dict, backend: str | None) -> None:
    if not isinstance(proof, Proof) or not verify(vks[task.label], task.public, proof, backend=backend):
        raise SolvencyError(f"the proof returned for layer {task.layer} proof {task.index} does not verify: a faulty or "
                            f"dishonest worker (nothing of it was kept)")


def prove_solvency(
    store: TreeStore,
    root: PublishedRoot,
    policy: SolvencyPolicy,
    plan: ProofPlan,
    pk_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    backend: str | None = None,
    progress: Progress | None = None,
    root_where: str = "root",
) -> ProofSet:
    """Prove the global statement for ``store``'s tree under ``root`` and ``policy`` and write the set to ``out_dir``.

    ``scheduler``: None (a LocalCluster of ``workers`` processes), a Dask scheduler address,
    or ``"inprocess"``. Raises SolvencyError (:func:`prepare`'s, a missing key, a worker's
    proof that does not verify), and whatever a task raised (UnsatisfiedConstraint naming the
    constraint). Resumes from ``out_dir/progress.sqlite`` (module docstring).
    """
    out = Path(out_dir)
    prepared = prepare(store, root, policy, plan, root_where)
    keys = load_proving_keys(Path(pk_dir), plan)
    pks: dict[str, ProvingKey] = {label: pk_from_bytes(data, backend=backend, where=label) for label, data in keys.items()}
    vks = {label: pk.vk for label, pk in pks.items()}
    for circuit in plan.circuits():
        vk = vks[key_label(circuit)]
        if (vk.circuit.name, vk.circuit.params_dict) != (circuit.name, circuit.params):
            raise SolvencyError(f"{pk_dir}/{key_label(circuit)}: the key is for {vk.circuit.name} {vk.circuit.params_dict}")
    check_output_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    statement = statement_digest(root, policy, plan, {label: vk_hash(vk) for label, vk in sorted(vks.items())})
    state = ProgressStore(out / PROGRESS_FILE, statement)
    try:
        done = state.done()
        total = plan.proof_count
        if progress:
            progress(len(done), total)
        pending = tasks(store, prepared, set(done))
        if scheduler == INPROCESS:
            for task in pending:
                proof = prove_with(pks[task.label], task.inputs)
                _check_result(task, proof, vks, backend)
                state.add(task, proof)
                done[(task.layer, task.index)] = proof
                if progress:
                    progress(len(done), total)
        else:
            _run_dask(pending, keys, vks, state, done, total, scheduler, workers, backend, progress)
        proof_set = ProofSet.from_run(prepared, done, vks)
    finally:
        state.close()
    write_proof_set(out, proof_set)  # replaces the folder, progress file included
    return proof_set


MAX_ATTEMPTS = 3
"""Submissions of one task before a run gives up on workers that keep dying under it."""


def _run_dask(pending: Iterator[Task], keys: dict[str, bytes], vks: dict, state: ProgressStore, done: dict, total: int,
              scheduler: str | None, workers: int, backend: str | None, progress: Progress | None) -> None:
    """Submit every task to Dask, at most ``2 x workers`` in flight (leaves are streamed), keep results as they verify.

    A task lost with a worker (Dask cancels it for lost dependencies when the worker held the
    only replica of a key, or raises KilledWorker after repeated deaths) is submitted again,
    with the keys scattered again, up to :data:`MAX_ATTEMPTS` times.
    """
    from concurrent.futures import CancelledError

    from distributed import Client, KilledWorker, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    else:
        client = Client(scheduler, timeout="30s")
    try:
        key_futures = {label: client.scatter(data, broadcast=True, hash=True) for label, data in keys.items()}
        nworkers = workers if scheduler is None else max(1, len(client.scheduler_info()["workers"]))
        window = 2 * nworkers
        in_flight: dict[Any, tuple[Task, int]] = {}
        finished = as_completed()
        source = iter(pending)

        def submit(task: Task, attempt: int) -> None:
            future = client.submit(prove_task, key_futures[task.label], task.inputs, backend, pure=False,
                                   key=f"solvency-{task.layer}-{task.index}-{time.time_ns()}")
            in_flight[future] = (task, attempt)
            finished.add(future)

        def submit_next() -> None:
            task = next(source, None)
            if task is not None:
                submit(task, 1)

        for _ in range(window):
            submit_next()
        for future in finished:
            task, attempt = in_flight.pop(future)
            try:
                proof = future.result()
            except (CancelledError, KilledWorker) as exc:
                if attempt >= MAX_ATTEMPTS:
                    raise SolvencyError(f"layer {task.layer} proof {task.index}: lost with a worker {attempt} times ({exc})") from None
                key_futures = {label: client.scatter(data, broadcast=True, hash=False) for label, data in keys.items()}
                submit(task, attempt + 1)
                continue
            _check_result(task, proof, vks, backend)
            state.add(task, proof)
            done[(task.layer, task.index)] = proof
            task.inputs = {}
            if progress:
                progress(len(done), total)
            submit_next()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
