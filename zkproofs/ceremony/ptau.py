"""The ``.ptau`` file of snarkjs (powers of tau, phase 1), read strictly and written atomically.

Sections (snarkjs ``powersoftau_new.js``, ``powersoftau_utils.js``), points in
LEM layout (:mod:`zkproofs.ceremony.encoding`), N = 2^power:

====  ===============  ============================================================
  1   header           u32 n8 = 48, q (48 bytes LE), u32 power, u32 ceremonyPower
  2   tauG1            2N - 1 G1 points: tau^i G1
  3   tauG2            N G2 points: tau^i G2
  4   alphaTauG1       N G1 points: alpha tau^i G1
  5   betaTauG1        N G1 points: beta tau^i G1
  6   betaG2           1 G2 point: beta G2
  7   contributions    u32 count, then per contribution: tauG1, tauG2, alphaG1,
                       betaG1, betaG2 (the new first powers), the public key
                       (G1 s, s x for tau, alpha, beta, then G2 s' x for tau,
                       alpha, beta), the 216-byte partial response hash, the
                       64-byte next challenge hash, u32 type (0 contribution,
                       1 beacon), u32 parameter length and sorted parameters
                       (1: u8 length + UTF-8 name; 2: u8 numIterationsExp;
                       3: u8 length + beacon hash)
 12   lagrange tauG1   after ``prepare``: for p = 0..power+1, the 2^p Lagrange
                       basis points L_i(tau) G1 on the domain of size 2^p
 13-15                 the same for tauG2, alphaTauG1, betaTauG1 (p = 0..power)
====  ===============  ============================================================

Hashes (BLAKE2b-512): the first challenge hashes the empty-input digest and
the initial sections in "U" encoding; a contribution's *response* hashes the
challenge it answered, its sections in "C" encoding, then its public key in
"U" encoding; the *next challenge* hashes the response and the sections in "U".
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, replace
from typing import Any

from zkproofs.backends.base import CurveBackend
from zkproofs.backends.common import Q
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony.binfile import BinFile, binfile_bytes, parse_binfile, read_file, write_binfile
from zkproofs.ceremony.blake2b import PARTIAL_SIZE, Blake2b512
from zkproofs.errors import InvalidPoint, MalformedFile, MalformedInput

MAGIC = b"ptau"
VERSION = 1
MAX_POWER = 28
HEADER, TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1, BETA_G2, CONTRIBUTIONS = 1, 2, 3, 4, 5, 6, 7
LAGRANGE = {TAU_G1: 12, TAU_G2: 13, ALPHA_TAU_G1: 14, BETA_TAU_G1: 15}
SECTION_NAMES = {
    HEADER: "header", TAU_G1: "tauG1", TAU_G2: "tauG2", ALPHA_TAU_G1: "alphaTauG1", BETA_TAU_G1: "betaTauG1",
    BETA_G2: "betaG2", CONTRIBUTIONS: "contributions",
    12: "lagrange tauG1", 13: "lagrange tauG2", 14: "lagrange alphaTauG1", 15: "lagrange betaTauG1",
}  # fmt: skip
GROUP = {TAU_G1: "G1", TAU_G2: "G2", ALPHA_TAU_G1: "G1", BETA_TAU_G1: "G1", BETA_G2: "G2"}
MAX_NAME_CHARS = 64
PUBKEY_SIZE = 6 * enc.G1_SIZE + 3 * enc.G2_SIZE
BEACON = 1


def section_points(power: int, kind: int) -> int:
    """Number of points in section ``kind`` (2..6) of a file of this power."""
    n = 1 << power
    return {TAU_G1: 2 * n - 1, TAU_G2: n, ALPHA_TAU_G1: n, BETA_TAU_G1: n, BETA_G2: 1}[kind]


def lagrange_points(power: int, kind: int) -> int:
    """Number of points in the Lagrange section derived from section ``kind``: sum of 2^p."""
    top = power + 1 if kind == TAU_G1 else power
    return (1 << (top + 1)) - 1


@dataclass(frozen=True)
class KeyPart:
    """The proof of knowledge of one secret x: G1 points s and s x, and G2 point s' x,
    where s' is derived from the challenge hash and (s, s x) (:func:`rng.g2_sp`)."""

    g1_s: Any
    g1_sx: Any
    g2_spx: Any


