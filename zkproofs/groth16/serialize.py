"""File formats: JSON verification keys and proofs, a compact binary proving key.

Every artifact carries its identity (format, version, protocol, curve, circuit
name, parameters and digest), so tools read it instead of asking for it.
Decoders refuse anything unexpected with MalformedInput naming the field; point
validity (curve, subgroup) is checked by the verifier's backend on use.

Verification key, version 2 (version 1 recorded a free-text ``generated_by``
and is refused)::

    {"format": "zkproofs/verification-key", "version": 2, "protocol", "curve",
     "circuit": {"name", "params", "digest"}, "public_inputs": [names],
     "provenance": {"kind": "single-party", "party": NAME}
                 | {"kind": "ceremony", "transcript_hash": HEX (64 or 128 digits),
                    "contributions": N >= 1, "beacon": HEX | null},
     "created_at", "alpha_g1", "beta_g2", "gamma_g2", "delta_g2", "ic": [...]}

Degenerate keys are refused on load (:func:`check_vk_points`, DegenerateKey).

Proving key layout (little-endian), version 4:
    b"ZKPK" | u16 version | u32 header length | header (UTF-8 JSON: the verification
    key, domain size, variable count) | alpha_g1 beta_g1 delta_g1 (G1), beta_g2
    delta_g2 (G2), uncompressed (affine x || y, standard form) | the queries a_query,
    b_g1_query (G1), b_g2_query (G2), l_query, h_query (G1) as snarkjs' section bytes
    (affine x || y in Montgomery form, :class:`~zkproofs.groth16.keys.Query`) | SHA-256
    of everything before it.
The trailing hash makes a truncated or corrupted key fail to load; the points are
then read without curve or subgroup checks (they come from the verifier's own setup,
and checking 10^5 points would cost more than proving), coordinates checked < q.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from functools import lru_cache
from typing import Any, Mapping, Sequence

from zkproofs.backends import get_backend
from zkproofs.errors import DegenerateKey, InvalidPoint, MalformedInput, PublicInputCountMismatch
from zkproofs.field import decode_scalar
from zkproofs.groth16.keys import (
    CURVE,
    G1_BYTES,
    G2_BYTES,
    PROTOCOL,
    Ceremony,
    CircuitId,
    Proof,
    Provenance,
    ProvingKey,
    Query,
    SingleParty,
    VerifyingKey,
)
from zkproofs.jsontext import is_exactly, loads

VK_FORMAT = "zkproofs/verification-key"
PROOF_FORMAT = "zkproofs/proof"
VK_VERSION = 2
PROOF_VERSION = 1
PK_MAGIC = b"ZKPK"
PK_VERSION = 4  # 2: H query in the Lagrange basis of the 2N-th roots (N points); 3: the embedded key carries its provenance; 4: queries in snarkjs' LEM layout
HEX_HASH = re.compile(r"[0-9a-f]{64}|[0-9a-f]{128}")


def _field(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise MalformedInput(f"{where}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise MalformedInput(f"{where}: field {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _hex_bytes(value: Any, size: int, where: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedInput(f"{where}: expected a hex string")
    try:
        data = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise MalformedInput(f"{where}: not valid hex") from None
    if len(data) != size:
        raise MalformedInput(f"{where}: expected {size} bytes, got {len(data)}")
    return data


def _check_header(obj: Any, fmt: str, version: int, where: str) -> None:
    if not isinstance(obj, dict):
        raise MalformedInput(f"{where}: expected a JSON object")
    if obj.get("format") != fmt:
        raise MalformedInput(f"{where}: not a {fmt} file (format={obj.get('format')!r})")
    if not is_exactly(obj.get("version"), version):
        hint = " (version 1 keys record no provenance: run setup again or export the key from a ceremony)" if fmt == VK_FORMAT else ""
        raise MalformedInput(f"{where}: unsupported version {obj.get('version')!r}, expected {version}{hint}")
    if obj.get("protocol") != PROTOCOL or obj.get("curve") != CURVE:
        raise MalformedInput(
            f"{where}: expected protocol {PROTOCOL} on {CURVE}, got {obj.get('protocol')!r} on {obj.get('curve')!r}"
        )


# verification key ---------------------------------------------------------------
@lru_cache(maxsize=1)
def _g2_generator_encodings() -> frozenset[bytes]:
    be = get_backend()
    g = be.g2_generator()
    return frozenset({be.g2_to_bytes(g), be.g2_to_bytes(be.g2_neg(g))})


def check_vk_points(vk: VerifyingKey, where: str = "verification key") -> None:
    """DegenerateKey naming the field if ``vk``'s points let anyone forge or retarget proofs.

    Refused: a point at infinity in alpha, beta, gamma, delta or IC (flag bit of
    the compressed encoding); gamma = delta (then e(L, gamma) e(C, delta) =
    e(L + C, delta) and anyone moves a proof to other public inputs by shifting
    C); delta = +/- the generator (delta known, so the C term is computable by
    anyone). gamma = the generator stays allowed: snarkjs produces it, and it is
    harmless while delta is secret. Cost: byte comparisons (the generators'
    encodings are computed once).
    """
    for name, data in (("alpha_g1", vk.alpha_g1), ("beta_g2", vk.beta_g2), ("gamma_g2", vk.gamma_g2), ("delta_g2", vk.delta_g2)):
        if data[0] & 0x40:
            raise DegenerateKey(f"{where}.{name}: the point at infinity")
    for i, data in enumerate(vk.ic):
        if data[0] & 0x40:
            raise DegenerateKey(f"{where}.ic[{i}]: the point at infinity")
    if vk.gamma_g2 == vk.delta_g2:
        raise DegenerateKey(f"{where}.delta_g2: equals gamma_g2, so anyone can move a proof to other public inputs")
    if vk.delta_g2 in _g2_generator_encodings():
        raise DegenerateKey(f"{where}.delta_g2: is +/- the generator of G2 (delta = +/-1 is public, so anyone can forge proofs)")


def provenance_from_dict(obj: Any, where: str) -> Provenance:
    """Decode the ``provenance`` object (layout in the module docstring); MalformedInput naming the field."""
    kind = _field(obj, "kind", str, where)
    if kind == SingleParty.kind:
        if set(obj) != {"kind", "party"}:
            raise MalformedInput(f"{where}: a single-party provenance has exactly the fields kind, party")
        party = _field(obj, "party", str, where)
        if not party.strip():
            raise MalformedInput(f"{where}.party: must name the party that ran setup")
        return SingleParty(party)
    if kind == Ceremony.kind:
        if set(obj) != {"kind", "transcript_hash", "contributions", "beacon"}:
            raise MalformedInput(f"{where}: a ceremony provenance has exactly the fields kind, transcript_hash, contributions, beacon")
        transcript = _field(obj, "transcript_hash", str, where)
        if not HEX_HASH.fullmatch(transcript):
            raise MalformedInput(f"{where}.transcript_hash: expected 64 or 128 lowercase hex digits")
        count = _field(obj, "contributions", int, where)
        if count < 1:
            raise MalformedInput(f"{where}.contributions: a ceremony key needs at least one contribution, got {count}")
        beacon = obj["beacon"]
        if beacon is not None and (not isinstance(beacon, str) or not re.fullmatch(r"[0-9a-f]{2,128}", beacon)):
            raise MalformedInput(f"{where}.beacon: expected lowercase hex or null")
        return Ceremony(transcript, count, beacon)
    raise MalformedInput(f"{where}.kind: expected {SingleParty.kind!r} or {Ceremony.kind!r}, got {kind!r}")


def vk_to_dict(vk: VerifyingKey) -> dict[str, Any]:
    """The JSON object of a verification key (layout in the module docstring).

    MalformedInput for a key without provenance (read from a foreign format):
    zkproofs does not write keys whose origin it cannot state.
    """
    if vk.provenance is None:
        raise MalformedInput("verification key: no provenance recorded; zkproofs writes only keys that say how they were made")
    return {
        "format": VK_FORMAT,
        "version": VK_VERSION,
        "protocol": PROTOCOL,
        "curve": CURVE,
        "circuit": {"name": vk.circuit.name, "params": vk.circuit.params_dict, "digest": vk.circuit.digest},
        "public_inputs": list(vk.public_names),
        "provenance": vk.provenance.to_dict(),
        "created_at": vk.created_at,
        "alpha_g1": vk.alpha_g1.hex(),
        "beta_g2": vk.beta_g2.hex(),
        "gamma_g2": vk.gamma_g2.hex(),
        "delta_g2": vk.delta_g2.hex(),
        "ic": [p.hex() for p in vk.ic],
    }


def vk_hash(vk: VerifyingKey) -> str:
    """SHA-256 (hex) of the key's canonical JSON: what a published root names its key by."""
    return hashlib.sha256(json.dumps(vk_to_dict(vk), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def vk_from_dict(obj: Any, where: str = "verification key") -> VerifyingKey:
    """Decode a verification key; MalformedInput naming the bad field, DegenerateKey
    (a subclass) for points that let anyone forge (:func:`check_vk_points`)."""
    _check_header(obj, VK_FORMAT, VK_VERSION, where)
    circuit = _field(obj, "circuit", dict, where)
    params = _field(circuit, "params", dict, f"{where}.circuit")
    for key, value in params.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise MalformedInput(f"{where}.circuit.params: {key!r} must be an integer")
    names = _field(obj, "public_inputs", list, where)
    if not all(isinstance(n, str) for n in names):
        raise MalformedInput(f"{where}.public_inputs: expected a list of names")
    ic = _field(obj, "ic", list, where)
    if len(ic) != len(names) + 1:
        raise MalformedInput(f"{where}: ic has {len(ic)} points, expected {len(names) + 1} (public inputs + 1)")
    vk = VerifyingKey(
        circuit=CircuitId(
            name=_field(circuit, "name", str, f"{where}.circuit"),
            params=tuple(sorted(params.items())),
            digest=_field(circuit, "digest", str, f"{where}.circuit"),
        ),
        public_names=tuple(names),
        alpha_g1=_hex_bytes(obj.get("alpha_g1"), G1_BYTES, f"{where}.alpha_g1"),
        beta_g2=_hex_bytes(obj.get("beta_g2"), G2_BYTES, f"{where}.beta_g2"),
        gamma_g2=_hex_bytes(obj.get("gamma_g2"), G2_BYTES, f"{where}.gamma_g2"),
        delta_g2=_hex_bytes(obj.get("delta_g2"), G2_BYTES, f"{where}.delta_g2"),
        ic=tuple(_hex_bytes(p, G1_BYTES, f"{where}.ic[{i}]") for i, p in enumerate(ic)),
        provenance=provenance_from_dict(_field(obj, "provenance", dict, where), f"{where}.provenance"),
        created_at=_field(obj, "created_at", str, where),
    )
    check_vk_points(vk, where)
    return vk


def vk_to_json(vk: VerifyingKey) -> str:
    return json.dumps(vk_to_dict(vk), indent=2) + "\n"


def vk_from_json(text: str | bytes, where: str = "verification key") -> VerifyingKey:
    return vk_from_dict(loads(text, where), where)


# proof -----------------------------------------------------------------------------
def proof_to_dict(proof: Proof, vk: VerifyingKey, public_inputs: Sequence[int]) -> dict[str, Any]:
    """The proof file: the proof, its circuit and its public inputs by name (decimal strings)."""
    if len(public_inputs) != vk.num_public:
        raise MalformedInput(f"expected {vk.num_public} public inputs, got {len(public_inputs)}")
    return {
        "format": PROOF_FORMAT,
        "version": PROOF_VERSION,
        "protocol": PROTOCOL,
        "curve": CURVE,
        "circuit": {"name": vk.circuit.name, "params": vk.circuit.params_dict, "digest": proof.circuit_digest},
        "public_inputs": {name: str(value) for name, value in zip(vk.public_names, public_inputs)},
        "proof": {"a": proof.a.hex(), "b": proof.b.hex(), "c": proof.c.hex()},
    }


def _json_type(value: Any) -> str:
    return {bool: "boolean", int: "number", float: "number", type(None): "null", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def proof_from_dict(obj: Any, where: str = "proof") -> tuple[Proof, dict[str, int]]:
    """Decode a proof file into (proof, public inputs by name).

    Public inputs are decoded canonically (NonCanonicalFieldElement for >= r);
    the verifier orders them by the key's names.
    """
    _check_header(obj, PROOF_FORMAT, PROOF_VERSION, where)
    circuit = _field(obj, "circuit", dict, where)
    body = _field(obj, "proof", dict, where)
    publics = _field(obj, "public_inputs", dict, where)
    proof = Proof(
        a=_hex_bytes(body.get("a"), G1_BYTES, f"{where}.proof.a"),
        b=_hex_bytes(body.get("b"), G2_BYTES, f"{where}.proof.b"),
        c=_hex_bytes(body.get("c"), G1_BYTES, f"{where}.proof.c"),
        circuit_digest=_field(circuit, "digest", str, f"{where}.circuit"),
    )
    values = {}
    for name, value in publics.items():
        if not isinstance(value, str):  # a JSON number is not the format (and loses digits in most readers)
            raise MalformedInput(f"{where}.public_inputs.{name}: expected a decimal string, got a JSON {_json_type(value)}")
        values[name] = decode_scalar(value, what=f"{where}.public_inputs.{name}")
    return proof, values


def proof_to_json(proof: Proof, vk: VerifyingKey, public_inputs: Sequence[int]) -> str:
    return json.dumps(proof_to_dict(proof, vk, public_inputs), indent=2) + "\n"


def proof_from_json(text: str | bytes, where: str = "proof") -> tuple[Proof, dict[str, int]]:
    return proof_from_dict(loads(text, where), where)


def public_inputs_in_order(vk: VerifyingKey, named: Mapping[str, int]) -> list[int]:
    """The values of ``named`` in the key's order; PublicInputCountMismatch if names differ."""
    missing = [n for n in vk.public_names if n not in named]
    extra = [n for n in named if n not in vk.public_names]
    if missing or extra or len(named) != vk.num_public:
        raise PublicInputCountMismatch(
            f"the key expects public inputs {list(vk.public_names)}; missing {missing}, unexpected {extra}"
        )
    return [named[n] for n in vk.public_names]


# proving key -----------------------------------------------------------------------
def pk_to_bytes(pk: ProvingKey) -> bytes:
    """Serialize a proving key (layout in the module docstring). O(size of the key)."""
    be = get_backend(pk.backend)
    header = json.dumps(
        {"vk": vk_to_dict(pk.vk), "domain_size": pk.domain_size, "num_variables": pk.num_variables}
    ).encode()
    parts = [PK_MAGIC, struct.pack("<HI", PK_VERSION, len(header)), header]
    g1 = be.g1_to_uncompressed
    g2 = be.g2_to_uncompressed
    parts += [g1(pk.alpha_g1), g1(pk.beta_g1), g1(pk.delta_g1), g2(pk.beta_g2), g2(pk.delta_g2)]
    parts += [pk.a_query.lem, pk.b_g1_query.lem, pk.b_g2_query.lem, pk.l_query.lem, pk.h_query.lem]
    body = b"".join(parts)
    return body + hashlib.sha256(body).digest()


def pk_from_bytes(data: bytes, *, backend: str | None = None, where: str = "proving key") -> ProvingKey:
    """Load a proving key into ``backend``; MalformedInput if truncated, corrupted or not a key."""
    if len(data) < 4 + 6 + 32 or data[:4] != PK_MAGIC:
        raise MalformedInput(f"{where}: not a zkproofs proving key")
    body, checksum = data[:-32], data[-32:]
    if hashlib.sha256(body).digest() != checksum:
        raise MalformedInput(f"{where}: checksum mismatch (truncated or corrupted file)")
    version, header_len = struct.unpack_from("<HI", body, 4)
    if version != PK_VERSION:
        raise MalformedInput(f"{where}: unsupported proving key version {version}")
    header = loads(body[10 : 10 + header_len], f"{where} header")
    vk = vk_from_dict(header.get("vk") if isinstance(header, dict) else None, f"{where}.vk")
    n_domain = _field(header, "domain_size", int, where)
    m = _field(header, "num_variables", int, where)
    l = vk.num_public
    be = get_backend(backend)
    g1_raw, g2_raw = 2 * G1_BYTES, 2 * G2_BYTES
    sizes = [g1_raw] * 3 + [g2_raw] * 2
    counts = [(m, g1_raw), (m, g1_raw), (m, g2_raw), (m - l - 1, g1_raw), (n_domain, g1_raw)]
    expected = 10 + header_len + sum(sizes) + sum(c * s for c, s in counts)
    if len(body) != expected:
        raise MalformedInput(f"{where}: expected {expected} bytes of key data, found {len(body)}")
    offset = 10 + header_len

    def take(count: int, size: int, decode) -> list:
        nonlocal offset
        out = [decode(body[offset + i * size : offset + (i + 1) * size], check=False) for i in range(count)]
        offset += count * size
        return out

    def query(name: str, group: str, count: int, size: int) -> Query:
        nonlocal offset
        q = Query(group, body[offset : offset + count * size])
        offset += count * size
        try:
            q.prepare()
        except InvalidPoint as exc:
            raise MalformedInput(f"{where}: {name}: {exc}") from None
        return q

    alpha_g1, beta_g1, delta_g1 = take(3, g1_raw, be.g1_from_uncompressed)
    beta_g2, delta_g2 = take(2, g2_raw, be.g2_from_uncompressed)
    a_query = query("a_query", "G1", m, g1_raw)
    b_g1_query = query("b_g1_query", "G1", m, g1_raw)
    b_g2_query = query("b_g2_query", "G2", m, g2_raw)
    l_query = query("l_query", "G1", m - l - 1, g1_raw)
    h_query = query("h_query", "G1", n_domain, g1_raw)
    return ProvingKey(
        vk=vk,
        backend=be.name,
        domain_size=n_domain,
        num_variables=m,
        alpha_g1=alpha_g1,
        beta_g1=beta_g1,
        beta_g2=beta_g2,
        delta_g1=delta_g1,
        delta_g2=delta_g2,
        a_query=a_query,
        b_g1_query=b_g1_query,
        b_g2_query=b_g2_query,
        h_query=h_query,
        l_query=l_query,
    )
