"""The Solidity verifier export: encodings, the generated source, and the contract on a real EVM.

The EVM tests compile with solc-js and run on anvil (Prague, EIP-2537); they skip
with the reason where those npm packages are not installed (.ci/run installs
them). The same proof and key go through zkproofs' verifier and snarkjs too, so
the three verifiers are held to the same verdicts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from eth_utils import function_signature_to_4byte_selector as selector
from py_ecc.bls.point_compression import decompress_G2
from py_ecc.optimized_bls12_381 import FQ, curve_order, field_modulus as P, is_inf, multiply, normalize

from circuits import get_circuit
from cli.main import main
from tests import evm
from tests.helpers import g2_off_subgroup_compressed
from zkproofs.backends import get_backend
from zkproofs.errors import InvalidPoint, MalformedInput, NonCanonicalFieldElement, PublicInputCountMismatch
from zkproofs.export import snarkjs
from zkproofs.export.solidity import (
    CONTRACT_NAME,
    G1_BYTES,
    G2_BYTES,
    PROOF_BYTES,
    SELECTOR,
    calldata,
    encode_call,
    g1_bytes,
    g2_bytes,
    proof_bytes,
    verifier_source,
)
from zkproofs.field import R
from zkproofs.groth16 import prove, setup, verify
from zkproofs.groth16.keys import Ceremony, Proof, SingleParty
from zkproofs.groth16.serialize import proof_to_json, vk_to_json

# EIP-2537's generators, as the EIP lists them (H1: x, y; H2: x.c0, x.c1, y.c0, y.c1).
H1 = (
    0x17F1D3A73197D7942695638C4FA9AC0FC3688C4F9774B905A14E3A3F171BAC586C55E83FF97A1AEFFB3AF00ADB22C6BB,
    0x08B3F481E3AAA0F1A09E30ED741D8AE4FCF5E095D5D00AF600DB18CB2C04B3EDD03CC744A2888AE40CAA232946C5E7E1,
)
H2 = (
    0x024AA2B2F08F0A91260805272DC51051C6E47AD4FA403B02B4510B647AE3D1770BAC0326A805BBEFD48056C8C121BDB8,
    0x13E02B6052719F607DACD3A088274F65596BD0D09920B61AB5DA61BBDC7F5049334CF11213945D57E5AC7D055D042B7E,
    0x0CE5D527727D6E118CC9CDC6DA2E351AADFD9BAA8CBDD3A76D429A695160D12C923AC9CC3BACA289E193548608B82801,
    0x0606C4A02EA734CC32ACD2B02BC28B99CB3E287E85A763AF267492AB572E99AB3F370D275CEC1DA1AAA9075FF05F79BE,
)


def _fp(v: int) -> bytes:
    return v.to_bytes(64, "big")


@pytest.fixture(scope="module")
def fixture_proof():
    """A balance_threshold key, a proof of balance 500 >= 100 and its public inputs."""
    circuit = get_circuit("balance_threshold", {})
    pk = setup(circuit, party="solidity test")
    r1cs, witness = circuit.synthesize({"balance": "500", "salt": "42", "threshold": "100"})
    proof = prove(pk, r1cs, witness)
    return pk.vk, proof, list(witness[1 : r1cs.num_public + 1])


# encodings -------------------------------------------------------------------------
def test_generators_encode_as_eip2537_lists_them(backend):
    assert g1_bytes(backend, backend.g1_generator()) == _fp(H1[0]) + _fp(H1[1])
    assert g2_bytes(backend, backend.g2_generator()) == b"".join(map(_fp, H2))
    assert g1_bytes(backend, backend.g1_identity()) == bytes(G1_BYTES)
    assert g2_bytes(backend, backend.g2_identity()) == bytes(G2_BYTES)


def test_both_backends_export_the_same_contract_and_call(fixture_proof):
    vk, proof, public = fixture_proof
    assert verifier_source(vk, "arkworks") == verifier_source(vk, "py_ecc")
    assert calldata(vk, proof, public, "arkworks") == calldata(vk, proof, public, "py_ecc")


def test_call_layout(fixture_proof):
    vk, proof, public = fixture_proof
    data = calldata(vk, proof, public)
    assert SELECTOR == selector("verifyProof(bytes,uint256[])")
    words = [int.from_bytes(data[4 + 32 * i : 36 + 32 * i], "big") for i in range((len(data) - 4) // 32)]
    assert data[:4] == SELECTOR and len(data) == 4 + 32 * (2 + 1 + PROOF_BYTES // 32 + 1 + len(public))
    assert words[0] == 64 and words[2] == PROOF_BYTES and words[1] == 96 + PROOF_BYTES
    assert data[4 + 96 : 4 + 96 + PROOF_BYTES] == proof_bytes(proof)
    assert words[3 + PROOF_BYTES // 32] == len(public) and words[-len(public) :] == public


def test_calldata_refuses_what_the_contract_would(fixture_proof):
    vk, proof, public = fixture_proof
    with pytest.raises(PublicInputCountMismatch, match="expects 2 public inputs"):
        calldata(vk, proof, public[:1])
    with pytest.raises(NonCanonicalFieldElement, match="threshold"):
        calldata(vk, proof, [public[0] + R, public[1]])
    with pytest.raises(InvalidPoint):
        calldata(vk, dataclasses.replace(proof, b=g2_off_subgroup_compressed()), public)
    with pytest.raises(MalformedInput, match="uint256"):
        encode_call(bytes(PROOF_BYTES), [1 << 256])


def test_source_refuses_bad_keys(fixture_proof, backend):
    vk, _, _ = fixture_proof
    identity = backend.g1_to_bytes(backend.g1_identity())
    with pytest.raises(InvalidPoint, match="alpha_g1 is the identity"):
        verifier_source(dataclasses.replace(vk, alpha_g1=identity), backend.name)
    with pytest.raises(InvalidPoint):
        verifier_source(dataclasses.replace(vk, delta_g2=g2_off_subgroup_compressed()), backend.name)
    with pytest.raises(MalformedInput, match="IC points"):
        verifier_source(dataclasses.replace(vk, ic=vk.ic[:-1]), backend.name)
    with pytest.raises(MalformedInput, match="digest"):
        verifier_source(dataclasses.replace(vk, circuit=dataclasses.replace(vk.circuit, digest="zz")), backend.name)


def test_source_records_the_key_and_cannot_be_injected(fixture_proof):
    vk, _, _ = fixture_proof
    text = verifier_source(vk)
    assert f"circuit digest: {vk.circuit.digest}" in text and 'single-party setup by solidity test' in text
    assert f"CIRCUIT_DIGEST = 0x{vk.circuit.digest};" in text and "PUBLIC_INPUTS = 2;" in text
    transcript = "ab" * 32
    ceremony = verifier_source(dataclasses.replace(vk, provenance=Ceremony(transcript, 3, "cd" * 32)))
    assert transcript in ceremony and '"contributions": 3' in ceremony and "cd" * 32 in ceremony
    hostile = dataclasses.replace(vk, provenance=SingleParty("x\n}\ncontract Evil {"), public_names=("a\nb", "c\u2028d"))
    hostile_text = verifier_source(hostile)
    code = lambda t: [line for line in t.splitlines() if not line.startswith("//")]  # noqa: E731
    assert code(hostile_text) == code(text)


# CLI -------------------------------------------------------------------------------
def _write_key_and_proof(tmp_path, vk, proof, public):
    (tmp_path / "vk.json").write_text(vk_to_json(vk))
    (tmp_path / "proof.json").write_text(proof_to_json(proof, vk, public))
    return str(tmp_path / "vk.json"), str(tmp_path / "proof.json")


def test_cli_exports_contract_and_calldata(fixture_proof, tmp_path):
    vk, proof, public = fixture_proof
    vk_path, proof_path = _write_key_and_proof(tmp_path, vk, proof, public)
    out = tmp_path / "Verifier.sol"
    result = CliRunner().invoke(main, ["export", "solidity", "--vk", vk_path, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == verifier_source(vk)
    result = CliRunner().invoke(main, ["export", "calldata", "--vk", vk_path, "--proof", proof_path])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0x" + calldata(vk, proof, public).hex()
    result = CliRunner().invoke(main, ["export", "calldata", "--vk", vk_path, "--proof", proof_path, "--json"])
    body = json.loads(result.output)
    assert body["calldata"] == "0x" + calldata(vk, proof, public).hex()
    assert body["public_inputs"] == [str(x) for x in public] and body["function"] == "verifyProof(bytes,uint256[])"


def test_cli_calldata_with_other_public_inputs(fixture_proof, tmp_path):
    vk, proof, public = fixture_proof
    vk_path, proof_path = _write_key_and_proof(tmp_path, vk, proof, public)
    (tmp_path / "public.json").write_text(json.dumps({"threshold": "7", "commitment": str(public[1])}))
    result = CliRunner().invoke(main, ["export", "calldata", "--vk", vk_path, "--proof", proof_path, "--public", str(tmp_path / "public.json")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0x" + calldata(vk, proof, [7, public[1]]).hex()
    (tmp_path / "bad.json").write_text(json.dumps({"threshold": str(R), "commitment": "1"}))
    result = CliRunner().invoke(main, ["export", "calldata", "--vk", vk_path, "--proof", proof_path, "--public", str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "bad.json" in result.output


def test_cli_refuses_a_broken_key_and_writes_nothing(fixture_proof, tmp_path):
    vk, proof, public = fixture_proof
    vk_path, _ = _write_key_and_proof(tmp_path, dataclasses.replace(vk, circuit=dataclasses.replace(vk.circuit, digest="0" * 63)), proof, public)
    out = tmp_path / "Verifier.sol"
    result = CliRunner().invoke(main, ["export", "solidity", "--vk", vk_path, "--out", str(out)])
    assert result.exit_code == 2 and "digest" in result.output and not out.exists()


# on a real EVM ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def chain(fixture_proof):
    """The fixture key's contract compiled by solc-js and deployed on anvil (Prague)."""
    solcjs, anvil_path, reason = evm.tools()
    if reason:
        pytest.skip(reason)
    vk, _, _ = fixture_proof
    compiled = evm.compile_contract(solcjs, verifier_source(vk), CONTRACT_NAME)
    assert compiled.method_ids["verifyProof(bytes,uint256[])"] == SELECTOR.hex()
    with evm.Anvil(anvil_path) as node:
        yield node, node.deploy(compiled.bytecode)