@dataclass(frozen=True)
class Contribution:
    """One entry of section 7 (points are backend points; hashes are raw bytes)."""

    tau_g1: Any
    tau_g2: Any
    alpha_g1: Any
    beta_g1: Any
    beta_g2: Any
    tau: KeyPart
    alpha: KeyPart
    beta: KeyPart
    partial_hash: bytes
    next_challenge: bytes
    name: str = ""
    beacon_hash: bytes | None = None
    num_iterations_exp: int | None = None

    @property
    def is_beacon(self) -> bool:
        return self.beacon_hash is not None

    def pubkey_u(self, backend: CurveBackend) -> bytes:
        """The public key in "U" encoding, as hashed into the response."""
        g1 = (self.tau.g1_s, self.tau.g1_sx, self.alpha.g1_s, self.alpha.g1_sx, self.beta.g1_s, self.beta.g1_sx)
        g2 = (self.tau.g2_spx, self.alpha.g2_spx, self.beta.g2_spx)
        return b"".join(enc.g1_to_u(backend, p) for p in g1) + b"".join(enc.g2_to_u(backend, p) for p in g2)

    def response_hash(self, backend: CurveBackend) -> bytes:
        """The contribution hash its contributor published: the partial hash finished with the public key."""
        hasher = Blake2b512.from_partial_state(self.partial_hash)
        hasher.update(self.pubkey_u(backend))
        return hasher.digest()


@dataclass(frozen=True)
class Ptau:
    """A powers-of-tau transcript: ``sections`` maps 2..6 (and 12..15 once prepared) to raw LEM bytes."""

    power: int
    ceremony_power: int
    sections: dict[int, bytes]
    contributions: tuple[Contribution, ...] = ()
    where: str = ""

    @property
    def prepared(self) -> bool:
        return all(k in self.sections for k in LAGRANGE.values())

    def points(self, backend: CurveBackend, kind: int, *, check: bool = True, start: int = 0, count: int | None = None) -> list[Any]:
        """Decoded points of section ``kind`` (all, or ``count`` from index ``start``). O(count)."""
        group = "G1" if kind in (TAU_G1, ALPHA_TAU_G1, BETA_TAU_G1, 12, 14, 15) else "G2"
        size = enc.G1_SIZE if group == "G1" else enc.G2_SIZE
        data = self.sections[kind]
        total = len(data) // size
        count = total - start if count is None else count
        return enc.points_from_lem(
            backend, group, data[start * size : (start + count) * size], count,
            where=self.where, section=kind, offset=start * size, check=check,
        )  # fmt: skip

    def without_lagrange(self) -> "Ptau":
        return replace(self, sections={k: v for k, v in self.sections.items() if k not in LAGRANGE.values()})


# reading -------------------------------------------------------------------------------------
class _Cursor:
    def __init__(self, data: memoryview, where: str, section: int, base: int):
        self.data, self.where, self.section, self.base, self.pos = data, where, section, base, 0

    def fail(self, reason: str, at: int | None = None) -> MalformedFile:
        """MalformedFile at offset ``at`` of this section (default: the current position)."""
        return MalformedFile(self.where, reason, section=self.section, offset=self.base + (self.pos if at is None else at))

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail(f"section ends inside {what}")
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def u32(self, what: str) -> int:
        return struct.unpack("<I", self.take(4, what))[0]

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def point(self, backend: CurveBackend, group: str, what: str) -> Any:
        start = self.pos
        data = self.take(enc.G1_SIZE if group == "G1" else enc.G2_SIZE, what)
        try:
            return (enc.g1_from_lem if group == "G1" else enc.g2_from_lem)(backend, data)
        except InvalidPoint as exc:
            raise self.fail(f"{what}: {exc}", at=start) from None


