"""snarkjs' Groth16 ``.zkey`` file (bls12381), read strictly and written atomically.

Layout (snarkjs ``zkey_utils.js``, ``zkey_new.js``): the iden3 container
(:mod:`zkproofs.ceremony.binfile`, magic ``zkey``, version 1) with sections

====  ===============  ===========================================================
  1   header           u32 protocol = 1 (Groth16)
  2   groth16 header   u32 n8q = 48, q (48 bytes LE), u32 n8r = 32, r (32 bytes
                       LE), u32 nVars, u32 nPublic, u32 domainSize, then alpha1,
                       beta1 (G1), beta2, gamma2 (G2), delta1 (G1), delta2 (G2)
  3   IC               nPublic + 1 G1 points (beta A_j + alpha B_j + C_j)(tau)
  4   coefficients     u32 count, then (u32 matrix 0=A/1=B, u32 constraint,
                       u32 signal, 32-byte LE value c * 2^512 mod r) per entry
  5   A                nVars G1 points A_j(tau)
  6   B1, 7 B2         nVars G1 / G2 points B_j(tau)
  8   C (Groth's L)    nVars - nPublic - 1 G1 points (beta A_j + alpha B_j + C_j)(tau) / delta
  9   H                domainSize G1 points L'_{2i+1}(tau) / delta (Lagrange basis
                       of the 2N-th roots, see :mod:`zkproofs.groth16.qap`)
 10   contributions    csHash (64 bytes), u32 count, then per contribution:
                       deltaAfter, s, s*x (G1), s'*x (G2), transcript (64 bytes),
                       u32 type (0 contribution, 1 beacon), u32 parameter length,
                       parameters sorted by tag (1: u8 length + UTF-8 name;
                       2: u8 numIterationsExp; 3: u8 length + beacon hash)
====  ===============  ===========================================================

Points are in the LEM layout of :mod:`zkproofs.ceremony.encoding`. gamma is the
G2 generator (snarkjs has no gamma contribution); delta starts at the generators
and each contribution multiplies it by its secret.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from zkproofs.backends.base import CurveBackend
from zkproofs.backends.common import Q
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony.ptau import MAX_NAME_CHARS
from zkproofs.ceremony.binfile import BinFile, binfile_bytes, parse_binfile, read_file, write_binfile
from zkproofs.errors import InvalidPoint, MalformedFile
from zkproofs.field import R

MAGIC = b"zkey"
VERSION = 1
GROTH16 = 1
HEADER, GROTH_HEADER, IC, COEFFS, POINTS_A, POINTS_B1, POINTS_B2, POINTS_C, POINTS_H, CONTRIBUTIONS = range(1, 11)
SECTION_NAMES = {
    HEADER: "header", GROTH_HEADER: "groth16 header", IC: "IC", COEFFS: "coefficients", POINTS_A: "A",
    POINTS_B1: "B1", POINTS_B2: "B2", POINTS_C: "C", POINTS_H: "H", CONTRIBUTIONS: "contributions",
}  # fmt: skip
COEFF_SIZE = 12 + enc.N8R
MONT_R2 = pow(2, 512, R)
"""Coefficients are stored as c * R^2 mod r (R = 2^256): ``zkey_utils.writeFr2``."""
MAX_DOMAIN_POWER = 28


def _hasher() -> Any:
    return blake2b(digest_size=64)


@dataclass(frozen=True)
class DeltaContribution:
    """One entry of section 10: the new delta (in G1) and the proof of knowledge of the
    secret x that multiplied it: s, s*x in G1 and s'*x in G2, where s' is the G2 point
    hashed from ``transcript`` (:func:`zkproofs.ceremony.rng.hash_to_g2`)."""

    delta_after: Any
    g1_s: Any
    g1_sx: Any
    g2_spx: Any
    transcript: bytes
    name: str = ""
    beacon_hash: bytes | None = None
    num_iterations_exp: int | None = None

    @property
    def is_beacon(self) -> bool:
        return self.beacon_hash is not None

    def pubkey_u(self, backend: CurveBackend) -> bytes:
        """``zkey_utils.hashPubKey``'s input: the points in "U" encoding, then the transcript."""
        return (
            enc.g1_to_u(backend, self.delta_after) + enc.g1_to_u(backend, self.g1_s)
            + enc.g1_to_u(backend, self.g1_sx) + enc.g2_to_u(backend, self.g2_spx) + self.transcript
        )  # fmt: skip

    def contribution_hash(self, backend: CurveBackend) -> bytes:
        """The hash snarkjs prints for the contributor to publish (BLAKE2b-512 of the public key)."""
        h = _hasher()
        h.update(self.pubkey_u(backend))
        return h.digest()