def _on_chain(chain, proof: bytes, inputs) -> bool:
    node, address = chain
    out = node.call(address, encode_call(proof, inputs))
    assert len(out) == 32 and int.from_bytes(out, "big") in (0, 1)
    return out[-1] == 1


def _reverts(chain, proof: bytes, inputs, signature: str, *args: int) -> None:
    node, address = chain
    with pytest.raises(evm.Reverted) as info:
        node.call(address, encode_call(proof, inputs))
    expected = selector(signature) + b"".join(a.to_bytes(32, "big") for a in args)
    assert info.value.data == expected, f"reverted with {info.value.data.hex()}, expected {signature}{args}"


def _snarkjs_accepts(vk, proof: Proof, public, tmp_path) -> bool | None:
    """snarkjs' verdict, or None where snarkjs is not installed."""
    tool = os.environ.get("ZKPROOFS_SNARKJS") or shutil.which("snarkjs")
    if tool is None or shutil.which("node") is None:
        return None
    for name, obj in (
        ("vk.json", snarkjs.verification_key(vk)),
        ("proof.json", snarkjs.proof(proof)),
        ("public.json", snarkjs.public_signals(public)),
    ):
        (tmp_path / name).write_text(json.dumps(obj))
    done = subprocess.run(
        [tool, "groth16", "verify", *(str(tmp_path / n) for n in ("vk.json", "public.json", "proof.json"))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode == 0 and "OK" in done.stdout


def test_three_verifiers_agree(fixture_proof, chain, tmp_path):
    vk, proof, public = fixture_proof
    cases = [
        ("valid", proof, public, True),
        ("other public input", proof, [public[0] + 1, public[1]], False),
        ("tampered A (-A)", _negated_a(proof), public, False),
        ("B and C of another proof", dataclasses.replace(proof, a=proof.c, c=proof.a), public, False),
    ]
    snarkjs_ran = False
    for name, p, inputs, expected in cases:
        assert verify(vk, inputs, p) is expected, name
        assert _on_chain(chain, proof_bytes(p), inputs) is expected, name
        verdict = _snarkjs_accepts(vk, p, inputs, tmp_path)
        if verdict is not None:
            snarkjs_ran = True
            assert verdict is expected, f"snarkjs on {name}"
    if not snarkjs_ran:
        pytest.skip("EVM and zkproofs agree; snarkjs not found (.ci/run sets ZKPROOFS_SNARKJS) for the third verdict")


def _negated_a(proof: Proof) -> Proof:
    be = get_backend()
    return dataclasses.replace(proof, a=be.g1_to_bytes(be.g1_neg(be.g1_from_bytes(proof.a))))


def test_non_canonical_input_reverts(fixture_proof, chain):
    # x + r is the same scalar to G1MSM: without the contract's own check the proof would verify.
    vk, proof, public = fixture_proof
    _reverts(chain, proof_bytes(proof), [public[0], public[1] + R], "NonCanonicalPublicInput(uint256)", 1)
    _reverts(chain, proof_bytes(proof), [(1 << 256) - 1, public[1]], "NonCanonicalPublicInput(uint256)", 0)
    _reverts(chain, proof_bytes(proof), [R, public[1]], "NonCanonicalPublicInput(uint256)", 0)
    with pytest.raises(NonCanonicalFieldElement):
        verify(vk, [public[0], public[1] + R], proof)


def test_wrong_input_count_and_length_revert(fixture_proof, chain):
    _, proof, public = fixture_proof
    data = proof_bytes(proof)
    _reverts(chain, data, public[:1], "PublicInputCountMismatch(uint256,uint256)", 2, 1)
    _reverts(chain, data, public + [0], "PublicInputCountMismatch(uint256,uint256)", 2, 3)
    _reverts(chain, data, [], "PublicInputCountMismatch(uint256,uint256)", 2, 0)
    _reverts(chain, data[:-32], public, "ProofLengthMismatch(uint256,uint256)", PROOF_BYTES, PROOF_BYTES - 32)
    _reverts(chain, data + bytes(32), public, "ProofLengthMismatch(uint256,uint256)", PROOF_BYTES, PROOF_BYTES + 32)


def test_points_at_infinity_revert(fixture_proof, chain):
    _, proof, public = fixture_proof
    data = proof_bytes(proof)
    for index, (start, size) in enumerate(((0, G1_BYTES), (G1_BYTES, G2_BYTES), (G1_BYTES + G2_BYTES, G1_BYTES))):
        forged = data[:start] + bytes(size) + data[start + size :]
        _reverts(chain, forged, public, "ProofPointAtInfinity(uint256)", index)


def _g1_on_curve_outside_subgroup() -> bytes:
    x = 1
    while True:
        rhs = (x**3 + 4) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P == rhs and not is_inf(multiply((FQ(x), FQ(y), FQ(1)), curve_order)):
            return _fp(x) + _fp(y)
        x += 1


def _g2_on_curve_outside_subgroup() -> bytes:
    raw = g2_off_subgroup_compressed()
    x, y = normalize(decompress_G2((int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))))
    return _fp(x.coeffs[0]) + _fp(x.coeffs[1]) + _fp(y.coeffs[0]) + _fp(y.coeffs[1])


def test_bad_proof_points_revert(fixture_proof, chain):
    _, proof, public = fixture_proof
    data = proof_bytes(proof)
    a_x, a_y = int.from_bytes(data[:64], "big"), int.from_bytes(data[64:128], "big")
    c_start = G1_BYTES + G2_BYTES
    forgeries = {
        "A off the curve": _fp(a_x) + _fp((a_y + 1) % P) + data[G1_BYTES:],
        "A coordinate + p (non-canonical)": _fp(a_x + P) + data[64:],
        "A outside the subgroup": _g1_on_curve_outside_subgroup() + data[G1_BYTES:],
        "B outside the subgroup": data[:G1_BYTES] + _g2_on_curve_outside_subgroup() + data[c_start:],
        "B with c0, c1 swapped": data[:G1_BYTES] + data[G1_BYTES + 64 : G1_BYTES + 128] + data[G1_BYTES : G1_BYTES + 64] + data[G1_BYTES + 128 :],
        "C outside the subgroup": data[:c_start] + _g1_on_curve_outside_subgroup(),
    }
    for name, forged in forgeries.items():
        assert len(forged) == PROOF_BYTES, name
        _reverts(chain, forged, public, "InvalidProofPoint()")
