"""The CLI as scripts use it: stable commands, exit codes 0 / 1 / 2, JSON output, exports."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from zkproofs.field import R


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}{result.stderr if result.stderr_bytes else ''}"
    return result


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    out = tmp_path_factory.mktemp("keys")
    run("setup", "balance_threshold", "--out", str(out), "--party", "test auditor")
    return out


@pytest.fixture(scope="module")
def proof_file(keys, tmp_path_factory):
    folder = tmp_path_factory.mktemp("proof")
    inputs = folder / "inputs.json"
    inputs.write_text(json.dumps({"balance": "500", "salt": "42", "threshold": "100"}))
    proof = folder / "proof.json"
    run("prove", "--pk", str(keys / "proving_key.bin"), "--inputs", str(inputs), "--out", str(proof))
    return proof


def test_circuits_listing():
    listing = json.loads(run("circuits", "--json").output)
    names = {c["name"]: c for c in listing}
    assert {"cubic", "balance_threshold", "range_poseidon"} <= set(names)
    assert names["cubic"]["constraints"] == 3
    assert names["balance_threshold"]["public_inputs"] == ["threshold", "commitment"]
    text = run("circuits", "--param", "count=2").output
    assert "range_poseidon" in text and "--param count=N" in text


def test_setup_writes_keys_recording_who(keys):
    vk = json.loads((keys / "verification_key.json").read_text())
    assert vk["provenance"] == {"kind": "single-party", "party": "test auditor"}
    assert vk["circuit"]["name"] == "balance_threshold"
    assert (keys / "proving_key.bin").stat().st_size > 1000


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_verify_valid(keys, proof_file, backend):
    result = run("verify", "--vk", str(keys / "verification_key.json"), "--proof", str(proof_file), "--backend", backend, "--json")
    assert json.loads(result.output)["valid"] is True


def test_verify_invalid_exit_1(keys, proof_file, tmp_path):
    doc = json.loads(proof_file.read_text())
    doc["public_inputs"]["threshold"] = "99"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    result = run("verify", "--vk", str(keys / "verification_key.json"), "--proof", str(tampered), code=1)
    assert "INVALID" in result.output


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d["public_inputs"].update(threshold=str(R)), "not in [0, r)"),
        (lambda d: d["public_inputs"].pop("threshold"), "missing ['threshold']"),
        (lambda d: d["proof"].update(a="c0" + "00" * 47), "identity"),
        (lambda d: d["circuit"].update(digest="00" * 32), "another circuit"),
    ],
)
def test_verify_malformed_exit_2(keys, proof_file, tmp_path, mutate, message):
    doc = json.loads(proof_file.read_text())
    mutate(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = run("verify", "--vk", str(keys / "verification_key.json"), "--proof", str(bad), code=2)
    assert message in result.output


def test_verify_truncated_file_exit_2(keys, proof_file, tmp_path):
    bad = tmp_path / "truncated.json"
    bad.write_text(proof_file.read_text()[:100])
    result = run("verify", "--vk", str(keys / "verification_key.json"), "--proof", str(bad), code=2)
    assert "invalid JSON" in result.output


def test_prove_refuses_false_statement_and_writes_nothing(keys, tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"balance": "50", "salt": "42", "threshold": "100"}))
    out = tmp_path / "proof.json"
    result = run("prove", "--pk", str(keys / "proving_key.bin"), "--inputs", str(inputs), "--out", str(out), code=2)
    assert "greater_or_equal" in result.output
    assert not out.exists()


def test_prove_reports_bad_inputs(keys, tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"balance": "50", "threshold": "10"}))
    result = run("prove", "--pk", str(keys / "proving_key.bin"), "--inputs", str(inputs), "--out", str(tmp_path / "p.json"), code=2)
    assert "missing input 'salt'" in result.output


def test_setup_unknown_circuit_and_bad_param(tmp_path):
    assert "unknown circuit" in run("setup", "nope", "--party", "tests", "--out", str(tmp_path), code=2).output
    assert "NAME=INTEGER" in run("setup", "range_poseidon", "--party", "tests", "--param", "count", "--out", str(tmp_path), code=2).output


def _snarkjs() -> str | None:
    return os.environ.get("ZKPROOFS_SNARKJS") or shutil.which("snarkjs")


def test_snarkjs_accepts_exported_proof(keys, proof_file, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: cannot run snarkjs")
    snarkjs = _snarkjs()
    if snarkjs is None:
        pytest.skip("snarkjs not found: .ci/run installs it and sets ZKPROOFS_SNARKJS")
    run("export", "snarkjs", "--vk", str(keys / "verification_key.json"), "--proof", str(proof_file), "--out", str(tmp_path))
    files = [str(tmp_path / n) for n in ("verification_key.json", "public.json", "proof.json")]
    done = subprocess.run([snarkjs, "groth16", "verify", *files], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr
    # and it rejects a tampered public signal
    public = json.loads(Path(files[1]).read_text())
    public[0] = str(int(public[0]) + 1)
    Path(files[1]).write_text(json.dumps(public))
    done = subprocess.run([snarkjs, "groth16", "verify", *files], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 or "OK" not in done.stdout


def test_iden3_exports_are_accepted_by_snarkjs(tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"balance": "500", "salt": "42", "threshold": "100"}))
    r1cs, wtns = tmp_path / "c.r1cs", tmp_path / "c.wtns"
    run("export", "r1cs", "balance_threshold", "--out", str(r1cs))
    run("export", "wtns", "balance_threshold", "--inputs", str(inputs), "--out", str(wtns))
    assert r1cs.read_bytes()[:4] == b"r1cs" and wtns.read_bytes()[:4] == b"wtns"
    snarkjs = _snarkjs()
    if shutil.which("node") is None or snarkjs is None:
        pytest.skip("node/snarkjs not available to check the iden3 files")
    done = subprocess.run([snarkjs, "wtns", "check", str(r1cs), str(wtns)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WITNESS IS CORRECT" in done.stdout