@dataclass(frozen=True)
class Zkey:
    """A Groth16 ``.zkey``: header values and points (backend points), sections 3..9 as raw
    LEM bytes (decoded on demand), the circuit hash and the delta contributions."""

    n_vars: int
    n_public: int
    domain_size: int
    alpha_g1: Any
    beta_g1: Any
    beta_g2: Any
    gamma_g2: Any
    delta_g1: Any
    delta_g2: Any
    sections: dict[int, bytes]
    cs_hash: bytes
    contributions: tuple[DeltaContribution, ...] = ()
    where: str = ""

    def points(self, backend: CurveBackend, kind: int, *, check: bool = False) -> list[Any]:
        """The decoded points of section ``kind`` (3, 5..9). O(count) decodings."""
        group = "G2" if kind == POINTS_B2 else "G1"
        size = enc.G2_SIZE if group == "G2" else enc.G1_SIZE
        data = self.sections[kind]
        return enc.points_from_lem(backend, group, data, len(data) // size, where=self.where, section=kind, check=check)

    def transcript_hash(self, backend: CurveBackend) -> bytes:
        """BLAKE2b-512 of the circuit hash and every contribution's public key: the value the
        next contributor's transcript starts from, and the identity of this key's ceremony."""
        h = _hasher()
        h.update(self.cs_hash)
        for c in self.contributions:
            h.update(c.pubkey_u(backend))
        return h.digest()


def expected_sizes(n_vars: int, n_public: int, domain_size: int) -> dict[int, int]:
    """Byte sizes of the point sections for these dimensions."""
    return {
        IC: (n_public + 1) * enc.G1_SIZE,
        POINTS_A: n_vars * enc.G1_SIZE,
        POINTS_B1: n_vars * enc.G1_SIZE,
        POINTS_B2: n_vars * enc.G2_SIZE,
        POINTS_C: (n_vars - n_public - 1) * enc.G1_SIZE,
        POINTS_H: domain_size * enc.G1_SIZE,
    }


# reading -------------------------------------------------------------------------------------
class _Cursor:
    def __init__(self, binfile: BinFile, kind: int):
        self.data = binfile.section(kind, SECTION_NAMES[kind])
        self.where, self.kind, self.base, self.pos = binfile.where, kind, binfile.offset(kind), 0

    def fail(self, reason: str) -> MalformedFile:
        return MalformedFile(self.where, reason, section=self.kind, offset=self.base + self.pos)

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail(f"section ends inside {what}")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]

    def point(self, backend: CurveBackend, group: str, what: str) -> Any:
        start = self.pos
        data = self.take(enc.G1_SIZE if group == "G1" else enc.G2_SIZE, what)
        try:
            return (enc.g1_from_lem if group == "G1" else enc.g2_from_lem)(backend, data)
        except InvalidPoint as exc:
            self.pos = start
            raise self.fail(f"{what}: {exc}") from None

    def end(self) -> None:
        if self.pos != len(self.data):
            raise self.fail(f"{len(self.data) - self.pos} unexpected bytes at the end of the section")


def _read_contribution(cur: _Cursor, backend: CurveBackend, index: int) -> DeltaContribution:
    label = f"contribution {index}"
    delta_after = cur.point(backend, "G1", f"{label} deltaAfter")
    g1_s = cur.point(backend, "G1", f"{label} s")
    g1_sx = cur.point(backend, "G1", f"{label} s*x")
    g2_spx = cur.point(backend, "G2", f"{label} s'*x")
    transcript = cur.take(64, f"{label} transcript")
    kind = cur.u32(f"{label} type")
    if kind not in (0, 1):
        raise cur.fail(f"{label}: unknown type {kind}")
    length = cur.u32(f"{label} parameter length")
    end = cur.pos + length
    name, beacon_hash, exp, last = "", None, None, 0
    while cur.pos < end:
        tag = cur.take(1, f"{label} parameter tag")[0]
        if tag <= last:
            raise cur.fail(f"{label}: parameters must be sorted and unique (tag {tag} after {last})")
        last = tag
        if tag == 1:
            raw = cur.take(cur.take(1, f"{label} name length")[0], f"{label} name")
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise cur.fail(f"{label}: name is not UTF-8") from None
        elif tag == 2:
            exp = cur.take(1, f"{label} numIterationsExp")[0]
        elif tag == 3:
            beacon_hash = cur.take(cur.take(1, f"{label} beacon hash length")[0], f"{label} beacon hash")
        else:
            raise cur.fail(f"{label}: unknown parameter tag {tag}")
    if cur.pos != end:
        raise cur.fail(f"{label}: parameters overrun their length")
    if (kind == 1) != (beacon_hash is not None and exp is not None):
        raise cur.fail(f"{label}: a beacon (type 1) needs exactly a beacon hash and an iteration exponent")
    return DeltaContribution(delta_after, g1_s, g1_sx, g2_spx, transcript, name, beacon_hash, exp)


