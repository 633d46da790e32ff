"""A Solidity Groth16 verifier for one key on the EIP-2537 BLS12-381 precompiles.

Source: Groth16 (Groth 2016, ePrint 2016/260), section 3.2 "Vfy"; EIP-2537
(final, activated in Ethereum's Pectra/Prague upgrade) for the precompiles and
their encodings: BLS12_G1ADD at 0x0b, BLS12_G1MSM at 0x0c, BLS12_PAIRING_CHECK at
0x0f (G2ADD 0x0d, G2MSM 0x0e, MAP_FP_TO_G1 0x10, MAP_FP2_TO_G2 0x11 are not used).

Encodings (EIP-2537): an Fp element is 64 bytes big-endian (top 16 bytes zero,
value < p); a G1 point is x || y (128 bytes), a G2 point is x.c0 || x.c1 || y.c0 ||
y.c1 (256 bytes), the point at infinity is all zero bytes; a scalar is 32 bytes
big-endian. A proof on chain is A || B || C (512 bytes).

The contract checks e(A, B) e(L, -gamma) e(C, -delta) e(-alpha, beta) = 1 with
L = IC_0 + sum x_i IC_i, the equation of :mod:`zkproofs.groth16.verifier`. Which
precompile checks which point:

- A, B, C (from the caller) go only into PAIRING_CHECK, which checks their
  encoding, that they are on the curve and in the order-r subgroup; the contract
  itself refuses the point at infinity for each (the precompile would accept it,
  and a pair with the identity contributes 1 to the product).
- the public inputs are scalars of G1MSM over IC_1..IC_l; MSM accepts any 256-bit
  scalar, so the contract checks each x_i < r itself.
- G1ADD (no subgroup check) only adds IC_0 to the MSM's output: both valid points.
- the key's points are constants, checked here at export (on the curve, in the
  subgroup, alpha/beta/gamma/delta not the identity).

Revert versus false: ``verifyProof`` reverts (custom errors) on input that cannot
be checked -- wrong proof length, wrong public-input count, an input >= r, a proof
point at infinity, or a proof point the pairing precompile refuses (bad encoding,
off the curve, outside the subgroup; a failing precompile burns the gas given to
it) -- and returns false for a well-formed proof that does not verify: the two
channels of the Python verifier.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Sequence

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector

from zkproofs.backends import get_backend
from zkproofs.errors import InvalidPoint, MalformedInput, NonCanonicalFieldElement, PublicInputCountMismatch
from zkproofs.field import R
from zkproofs.groth16.keys import Proof, VerifyingKey
from zkproofs.groth16.verifier import decode_key_points

FP_BYTES = 64
G1_BYTES = 2 * FP_BYTES
G2_BYTES = 4 * FP_BYTES
PROOF_BYTES = 2 * G1_BYTES + G2_BYTES
CONTRACT_NAME = "Groth16Verifier"
SIGNATURE = "verifyProof(bytes,uint256[])"
SELECTOR = function_signature_to_4byte_selector(SIGNATURE)

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def _fp(value: int) -> bytes:
    return value.to_bytes(FP_BYTES, "big")


def g1_bytes(be, point) -> bytes:
    """EIP-2537 encoding of a backend G1 point: 128 bytes (all zero for the identity)."""
    xy = be.g1_to_affine(point)
    if xy is None:
        return bytes(G1_BYTES)
    return _fp(xy[0]) + _fp(xy[1])


def g2_bytes(be, point) -> bytes:
    """EIP-2537 encoding of a backend G2 point: x.c0 || x.c1 || y.c0 || y.c1, 256 bytes."""
    xy = be.g2_to_affine(point)
    if xy is None:
        return bytes(G2_BYTES)
    (x0, x1), (y0, y1) = xy
    return _fp(x0) + _fp(x1) + _fp(y0) + _fp(y1)


def proof_bytes(proof: Proof, backend: str | None = None) -> bytes:
    """The 512-byte on-chain proof A || B || C.

    The compressed points are decoded with the full checks (InvalidPoint for a bad
    encoding, off the curve, outside the subgroup or the identity), so an exported
    proof is one the contract can accept.
    """
    be = get_backend(backend)
    parts = []
    for name, data, decode, is_identity, encode in (
        ("A", proof.a, be.g1_from_bytes, be.g1_is_identity, g1_bytes),
        ("B", proof.b, be.g2_from_bytes, be.g2_is_identity, g2_bytes),
        ("C", proof.c, be.g1_from_bytes, be.g1_is_identity, g1_bytes),
    ):
        point = decode(data)
        if is_identity(point):
            raise InvalidPoint(f"proof point {name} is the identity")
        parts.append(encode(be, point))
    return b"".join(parts)


def encode_call(proof: bytes, public_inputs: Sequence[int]) -> bytes:
    """ABI call data of ``verifyProof(bytes proof, uint256[] input)``, unchecked.

    Any 512-byte string and any uint256 values are encoded as given (tests use this
    to send what the contract must refuse); :func:`calldata` is the checked form.
    Raises MalformedInput for a value outside [0, 2^256).
    """
    for i, x in enumerate(public_inputs):
        if not 0 <= x < 1 << 256:
            raise MalformedInput(f"public input {i} does not fit a uint256")
    return SELECTOR + abi_encode(["bytes", "uint256[]"], [proof, list(public_inputs)])


def calldata(vk: VerifyingKey, proof: Proof, public_inputs: Sequence[int], backend: str | None = None) -> bytes:
    """Call data for the contract exported from ``vk``: selector + ABI (bytes, uint256[]).

    ``public_inputs`` in ``vk.public_names`` order, each < r. Raises
    PublicInputCountMismatch for a wrong count, NonCanonicalFieldElement for an
    input >= r, InvalidPoint for a bad proof point.
    Size: 4 + 32 * (6 + 16 + l) bytes.
    """
    if len(public_inputs) != vk.num_public:
        raise PublicInputCountMismatch(f"the key expects {vk.num_public} public inputs, got {len(public_inputs)}")
    for name, x in zip(vk.public_names, public_inputs):
        if not 0 <= x < R:
            raise NonCanonicalFieldElement(f"public input {name!r} is not in [0, r)")
    return encode_call(proof_bytes(proof, backend), public_inputs)


def _hex(data: bytes) -> str:
    return f'hex"{data.hex()}"'


def _comment(text: str) -> str:
    """Free text from a key as a JSON string: one line, ASCII, cannot end the comment
    (JSON escapes line breaks; ``ensure_ascii`` escapes U+2028 and the like)."""
    return json.dumps(text, ensure_ascii=True)


def _zkproofs_version() -> str:
    try:
        return version("zkproofs")
    except PackageNotFoundError:
        return "unknown"


def verifier_source(vk: VerifyingKey, backend: str | None = None) -> str:
    """Solidity source of ``Groth16Verifier`` for ``vk`` (see the module docstring).

    The header comment records the key's circuit, parameters, circuit digest, its
    provenance (described, then every recorded field: a ceremony's full transcript
    hash, contributions and beacon), creation time, and the SHA-256 of the key
    constants embedded.
    Raises InvalidPoint for a key point that is invalid or the identity where
    Groth16 forbids it, MalformedInput for a key whose IC length does not match its
    public inputs, with no public input, or whose circuit digest is not 64 hex digits. O(l) in the number
    of public inputs l; the contract's gas is one G1MSM of l points, one G1ADD and
    a 4-pair PAIRING_CHECK.
    """
    be = get_backend(backend)
    if len(vk.ic) != vk.num_public + 1:
        raise MalformedInput(f"verification key has {len(vk.ic)} IC points for {vk.num_public} public inputs")
    if vk.num_public == 0:
        raise MalformedInput("verification key has no public inputs; the exported verifier needs at least one")
    if not _HEX_DIGEST.fullmatch(vk.circuit.digest):
        raise MalformedInput("verification key circuit digest is not 64 lower-case hex digits")
    alpha, beta, gamma, delta = decode_key_points(be, vk)
    ic = [g1_bytes(be, be.g1_from_bytes(p)) for p in vk.ic]
    neg_alpha = g1_bytes(be, be.g1_neg(alpha))
    beta_enc = g2_bytes(be, beta)
    neg_gamma = g2_bytes(be, be.g2_neg(gamma))
    neg_delta = g2_bytes(be, be.g2_neg(delta))
    msm_template = b"".join(p + bytes(32) for p in ic[1:])
    key_digest = hashlib.sha256(neg_alpha + beta_enc + neg_gamma + neg_delta + b"".join(ic)).hexdigest()

    params = ", ".join(f"{k}={v}" for k, v in vk.circuit.params) or "none"
    inputs = "\n".join(f"//   {i}: {_comment(name)}" for i, name in enumerate(vk.public_names))

    return f"""// SPDX-License-Identifier: MIT