def _read_header(binfile: BinFile) -> tuple[int, int]:
    cur = _Cursor(binfile.section(HEADER, "header"), binfile.where, HEADER, binfile.offset(HEADER))
    n8 = cur.u32("n8")
    if n8 != enc.N8Q:
        raise cur.fail(f"field size {n8} bytes: only BLS12-381 (n8 = 48) is supported")
    q = int.from_bytes(cur.take(n8, "the prime q"), "little")
    if q != Q:
        raise cur.fail("the prime q is not BLS12-381's base field modulus", at=4)
    power = cur.u32("power")
    ceremony_power = cur.u32("ceremonyPower")
    if not 1 <= power <= MAX_POWER or not power <= ceremony_power <= MAX_POWER:
        raise cur.fail(at=4 + n8, reason=f"power {power} / ceremonyPower {ceremony_power} out of range (1 <= power <= ceremonyPower <= {MAX_POWER})")
    if cur.pos != len(cur.data):
        raise cur.fail(f"{len(cur.data) - cur.pos} unexpected bytes at the end of the header")
    return power, ceremony_power


def _read_contribution(cur: _Cursor, backend: CurveBackend, index: int) -> Contribution:
    label = f"contribution {index}"
    pts = [cur.point(backend, g, f"{label} {n}") for g, n in (("G1", "tauG1"), ("G2", "tauG2"), ("G1", "alphaG1"), ("G1", "betaG1"), ("G2", "betaG2"))]
    g1 = [cur.point(backend, "G1", f"{label} public key G1 #{i}") for i in range(6)]
    g2 = [cur.point(backend, "G2", f"{label} public key G2 #{i}") for i in range(3)]
    partial = cur.take(PARTIAL_SIZE, f"{label} partial hash")
    try:
        Blake2b512.from_partial_state(partial)
    except MalformedInput as exc:
        raise cur.fail(f"{label}: {exc}") from None
    next_challenge = cur.take(64, f"{label} next challenge hash")
    kind = cur.u32(f"{label} type")
    if kind not in (0, BEACON):
        raise cur.fail(f"{label}: unknown contribution type {kind}")
    length = cur.u32(f"{label} parameter length")
    end = cur.pos + length
    if end > len(cur.data):
        raise cur.fail(f"{label}: parameters run past the end of the section")
    params: dict[int, Any] = {}
    last = 0
    while cur.pos < end:
        key = cur.u8(f"{label} parameter type")
        if key <= last:
            raise cur.fail(f"{label}: parameters must be sorted and appear once")
        last = key
        if key == 1:
            raw = cur.take(cur.u8("name length"), f"{label} name")
            try:
                params[1] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise cur.fail(f"{label}: name is not UTF-8") from None
        elif key == 2:
            params[2] = cur.u8(f"{label} beacon iterations")
        elif key == 3:
            params[3] = cur.take(cur.u8("beacon hash length"), f"{label} beacon hash")
        else:
            raise cur.fail(f"{label}: unknown parameter {key}")
    if cur.pos != end:
        raise cur.fail(f"{label}: parameters overrun their declared length")
    is_beacon = kind == BEACON
    if is_beacon != (2 in params) or is_beacon != (3 in params):
        raise cur.fail(f"{label}: a beacon needs exactly its iteration count and hash, a contribution neither")
    return Contribution(
        *pts, KeyPart(g1[0], g1[1], g2[0]), KeyPart(g1[2], g1[3], g2[1]), KeyPart(g1[4], g1[5], g2[2]),
        partial, next_challenge, params.get(1, ""), params.get(3), params.get(2),
    )  # fmt: skip


