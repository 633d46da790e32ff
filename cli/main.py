"""``zkproofs``: circuits, Groth16 setup / prove / verify, exports and the demo."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from circuits import CIRCUITS, get_circuit
from cli.ceremony import ceremony
from cli.demo import demo
from cli.doctor import doctor, kernels_summary
from cli.tree import tree, audit
from cli.oracle import oracle
from cli.reserves import reserves
from cli.serve import serve
from cli.solvency import solvency
from cli.venue import venue
from cli.wallet import wallet
from cli.common import (
    EXIT_INVALID,
    backend_option,
    emit_json,
    parse_params,
    read_bytes,
    read_json,
    reports_errors,
)
from zkproofs.atomic import atomic_write_bytes, atomic_write_text
from zkproofs.errors import CircuitMismatch, MalformedInput, PublicInputCountMismatch
from zkproofs.export import escrow, iden3, snarkjs, solidity
from zkproofs.field import decode_scalar
from zkproofs.groth16 import prove, setup, verify
from zkproofs.groth16.serialize import (
    pk_from_bytes,
    pk_to_bytes,
    proof_from_dict,
    proof_to_json,
    public_inputs_in_order,
    vk_from_dict,
    vk_hash,
    vk_to_json,
)
from zkproofs.settlement.venue_policy import load_venue_policy


EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C: 128 + SIGINT, the shell's convention."""


class _Group(click.Group):
    """The top-level group: Ctrl-C anywhere exits 130 (click's default is 1, as for any abort)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zkproofs", message=f"%(prog)s, version %(version)s, {kernels_summary()}")
def main() -> None:
    """Zero-knowledge proofs of solvency: Groth16 over BLS12-381 with circuits written in Python.

    Typical flow: the verifier side runs `setup` and hands the proving key to the
    prover; the prover runs `prove`; anyone with the verification key runs `verify`.
    """


def _compact(names: list[str]) -> str:
    """Input names for people: x[0], x[1], x[2] shown as x[3] (the array and its size)."""
    counts: dict[str, int] = {}
    for name in names:
        base, bracket, _ = name.partition("[")
        counts[base] = counts.get(base, 0) + (1 if bracket else 0)
    return ", ".join(f"{base}[{n}]" if n else base for base, n in counts.items())


@main.command("circuits")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Parameters for the counts shown.")
@reports_errors
def circuits_cmd(as_json: bool, params: tuple[str, ...]) -> None:
    """List circuits, their parameters and constraint counts (at default parameters)."""
    overrides = parse_params(params)
    rows = []
    for name, cls in sorted(CIRCUITS.items()):
        own = {k: v for k, v in overrides.items() if k in cls.parameters}
        info = get_circuit(name, own).describe()
        info["parameters"] = {k: {"default": d, "help": h} for k, (d, h) in cls.parameters.items()}
        rows.append(info)
    if as_json:
        emit_json(rows)
        return
    for info in rows:
        params_text = ", ".join(f"{k}={v}" for k, v in info["params"].items()) or "-"
        click.echo(f"{info['name']:<20} {info['constraints']:>8} constraints  params: {params_text}")
        click.echo(f"    {info['description']}")
        click.echo(f"    public: {_compact(info['public_inputs'])}; private: {_compact(info['private_inputs'])}")
        for key, meta in info["parameters"].items():
            click.echo(f"    --param {key}=N  {meta['help']} (default {meta['default']})")


@main.command("setup")
@click.argument("circuit")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Circuit parameter (repeatable).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the keys.")
@click.option("--party", required=True, metavar="NAME",
              help="Who runs this setup, recorded in the key as 'single-party setup by NAME'. Verifiers accept "
              "such a key only when told to trust NAME (--trust-single-party-key): NAME could forge proofs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def setup_cmd(circuit: str, params: tuple[str, ...], out_dir: str, party: str, as_json: bool, backend: str | None) -> None:
    """Single-party Groth16 setup for CIRCUIT: DIR/proving_key.bin and DIR/verification_key.json.

    Whoever runs setup could forge proofs with its randomness (discarded here), so
    the key says who ran it and verifiers refuse it unless told to trust that
    party. For keys no single party must be trusted with, run a ceremony
    (zkproofs ceremony).
    """
    if not party.strip():
        raise MalformedInput("--party: name who runs this setup")
    instance = get_circuit(circuit, parse_params(params))
    started = time.perf_counter()
    pk = setup(instance, backend=backend, party=party)
    elapsed = time.perf_counter() - started
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "proving_key.bin", pk_to_bytes(pk))
    atomic_write_text(out / "verification_key.json", vk_to_json(pk.vk))
    summary = {
        "circuit": instance.name,
        "params": instance.params,
        "digest": pk.vk.circuit.digest,
        "provenance": pk.vk.provenance.to_dict(),
        "verification_key_sha256": vk_hash(pk.vk),
        "constraints": instance.shape.num_constraints,
        "proving_key": str(out / "proving_key.bin"),
        "verification_key": str(out / "verification_key.json"),
        "seconds": round(elapsed, 3),
    }
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"setup {instance.name} ({summary['constraints']} constraints) in {elapsed:.2f} s")
        click.echo(f"  proving key:      {summary['proving_key']}")
        click.echo(f"  verification key: {summary['verification_key']} (sha256 {summary['verification_key_sha256']})")
        click.echo(f"  provenance:       {pk.vk.describe_provenance()}: {party} must discard the trapdoor, or can forge")


@main.command("prove")
@click.option("--pk", "pk_path", required=True, type=click.Path(dir_okay=False), help="proving_key.bin from setup.")
@click.option("--inputs", "inputs_path", required=True, type=click.Path(dir_okay=False), help="JSON object of decimal strings.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Proof file to write.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def prove_cmd(pk_path: str, inputs_path: str, out_path: str, as_json: bool, backend: str | None) -> None:
    """Prove the statement of the key's circuit for INPUTS; write the proof and its public inputs."""
    pk = pk_from_bytes(read_bytes(pk_path), backend=backend, where=pk_path)
    inputs = read_json(inputs_path)
    if not isinstance(inputs, dict):
        raise MalformedInput(f"{inputs_path}: expected a JSON object of inputs")
    instance = get_circuit(pk.vk.circuit.name, pk.vk.circuit.params_dict)
    started = time.perf_counter()
    r1cs, witness = instance.synthesize(inputs)
    proof = prove(pk, r1cs, witness)
    elapsed = time.perf_counter() - started
    public = witness[1 : r1cs.num_public + 1]
    atomic_write_text(out_path, proof_to_json(proof, pk.vk, public))
    if as_json:
        emit_json({"proof": out_path, "public_inputs": dict(zip(pk.vk.public_names, map(str, public))), "seconds": round(elapsed, 3)})
    else:
        click.echo(f"proof written to {out_path} ({elapsed:.2f} s)")
        for name, value in zip(pk.vk.public_names, public):
            click.echo(f"  {name} = {value}")