// Generated by zkproofs {_zkproofs_version()} (`zkproofs export solidity`); do not edit.
//
// Groth16 verifier (Groth 2016, ePrint 2016/260, section 3.2) for ONE verification key
// over BLS12-381, on the EIP-2537 precompiles (Ethereum Pectra/Prague and later).
//
// circuit:        {_comment(vk.circuit.name)} ({_comment(params)})
// circuit digest: {vk.circuit.digest}
// key provenance: {_comment(vk.describe_provenance())}, created {_comment(vk.created_at)}
//   {json.dumps(vk.provenance.to_dict() if vk.provenance else None, ensure_ascii=True, sort_keys=True)}
//   (a single party that kept the trapdoor, or every ceremony contributor together, could forge proofs)
// key constants:  sha256 {key_digest}
// public inputs, in call order:
{inputs}
//
// verifyProof(proof, input) with proof = A || B || C in EIP-2537 encoding (G1 128 bytes,
// G2 256 bytes: x.c0 || x.c1 || y.c0 || y.c1) and input[i] the public inputs above:
//   returns true  - the proof verifies;
//   returns false - well-formed but wrong proof (the pairing check fails);
//   reverts       - ProofLengthMismatch, PublicInputCountMismatch, NonCanonicalPublicInput
//                   (an input >= r), ProofPointAtInfinity (0 = A, 1 = B, 2 = C),
//                   InvalidProofPoint (PAIRING_CHECK refused A, B or C: bad encoding, off the
//                   curve or outside the order-r subgroup; it burns the gas given to it),
//                   PrecompileFailed (out of gas, or a chain without EIP-2537).
// Subgroup checks: A, B, C only enter PAIRING_CHECK (0x0f), which checks them; the inputs are
// scalars of G1MSM (0x0c) over the key's IC points; G1ADD (0x0b, no subgroup check) only adds
// IC_0 to the MSM result. The key's points were checked when this file was generated.
pragma solidity >=0.8.24 <0.9.0;