def parse_ptau(data: bytes, backend: CurveBackend, *, where: str) -> Ptau:
    """Decode a ``.ptau`` file held in memory.

    Checks: the container, the header (BLS12-381, power in range), every
    section present once with exactly the expected size, no unknown section,
    the contributions section parsed to its last byte with every point on the
    curve and in the subgroup. Points of the big sections are checked by
    :func:`zkproofs.ceremony.powersoftau.verify`, which decodes them anyway.
    Raises MalformedFile naming the section and offset. O(file size).
    """
    binfile = parse_binfile(data, MAGIC, where=where)
    power, ceremony_power = _read_header(binfile)
    unknown = set(binfile.sections) - set(SECTION_NAMES)
    if unknown:
        kind = min(unknown)
        raise MalformedFile(where, f"unknown section type {kind}", section=kind, offset=binfile.offset(kind))
    sections: dict[int, bytes] = {}
    for kind in (TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1, BETA_G2):
        payload = binfile.section(kind, SECTION_NAMES[kind])
        size = enc.G1_SIZE if GROUP[kind] == "G1" else enc.G2_SIZE
        expected = section_points(power, kind) * size
        if len(payload) != expected:
            raise MalformedFile(where, f"{SECTION_NAMES[kind]}: expected {expected} bytes for power {power}, found {len(payload)}", section=kind, offset=binfile.offset(kind))
        sections[kind] = bytes(payload)
    present = [k for k in LAGRANGE.values() if binfile.has(k)]
    if present and len(present) != 4:
        raise MalformedFile(where, f"partial phase-2 preparation: sections {present} of 12-15")
    for base, kind in LAGRANGE.items() if present else ():
        payload = binfile.section(kind, SECTION_NAMES[kind])
        size = enc.G1_SIZE if GROUP[base] == "G1" else enc.G2_SIZE
        expected = lagrange_points(power, base) * size
        if len(payload) != expected:
            raise MalformedFile(where, f"{SECTION_NAMES[kind]}: expected {expected} bytes for power {power}, found {len(payload)}", section=kind, offset=binfile.offset(kind))
        sections[kind] = bytes(payload)
    cur = _Cursor(binfile.section(CONTRIBUTIONS, "contributions"), where, CONTRIBUTIONS, binfile.offset(CONTRIBUTIONS))
    count = cur.u32("contribution count")
    contributions = tuple(_read_contribution(cur, backend, i + 1) for i in range(count))
    if cur.pos != len(cur.data):
        raise cur.fail(f"{len(cur.data) - cur.pos} unexpected bytes after the last contribution")
    return Ptau(power, ceremony_power, sections, contributions, where)


def read_ptau(path: str | os.PathLike, backend: CurveBackend) -> Ptau:
    """Read and decode ``path`` (see :func:`parse_ptau`); an unreadable file is MalformedFile too."""
    return parse_ptau(read_file(path), backend, where=os.fspath(path))


# writing -------------------------------------------------------------------------------------
def _contribution_bytes(backend: CurveBackend, c: Contribution) -> bytes:
    g1 = lambda p: enc.g1_to_lem(backend, p)  # noqa: E731
    g2 = lambda p: enc.g2_to_lem(backend, p)  # noqa: E731
    out = [g1(c.tau_g1), g2(c.tau_g2), g1(c.alpha_g1), g1(c.beta_g1), g2(c.beta_g2)]
    out += [g1(p) for p in (c.tau.g1_s, c.tau.g1_sx, c.alpha.g1_s, c.alpha.g1_sx, c.beta.g1_s, c.beta.g1_sx)]
    out += [g2(p) for p in (c.tau.g2_spx, c.alpha.g2_spx, c.beta.g2_spx)]
    out += [c.partial_hash, c.next_challenge, struct.pack("<I", BEACON if c.is_beacon else 0)]
    params = bytearray()
    if c.name:
        name = c.name.encode("utf-8")
        params += bytes([1, len(name)]) + name
    if c.is_beacon:
        params += bytes([2, c.num_iterations_exp, 3, len(c.beacon_hash)]) + c.beacon_hash
    out += [struct.pack("<I", len(params)), bytes(params)]
    return b"".join(out)


