"""Phase 1 of the BGM17 ceremony: powers of tau, compatible with snarkjs (bls12381).

Bowe, Gabizon, Miers 2017 (ePrint 2017/1050), section 3 and appendix B; the
transcript format and hashes are snarkjs' (:mod:`zkproofs.ceremony.ptau`).

- :func:`new`: the transcript before any contribution (every point a generator).
- :func:`contribute`: multiply in fresh secrets tau, alpha, beta drawn from
  ``os.urandom`` (never stored, never returned) with a proof of knowledge of each.
- :func:`beacon`: the same with secrets derived from a public random value
  (snarkjs' iterated SHA-256 beacon), so anyone can recompute them.
- :func:`verify`: every contribution's proofs of knowledge and chaining, every
  beacon, the consistency of all powers (random linear combinations: O(N) MSM
  work and a constant number of pairings), the final challenge hash, and the
  Lagrange sections if present.
- :func:`prepare`: the Lagrange-basis sections 12..15 phase 2 reads.

``progress(label, done, total)`` is called during long loops when given.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from zkproofs.backends import get_backend
from zkproofs.backends.base import CurveBackend
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony import rng as srng
from zkproofs.ceremony.blake2b import Blake2b512
from zkproofs.ceremony.ptau import (
    ALPHA_TAU_G1,
    BETA_G2,
    BETA_TAU_G1,
    GROUP,
    LAGRANGE,
    MAX_NAME_CHARS,
    MAX_POWER,
    SECTION_NAMES,
    TAU_G1,
    TAU_G2,
    Contribution,
    KeyPart,
    Ptau,
    first_challenge_hash,
    next_challenge_hash,
    section_points,
    sections_c,
)
from zkproofs.errors import CeremonyError, MalformedInput
from zkproofs.field import R

Progress = Callable[[str, int, int], None]
SNARKJS_NON_RESIDUE = 5
"""ffjavascript's roots of unity: omega_n = 5^((r-1)/n) (5 is the least non-residue mod r).
phase 2 and ``prepare`` must use these, not zkproofs' own domain (generator 7)."""
MIN_BEACON_EXP, MAX_BEACON_EXP = 10, 63
RLC_BITS = 128