@main.command("verify")
@click.option("--vk", "vk_path", required=True, type=click.Path(dir_okay=False),
              help="verification_key.json: ours, or snarkjs' (groth16, bls12381).")
@click.option("--proof", "proof_path", required=True, type=click.Path(dir_okay=False),
              help="Proof file from prove, or snarkjs' proof.json.")
@click.option("--public", "public_path", type=click.Path(dir_okay=False),
              help="snarkjs' public.json (with snarkjs' key and proof; our proof files carry their public inputs).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@backend_option
@reports_errors
def verify_cmd(vk_path: str, proof_path: str, public_path: str | None, as_json: bool, backend: str | None) -> None:
    """Verify a proof against a key: the Groth16 check alone, for any circuit.

    Says the key's provenance but applies no trust policy: the inclusion and
    settlement venue (tree verify, venue, wallet, serve) do. Public inputs outside
    the circuit's domain (valid_transition's prices, haircuts and ratio, which the
    circuit leaves to its verifier) make the proof INVALID, with the reason. snarkjs'
    verification_key.json, proof.json and public.json (circom circuits over
    BLS12-381) are read with the same checks as our files. Exit status: 0 valid,
    1 invalid, 2 malformed input (with the reason).
    """
    vk_doc, proof_doc = read_json(vk_path), read_json(proof_path)
    if snarkjs.is_snarkjs_key(vk_doc):
        if not snarkjs.is_snarkjs_proof(proof_doc):
            raise MalformedInput(f"{vk_path} is a snarkjs key: {proof_path} must be snarkjs' proof.json")
        if public_path is None:
            raise MalformedInput(f"{vk_path} is a snarkjs key: give its public inputs with --public public.json")
        vk = snarkjs.verification_key_from(vk_doc, vk_path, backend)
        proof = snarkjs.proof_from(proof_doc, vk, proof_path, backend)
        public = snarkjs.public_signals_from(read_json(public_path), public_path)
        if len(public) != vk.num_public:
            raise PublicInputCountMismatch(f"{public_path} has {len(public)} public inputs, {vk_path} expects {vk.num_public}")
        named = dict(zip(vk.public_names, public))
    else:
        if public_path is not None:
            raise MalformedInput("--public is for snarkjs' files; our proof files carry their public inputs")
        vk = vk_from_dict(vk_doc, vk_path)
        proof, named = proof_from_dict(proof_doc, proof_path)
        if proof.circuit_digest != vk.circuit.digest:
            raise CircuitMismatch(f"{proof_path} is a proof for another circuit than {vk_path} ({vk.circuit.name})")
        public = public_inputs_in_order(vk, named)
    started = time.perf_counter()
    circuit_cls = CIRCUITS.get(vk.circuit.name)
    problem = circuit_cls.public_domain_problem(named) if circuit_cls else None
    ok = problem is None and verify(vk, public, proof, backend=backend)
    elapsed = time.perf_counter() - started
    provenance = vk.provenance.to_dict() if vk.provenance else None
    if as_json:
        emit_json({"valid": ok, "circuit": vk.circuit.name, "public_inputs": {k: str(v) for k, v in named.items()},
                   "key_provenance": provenance, "key": vk.describe_provenance(), "seconds": round(elapsed, 4),
                   **({"reason": problem} if problem else {})})
    else:
        click.echo(f"{'valid' if ok else 'INVALID'} proof for {vk.circuit.name} ({elapsed * 1000:.1f} ms)"
                   + (f": {problem}" if problem else ""))
        click.echo(f"  key: {vk.describe_provenance()} (no trust policy applied here)")
    if not ok:
        raise SystemExit(EXIT_INVALID)


@main.group("export")
def export_group() -> None:
    """Write our circuits, keys and proofs in other tools' formats."""


@export_group.command("snarkjs")
@click.option("--vk", "vk_path", required=True, type=click.Path(dir_okay=False), help="Our verification_key.json (from setup).")
@click.option("--proof", "proof_path", required=True, type=click.Path(dir_okay=False), help="Our proof file (from prove).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for snarkjs' three JSON files.")
@reports_errors
def export_snarkjs(vk_path: str, proof_path: str, out_dir: str) -> None:
    """Write verification_key.json, proof.json and public.json in snarkjs' layout.

    Check with: snarkjs groth16 verify DIR/verification_key.json DIR/public.json DIR/proof.json
    """
    vk = vk_from_dict(read_json(vk_path), vk_path)
    proof, named = proof_from_dict(read_json(proof_path), proof_path)
    public = public_inputs_in_order(vk, named)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, obj in (
        ("verification_key.json", snarkjs.verification_key(vk)),
        ("proof.json", snarkjs.proof(proof)),
        ("public.json", snarkjs.public_signals(public)),
    ):
        atomic_write_text(out / name, json.dumps(obj, indent=1) + "\n")
    click.echo(f"wrote {out}/verification_key.json, proof.json, public.json")


@export_group.command("solidity")
@click.option("--vk", "vk_path", required=True, type=click.Path(dir_okay=False), help="verification_key.json of the circuit.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Solidity file to write (e.g. Verifier.sol).")
@backend_option
@reports_errors
def export_solidity(vk_path: str, out_path: str, backend: str | None) -> None:
    """Write a Groth16Verifier contract for this key on the EIP-2537 precompiles (Prague).

    verifyProof(bytes proof, uint256[] input) returns true for a valid proof and false
    for a wrong one; it reverts on a wrong input count, an input >= r, a proof point at
    infinity, off the curve or outside the subgroup. Compile with solc >= 0.8.24.
    """
    vk = vk_from_dict(read_json(vk_path), vk_path)
    atomic_write_text(out_path, solidity.verifier_source(vk, backend))
    click.echo(f"wrote {out_path} (contract {solidity.CONTRACT_NAME}, {vk.circuit.name}, {vk.num_public} public inputs)")


def _read_public(path: str) -> dict[str, int]:
    """A JSON object of public inputs by name, each a canonical decimal string < r."""
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise MalformedInput(f"{path}: expected a JSON object of public inputs by name")
    values = {}
    for name, value in obj.items():
        if not isinstance(value, str):
            raise MalformedInput(f"{path}: public input {name!r} must be a decimal string")
        values[name] = decode_scalar(value, what=f"{path}: public input {name!r}")
    return values


@export_group.command("calldata")
@click.option("--vk", "vk_path", required=True, type=click.Path(dir_okay=False), help="verification_key.json (orders the public inputs).")
@click.option("--proof", "proof_path", required=True, type=click.Path(dir_okay=False), help="Proof file from prove.")
@click.option(
    "--public",
    "public_path",
    type=click.Path(dir_okay=False),
    help="JSON object of public inputs by name (decimal strings) to use instead of the proof file's.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: function, call data, proof and inputs.")
@backend_option
@reports_errors
def export_calldata(vk_path: str, proof_path: str, public_path: str | None, as_json: bool, backend: str | None) -> None:
    """Print the call data of verifyProof(bytes,uint256[]) for the contract of `export solidity`.

    The 0x-hex output is what a transaction or eth_call to the contract sends.
    """
    vk = vk_from_dict(read_json(vk_path), vk_path)
    proof, named = proof_from_dict(read_json(proof_path), proof_path)
    if proof.circuit_digest != vk.circuit.digest:
        raise CircuitMismatch(f"{proof_path} is a proof for another circuit than {vk_path} ({vk.circuit.name})")
    if public_path is not None:
        named = _read_public(public_path)
    public = public_inputs_in_order(vk, named)
    data = solidity.calldata(vk, proof, public, backend)
    if as_json:
        emit_json(
            {
                "function": solidity.SIGNATURE,
                "calldata": "0x" + data.hex(),
                "proof": "0x" + solidity.proof_bytes(proof, backend).hex(),
                "public_inputs": [str(x) for x in public],
            }
        )
    else:
        click.echo("0x" + data.hex())


@export_group.command("escrow")
@click.option("--vk", "vk_path", required=True, type=click.Path(dir_okay=False), help="The venue's valid_transition verification_key.json.")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False), help="The venue's policy TOML (assets, markets, window).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Solidity file to write (e.g. Escrow.sol).")
@backend_option
@reports_errors
def export_escrow(vk_path: str, policy_path: str, out_path: str, backend: str | None) -> None:
    """Write an example EscrowSettlement contract for a venue, with its Groth16Verifier.

    settle(market, settlementId, expiry, legA, legB) accepts two trade legs only if both
    proofs verify in the one transaction, the anchors are recent posted roots, the
    nullifiers are unseen, the deltas cancel and each leg's context names the other;
    the operator (constructor argument) posts roots and prices. Compile with solc >= 0.8.24.
    """
    vk = vk_from_dict(read_json(vk_path), vk_path)
    policy = load_venue_policy(policy_path)
    atomic_write_text(out_path, escrow.escrow_source(vk, policy, backend))
    click.echo(f"wrote {out_path} (contracts {escrow.CONTRACT_NAME} and {solidity.CONTRACT_NAME}, venue {policy.name}, "
               f"{len(policy.assets)} assets, {len(policy.markets)} markets)")