def parse_zkey(data: bytes, backend: CurveBackend, *, where: str) -> Zkey:
    """Decode a ``.zkey`` held in memory. O(size) for the section checks; header and
    contribution points are decoded with curve and subgroup checks, the large sections
    are kept as bytes. Raises MalformedFile naming the file, section and offset."""
    binfile = parse_binfile(data, MAGIC, where=where)
    cur = _Cursor(binfile, HEADER)
    if cur.u32("protocol") != GROTH16:
        raise cur.fail("not a Groth16 key (protocol id is not 1)")
    cur.end()
    cur = _Cursor(binfile, GROTH_HEADER)
    if cur.u32("n8q") != enc.N8Q or int.from_bytes(cur.take(enc.N8Q, "q"), "little") != Q:
        raise cur.fail("not a BLS12-381 key (base field)")
    if cur.u32("n8r") != enc.N8R or int.from_bytes(cur.take(enc.N8R, "r"), "little") != R:
        raise cur.fail("not a BLS12-381 key (scalar field)")
    n_vars, n_public, domain_size = cur.u32("nVars"), cur.u32("nPublic"), cur.u32("domainSize")
    if not (n_public + 1 <= n_vars and domain_size & (domain_size - 1) == 0 and 1 <= domain_size <= 1 << MAX_DOMAIN_POWER):
        raise cur.fail(f"inconsistent dimensions nVars={n_vars} nPublic={n_public} domainSize={domain_size}")
    alpha = cur.point(backend, "G1", "alpha1")
    beta1 = cur.point(backend, "G1", "beta1")
    beta2 = cur.point(backend, "G2", "beta2")
    gamma2 = cur.point(backend, "G2", "gamma2")
    delta1 = cur.point(backend, "G1", "delta1")
    delta2 = cur.point(backend, "G2", "delta2")
    cur.end()
    sections = {}
    for kind, size in expected_sizes(n_vars, n_public, domain_size).items():
        payload = binfile.section(kind, SECTION_NAMES[kind])
        if len(payload) != size:
            raise MalformedFile(where, f"{SECTION_NAMES[kind]}: expected {size} bytes, found {len(payload)}", section=kind)
        sections[kind] = bytes(payload)
    cur = _Cursor(binfile, COEFFS)
    count = cur.u32("coefficient count")
    if len(cur.data) != 4 + count * COEFF_SIZE:
        raise cur.fail(f"{count} coefficients need {4 + count * COEFF_SIZE} bytes, found {len(cur.data)}")
    sections[COEFFS] = bytes(cur.data)
    cur = _Cursor(binfile, CONTRIBUTIONS)
    cs_hash = cur.take(64, "circuit hash")
    contributions = tuple(_read_contribution(cur, backend, i + 1) for i in range(cur.u32("contribution count")))
    cur.end()
    return Zkey(n_vars, n_public, domain_size, alpha, beta1, beta2, gamma2, delta1, delta2, sections, cs_hash, contributions, where)


def read_zkey(path: str | os.PathLike, backend: CurveBackend) -> Zkey:
    """Read and decode a ``.zkey`` file (see :func:`parse_zkey`); an unreadable file is MalformedFile too."""
    return parse_zkey(read_file(path), backend, where=os.fspath(path))


# writing -------------------------------------------------------------------------------------
def _contribution_bytes(backend: CurveBackend, c: DeltaContribution) -> bytes:
    params = b""
    if c.name:
        name = c.name[:MAX_NAME_CHARS].encode("utf-8")
        params += bytes([1, len(name)]) + name
    if c.is_beacon:
        params += bytes([2, c.num_iterations_exp, 3, len(c.beacon_hash)]) + c.beacon_hash
    return (
        enc.g1_to_lem(backend, c.delta_after) + enc.g1_to_lem(backend, c.g1_s) + enc.g1_to_lem(backend, c.g1_sx)
        + enc.g2_to_lem(backend, c.g2_spx) + c.transcript + struct.pack("<II", int(c.is_beacon), len(params)) + params
    )  # fmt: skip


def zkey_sections(zkey: Zkey, backend: CurveBackend) -> list[tuple[int, bytes]]:
    """The file's sections, in type order."""
    header = (
        struct.pack("<I", enc.N8Q) + Q.to_bytes(enc.N8Q, "little") + struct.pack("<I", enc.N8R) + R.to_bytes(enc.N8R, "little")
        + struct.pack("<III", zkey.n_vars, zkey.n_public, zkey.domain_size)
        + enc.g1_to_lem(backend, zkey.alpha_g1) + enc.g1_to_lem(backend, zkey.beta_g1) + enc.g2_to_lem(backend, zkey.beta_g2)
        + enc.g2_to_lem(backend, zkey.gamma_g2) + enc.g1_to_lem(backend, zkey.delta_g1) + enc.g2_to_lem(backend, zkey.delta_g2)
    )  # fmt: skip
    contributions = zkey.cs_hash + struct.pack("<I", len(zkey.contributions))
    contributions += b"".join(_contribution_bytes(backend, c) for c in zkey.contributions)
    out = [(HEADER, struct.pack("<I", GROTH16)), (GROTH_HEADER, header)]
    out += [(kind, zkey.sections[kind]) for kind in range(IC, POINTS_H + 1)]
    return out + [(CONTRIBUTIONS, contributions)]


def zkey_bytes(zkey: Zkey, backend: CurveBackend) -> bytes:
    return binfile_bytes(MAGIC, VERSION, zkey_sections(zkey, backend))


def write_zkey(path: str | os.PathLike, zkey: Zkey, backend: CurveBackend) -> None:
    """Write atomically: a failure leaves any previous file untouched."""
    write_binfile(path, MAGIC, VERSION, zkey_sections(zkey, backend))