def ptau_sections(ptau: Ptau, backend: CurveBackend) -> list[tuple[int, bytes]]:
    """The (type, payload) list in snarkjs' order: 1..7, then 12..15 when prepared."""
    header = struct.pack("<I", enc.N8Q) + Q.to_bytes(enc.N8Q, "little") + struct.pack("<II", ptau.power, ptau.ceremony_power)
    contributions = struct.pack("<I", len(ptau.contributions)) + b"".join(_contribution_bytes(backend, c) for c in ptau.contributions)
    out = [(HEADER, header)] + [(k, ptau.sections[k]) for k in (TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1, BETA_G2)]
    out.append((CONTRIBUTIONS, contributions))
    if ptau.prepared:
        out += [(k, ptau.sections[k]) for k in LAGRANGE.values()]
    return out


def write_ptau(path: str | os.PathLike, ptau: Ptau, backend: CurveBackend) -> None:
    """Write ``ptau`` atomically in snarkjs' layout."""
    write_binfile(path, MAGIC, VERSION, ptau_sections(ptau, backend))


def ptau_bytes(ptau: Ptau, backend: CurveBackend) -> bytes:
    """The file's bytes (what :func:`write_ptau` writes)."""
    return binfile_bytes(MAGIC, VERSION, ptau_sections(ptau, backend))


# hashing -------------------------------------------------------------------------------------
def _section_encoded(data: bytes, group: str, convert) -> bytes:
    size = enc.G1_SIZE if group == "G1" else enc.G2_SIZE
    return b"".join(convert(group, data[i : i + size]) for i in range(0, len(data), size))


def sections_u(ptau: Ptau) -> bytes:
    """Sections 2..6 re-encoded as "U" (what a challenge hash covers). O(N)."""
    return b"".join(_section_encoded(ptau.sections[k], GROUP[k], enc.lem_to_u) for k in (TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1, BETA_G2))


def sections_c(ptau: Ptau) -> bytes:
    """Sections 2..6 re-encoded as "C" (what a response hash covers). O(N)."""
    return b"".join(_section_encoded(ptau.sections[k], GROUP[k], enc.lem_to_c) for k in (TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1, BETA_G2))


def first_challenge_hash(power: int, backend: CurveBackend) -> bytes:
    """The challenge the first contributor answers: BLAKE2b-512 of the empty digest and
    the initial (all-generator) sections in "U" encoding. O(N) hashing."""
    g1 = enc.g1_to_u(backend, backend.g1_generator())
    g2 = enc.g2_to_u(backend, backend.g2_generator())
    n = 1 << power
    h = hashlib.blake2b(digest_size=64)
    h.update(hashlib.blake2b(digest_size=64).digest())
    for point, count in ((g1, 2 * n - 1), (g2, n), (g1, 2 * n), (g2, 1)):
        chunk = point * min(count, 4096)
        done = 0
        while done < count:
            take = min(count - done, 4096)
            h.update(chunk if take == 4096 else point * take)
            done += take
    return h.digest()


def next_challenge_hash(response_hash: bytes, ptau: Ptau) -> bytes:
    """BLAKE2b-512 of a response hash and the sections it produced, in "U" encoding. O(N)."""
    h = hashlib.blake2b(digest_size=64)
    h.update(response_hash)
    h.update(sections_u(ptau))
    return h.digest()


def format_hash(digest: bytes) -> str:
    """A 64-byte hash as snarkjs prints it: four lines of four 8-hex-digit words."""
    text = digest.hex()
    return "\n".join(" ".join(text[i + j : i + j + 8] for j in range(0, 32, 8)) for i in range(0, 128, 32))