@export_group.command("settle-calldata")
@click.option("--vk", "vk_path", required=True, type=click.Path(dir_okay=False), help="The venue's verification_key.json (orders the inputs).")
@click.option("--leg", "leg_paths", multiple=True, type=click.Path(dir_okay=False),
              help="A trade leg as the venue takes it (JSON); give it twice, leg A then leg B.")
@backend_option
@reports_errors
def export_settle_calldata(vk_path: str, leg_paths: tuple[str, ...], backend: str | None) -> None:
    """Print the call data of EscrowSettlement.settle for two trade legs (from `export escrow`)."""
    if len(leg_paths) != 2:
        raise click.UsageError("give --leg exactly two times (leg A, then leg B)")
    vk = vk_from_dict(read_json(vk_path), vk_path)
    data = escrow.settle_calldata_from_requests(vk, read_json(leg_paths[0]), read_json(leg_paths[1]), backend)
    click.echo("0x" + data.hex())


@export_group.command("r1cs")
@click.argument("circuit")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Circuit parameter (repeatable; see `zkproofs circuits`).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The .r1cs file to write.")
@reports_errors
def export_r1cs(circuit: str, params: tuple[str, ...], out_path: str) -> None:
    """Write CIRCUIT's constraint system in iden3's binary .r1cs format."""
    instance = get_circuit(circuit, parse_params(params))
    atomic_write_bytes(out_path, iden3.r1cs_to_bytes(instance.shape))
    click.echo(f"wrote {out_path} ({instance.shape.num_constraints} constraints)")