def snarkjs_root_of_unity(n: int) -> int:
    """The primitive n-th root of unity snarkjs' FFTs use (n a power of two <= 2^32)."""
    if n <= 0 or n & (n - 1) or n > 1 << 32:
        raise ValueError("n must be a power of two <= 2^32")
    return pow(SNARKJS_NON_RESIDUE, (R - 1) // n, R)


def _tick(progress: Progress | None, label: str, done: int, total: int) -> None:
    if progress is not None:
        progress(label, done, total)


# new ---------------------------------------------------------------------------------------------
def new(power: int, backend: CurveBackend) -> Ptau:
    """The transcript before any contribution, as ``snarkjs powersoftau new bls12381 power``. O(N)."""
    if not 1 <= power <= MAX_POWER:
        raise MalformedInput(f"power must be between 1 and {MAX_POWER}, got {power}")
    g1 = enc.g1_to_lem(backend, backend.g1_generator())
    g2 = enc.g2_to_lem(backend, backend.g2_generator())
    sections = {k: (g1 if GROUP[k] == "G1" else g2) * section_points(power, k) for k in GROUP}
    return Ptau(power, power, sections)


def challenge_hash(ptau: Ptau, backend: CurveBackend) -> bytes:
    """The challenge the next contributor answers (the last contribution's next challenge)."""
    if ptau.contributions:
        return ptau.contributions[-1].next_challenge
    return first_challenge_hash(ptau.power, backend)


# contribute / beacon -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ContributionResult:
    """What a contributor publishes: their name and response hash, and the next challenge."""

    ptau: Ptau
    name: str
    response_hash: bytes
    next_challenge: bytes


def _check_name(name: str) -> None:
    if len(name) > MAX_NAME_CHARS or len(name.encode("utf-8")) > 255:
        raise MalformedInput(f"contributor name: at most {MAX_NAME_CHARS} characters")


def _scale_section(backend: CurveBackend, ptau: Ptau, kind: int, first: int, inc: int, progress: Progress | None) -> tuple[bytes, list[Any]]:
    """Point i of section ``kind`` times first * inc^i; returns the LEM bytes and the first two points."""
    group = GROUP[kind]
    mul = backend.g1_mul if group == "G1" else backend.g2_mul
    encode = enc.g1_to_lem if group == "G1" else enc.g2_to_lem
    points = ptau.points(backend, kind, check=False)
    out, head = [], []
    k = first
    label = SECTION_NAMES[kind]
    for i, p in enumerate(points):
        q = mul(p, k)
        out.append(encode(backend, q))
        if i < 2:
            head.append(q)
        k = k * inc % R
        if i % 1024 == 0:
            _tick(progress, label, i, len(points))
    _tick(progress, label, len(points), len(points))
    return b"".join(out), head


def _apply(
    ptau: Ptau,
    backend: CurveBackend,
    secrets_: tuple[int, int, int],
    g1_s: Sequence[Any],
    name: str,
    beacon: tuple[bytes, int] | None,
    progress: Progress | None,
) -> ContributionResult:
    if ptau.power != ptau.ceremony_power:
        raise CeremonyError("contribute", "this file was reduced (power < ceremonyPower); contribute to the full transcript")
    tau, alpha, beta = secrets_
    challenge = challenge_hash(ptau, backend)
    parts = []
    for personalization, (x, s) in enumerate(zip(secrets_, g1_s)):
        sx = backend.g1_mul(s, x)
        sp = srng.g2_sp(backend, personalization, challenge, s, sx)
        parts.append(KeyPart(s, sx, backend.g2_mul(sp, x)))
    sections: dict[int, bytes] = {}
    heads: dict[int, list[Any]] = {}
    for kind, first in ((TAU_G1, 1), (TAU_G2, 1), (ALPHA_TAU_G1, alpha), (BETA_TAU_G1, beta), (BETA_G2, beta)):
        sections[kind], heads[kind] = _scale_section(backend, ptau, kind, first, tau, progress)
    updated = Ptau(ptau.power, ptau.ceremony_power, sections, ptau.contributions, ptau.where)
    _tick(progress, "response hash", 0, 1)
    hasher = Blake2b512().update(challenge).update(sections_c(updated))
    partial = hasher.partial_state()
    contribution = Contribution(
        heads[TAU_G1][1], heads[TAU_G2][1], heads[ALPHA_TAU_G1][0], heads[BETA_TAU_G1][0], heads[BETA_G2][0],
        parts[0], parts[1], parts[2], partial, b"", name,
        beacon[0] if beacon else None, beacon[1] if beacon else None,
    )  # fmt: skip
    response = hasher.update(contribution.pubkey_u(backend)).digest()
    nxt = next_challenge_hash(response, updated)
    _tick(progress, "response hash", 1, 1)
    contribution = replace(contribution, next_challenge=nxt)
    final = replace(updated, contributions=ptau.contributions + (contribution,))
    return ContributionResult(final, name, response, nxt)


def _random_scalar() -> int:
    return secrets.randbelow(R - 1) + 1  # os.urandom underneath


def contribute(ptau: Ptau, name: str, backend: CurveBackend, *, progress: Progress | None = None) -> ContributionResult:
    """Add a contribution with fresh secrets from the operating system's CSPRNG.

    The secrets live only in this call's local variables. Any Lagrange sections
    are dropped (they must be prepared again). O(N) scalar multiplications
    (N = 2^power: 4N in G1 and N in G2) plus hashing the new sections.
    Raises CeremonyError for a reduced file, MalformedInput for a name over 64 characters.
    """
    _check_name(name)
    g1 = backend.g1_generator()
    return _apply(
        ptau.without_lagrange(), backend, (_random_scalar(), _random_scalar(), _random_scalar()),
        [backend.g1_mul(g1, _random_scalar()) for _ in range(3)], name, None, progress,
    )  # fmt: skip


def parse_beacon(beacon_hex: str, num_iterations_exp: int) -> bytes:
    """Validate beacon parameters as snarkjs does: 1..255 bytes of hex, exponent 10..63."""
    text = beacon_hex.removeprefix("0x")
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise MalformedInput("beacon: not an even-length hexadecimal string") from None
    if not value or len(value) > 255 or len(text) != 2 * len(value):
        raise MalformedInput("beacon: 1 to 255 bytes of hexadecimal")
    if not MIN_BEACON_EXP <= num_iterations_exp <= MAX_BEACON_EXP:
        raise MalformedInput(f"beacon iterations exponent must be between {MIN_BEACON_EXP} and {MAX_BEACON_EXP}")
    return value


def beacon_key(backend: CurveBackend, beacon_hash: bytes, num_iterations_exp: int) -> tuple[tuple[int, int, int], list[Any]]:
    """The secrets and G1 points snarkjs derives from a beacon (``keyFromBeacon``). O(2^n) SHA-256."""
    stream = srng.beacon_rng(beacon_hash, num_iterations_exp)
    xs = (srng.fr_from_rng(stream), srng.fr_from_rng(stream), srng.fr_from_rng(stream))
    return xs, [srng.g1_from_rng(backend, stream) for _ in range(3)]


def beacon(ptau: Ptau, name: str, beacon_hex: str, num_iterations_exp: int, backend: CurveBackend, *, progress: Progress | None = None) -> ContributionResult:
    """Apply a public random beacon as the final contribution (anyone can recompute it).

    Same cost as :func:`contribute` plus 2^num_iterations_exp SHA-256 calls.
    """
    _check_name(name)
    value = parse_beacon(beacon_hex, num_iterations_exp)
    _tick(progress, "beacon hash", 0, 1)
    xs, g1_s = beacon_key(backend, value, num_iterations_exp)
    _tick(progress, "beacon hash", 1, 1)
    return _apply(ptau.without_lagrange(), backend, xs, g1_s, name, (value, num_iterations_exp), progress)


# verify ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifiedContribution:
    index: int
    name: str
    response_hash: bytes
    next_challenge: bytes
    beacon_hash: bytes | None
    num_iterations_exp: int | None


@dataclass(frozen=True)
class VerifyReport:
    """A transcript that passed :func:`verify`."""

    power: int
    ceremony_power: int
    contributions: tuple[VerifiedContribution, ...]
    challenge_hash: bytes
    prepared: bool


def _same_ratio(backend: CurveBackend, a1: Any, b1: Any, a2: Any, b2: Any) -> bool:
    """e(a1, b2) == e(b1, a2), i.e. b1 / a1 == b2 / a2 in the exponent; false if any point is the identity."""
    if backend.g1_is_identity(a1) or backend.g1_is_identity(b1) or backend.g2_is_identity(a2) or backend.g2_is_identity(b2):
        return False
    return backend.gt_eq(backend.pairing(a1, b2), backend.pairing(b1, a2))


@dataclass(frozen=True)
class _Previous:
    tau_g1: Any
    tau_g2: Any
    alpha_g1: Any
    beta_g1: Any
    beta_g2: Any
    next_challenge: bytes


def _verify_contribution(backend: CurveBackend, index: int, cur: Contribution, prev: _Previous) -> None:
    step = f"contribution {index}{f' ({cur.name})' if cur.name else ''}"
    if cur.is_beacon:
        xs, g1_s = beacon_key(backend, cur.beacon_hash, cur.num_iterations_exp)
        g2 = backend.g2_mul
        for pers, (part, x, s, label) in enumerate(zip((cur.tau, cur.alpha, cur.beta), xs, g1_s, ("tau", "alpha", "beta"))):
            expected_sp = srng.g2_sp(backend, pers, prev.next_challenge, s, backend.g1_mul(s, x))
            if not (
                backend.g1_eq(part.g1_s, s)
                and backend.g1_eq(part.g1_sx, backend.g1_mul(s, x))
                and backend.g2_eq(part.g2_spx, g2(expected_sp, x))
            ):
                raise CeremonyError(f"{step}: beacon", f"the {label} key is not the one the beacon parameters give")
    sps = []
    for pers, (part, label) in enumerate(zip((cur.tau, cur.alpha, cur.beta), ("tau", "alpha", "beta"))):
        sp = srng.g2_sp(backend, pers, prev.next_challenge, part.g1_s, part.g1_sx)
        if not _same_ratio(backend, part.g1_s, part.g1_sx, sp, part.g2_spx):
            raise CeremonyError(f"{step}: proof of knowledge of {label}", "the public key does not prove knowledge of the secret for this challenge")
        sps.append(sp)
    checks = (
        ("tau*G1", prev.tau_g1, cur.tau_g1, sps[0], cur.tau.g2_spx),
        ("tau*G2", cur.tau.g1_s, cur.tau.g1_sx, prev.tau_g2, cur.tau_g2),
        ("alpha*G1", prev.alpha_g1, cur.alpha_g1, sps[1], cur.alpha.g2_spx),
        ("beta*G1", prev.beta_g1, cur.beta_g1, sps[2], cur.beta.g2_spx),
        ("beta*G2", cur.beta.g1_s, cur.beta.g1_sx, prev.beta_g2, cur.beta_g2),
    )
    for label, a1, b1, a2, b2 in checks:
        if not _same_ratio(backend, a1, b1, a2, b2):
            raise CeremonyError(f"{step}: {label}", "does not follow the previous contribution with this contribution's secret")


def _rlc_pair(backend: CurveBackend, group: str, points: Sequence[Any]) -> tuple[Any, Any]:
    """(sum r_i P_i, sum r_i P_{i+1}) over i < len - 1 with fresh 128-bit r_i: two MSMs."""
    rs = [secrets.randbits(RLC_BITS) | 1 for _ in range(len(points) - 1)]
    msm = backend.g1_msm if group == "G1" else backend.g2_msm
    return msm(points[:-1], rs), msm(points[1:], rs)


def _check_powers(backend: CurveBackend, ptau: Ptau, last: Contribution, progress: Progress | None) -> None:
    g1, g2 = backend.g1_generator(), backend.g2_generator()
    total = 5
    _tick(progress, "powers", 0, total)
    tau_g1 = ptau.points(backend, TAU_G1)
    if not backend.g1_eq(tau_g1[0], g1):
        raise CeremonyError("tauG1 section", "the first element must be the generator")
    if not backend.g1_eq(tau_g1[1], last.tau_g1):
        raise CeremonyError("tauG1 section", "the second element does not match the last contribution")
    r1, r2 = _rlc_pair(backend, "G1", tau_g1)
    if not _same_ratio(backend, r1, r2, g2, last.tau_g2):
        raise CeremonyError("tauG1 section: powers", "the points are not successive powers of tau")
    _tick(progress, "powers", 1, total)
    tau_g2 = ptau.points(backend, TAU_G2)
    if not backend.g2_eq(tau_g2[0], g2):
        raise CeremonyError("tauG2 section", "the first element must be the generator")
    if not backend.g2_eq(tau_g2[1], last.tau_g2):
        raise CeremonyError("tauG2 section", "the second element does not match the last contribution")
    s1, s2 = _rlc_pair(backend, "G2", tau_g2)
    if not _same_ratio(backend, g1, last.tau_g1, s1, s2):
        raise CeremonyError("tauG2 section: powers", "the points are not successive powers of tau")
    _tick(progress, "powers", 2, total)
    for kind, head, label in ((ALPHA_TAU_G1, last.alpha_g1, "alpha"), (BETA_TAU_G1, last.beta_g1, "beta")):
        points = ptau.points(backend, kind)
        name = SECTION_NAMES[kind]
        if not backend.g1_eq(points[0], head):
            raise CeremonyError(f"{name} section", f"the first element ({label}*G1) does not match the last contribution")
        r1, r2 = _rlc_pair(backend, "G1", points)
        if not _same_ratio(backend, r1, r2, g2, last.tau_g2):
            raise CeremonyError(f"{name} section: powers", f"the points are not {label} times successive powers of tau")
        _tick(progress, "powers", 3 if kind == ALPHA_TAU_G1 else 4, total)
    beta_g2 = ptau.points(backend, BETA_G2)[0]
    if not backend.g2_eq(beta_g2, last.beta_g2):
        raise CeremonyError("betaG2 section", "does not match the last contribution")
    _tick(progress, "powers", total, total)


def verify(ptau: Ptau, backend: CurveBackend, *, progress: Progress | None = None) -> VerifyReport:
    """Verify a whole transcript; raise CeremonyError naming the failed step, else return a report.

    Steps: at least one contribution; the last contribution's points against the
    sections (every point decoded with curve and subgroup checks, then two MSMs
    of N random 128-bit scalars per section and one 2-pairing check each: O(N)
    MSM work, a constant number of pairings); the hash of the sections against
    the last contribution's next challenge (when power = ceremonyPower); every
    contribution's three proofs of knowledge against the previous challenge and
    its five ratios against the previous contribution (9 two-pairing checks
    each); beacons recomputed; Lagrange sections (if present) by
    :func:`verify_lagrange`.
    """
    if not ptau.contributions:
        raise CeremonyError("contributions", "the transcript has no contribution: anyone who knows its (trivial) secrets can forge")
    g1, g2 = backend.g1_generator(), backend.g2_generator()
    initial = _Previous(g1, g2, g1, g1, g2, first_challenge_hash(ptau.ceremony_power, backend))
    _check_powers(backend, ptau, ptau.contributions[-1], progress)
    last = ptau.contributions[-1]
    response = last.response_hash(backend)
    final = next_challenge_hash(response, ptau)
    if ptau.power == ptau.ceremony_power and final != last.next_challenge:
        raise CeremonyError("challenge hash", "the hash of the sections does not match the last contribution's next challenge")
    report = []
    prev = initial
    for i, cur in enumerate(ptau.contributions, start=1):
        _tick(progress, "contributions", i - 1, len(ptau.contributions))
        _verify_contribution(backend, i, cur, prev)
        report.append(VerifiedContribution(i, cur.name, cur.response_hash(backend), cur.next_challenge, cur.beacon_hash, cur.num_iterations_exp))
        prev = _Previous(cur.tau_g1, cur.tau_g2, cur.alpha_g1, cur.beta_g1, cur.beta_g2, cur.next_challenge)
    _tick(progress, "contributions", len(ptau.contributions), len(ptau.contributions))
    if ptau.prepared:
        verify_lagrange(ptau, backend, progress=progress)
    return VerifyReport(ptau.power, ptau.ceremony_power, tuple(report), final, ptau.prepared)


# prepare (Lagrange basis) ------------------------------------------------------------------------
def _ntt(values: list[Any], omega: int, mul: Callable[[Any, int], Any], add: Callable, sub: Callable) -> list[Any]:
    """Radix-2 Cooley-Tukey NTT of ``values`` (length a power of two) over any Z_r-module.

    (n/2) log2 n multiplications by twiddles (those equal to 1 skipped) and n log2 n
    additions; in place after a bit-reversal permutation.
    """
    a = list(values)
    n = len(a)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            a[i], a[j] = a[j], a[i]
    half = 1
    while half < n:
        step = half << 1
        w_step = pow(omega, n // step, R)
        w = 1
        for k in range(half):
            for start in range(k, n, step):
                u = a[start]
                t = a[start + half] if w == 1 else mul(a[start + half], w)
                a[start] = add(u, t)
                a[start + half] = sub(u, t)
            w = w * w_step % R
        half = step
    return a


def _lagrange_level(backend: CurveBackend, group: str, points: list[Any]) -> list[Any]:
    """L_i = (1/n) sum_j omega^(-ij) P_j: the inverse NTT over group elements (snarkjs' omega)."""
    n = len(points)
    if group == "G1":
        mul, add, neg = backend.g1_mul, backend.g1_add, backend.g1_neg
    else:
        mul, add, neg = backend.g2_mul, backend.g2_add, backend.g2_neg
    omega_inv = pow(snarkjs_root_of_unity(n), -1, R)
    out = _ntt(points, omega_inv, mul, add, lambda x, y: add(x, neg(y)))
    n_inv = pow(n, -1, R)
    return [mul(p, n_inv) for p in out] if n > 1 else out


def _levels(ptau: Ptau, base: int) -> list[int]:
    top = ptau.power + 1 if base == TAU_G1 else ptau.power
    return list(range(top + 1))


PARALLEL_PREPARE_MIN = 1 << 12
"""From this many points per section (N = 2^power) on, :func:`prepare` computes the levels
in worker processes (the group NTTs are GIL-bound Python loops over native point
operations, one level independent of another); below it, process start-up (about half
a second) would cost more than it saves."""
PREPARE_WORKERS = 4


def _lagrange_level_lem(backend: str, group: str, data: bytes, p: int) -> bytes:
    """Level p (the inverse NTT of the first 2^p points, missing ones zero) as LEM bytes,
    from a section's LEM payload (also run in worker processes)."""
    be = get_backend(backend)
    size = enc.G1_SIZE if group == "G1" else enc.G2_SIZE
    n = 1 << p
    available = min(n, len(data) // size)
    chunk = enc.points_from_lem(be, group, data[: available * size], available, where="powers of tau", section=0, check=False)
    chunk += [be.g1_identity() if group == "G1" else be.g2_identity()] * (n - available)
    return enc.points_to_lem(be, group, _lagrange_level(be, group, chunk))


def prepare(ptau: Ptau, backend: CurveBackend, *, progress: Progress | None = None) -> Ptau:
    """Add the Lagrange sections 12..15, as ``snarkjs powersoftau prepare phase2``.

    For each of tauG1 (levels p = 0..power+1; the top level's missing point
    tau^(2N-1) counted as zero), tauG2, alphaTauG1 and betaTauG1 (p = 0..power),
    the inverse NTT of the first 2^p points over the group. Cost per section
    sum_p ((p/2 + 1) 2^p) scalar multiplications, about (power/2 + 1) 2N:
    O(N log N); from :data:`PARALLEL_PREPARE_MIN` on, the levels of all sections
    run in up to :data:`PREPARE_WORKERS` worker processes, largest first. Does not
    verify the transcript (run :func:`verify` first).
    """
    sections = dict(ptau.without_lagrange().sections)
    tasks = [(target, GROUP[base], ptau.sections[base], p) for base, target in LAGRANGE.items() for p in _levels(ptau, base)]
    done: dict[tuple[int, int], bytes] = {}
    workers = min(os.cpu_count() or 1, PREPARE_WORKERS)
    if (1 << ptau.power) < PARALLEL_PREPARE_MIN or workers < 2:
        for i, (target, group, data, p) in enumerate(tasks):
            _tick(progress, "lagrange levels", i, len(tasks))
            done[target, p] = _lagrange_level_lem(backend.name, group, data, p)
    else:
        cost = lambda task: (3 if task[1] == "G2" else 1) * (task[3] + 2) << task[3]  # noqa: E731
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_lagrange_level_lem, backend.name, group, data, p): (target, p)
                       for target, group, data, p in sorted(tasks, key=cost, reverse=True)}  # fmt: skip
            for i, future in enumerate(as_completed(futures)):
                _tick(progress, "lagrange levels", i, len(tasks))
                done[futures[future]] = future.result()
    _tick(progress, "lagrange levels", len(tasks), len(tasks))
    for base, target in LAGRANGE.items():
        sections[target] = b"".join(done[target, p] for p in _levels(ptau, base))
    return replace(ptau, sections=sections)


def verify_lagrange(ptau: Ptau, backend: CurveBackend, *, progress: Progress | None = None) -> None:
    """Check sections 12..15 against 2..5: for each level p and fresh random r,
    sum r_i P_i == sum NTT(r)_k L_k (P = NTT(L) for L the inverse NTT of P).

    Two MSMs of 2^p points per level and an O(2^p p) scalar NTT: O(N log N) in all.
    Raises CeremonyError naming the section and level.
    """
    fadd = lambda x, y: (x + y) % R  # noqa: E731
    fsub = lambda x, y: (x - y) % R  # noqa: E731
    fmul = lambda x, k: x * k % R  # noqa: E731
    for base, target in LAGRANGE.items():
        group = GROUP[base]
        msm = backend.g1_msm if group == "G1" else backend.g2_msm
        eq = backend.g1_eq if group == "G1" else backend.g2_eq
        powers = ptau.points(backend, base)
        lagrange = ptau.points(backend, target)
        offset = 0
        levels = _levels(ptau, base)
        for p in levels:
            _tick(progress, f"check {SECTION_NAMES[target]}", p, len(levels))
            n = 1 << p
            rs = [secrets.randbits(RLC_BITS) for _ in range(n)]
            available = min(n, len(powers))
            rs[available:] = [0] * (n - available)
            lhs = msm(powers[:available], rs[:available])
            coeffs = _ntt(rs, snarkjs_root_of_unity(n), fmul, fadd, fsub)
            rhs = msm(lagrange[offset : offset + n], coeffs)
            if not eq(lhs, rhs):
                raise CeremonyError(f"{SECTION_NAMES[target]} section", f"level {p} is not the Lagrange basis of the powers")
            offset += n
