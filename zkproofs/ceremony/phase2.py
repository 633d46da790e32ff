"""Phase 2 of the BGM17 ceremony: per-circuit Groth16 keys, compatible with snarkjs (bls12381).

Bowe, Gabizon, Miers 2017 (ePrint 2017/1050), section 3 and appendix B; the file
format, hashes and checks are snarkjs' (``zkey_new.js``, ``zkey_contribute.js``,
``zkey_beacon.js``, ``zkey_verify_frominit.js``; format in :mod:`zkproofs.ceremony.zkey`).

- :func:`new_zkey`: the initial key of a circuit (delta = 1) from its R1CS and a
  prepared phase-1 transcript: every point is an MSM over the Lagrange sections.
- :func:`contribute`: multiply delta by a fresh secret from ``os.urandom`` (never
  stored, never returned) and divide the C (L) and H sections by it, with a proof
  of knowledge bound to the transcript so far.
- :func:`beacon`: the same with the secret derived from a public random value.
- :func:`verify` / :func:`verify_zkey`: the phase-1 transcript, the key's dimensions,
  alpha, beta, gamma and coefficients against the circuit, every contribution's
  transcript hash, proof of knowledge and delta update, every beacon recomputed,
  then every point section (IC, A, B1, B2, and C and H against the final delta)
  against the circuit and the powers of tau by one random linear combination:
  MSMs and one pairing product, not the key recomputed point by point.
- :func:`proving_key`: our :class:`~zkproofs.groth16.keys.ProvingKey` from a verified key.

Trust: the key is sound if at least one contributor destroyed their secret (and
phase 1 had one honest contributor too).
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import struct
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from hashlib import blake2b, sha256
from typing import Any

from zkproofs import kernels, usercache
from zkproofs.backends import get_backend
from zkproofs.backends.base import CurveBackend
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony.binfile import read_file
from zkproofs.ceremony import rng as srng
from zkproofs.ceremony import zkey as zk
from zkproofs.ceremony.powersoftau import Progress, parse_beacon, snarkjs_root_of_unity
from zkproofs.ceremony.powersoftau import _check_name, _same_ratio  # shared with phase 1
from zkproofs.ceremony.powersoftau import verify as verify_ptau
from zkproofs.ceremony.ptau import ALPHA_TAU_G1, BETA_G2, BETA_TAU_G1, LAGRANGE, TAU_G1, TAU_G2, Ptau, parse_ptau
from zkproofs.circuit import Circuit
from zkproofs.errors import CeremonyError, CircuitError
from zkproofs.field import R
from zkproofs.groth16.keys import Ceremony, CircuitId, Provenance, ProvingKey, Query, SingleParty, VerifyingKey
from zkproofs.groth16.qap import domain_for, evaluate_at, h_query_at
from zkproofs.r1cs import R1CS

RLC_BITS = 128


def _tick(progress: Progress | None, label: str, done: int, total: int) -> None:
    if progress is not None:
        progress(label, done, total)


def _u32be(n: int) -> bytes:
    return n.to_bytes(4, "big")


# the initial key ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Initial:
    """The circuit-determined part of a key (what no contribution may change)."""

    n_vars: int
    n_public: int
    domain_size: int
    alpha_g1: Any
    beta_g1: Any
    beta_g2: Any
    sections: dict[int, bytes]  # IC, coefficients, A, B1, B2, C and H before any contribution
    cs_hash: bytes


def _coefficients(r1cs: R1CS) -> bytes:
    """Section 4: the A and B entries in snarkjs' order (per constraint, A then B, terms by
    signal as our ``.r1cs`` export writes them; then A's input-consistency rows), each
    (matrix, constraint, signal) as u32 little-endian and the value as 32 bytes of
    v R^2 mod r (snarkjs' doubled Montgomery form). O(nnz); each distinct value is encoded
    once (most are 1, -1 or a power of two)."""
    head = _ENTRY_HEAD.pack
    encoded: dict[int, bytes] = {}
    parts = []
    for c, (a, b) in enumerate(zip(r1cs.a, r1cs.b)):
        for matrix, row in ((0, a), (1, b)):
            for var in sorted(row):
                v = row[var]
                value = encoded.get(v)
                if value is None:
                    value = encoded[v] = (v * zk.MONT_R2 % R).to_bytes(32, "little")
                parts.append(head(matrix, c, var))
                parts.append(value)
    n = r1cs.num_constraints
    one = (zk.MONT_R2 % R).to_bytes(32, "little")
    for k in range(r1cs.num_public + 1):
        parts.append(head(0, n + k, k))
        parts.append(one)
    return (len(parts) // 2).to_bytes(4, "little") + b"".join(parts)


_ENTRY_HEAD = struct.Struct("<III")
_NO_COEFFICIENTS = (0).to_bytes(4, "little")


def without_coefficients(zkey: zk.Zkey) -> zk.Zkey:
    """``zkey`` with an empty coefficients section (count 0): the form in which keys are
    bundled with the package, since the section is the circuit's R1CS in snarkjs' layout
    (44 bytes per A and B entry, about half of a Poseidon-heavy key) and the circuit code
    gives it back (:func:`with_coefficients`). Such a key fails :func:`verify` until restored."""
    return replace(zkey, sections=zkey.sections | {zk.COEFFS: _NO_COEFFICIENTS})


def with_coefficients(zkey: zk.Zkey, r1cs: R1CS) -> zk.Zkey:
    """``zkey`` with the coefficients section computed from ``r1cs`` (O(nnz)); :func:`verify`
    then checks the rest of the key against the same circuit."""
    return replace(zkey, sections=zkey.sections | {zk.COEFFS: _coefficients(r1cs)})


def _columns(r1cs: R1CS) -> tuple[list[list[tuple[int, int]]], ...]:
    """Per variable, its (row, coefficient) entries in A (with the input-consistency rows), B and C."""
    m = r1cs.num_variables
    cols: tuple[list[list[tuple[int, int]]], ...] = tuple([[] for _ in range(m)] for _ in range(3))
    for matrix, rows in zip(cols, (r1cs.a, r1cs.b, r1cs.c)):
        for c, row in enumerate(rows):
            for var, coeff in row.items():
                matrix[var].append((c, coeff))
    n = r1cs.num_constraints
    for k in range(r1cs.num_public + 1):
        cols[0][k].append((n + k, 1))
    return cols


_SMALL = 1 << 64
_MSM_FROM = 16  # measured: a native MSM call costs about as much as 16-20 full scalar multiplications


def _lincomb(be: CurveBackend, group: str):
    """sum c_i P_i for the few terms of one R1CS column. Most coefficients are small (1,
    powers of two) or small negatives (r - c): those cost a short double-and-add each
    (microseconds), where one native MSM call costs milliseconds of fixed overhead; the
    rest are multiplied one by one, or by one MSM when there are many."""
    mul, add, neg, msm = (be.g1_mul, be.g1_add, be.g1_neg, be.g1_msm) if group == "G1" else (be.g2_mul, be.g2_add, be.g2_neg, be.g2_msm)
    identity = be.g1_identity() if group == "G1" else be.g2_identity()

    def combine(terms: list[tuple[Any, int]]) -> Any:
        acc, big_p, big_c = identity, [], []
        for p, c in terms:
            if c < _SMALL:
                acc = add(acc, mul(p, c))
            elif R - c < _SMALL:
                acc = add(acc, mul(neg(p), R - c))
            else:
                big_p.append(p)
                big_c.append(c)
        if len(big_p) > _MSM_FROM:
            return add(acc, msm(big_p, big_c))
        for p, c in zip(big_p, big_c):
            acc = add(acc, mul(p, c))
        return acc

    return combine


def _initial(r1cs: R1CS, ptau: Ptau, be: CurveBackend, progress: Progress | None) -> _Initial:
    """Compute the initial key from the circuit and the phase-1 Lagrange sections.

    Cost: decoding 4N + 2N + 2N - 1 phase-1 points (N the QAP domain size), then one MSM
    per variable and section over that variable's nonzero entries (O(nnz) terms in all;
    from :data:`PARALLEL_MIN` on, runs of variables in worker processes), N - 1
    point subtractions and the BLAKE2b circuit hash over every point.
    """
    n_size = domain_for(r1cs).size
    power = n_size.bit_length() - 1
    if not ptau.prepared:
        raise CeremonyError("phase 1", "the powers of tau are not prepared (no Lagrange sections): run `ceremony ptau prepare`")
    if power > ptau.power:
        raise CeremonyError("phase 1", f"the circuit needs 2^{power} powers of tau, the transcript has 2^{ptau.power}")
    m, l = r1cs.num_variables, r1cs.num_public
    _tick(progress, "reading powers of tau", 0, 2)
    # level p of a Lagrange section starts at point 2^p - 1 and holds 2^p points
    size = {TAU_G1: enc.G1_SIZE, TAU_G2: enc.G2_SIZE, ALPHA_TAU_G1: enc.G1_SIZE, BETA_TAU_G1: enc.G1_SIZE}
    levels = tuple(ptau.sections[LAGRANGE[k]][(n_size - 1) * size[k] : (2 * n_size - 1) * size[k]] for k in (TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1))
    h_points = ptau.points(be, LAGRANGE[TAU_G1], check=False, start=2 * n_size - 1, count=2 * n_size)[1::2]
    tau_powers = ptau.points(be, TAU_G1, check=False, count=2 * n_size - 1)
    _tick(progress, "reading powers of tau", 2, 2)
    h_monomial = [be.g1_add(tau_powers[i + n_size], be.g1_neg(tau_powers[i])) for i in range(n_size - 1)]
    alpha1 = ptau.points(be, ALPHA_TAU_G1, check=False, count=1)[0]
    beta1 = ptau.points(be, BETA_TAU_G1, check=False, count=1)[0]
    beta2 = ptau.points(be, BETA_G2, check=False, count=1)[0]

    columns = _columns(r1cs)
    workers = min(os.cpu_count() or 1, WORKERS)
    parts = 1 if n_size < PARALLEL_MIN or workers < 2 else 2 * workers
    bounds = [m * i // parts for i in range(parts + 1)]
    tasks = [tuple(col[lo:hi] for col in columns) for lo, hi in zip(bounds, bounds[1:])]
    _tick(progress, "computing the key", 0, parts)
    if parts == 1:
        results = [_key_columns_lem(be.name, levels, tasks[0])]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_key_columns_lem, be.name, levels, task) for task in tasks]
            results = []
            for i, future in enumerate(futures):
                results.append(future.result())
                _tick(progress, "computing the key", i + 1, parts)
    _tick(progress, "computing the key", parts, parts)
    a, b1, b2, k = (b"".join(r[i] for r in results) for i in range(4))
    h_lem, hm_lem = enc.points_to_lem(be, "G1", h_points), enc.points_to_lem(be, "G1", h_monomial)
    return _assemble(r1cs, be, (alpha1, beta1, beta2), k, a, b1, b2, h_lem, hm_lem, k[(l + 1) * enc.G1_SIZE :], _coefficients(r1cs))


def _key_columns_lem(backend: str, levels: tuple[bytes, ...], columns: tuple[list, list, list]) -> tuple[bytes, bytes, bytes, bytes]:
    """A, B1, B2 and K = beta A + alpha B + C at tau, as LEM bytes, for a run of variables given
    their R1CS columns and the Lagrange points L_c(tau) (tau G1, tau G2, alpha tau G1, beta tau G1
    levels, LEM bytes). Run in worker processes for large circuits. O(nnz) MSM terms."""
    be = get_backend(backend)
    tau1, tau2, alpha_tau, beta_tau = (
        enc.points_from_lem(be, group, data, len(data) // (enc.G1_SIZE if group == "G1" else enc.G2_SIZE), where="powers of tau", section=0, check=False)
        for group, data in zip(("G1", "G2", "G1", "G1"), levels)
    )  # fmt: skip
    g1_sum, g2_sum = _lincomb(be, "G1"), _lincomb(be, "G2")
    a, b1, b2, k = [], [], [], []
    for col_a, col_b, col_c in zip(*columns):
        a.append(g1_sum([(tau1[c], v) for c, v in col_a]))
        b1.append(g1_sum([(tau1[c], v) for c, v in col_b]))
        b2.append(g2_sum([(tau2[c], v) for c, v in col_b]))
        k.append(g1_sum([(beta_tau[c], v) for c, v in col_a] + [(alpha_tau[c], v) for c, v in col_b] + [(tau1[c], v) for c, v in col_c]))
    return enc.points_to_lem(be, "G1", a), enc.points_to_lem(be, "G1", b1), enc.points_to_lem(be, "G2", b2), enc.points_to_lem(be, "G1", k)


def _assemble(r1cs: R1CS, be: CurveBackend, alpha_beta: tuple, k: bytes, a: bytes, b1: bytes, b2: bytes,
              h_points: bytes, h_monomial: bytes, c_points: bytes, coefficients: bytes) -> _Initial:  # fmt: skip
    """Encode the sections and compute snarkjs' circuit hash (``zkey_new.js``): BLAKE2b-512 of
    the header points, then each point section, its length first (u32 big-endian), with H
    in the monomial basis [tau^i Z(tau)] (i < N - 1) and C before any division by delta.
    The point sections come as LEM bytes (``k``: K = beta A + alpha B + C at tau for every
    variable, its first l + 1 points the IC section); ``c_points`` is what goes in the C
    section (``k``'s private part, or already divided); ``coefficients`` the section
    :func:`_coefficients` gives (or the empty one). O(m + N) byte conversions."""
    alpha1, beta1, beta2 = alpha_beta
    l = r1cs.num_public
    ic = k[: (l + 1) * enc.G1_SIZE]
    h = blake2b(digest_size=64)
    g1, g2 = be.g1_generator(), be.g2_generator()
    h.update(enc.g1_to_u(be, alpha1) + enc.g1_to_u(be, beta1))
    h.update(enc.g2_to_u(be, beta2) + enc.g2_to_u(be, g2) + enc.g1_to_u(be, g1) + enc.g2_to_u(be, g2))
    for data, group in ((ic, "G1"), (h_monomial, "G1"), (k[(l + 1) * enc.G1_SIZE :], "G1"), (a, "G1"), (b1, "G1"), (b2, "G2")):
        size = enc.G1_SIZE if group == "G1" else enc.G2_SIZE
        h.update(_u32be(len(data) // size) + enc.points_lem_to_u(group, data))
    sections = {
        zk.IC: ic,
        zk.COEFFS: coefficients,
        zk.POINTS_A: a,
        zk.POINTS_B1: b1,
        zk.POINTS_B2: b2,
        zk.POINTS_C: c_points,
        zk.POINTS_H: h_points,
    }
    return _Initial(r1cs.num_variables, l, domain_for(r1cs).size, alpha1, beta1, beta2, sections, h.digest())


def new_zkey(r1cs: R1CS, ptau: Ptau, backend: CurveBackend | None = None, *, progress: Progress | None = None) -> zk.Zkey:
    """The initial ``.zkey`` of ``r1cs`` (no contribution yet: delta = 1, gamma = 1), as
    ``snarkjs zkey new``. Raises CeremonyError("phase 1", ...) if ``ptau`` is not prepared or
    too small. Cost: see :func:`_initial` (O(nnz) MSM terms plus O(N) point decodings)."""
    be = backend or get_backend()
    init = _initial(r1cs, ptau, be, progress)
    return zk.Zkey(
        init.n_vars, init.n_public, init.domain_size, init.alpha_g1, init.beta_g1, init.beta_g2,
        be.g2_generator(), be.g1_generator(), be.g2_generator(), dict(init.sections), init.cs_hash, (),
    )  # fmt: skip


# contributions -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ContributionResult:
    """What a contributor publishes: their name and contribution hash (BLAKE2b-512 of their public key)."""

    zkey: zk.Zkey
    name: str
    contribution_hash: bytes


PARALLEL_MIN = 8192
"""From this many C and H points (a contribution) or this domain size (``key new``) on,
the work runs in worker processes (one per core, at most :data:`WORKERS`): it is
GIL-bound Python over native point operations, and a contribution is nearly all one
scalar multiplication per point (about 0.2 ms each with arkworks, whose bindings offer
no batched or endomorphism-accelerated multiplication by one scalar). Below it,
process start-up (about half a second) would cost more than it saves."""
WORKERS = 4


def _scale_lem(backend: str, data: bytes, k: int) -> bytes:
    """Every G1 point of a LEM payload times k, as LEM bytes (also run in worker processes,
    which get the secret through a pipe; nothing is written). O(count) scalar multiplications."""
    be = get_backend(backend)
    points = enc.points_from_lem(be, "G1", data, len(data) // enc.G1_SIZE, where="key section", section=0, check=False)
    return enc.points_to_lem(be, "G1", [be.g1_mul(p, k) for p in points])


def _scale(be: CurveBackend, zkey: zk.Zkey, k: int, progress: Progress | None) -> dict[int, bytes]:
    """The C and H sections times k: O(m + N) scalar multiplications, split across worker
    processes from :data:`PARALLEL_MIN` points on (chunks on point boundaries)."""
    kinds = (zk.POINTS_C, zk.POINTS_H)
    total = sum(len(zkey.sections[kind]) for kind in kinds) // enc.G1_SIZE
    workers = min(os.cpu_count() or 1, WORKERS)
    parts = 1 if total < PARALLEL_MIN or workers < 2 else workers
    chunks = []
    for kind in kinds:
        data, count = zkey.sections[kind], len(zkey.sections[kind]) // enc.G1_SIZE
        bounds = [count * i // parts * enc.G1_SIZE for i in range(parts + 1)]
        chunks += [(kind, data[lo:hi]) for lo, hi in zip(bounds, bounds[1:])]
    _tick(progress, "scaling C and H", 0, len(chunks))
    if parts == 1:
        done = []
        for i, (_, chunk) in enumerate(chunks):
            done.append(_scale_lem(be.name, chunk, k))
            _tick(progress, "scaling C and H", i + 1, len(chunks))
    else:
        with ProcessPoolExecutor(max_workers=parts, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_scale_lem, be.name, chunk, k) for _, chunk in chunks]
            done = []
            for i, future in enumerate(futures):
                done.append(future.result())
                _tick(progress, "scaling C and H", i + 1, len(chunks))
    return {kind: b"".join(out for (c, _), out in zip(chunks, done) if c == kind) for kind in kinds}


def _contribution(zkey: zk.Zkey, be: CurveBackend, x: int, g1_s: Any, name: str, beacon: tuple[bytes, int] | None) -> zk.DeltaContribution:
    """The section-10 record of multiplying delta by x: transcript hash, proof of knowledge
    (s, s*x, s'*x with s' hashed from the transcript) and the new delta1."""
    h = blake2b(digest_size=64)
    h.update(zkey.cs_hash)
    for c in zkey.contributions:
        h.update(c.pubkey_u(be))
    g1_sx = be.g1_mul(g1_s, x)
    h.update(enc.g1_to_u(be, g1_s) + enc.g1_to_u(be, g1_sx))
    transcript = h.digest()
    g2_spx = be.g2_mul(srng.hash_to_g2(be, transcript), x)
    return zk.DeltaContribution(
        be.g1_mul(zkey.delta_g1, x), g1_s, g1_sx, g2_spx, transcript, name,
        beacon[0] if beacon else None, beacon[1] if beacon else None,
    )  # fmt: skip


def _apply(zkey: zk.Zkey, be: CurveBackend, x: int, g1_s: Any, name: str, beacon: tuple[bytes, int] | None, progress: Progress | None) -> ContributionResult:
    contribution = _contribution(zkey, be, x, g1_s, name, beacon)
    x_inv = pow(x, -1, R)
    sections = dict(zkey.sections) | _scale(be, zkey, x_inv, progress)
    new = replace(
        zkey, delta_g1=contribution.delta_after, delta_g2=be.g2_mul(zkey.delta_g2, x), sections=sections,
        contributions=zkey.contributions + (contribution,),
    )  # fmt: skip
    return ContributionResult(new, name, contribution.contribution_hash(be))


def contribute(zkey: zk.Zkey, name: str, backend: CurveBackend | None = None, *, progress: Progress | None = None) -> ContributionResult:
    """Add a contribution with a fresh secret delta from the OS (``secrets``), never stored.

    Cost: one scalar multiplication per point of the C and H sections (O(m + N); in
    worker processes for large keys, see :data:`PARALLEL_MIN`) and one hash-to-G2.
    Raises MalformedInput for a name over 64 characters.
    """
    _check_name(name)
    be = backend or get_backend()
    x = secrets.randbelow(R - 1) + 1
    g1_s = be.g1_mul(be.g1_generator(), secrets.randbelow(R - 1) + 1)
    return _apply(zkey, be, x, g1_s, name, None, progress)


def beacon_key(be: CurveBackend, beacon_hash: bytes, num_iterations_exp: int) -> tuple[int, Any]:
    """The secret and G1 point snarkjs derives from a beacon: O(2^n) SHA-256 (``zkey_beacon.js``)."""
    stream = srng.beacon_rng(beacon_hash, num_iterations_exp)
    x = srng.fr_from_rng(stream)
    return x, srng.g1_from_rng(be, stream)


def beacon(zkey: zk.Zkey, name: str, beacon_hex: str, num_iterations_exp: int, backend: CurveBackend | None = None, *, progress: Progress | None = None) -> ContributionResult:
    """Add the final contribution from a public random value (hex, 1..255 bytes) hashed
    2^num_iterations_exp times with SHA-256 (10..63), so anyone can recompute it."""
    _check_name(name)
    value = parse_beacon(beacon_hex, num_iterations_exp)
    be = backend or get_backend()
    x, g1_s = beacon_key(be, value, num_iterations_exp)
    return _apply(zkey, be, x, g1_s, name, (value, num_iterations_exp), progress)


# single-party setup ---------------------------------------------------------------------------
def _nonzero_scalar() -> int:
    return secrets.randbelow(R - 1) + 1


def _fixed_base_g2(be: CurveBackend, scalars: list[int]) -> bytes:
    """[k]G2 for each scalar, as LEM bytes: a table for this batch, then the products
    (:func:`zkproofs.kernels.fixed_base_mul`; the native kernel runs without the GIL)."""
    table = kernels.fixed_base_table("G2", enc.g2_to_lem(be, be.g2_generator()), len(scalars))
    return kernels.fixed_base_mul(table, scalars)


def single_party_zkey(r1cs: R1CS, name: str, backend: CurveBackend | None = None, *, coefficients: bool = True) -> zk.Zkey:
    """A key made by one party: a one-contribution phase 2 on a phase 1 it generated itself.

    The party draws tau, alpha, beta (its phase 1) and delta (its phase-2 contribution)
    from ``secrets``; they live only in this function. Knowing tau, it computes the
    initial key's points as fixed-base multiples of the generators instead of MSMs over
    a ``.ptau`` (the same points, H in the exact Lagrange basis of the 2N-th roots), then
    records its contribution exactly as :func:`contribute` does, so the result is a
    ``.zkey`` whose contribution :func:`verify` would check. Whoever runs it can forge
    proofs. Cost: O(N + nnz) field operations and about 4m + 2N fixed-base G1 and m G2
    multiplications (m variables, N domain size) by the compiled fixed-base kernel on
    both cores, which returns the sections' bytes directly. ``coefficients=False`` leaves
    the coefficients section empty (the form of :func:`without_coefficients`), as a proving
    key never reads it.
    """
    be = backend or get_backend()
    domain = domain_for(r1cs)
    n_size, m, l = domain.size, r1cs.num_variables, r1cs.num_public
    while True:
        tau = _nonzero_scalar()
        if pow(tau, 2 * n_size, R) != 1:  # not a 2N-th root of unity
            break
    alpha, beta, delta = _nonzero_scalar(), _nonzero_scalar(), _nonzero_scalar()
    delta_inv = pow(delta, -1, R)
    a_tau, b_tau, c_tau = evaluate_at(r1cs, domain, tau)
    g1_count = 2 + 4 * m - l - 1 + 2 * n_size - 1  # alpha, beta, K, A, B1, C, H, H monomial
    with ThreadPoolExecutor(max_workers=4) as pool:
        # The compiled kernel runs without the GIL, so the two cores multiply while this
        # thread prepares: the G1 table and the whole G2 batch start now, the G1 batch (two
        # halves sharing the table) once its scalars are ready; meanwhile this thread also
        # computes the circuit's digest (cached on r1cs; keys record it) and the
        # coefficients section, both O(nnz) Python.
        g1_table = pool.submit(kernels.fixed_base_table, "G1", enc.g1_to_lem(be, be.g1_generator()), g1_count)
        g2_job = pool.submit(_fixed_base_g2, be, [beta] + b_tau)
        k = [(beta * a + alpha * b + c) % R for a, b, c in zip(a_tau, b_tau, c_tau)]
        h_lagrange = h_query_at(domain, tau)
        z = domain.vanishing_at(tau)
        h_monomial = [z] * (n_size - 1)  # z tau^i, i < N - 1
        for i in range(1, n_size - 1):
            h_monomial[i] = h_monomial[i - 1] * tau % R
        c_div = [x * delta_inv % R for x in k[l + 1 :]]
        h_div = [x * delta_inv % R for x in h_lagrange]
        g1_scalars = [alpha, beta] + k + a_tau + b_tau + c_div + h_div + h_monomial
        half = len(g1_scalars) // 2
        g1_jobs = [pool.submit(lambda part: kernels.fixed_base_mul(g1_table.result(), part), part)
                   for part in (g1_scalars[:half], g1_scalars[half:])]  # fmt: skip
        r1cs.digest()
        coeffs = _coefficients(r1cs) if coefficients else _NO_COEFFICIENTS
        g1 = b"".join(job.result() for job in g1_jobs)
        g2 = g2_job.result()
    cut = [x * enc.G1_SIZE for x in (2, 2 + m, 2 + 2 * m, 2 + 3 * m, 2 + 4 * m - l - 1, 2 + 4 * m - l - 1 + n_size)]
    alpha1, beta1 = (enc.g1_from_lem(be, g1[i * enc.G1_SIZE : (i + 1) * enc.G1_SIZE], check=False) for i in range(2))
    beta2 = enc.g2_from_lem(be, g2[: enc.G2_SIZE], check=False)
    k_lem, a_lem, b1_lem = g1[cut[0] : cut[1]], g1[cut[1] : cut[2]], g1[cut[2] : cut[3]]
    c_lem, h_lem, hm_lem = g1[cut[3] : cut[4]], g1[cut[4] : cut[5]], g1[cut[5] :]
    init = _assemble(r1cs, be, (alpha1, beta1, beta2), k_lem, a_lem, b1_lem, g2[enc.G2_SIZE :], h_lem, hm_lem, c_lem, coeffs)
    initial = zk.Zkey(
        m, l, n_size, init.alpha_g1, init.beta_g1, init.beta_g2, be.g2_generator(), be.g1_generator(), be.g2_generator(),
        init.sections, init.cs_hash, (),
    )  # fmt: skip
    g1_s = be.g1_mul(be.g1_generator(), _nonzero_scalar())
    contribution = _contribution(initial, be, delta, g1_s, name[: zk.MAX_NAME_CHARS], None)
    return replace(initial, delta_g1=contribution.delta_after, delta_g2=be.g2_mul(be.g2_generator(), delta), contributions=(contribution,))


def single_party_setup(circuit: Circuit, *, party: str, backend: str | None = None) -> ProvingKey:
    """Our proving key (with ``pk.vk``) from :func:`single_party_zkey`; the key's provenance is
    "single-party setup by ``party``", the party that must be trusted not to keep the trapdoor."""
    be = get_backend(backend)
    zkey = single_party_zkey(circuit.shape, party, be, coefficients=False)
    return _proving_key(zkey, _verifying_key(zkey, circuit, be, SingleParty(party)), be)


# verification ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BeaconInfo:
    """The public value a transcript's final contribution was derived from."""

    beacon_hash: str
    num_iterations_exp: int


@dataclass(frozen=True)
class Phase2Report:
    """A ``.zkey`` verified against its circuit and phase-1 transcript.

    ``transcript_hash``: hex BLAKE2b-512 of the circuit hash and every contribution's
    public key (:meth:`Zkey.transcript_hash`), the key's ceremony identity;
    ``circuit_hash``: snarkjs' circuit hash (hex); ``contributions``: (name,
    contribution hash hex) in order, as each contributor published; ``beacon``: set
    when the final contribution is a beacon; ``vk``: the verification key.
    """

    transcript_hash: str
    circuit_hash: str
    contributions: tuple[tuple[str, str], ...]
    beacon: BeaconInfo | None
    vk: VerifyingKey


def _check_contributions(zkey: zk.Zkey, be: CurveBackend, min_contributions: int) -> None:
    if len(zkey.contributions) < min_contributions:
        raise CeremonyError("contributions", f"{len(zkey.contributions)} contributions, at least {min_contributions} required")
    h = blake2b(digest_size=64)
    h.update(zkey.cs_hash)
    delta = be.g1_generator()
    for i, c in enumerate(zkey.contributions, 1):
        step = f"contribution {i}" + (f" ({c.name})" if c.name else "")
        ours = h.copy()
        ours.update(enc.g1_to_u(be, c.g1_s) + enc.g1_to_u(be, c.g1_sx))
        if ours.digest() != c.transcript:
            raise CeremonyError(f"{step}: transcript", "the transcript hash does not follow the circuit hash and the previous contributions")
        g2_sp = srng.hash_to_g2(be, c.transcript)
        if not _same_ratio(be, c.g1_s, c.g1_sx, g2_sp, c.g2_spx):
            raise CeremonyError(f"{step}: proof of knowledge", "s*x in G1 and s'*x in G2 are not the same multiple")
        if not _same_ratio(be, delta, c.delta_after, g2_sp, c.g2_spx):
            raise CeremonyError(f"{step}: delta update", "the new delta is not the previous one times the proven secret")
        if c.is_beacon:
            x, g1_s = beacon_key(be, c.beacon_hash, c.num_iterations_exp)
            if not (be.g1_eq(g1_s, c.g1_s) and be.g1_eq(be.g1_mul(g1_s, x), c.g1_sx)):
                raise CeremonyError(f"{step}: beacon", "the key does not match the one derived from the beacon value")
        h.update(c.pubkey_u(be))
        delta = c.delta_after
    if not be.g1_eq(zkey.delta_g1, delta):
        raise CeremonyError("delta", "delta1 in the header is not the last contribution's delta")
    if not _same_ratio(be, be.g1_generator(), zkey.delta_g1, be.g2_generator(), zkey.delta_g2):
        raise CeremonyError("delta", "delta2 does not match delta1")


@dataclass(frozen=True)
class _Claim:
    """One section of a key, claimed to be fixed linear combinations of phase-1 points.

    ``points[j]`` (times delta when ``over_delta``) must equal sum_c M[c][j] P_c, where
    P ranges over the Lagrange-basis points of phase 1 named by ``weights``' keys
    ("beta", "alpha", "tau": beta, alpha and 1 times L_c(tau) G1 on the domain of size
    N; "tau2N": L'_c(tau) G1 on the domain of size 2N; "tauG2": L_c(tau) G2).
    ``rho`` are the point's random 128-bit scalars and ``weights[base][c]`` = sum_j
    M[c][j] rho_j: then sum_j rho_j points[j] must equal sum_c weights[base][c] P_c.
    """

    step: str
    group: str
    over_delta: bool
    points: list[Any]
    rho: list[int]
    weights: dict[str, list[int]]


def _rho(count: int) -> list[int]:
    """Fresh random 128-bit scalars from the OS (``secrets``) for a random linear combination."""
    return [secrets.randbits(RLC_BITS) for _ in range(count)]


def _weights(rows: tuple[dict[int, int], ...], rho: list[int], size: int) -> list[int]:
    """w_c = sum_j M[c][j] rho_j for each row c of M (``rows``), zero-padded to ``size``. O(nnz)."""
    w = [sum(coeff * rho[var] for var, coeff in row.items()) % R for row in rows]
    return w + [0] * (size - len(w))


def _claims(zkey: zk.Zkey, r1cs: R1CS, be: CurveBackend) -> list[_Claim]:
    """The claims every section of ``zkey`` makes (IC, A, B1, B2, C, H), with fresh randomness.

    Section points are decoded with curve and subgroup checks (a point with a
    small-order component could otherwise pass a random linear combination with
    probability 1/3). O(m + N) decodings and O(nnz) scalar operations.
    """
    m, l, n_size = r1cs.num_variables, r1cs.num_public, zkey.domain_size
    n = r1cs.num_constraints
    rho_k, rho_a, rho_b1, rho_b2 = _rho(m), _rho(m), _rho(m), _rho(m)
    rho_ic = rho_k[: l + 1] + [0] * (m - l - 1)
    rho_c = [0] * (l + 1) + rho_k[l + 1 :]

    def a_weights(rho: list[int]) -> list[int]:  # A with snarkjs' input-consistency rows n + k
        w = _weights(r1cs.a, rho, n_size)
        for k in range(l + 1):
            w[n + k] = (w[n + k] + rho[k]) % R
        return w

    def k_weights(rho: list[int]) -> dict[str, list[int]]:  # beta A + alpha B + C
        return {"beta": a_weights(rho), "alpha": _weights(r1cs.b, rho, n_size), "tau": _weights(r1cs.c, rho, n_size)}

    h_rho = _rho(n_size)
    h_weights = [0] * (2 * n_size)
    h_weights[1::2] = h_rho  # H_i = L'_{2i+1}(tau) / delta on the domain of size 2N
    pts = lambda kind: zkey.points(be, kind, check=True)  # noqa: E731
    return [
        _Claim("IC", "G1", False, pts(zk.IC), rho_ic[: l + 1], k_weights(rho_ic)),
        _Claim("A", "G1", False, pts(zk.POINTS_A), rho_a, {"tau": a_weights(rho_a)}),
        _Claim("B1", "G1", False, pts(zk.POINTS_B1), rho_b1, {"tau": _weights(r1cs.b, rho_b1, n_size)}),
        _Claim("B2", "G2", False, pts(zk.POINTS_B2), rho_b2, {"tauG2": _weights(r1cs.b, rho_b2, n_size)}),
        _Claim("C section", "G1", True, pts(zk.POINTS_C), rho_c[l + 1 :], k_weights(rho_c)),
        _Claim("H section", "G1", True, pts(zk.POINTS_H), h_rho, {"tau2N": h_weights}),
    ]


class _PhaseOne:
    """The phase-1 points a key is checked against, in the monomial basis (tau^i G1 for
    i < 2N - 1, alpha and beta tau^i G1 and tau^i G2 for i < N): a claim's Lagrange
    weights w become monomial coefficients by one inverse NTT with snarkjs' root of
    unity (sum_c w_c L_c(tau) = sum_i IFFT(w)_i tau^i), so neither ``prepare``'s Lagrange
    sections nor their correctness are needed."""

    def __init__(self, ptau: Ptau, n_size: int, be: CurveBackend):
        # decoded without subgroup checks: phase-1 verification checked every point
        self.n = n_size
        # tau^i G1 for i < 2N; at the top level (N = 2^power) the transcript stops at
        # tau^(2N-2) and snarkjs' Lagrange form counts tau^(2N-1) G1 as zero
        self.tau = ptau.points(be, TAU_G1, check=False, count=min(2 * n_size, (2 << ptau.power) - 1))
        self.alpha = ptau.points(be, ALPHA_TAU_G1, check=False, count=n_size)
        self.beta = ptau.points(be, BETA_TAU_G1, check=False, count=n_size)
        self.tau_g2 = ptau.points(be, TAU_G2, check=False, count=n_size)

    def _coefficients(self, w: list[int]) -> list[int]:
        size = len(w)
        return kernels.ntt(w, size, pow(snarkjs_root_of_unity(size), -1, R), post_factor=pow(size, -1, R))

    def g1_terms(self, weights: dict[str, list[int]]) -> tuple[list[Any], list[int]]:
        """(points, scalars) whose MSM is sum over G1 bases of sum_c w_c P_c."""
        points, scalars = [], []
        tau = [0] * (2 * self.n)
        for base, w in weights.items():
            if base in ("beta", "alpha"):
                points += self.beta if base == "beta" else self.alpha
                scalars += self._coefficients(w)
            elif base in ("tau", "tau2N"):
                for i, c in enumerate(self._coefficients(w)):
                    tau[i] += c
        return points + self.tau, scalars + [c % R for c in tau[: len(self.tau)]]

    def g2_terms(self, weights: dict[str, list[int]]) -> tuple[list[Any], list[int]]:
        """(points, scalars) whose MSM is sum_c w_c L_c(tau) G2."""
        return self.tau_g2, self._coefficients(weights["tauG2"])


def _sum_weights(claims: list[_Claim]) -> dict[str, list[int]]:
    total: dict[str, list[int]] = {}
    for claim in claims:
        for base, w in claim.weights.items():
            acc = total.setdefault(base, [0] * len(w))
            for i, x in enumerate(w):
                if x:
                    acc[i] += x
    return {base: [x % R for x in w] for base, w in total.items()}


def _holds(be: CurveBackend, claims: list[_Claim], phase1: _PhaseOne, delta_g2: Any) -> bool:
    """One pairing-product check of all ``claims`` at once: the small-exponents batch test
    (Bellare, Garay, Rabin 1998) that BGM17's same-ratio checks and snarkjs' ``zkey
    verify`` apply to the C and H sections, here to every section, folded into one equation:

        e(sum_d rho S, delta2) e(sum_g rho S - sum_c w_c P_c, G2) e(G1, sum_2 rho S - sum_c w_c P2_c) = 1

    over the claims with delta (d: C, H), without (g: IC, A, B1) and in G2 (2: B2); P
    the phase-1 G1 points of all G1 claims' weights. Each rho_j multiplies exactly one
    claimed point equation, so a false claim passes with probability at most 2^-128.
    Cost: MSMs of about 3m + N (key) and 4N (phase 1) G1 points and m + N G2 points,
    one 3-pairing product.
    """
    g1, g2 = be.g1_generator(), be.g2_generator()
    over = [c for c in claims if c.over_delta]
    g1_plain = [c for c in claims if c.group == "G1" and not c.over_delta]
    g2_plain = [c for c in claims if c.group == "G2"]

    def lhs(group: str, subset: list[_Claim]) -> Any:
        points = [p for c in subset for p in c.points]
        scalars = [r for c in subset for r in c.rho]
        return (be.g1_msm if group == "G1" else be.g2_msm)(points, scalars)

    p1_points, p1_scalars = phase1.g1_terms(_sum_weights(over + g1_plain))
    z = be.g1_add(lhs("G1", g1_plain), be.g1_neg(be.g1_msm(p1_points, p1_scalars)))
    pairs = [(lhs("G1", over), delta_g2)]
    if g2_plain:
        p2_points, p2_scalars = phase1.g2_terms(_sum_weights(g2_plain))
        pairs.append((g1, be.g2_add(lhs("G2", g2_plain), be.g2_neg(be.g2_msm(p2_points, p2_scalars)))))
    return be.gt_eq(be.multi_pairing(pairs), be.pairing(be.g1_neg(z), g2))


def _check_sections(zkey: zk.Zkey, r1cs: R1CS, phase1: _PhaseOne, be: CurveBackend) -> None:
    """Every point section of ``zkey`` against the circuit and phase 1 (see :func:`_holds`);
    on failure each section is checked alone to name it. Raises CeremonyError."""
    claims = _claims(zkey, r1cs, be)
    if _holds(be, claims, phase1, zkey.delta_g2):
        return
    for claim in claims:
        if not _holds(be, [claim], phase1, zkey.delta_g2):
            reason = "the points are not the circuit's divided by the final delta" if claim.over_delta else "differs from the key the circuit and the powers of tau give"
            raise CeremonyError(claim.step, reason)
    raise CeremonyError("sections", "the sections do not match the circuit and the powers of tau")


def _verifying_key(zkey: zk.Zkey, circuit: Circuit | R1CS, be: CurveBackend, provenance: Provenance) -> VerifyingKey:
    r1cs = circuit.shape if isinstance(circuit, Circuit) else circuit
    name = circuit.name if isinstance(circuit, Circuit) else "r1cs"
    params = tuple(sorted(circuit.params.items())) if isinstance(circuit, Circuit) else ()
    return VerifyingKey(
        circuit=CircuitId(name, params, r1cs.digest()),
        public_names=r1cs.public_names,
        alpha_g1=be.g1_to_bytes(zkey.alpha_g1),
        beta_g2=be.g2_to_bytes(zkey.beta_g2),
        gamma_g2=be.g2_to_bytes(zkey.gamma_g2),
        delta_g2=be.g2_to_bytes(zkey.delta_g2),
        ic=tuple(be.g1_to_bytes(p) for p in zkey.points(be, zk.IC)),
        provenance=provenance,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def verify(
    zkey: zk.Zkey, circuit: Circuit | R1CS, ptau: Ptau, backend: CurveBackend | None = None, *,
    min_contributions: int = 1, ptau_verified: bool = False, progress: Progress | None = None,
) -> Phase2Report:  # fmt: skip
    """Verify ``zkey`` against ``circuit`` and the phase-1 transcript ``ptau`` (prepared or not).

    Steps (each failure raises CeremonyError naming it): "phase 1" (the powers of
    tau transcript, unless ``ptau_verified``, which says the caller verified it),
    "circuit" (dimensions), "alpha/beta", "gamma", "coefficients" (byte for byte
    against the circuit), "contributions" (at least ``min_contributions``), per
    contribution "contribution i (name): transcript / proof of knowledge / delta
    update / beacon", "delta", then the point sections "IC", "A", "B1", "B2",
    "C section" (the circuit's (beta A + alpha B + C)(tau) divided by the final delta),
    "H section" (tau^i Z(tau) / delta in snarkjs' Lagrange form), all by one random
    linear combination (:func:`_holds`), as snarkjs' ``zkey verify`` checks C and H,
    instead of recomputing the key point by point. snarkjs' circuit hash is a label
    computed from the key before any contribution (``key new``'s whole cost): it is
    reported as recorded, not recomputed; the points themselves are what is checked.

    Cost: phase-1 verification (see :func:`zkproofs.ceremony.powersoftau.verify`), the
    key's m + N points decoded with subgroup checks, O(nnz) scalar operations, five
    inverse NTTs, MSMs of about 3m + 5N G1 and m + N G2 points, one pairing product;
    five pairings and one hash-to-G2 per contribution (plus 2^n SHA-256 per beacon).
    """
    be = backend or get_backend()
    r1cs = circuit.shape if isinstance(circuit, Circuit) else circuit
    if not ptau_verified:
        try:
            verify_ptau(ptau, be, progress=progress)
        except CeremonyError as exc:
            raise CeremonyError(f"phase 1: {exc.step}", exc.reason) from None
    n_size = domain_for(r1cs).size
    dims = (r1cs.num_variables, r1cs.num_public, n_size)
    if (zkey.n_vars, zkey.n_public, zkey.domain_size) != dims:
        raise CeremonyError(
            "circuit",
            f"the key is for nVars={zkey.n_vars} nPublic={zkey.n_public} domainSize={zkey.domain_size}, "
            f"the circuit has {dims[0]}, {dims[1]}, {dims[2]}",
        )
    if n_size > 1 << ptau.power:
        raise CeremonyError("phase 1", f"the circuit needs 2^{n_size.bit_length() - 1} powers of tau, the transcript has 2^{ptau.power}")
    _tick(progress, "reading powers of tau", 0, 1)
    phase1 = _PhaseOne(ptau, n_size, be)
    _tick(progress, "reading powers of tau", 1, 1)
    beta_g2 = ptau.points(be, BETA_G2, check=False, count=1)[0]
    if not (be.g1_eq(zkey.alpha_g1, phase1.alpha[0]) and be.g1_eq(zkey.beta_g1, phase1.beta[0]) and be.g2_eq(zkey.beta_g2, beta_g2)):
        raise CeremonyError("alpha/beta", "alpha and beta are not the phase-1 transcript's")
    if not be.g2_eq(zkey.gamma_g2, be.g2_generator()):
        raise CeremonyError("gamma", "gamma2 must be the G2 generator")
    if zkey.sections[zk.COEFFS] != _coefficients(r1cs):
        raise CeremonyError(zk.SECTION_NAMES[zk.COEFFS], "differs from the circuit's")
    _check_contributions(zkey, be, min_contributions)
    _tick(progress, "checking the sections", 0, 1)
    _check_sections(zkey, r1cs, phase1, be)
    _tick(progress, "checking the sections", 1, 1)

    transcript = zkey.transcript_hash(be).hex()
    last = zkey.contributions[-1] if zkey.contributions else None
    info = BeaconInfo(last.beacon_hash.hex(), last.num_iterations_exp) if last is not None and last.is_beacon else None
    n = len(zkey.contributions)
    vk = _verifying_key(zkey, circuit, be, Ceremony(transcript, n, info.beacon_hash if info else None))
    return Phase2Report(
        transcript_hash=transcript,
        circuit_hash=zkey.cs_hash.hex(),
        contributions=tuple((c.name, c.contribution_hash(be).hex()) for c in zkey.contributions),
        beacon=info,
        vk=vk,
    )


PHASE1_CACHE = "verified-powers-of-tau"
"""User-cache namespace (:mod:`zkproofs.usercache`): phase-1 transcripts this user verified, by content."""


def verify_zkey(
    zkey_path: str | os.PathLike, circuit_or_r1cs: Circuit | R1CS, ptau_path: str | os.PathLike, *,
    backend: str | None = None, min_contributions: int = 1, remember_phase1: bool = False, progress: Progress | None = None,
) -> Phase2Report:  # fmt: skip
    """Read and :func:`verify` a ``.zkey`` against a circuit and a ``.ptau`` file.

    ``remember_phase1``: skip the phase-1 verification if this user verified a
    ``.ptau`` of exactly these bytes before (with this code), and remember it when it
    passes, so that the keys of several circuits built on one phase 1 cost one phase-1
    verification (18 s at 2^14 on 2 cores). The key itself is always verified.

    Raises MalformedFile for a file that cannot be decoded and CeremonyError naming
    the failed step for a transcript that does not check out.
    """
    be = get_backend(backend)
    data = read_file(ptau_path)
    ptau = parse_ptau(data, be, where=os.fspath(ptau_path))
    fact = usercache.fact_key("phase-1 verified", sha256(data).hexdigest())
    verified = remember_phase1 and usercache.recall(PHASE1_CACHE, fact) is True
    if not verified:
        try:
            verify_ptau(ptau, be, progress=progress)
        except CeremonyError as exc:
            raise CeremonyError(f"phase 1: {exc.step}", exc.reason) from None
        if remember_phase1:
            usercache.remember(PHASE1_CACHE, fact, True)
    return verify(zk.read_zkey(zkey_path, be), circuit_or_r1cs, ptau, be, min_contributions=min_contributions,
                  ptau_verified=True, progress=progress)


def proving_key(zkey: zk.Zkey, report: Phase2Report, backend: CurveBackend | None = None) -> ProvingKey:
    """Our proving key from a key :func:`verify` accepted (``report``), points native to
    ``backend``. The queries are the key's section bytes, not decoded. Raises CircuitError if ``report`` is for
    another key (different transcript)."""
    be = backend or get_backend()
    if zkey.transcript_hash(be).hex() != report.transcript_hash:
        raise CircuitError("the verification report is for another key")
    return _proving_key(zkey, report.vk, be)


def _proving_key(zkey: zk.Zkey, vk: VerifyingKey, be: CurveBackend) -> ProvingKey:
    queries = {k: Query("G2" if k == zk.POINTS_B2 else "G1", bytes(zkey.sections[k]))
               for k in (zk.POINTS_A, zk.POINTS_B1, zk.POINTS_B2, zk.POINTS_C, zk.POINTS_H)}
    return ProvingKey(
        vk=vk,
        backend=be.name,
        domain_size=zkey.domain_size,
        num_variables=zkey.n_vars,
        alpha_g1=zkey.alpha_g1,
        beta_g1=zkey.beta_g1,
        beta_g2=zkey.beta_g2,
        delta_g1=zkey.delta_g1,
        delta_g2=zkey.delta_g2,
        a_query=queries[zk.POINTS_A],
        b_g1_query=queries[zk.POINTS_B1],
        b_g2_query=queries[zk.POINTS_B2],
        h_query=queries[zk.POINTS_H],
        l_query=queries[zk.POINTS_C],
    )