@export_group.command("wtns")
@click.argument("circuit")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Circuit parameter (repeatable; see `zkproofs circuits`).")
@click.option("--inputs", "inputs_path", required=True, type=click.Path(dir_okay=False), help="JSON object of the circuit's inputs (decimal strings).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The .wtns file to write.")
@reports_errors
def export_wtns(circuit: str, params: tuple[str, ...], inputs_path: str, out_path: str) -> None:
    """Compute CIRCUIT's witness for INPUTS and write it in iden3's binary .wtns format."""
    instance = get_circuit(circuit, parse_params(params))
    inputs = read_json(inputs_path)
    if not isinstance(inputs, dict):
        raise MalformedInput(f"{inputs_path}: expected a JSON object of inputs")
    r1cs, witness = instance.synthesize(inputs)
    r1cs.check(witness)
    atomic_write_bytes(out_path, iden3.wtns_to_bytes(witness))
    click.echo(f"wrote {out_path} ({len(witness)} values)")


main.add_command(demo)
main.add_command(doctor)
main.add_command(tree)
main.add_command(audit)
main.add_command(serve)
main.add_command(ceremony)
main.add_command(venue)
main.add_command(oracle)
main.add_command(wallet)
main.add_command(reserves)
main.add_command(solvency)

if __name__ == "__main__":
    main()