contract {CONTRACT_NAME} {{
    /// Order r of BLS12-381's scalar field: every public input must be below it.
    uint256 internal constant R = {R:#066x};
    uint256 public constant PUBLIC_INPUTS = {vk.num_public};
    uint256 internal constant PROOF_BYTES = {PROOF_BYTES};
    bytes32 public constant CIRCUIT_DIGEST = 0x{vk.circuit.digest};

    address internal constant G1ADD = address(0x0b);
    address internal constant G1MSM = address(0x0c);
    address internal constant PAIRING_CHECK = address(0x0f);

    bytes internal constant NEG_ALPHA =
        {_hex(neg_alpha)};
    bytes internal constant BETA =
        {_hex(beta_enc)};
    bytes internal constant NEG_GAMMA =
        {_hex(neg_gamma)};
    bytes internal constant NEG_DELTA =
        {_hex(neg_delta)};
    bytes internal constant IC0 =
        {_hex(ic[0])};
    /// IC_1 .. IC_l, each followed by a zero 32-byte scalar slot: the G1MSM input
    /// with the public inputs still to be written in.
    bytes internal constant MSM_TEMPLATE =
        {_hex(msm_template)};

    error ProofLengthMismatch(uint256 expected, uint256 got);
    error PublicInputCountMismatch(uint256 expected, uint256 got);
    error NonCanonicalPublicInput(uint256 index);
    error ProofPointAtInfinity(uint256 point);
    error InvalidProofPoint();
    error PrecompileFailed(address precompile);

    /// True iff `proof` (A || B || C, 512 bytes) is a valid Groth16 proof for `input`
    /// (PUBLIC_INPUTS values, each < r) under this contract's key; reverts on input that
    /// cannot be checked (see the header). Gas: one G1MSM of PUBLIC_INPUTS points, one
    /// G1ADD and one PAIRING_CHECK of 4 pairs.
    function verifyProof(bytes calldata proof, uint256[] calldata input) external view returns (bool) {{
        if (proof.length != PROOF_BYTES) revert ProofLengthMismatch(PROOF_BYTES, proof.length);
        if (input.length != PUBLIC_INPUTS) revert PublicInputCountMismatch(PUBLIC_INPUTS, input.length);
        for (uint256 i = 0; i < PUBLIC_INPUTS; i++) {{
            if (input[i] >= R) revert NonCanonicalPublicInput(i);
        }}
        bytes calldata a = proof[0:128];
        bytes calldata b = proof[128:384];
        bytes calldata c = proof[384:512];
        if (_isInfinity(a)) revert ProofPointAtInfinity(0);
        if (_isInfinity(b)) revert ProofPointAtInfinity(1);
        if (_isInfinity(c)) revert ProofPointAtInfinity(2);
        bytes memory l = _publicCombination(input);
        (bool ok, bytes memory out) =
            PAIRING_CHECK.staticcall(bytes.concat(a, b, l, NEG_GAMMA, c, NEG_DELTA, NEG_ALPHA, BETA));
        if (!ok) revert InvalidProofPoint();
        return out.length == 32 && uint256(bytes32(out)) == 1;
    }}

    /// L = IC_0 + sum input[i] * IC_(i+1), EIP-2537 G1 encoding.
    function _publicCombination(uint256[] calldata input) private view returns (bytes memory) {{
        bytes memory msm = MSM_TEMPLATE;
        for (uint256 i = 0; i < PUBLIC_INPUTS; i++) {{
            uint256 x = input[i];
            // The scalar slot of pair i: 32 bytes after the 128-byte IC point.
            assembly ("memory-safe") {{
                mstore(add(msm, add(160, mul(i, 160))), x)
            }}
        }}
        (bool ok, bytes memory sum) = G1MSM.staticcall(msm);
        if (!ok) revert PrecompileFailed(G1MSM);
        (ok, sum) = G1ADD.staticcall(bytes.concat(IC0, sum));
        if (!ok) revert PrecompileFailed(G1ADD);
        return sum;
    }}

    /// The EIP-2537 point at infinity is the all-zero encoding.
    function _isInfinity(bytes calldata point) private pure returns (bool) {{
        for (uint256 i = 0; i < point.length; i += 32) {{
            if (bytes32(point[i:i + 32]) != 0) return false;
        }}
        return true;
    }}
}}
"""
