"""The pure-Python kernels: the reference for, and fallback of, the C kernels in ``fr.c``.

Same functions, same arguments, same results and errors as
:mod:`zkproofs.kernels.native`; :mod:`zkproofs.kernels` chooses between the two and
``tests/test_kernels.py`` holds them equal. Field: the BLS12-381 scalar field F_r.

Poseidon (Grassi, Khovratovich, Rechberger, Roy, Schofnegger, USENIX Security 2021)
is evaluated with the partial-round optimisations of the paper's appendix B, from
the constants of :func:`zkproofs.poseidon.optimized.optimized_constants`; the NTT is
the iterative radix-2 Cooley-Tukey transform; batch inversion is Montgomery's trick
(Montgomery 1987, "Speeding the Pollard and elliptic curve methods", section 10.3.1).
"""

from __future__ import annotations

from operator import mul
from typing import TYPE_CHECKING, Sequence

from zkproofs.errors import NonCanonicalFieldElement
from zkproofs.field import R

if TYPE_CHECKING:  # the kernels take the constants, not the Poseidon package
    from zkproofs.poseidon.optimized import OptimizedConstants, Sparse


# Poseidon -----------------------------------------------------------------------
def _partial_rounds_t3(s: list[int], scalars: tuple[int, ...], sparse: "Sparse") -> list[int]:
    """:func:`_partial_rounds_any` unrolled for t = 3 (locals instead of lists)."""
    p = R
    x0, x1, x2 = s
    for a, (m00, (v1, v2), (w1, w2)) in zip(scalars, sparse):
        x0 = (x0 + a) % p
        sq = x0 * x0 % p
        x0 = sq * sq * x0 % p
        x0, x1, x2 = m00 * x0 + v1 * x1 + v2 * x2, x1 + w1 * x0, x2 + w2 * x0
    return [x0, x1, x2]


def _partial_rounds_t5(s: list[int], scalars: tuple[int, ...], sparse: "Sparse") -> list[int]:
    """:func:`_partial_rounds_any` unrolled for t = 5 (locals instead of lists)."""
    p = R
    x0, x1, x2, x3, x4 = s
    for a, (m00, (v1, v2, v3, v4), (w1, w2, w3, w4)) in zip(scalars, sparse):
        x0 = (x0 + a) % p
        sq = x0 * x0 % p
        x0 = sq * sq * x0 % p
        x0, x1, x2, x3, x4 = (
            m00 * x0 + v1 * x1 + v2 * x2 + v3 * x3 + v4 * x4,
            x1 + w1 * x0,
            x2 + w2 * x0,
            x3 + w3 * x0,
            x4 + w4 * x0,
        )
    return [x0, x1, x2, x3, x4]


def _partial_rounds_any(s: list[int], scalars: tuple[int, ...], sparse: "Sparse") -> list[int]:
    """The R_P sparse partial rounds (B1, B2) on a state of any width t.

    ``s`` holds t non-negative, possibly unreduced integers; so does the result
    (element 0 below ~2^775, the others grow by ~log2(R_P) bits). Per round:
    x0 += a_j; x0 = x0^5 mod r; (x0, x[1:]) = (m00 x0 + <v, x[1:]>, x[1:] + w x0).
    """
    p = R
    x0, rest = s[0], s[1:]
    for a, (m00, v, w) in zip(scalars, sparse):
        x0 = (x0 + a) % p
        sq = x0 * x0 % p
        x0 = sq * sq * x0 % p
        x0, rest = m00 * x0 + sum(map(mul, v, rest)), [y + wi * x0 for y, wi in zip(rest, w)]
    return [x0] + rest


_PARTIAL_ROUNDS = {3: _partial_rounds_t3, 5: _partial_rounds_t5}
"""Unrolled partial-round kernels for the widths zkproofs ships; other widths use the loop."""


def permute_one(state: Sequence[int], opt: "OptimizedConstants") -> list[int]:
    """The Poseidon permutation of one state, from the appendix-B constants ``opt``.

    ``state`` holds t integers (any ints: they are reduced mod r, as in the spec);
    returns t canonical field elements. Raises ValueError for a state of the wrong length.

    Evaluation order: R_F / 2 full rounds, the last one multiplying by M_pre
    instead of M; R_P sparse partial rounds, each adding one scalar a_j before its
    S-box (B1) and mixing with y0 = m00 x0 + <v, x[1:]>, y_i = x_i + w_i x0 (B2);
    R_F / 2 full rounds with M. Reductions are deferred: a matrix row is one sum of
    products with the next round's constant, reduced once; the S-box is
    (x^2 mod r)^2 x mod r; in the partial rounds elements 1..t-1 are not reduced
    at all and element 0 once per round.

    Cost: R_F (3t + t^2) + R_P (2t + 2) multiplications and about 3 (R_F t + R_P)
    reductions: 600 and ~250 at t = 3, 1040 and ~310 at t = 5.
    """
    t = opt.t
    if len(state) != t:
        raise ValueError(f"Poseidon state must have {t} elements, got {len(state)}")
    p = R
    mds = opt.mds
    first = opt.first_constants
    s = [(x + c) % p for x, c in zip(state, first[0])]
    for constants in first[1:]:
        s = [(sq := x * x % p) * sq * x % p for x in s]
        s = [(sum(map(mul, row, s)) + c) % p for row, c in zip(mds, constants)]
    s = [(sq := x * x % p) * sq * x % p for x in s]
    s = [sum(map(mul, row, s)) for row in opt.pre_sparse_mds]
    s = _PARTIAL_ROUNDS.get(t, _partial_rounds_any)(s, opt.partial_constants, opt.sparse)
    for constants in opt.last_constants:
        s = [(x + c) % p for x, c in zip(s, constants)]
        s = [(sq := x * x % p) * sq * x % p for x in s]
        s = [sum(map(mul, row, s)) for row in mds]
    return [x % p for x in s]


def permute_many(states: Sequence[Sequence[int]], opt: "OptimizedConstants") -> list[list[int]]:
    """:func:`permute_one` of each of ``states`` (n states of t ints). O(n) permutations."""
    return [permute_one(state, opt) for state in states]


def poseidon_hash_many(inputs: Sequence[Sequence[int]], opt: "OptimizedConstants") -> list[int]:
    """The sponge of :mod:`zkproofs.poseidon.native` over each of ``inputs``.

    ``inputs``: n lists of one common length L >= 1 of canonical field elements.
    Capacity element starts at L * 2^64, the rate (t - 1 elements) absorbs the
    inputs in chunks (last chunk zero-padded), one permutation per chunk; the
    digest is state[1]. n ceil(L / (t - 1)) permutations. Raises ValueError for
    L = 0 or unequal lengths, NonCanonicalFieldElement for an input outside [0, r).
    """
    if not inputs:
        return []
    length = len(inputs[0])
    if length == 0:
        raise ValueError("poseidon_hash needs at least one input")
    for j, row in enumerate(inputs):
        if len(row) != length:
            raise ValueError(f"poseidon_hash_many: input {j} has {len(row)} elements, input 0 has {length}")
        for i, x in enumerate(row):
            if not isinstance(x, int) or not 0 <= x < R:
                raise NonCanonicalFieldElement(f"Poseidon input {i}: {x!r} is not in [0, r)")
    rate = opt.t - 1
    states = [[length << 64] + [0] * rate for _ in inputs]
    for start in range(0, length, rate):
        for state, row in zip(states, inputs):
            for i, x in enumerate(row[start : start + rate]):
                state[1 + i] = (state[1 + i] + x) % R
        states = permute_many(states, opt)
    return [state[1] for state in states]


# Merkle-sum tree levels -----------------------------------------------------------
HASH_BYTES = 32
PACK_BITS = 254
MAX_SUMS = 4096  # 2A sums per record: up to 2048 assets (the C kernel's MAX_SUMS)
MAX_LEAF_AMOUNTS = 8192  # amounts a leaf hashes: 2A sums and K A pledged amounts (the C kernel's)
MAX_LEAF_PREFIX = 4  # elements hashed between the commitment and the amounts (the C kernel's)


def _pack(values: Sequence[int], bits: int) -> list[int]:
    """``values`` (each < 2^bits) packed 254 // bits per field element, little-endian, last zero-filled."""
    per = PACK_BITS // bits
    out = []
    for start in range(0, len(values), per):
        acc = 0
        for i, v in enumerate(values[start : start + per]):
            acc |= v << (bits * i)
        out.append(acc)
    return out


def _records(hashes: Sequence[int], sums: Sequence[Sequence[int]], sum_bytes: int) -> bytes:
    return b"".join(h.to_bytes(HASH_BYTES, "big") + b"".join(v.to_bytes(sum_bytes, "big") for v in s) for h, s in zip(hashes, sums))


def merkle_sum_leaves(
    keys: Sequence[Sequence[int]], amounts: Sequence[Sequence[int]], commitment_opt: "OptimizedConstants",
    leaf_opt: "OptimizedConstants", n_amounts: int, n_sums: int, sum_bytes: int, tag: int, prefix: Sequence[int] = (),
) -> bytes:
    """The leaf records of n users: record i is leaf_i (32 bytes, big-endian) then the first
    ``n_sums`` of amounts[i] (``sum_bytes`` bytes each, big-endian), where
    leaf_i = sponge(leaf_opt)([sponge(commitment_opt)([id, salt]), *prefix, *pack_64([tag, *amounts[i]])])
    hashes all ``n_amounts`` amounts (equities, debts, then pledged amounts that are committed
    but not summed), keys[i] = (id, salt) and ``prefix`` (at most 4 field elements, the same in
    every leaf: the pledge classes' digest) follows the commitment. The leaf layout of
    :mod:`zkproofs.tree.hashing`.

    Raises NonCanonicalFieldElement for a key or prefix that is not made of elements of [0, r), ValueError
    for amounts that are not ``n_amounts`` ints (bool excluded) in [0, 2^64), unequal lengths
    or an unsupported shape (commitment width other than 3, 1..4096 sums, n_sums <= n_amounts
    <= 8192, 8..16 bytes per sum). O(n) permutations: one t = 3 and
    ceil((1 + ceil((1 + n_amounts) / 3)) / (t - 1)) of leaf_opt's t.
    """
    keys, amounts = list(keys), list(amounts)  # our own copies (as the C twin): a key's iteration cannot shrink them
    if commitment_opt.t != 3 or not 1 <= n_sums <= MAX_SUMS or not n_sums <= n_amounts <= MAX_LEAF_AMOUNTS or not 8 <= sum_bytes <= 16:
        raise ValueError(f"merkle_sum_leaves: unsupported shape (t = {commitment_opt.t} commitment, {n_amounts} amounts, "
                         f"{n_sums} sums of {sum_bytes} bytes)")
    if len(prefix) > MAX_LEAF_PREFIX or not all(type(x) is int and 0 <= x < R for x in prefix):
        raise NonCanonicalFieldElement(f"merkle_sum_leaves: the prefix is not at most {MAX_LEAF_PREFIX} elements in [0, r)")
    if len(amounts) != len(keys):
        raise ValueError(f"merkle_sum_leaves: {len(keys)} keys but {len(amounts)} amount rows")
    for j, (key, row) in enumerate(zip(keys, amounts)):
        if len(key) != 2 or not all(type(x) is int and 0 <= x < R for x in key):
            raise NonCanonicalFieldElement(f"merkle_sum_leaves: key {j} is not a pair of elements in [0, r)")
        if len(row) != n_amounts or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 64 for v in row):
            raise ValueError(f"merkle_sum_leaves: amounts {j} are not {n_amounts} ints in [0, 2^64)")
    if not keys:
        return b""
    commits = poseidon_hash_many([list(k) for k in keys], commitment_opt)
    digests = poseidon_hash_many([[c, *prefix, *_pack([tag, *row], 64)] for c, row in zip(commits, amounts)], leaf_opt)
    return _records(digests, [row[:n_sums] for row in amounts], sum_bytes)


def merkle_sum_level(records: bytes, opt: "OptimizedConstants", n_sums: int, sum_bytes: int, slot_bits: int, tag: int) -> bytes:
    """The parent records of a level: ``records`` holds 2m child records (hash, ``n_sums``
    sums; format of :func:`merkle_sum_leaves`), pairs (left, right) in order; parent j has
    hash sponge(opt)([h_L, h_R, *pack_W([tag, *sums_L, *sums_R])]), W = ``slot_bits``, and
    sums sums_L + sums_R. The node layout of :mod:`zkproofs.tree.hashing`.

    Raises ValueError for a length that is not whole pairs of records, an unsupported shape
    (1..4096 sums of 1..16 bytes, 1 <= W <= min(128, 8 sum_bytes), tag < 2^W), a child hash
    not < r, a child sum not < 2^W, or a parent sum that does not fit ``sum_bytes`` bytes
    (errors name the left record of the pair). O(m) permutations.
    """
    if not 1 <= n_sums <= MAX_SUMS or not 1 <= sum_bytes <= 16 or not 1 <= slot_bits <= min(128, 8 * sum_bytes) or tag >> slot_bits:
        raise ValueError(f"merkle_sum_level: unsupported shape ({n_sums} sums of {sum_bytes} bytes, {slot_bits}-bit slots, tag {tag})")
    size = HASH_BYTES + n_sums * sum_bytes
    if len(records) % (2 * size):
        raise ValueError(f"merkle_sum_level: {len(records)} bytes are not whole pairs of {size}-byte records")
    bound, fits = 1 << slot_bits, 1 << min(8 * sum_bytes, 128)
    rows, parents = [], []
    for j in range(len(records) // (2 * size)):
        pair = []
        for start in (2 * j * size, (2 * j + 1) * size):
            h = int.from_bytes(records[start : start + HASH_BYTES], "big")
            sums = [int.from_bytes(records[start + HASH_BYTES + i * sum_bytes : start + HASH_BYTES + (i + 1) * sum_bytes], "big") for i in range(n_sums)]
            pair.append((h, sums))
        (hl, sl), (hr, sr) = pair
        if hl >= R or hr >= R:
            raise ValueError(f"merkle_sum_level: record {2 * j} or its sibling: a child hash is not < r")
        parent = []
        for a, b in zip(sl, sr):  # in the C's order, so both report the same first fault
            if a >= bound or b >= bound:
                raise ValueError(f"merkle_sum_level: record {2 * j} or its sibling: a child sum is not below 2^W")
            if a + b >= fits:
                raise ValueError(f"merkle_sum_level: record {2 * j} or its sibling: a parent sum does not fit its record")
            parent.append(a + b)
        rows.append([hl, hr, *_pack([tag, *sl, *sr], slot_bits)])
        parents.append(parent)
    if not rows:
        return b""
    return _records(poseidon_hash_many(rows, opt), parents, sum_bytes)


# NTT and batch inversion ----------------------------------------------------------
def _scale_powers(values: list[int], factor: int, step: int) -> list[int]:
    power = factor
    for i in range(len(values)):
        values[i] = values[i] * power % R
        power = power * step % R
    return values


def ntt(values: Sequence[int], size: int, omega: int, pre_shift: int = 1, post_factor: int = 1, post_shift: int = 1) -> list[int]:
    """Radix-2 NTT of size ``size`` (a power of two) with twists before and after.

    a_i = values_i * pre_shift^i (``values`` zero-padded to ``size``), A = NTT_omega(a)
    (A_k = sum_i a_i omega^(ik)), returns A_k * post_factor * post_shift^k, all mod r.
    ``omega`` must have order ``size`` for this to be a DFT; the caller
    (:class:`zkproofs.domain.EvaluationDomain`) guarantees it. Iterative
    Cooley-Tukey: bit reversal then log2(size) layers; O(size log size)
    multiplications. Raises ValueError for a size that is not a power of two or
    more values than ``size``.
    """
    if size < 1 or size & (size - 1):
        raise ValueError(f"NTT size {size} is not a power of two")
    if len(values) > size:
        raise ValueError(f"{len(values)} values do not fit a vector of {size}")
    a = [x % R for x in values] + [0] * (size - len(values))
    if pre_shift % R != 1:
        _scale_powers(a, 1, pre_shift)
    n = size
    j = 0
    for i in range(1, n):  # bit-reversal permutation
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
        twiddles = [1] * half
        for k in range(1, half):
            twiddles[k] = twiddles[k - 1] * w_step % R
        for start in range(0, n, step):
            for k in range(half):
                i = start + k
                u = a[i]
                v = a[i + half] * twiddles[k] % R
                a[i] = (u + v) % R
                a[i + half] = (u - v) % R
        half = step
    if post_factor % R != 1 or post_shift % R != 1:
        _scale_powers(a, post_factor % R, post_shift)
    return a


def batch_inverse(values: Sequence[int]) -> list[int]:
    """All inverses mod r with one field inversion and 3(n - 1) products (Montgomery's trick).

    Values are any ints (reduced mod r); returns canonical inverses. Raises
    ZeroDivisionError if any value is 0 mod r. O(n).
    """
    n = len(values)
    prefix = [1] * (n + 1)
    for i, v in enumerate(values):
        prefix[i + 1] = prefix[i] * v % R
    if prefix[n] == 0:
        raise ZeroDivisionError("batch_inverse of a zero element")
    acc = pow(prefix[n], -1, R)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = acc * prefix[i] % R
        acc = acc * values[i] % R
    return out


# fixed-base G1 / G2 multiplication (Groth16 setup) ------------------------------------------
def fixed_base_window(count: int) -> int:
    """The window width w in 4..16 that minimises ceil(255 / w) (2^w - 1 + count): the table's
    additions plus at most one per window and scalar, for ``count`` scalars below r < 2^255.
    13 for 2^16 scalars, 15 for the 4 x 2^16 G1 points of a 2^16 setup."""
    return min(range(4, 17), key=lambda w: -(-255 // w) * ((1 << w) - 1 + count))


def fixed_base_table(group: str, base_lem: bytes, count: int) -> object:
    """What :func:`fixed_base_mul` multiplies: the base point (``group`` "G1" or "G2", snarkjs'
    LEM bytes, on the curve and in the subgroup) prepared for about ``count`` scalars.

    The reference is the active curve backend's windowed batch multiplication (arkworks, or
    py_ecc itself), with its own table; the C twin builds a table of
    :func:`fixed_base_window` bits. Raises ValueError for an unknown group and InvalidPoint
    for a base off the curve."""
    from zkproofs.backends import get_backend
    from zkproofs.ceremony import encoding as enc

    if group not in ("G1", "G2"):
        raise ValueError(f"fixed_base_table: group must be 'G1' or 'G2', not {group!r}")
    be = get_backend()
    base = (enc.g1_from_lem if group == "G1" else enc.g2_from_lem)(be, bytes(base_lem))
    return group, be, base


def fixed_base_msm(tables: Sequence[object], scalars: Sequence[int]) -> bytes:
    """snarkjs' LEM bytes of the one point sum_j k_j B_j, B_j the base of ``tables[j]``
    (:func:`fixed_base_table`, all of one group), k_j in [0, r): the input combination of a
    Groth16 verification (Groth 2016 section 3.2) over a key's fixed IC points. The
    reference is the curve backend's MSM; the C twin adds each scalar's windows from the
    tables into one accumulator (at most sum_j ceil(255 / w_j) mixed additions, no
    doubling). ValueError for a scalar outside [0, r), unequal lengths or tables of both
    groups. Not constant-time: public inputs only."""
    from zkproofs.ceremony import encoding as enc

    scalars = list(scalars)  # read first, then the tables (as the C twin)
    tables = list(tables)
    if len(tables) != len(scalars):
        raise ValueError(f"fixed_base_msm: {len(tables)} tables but {len(scalars)} scalars")
    for i, k in enumerate(scalars):
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < R:
            raise ValueError(f"fixed_base_msm: scalar #{i} is not in [0, r)")
    if not tables:
        return bytes(96)  # the empty sum: G1's point at infinity, as the C twin
    groups = {group for group, _, _ in tables}  # type: ignore[misc]
    if len(groups) > 1:
        raise ValueError("fixed_base_msm: tables of both groups")
    group, be, _ = tables[0]  # type: ignore[misc]
    msm = be.g1_msm if group == "G1" else be.g2_msm
    return enc.points_to_lem(be, group, [msm([base for _, _, base in tables], scalars)])  # type: ignore[misc]


def fixed_base_mul(table: object, scalars: Sequence[int]) -> bytes:
    """snarkjs' LEM bytes (section layout: affine x || y in Montgomery form, the point at
    infinity all zeros) of [k] base for each k in ``scalars``, concatenated (96 bytes per G1
    point, 192 per G2). Every k must be an int in [0, r): ValueError names the first other.
    O(n 255 / w) group additions (Groth 2016 section 3.2: every key point is a known
    multiple of a generator). Not constant-time (zero windows are skipped): used on the
    setup trapdoor on the machine of whoever runs setup."""
    from zkproofs.ceremony import encoding as enc

    group, be, base = table  # type: ignore[misc]
    for i, k in enumerate(scalars):
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < R:
            raise ValueError(f"fixed_base_mul: scalar #{i} is not in [0, r)")
    points = (be.g1_batch_mul if group == "G1" else be.g2_batch_mul)(base, scalars)
    return enc.points_to_lem(be, group, points)


def fq_from_mont_many(data: bytes) -> bytes:
    """Every 48-byte F_q element of ``data`` from little-endian Montgomery form (x 2^384 mod q,
    snarkjs' section layout) to little-endian standard form. ValueError names the first
    element that is not < q, or a length that is not a multiple of 48. O(n)."""
    from zkproofs.backends.common import Q
    from zkproofs.ceremony.encoding import fq_from_mont_raw

    if len(data) % 48:
        raise ValueError(f"fq_from_mont_many: {len(data)} bytes is not a whole number of 48-byte elements")
    out = []
    for k in range(0, len(data), 48):
        m = int.from_bytes(data[k : k + 48], "little")
        if m >= Q:
            raise ValueError(f"fq_from_mont_many: element #{k // 48} is not less than q")
        out.append(fq_from_mont_raw(m).to_bytes(48, "little"))
    return b"".join(out)


# multi-scalar multiplication (the Groth16 prover) -------------------------------------------
def msm_bases(group: str, lem: bytes) -> object:
    """What :func:`msm` multiplies: the points of a proving-key query (``group`` "G1" or "G2",
    snarkjs' section bytes: affine x || y in Montgomery form, 96 bytes per G1 point, 192 per
    G2, the point at infinity all zeros), decoded once into the active curve backend.

    Points are not checked to be on the curve or in the subgroup (a proving key's points
    come from a verified ceremony or a checksummed file); a coordinate not below q raises
    InvalidPoint naming the point, a length that is not whole points ValueError. O(n)."""
    from zkproofs.backends import get_backend
    from zkproofs.backends.common import Q
    from zkproofs.errors import InvalidPoint

    if group not in ("G1", "G2"):
        raise ValueError(f"msm_bases: group must be 'G1' or 'G2', not {group!r}")
    size = 96 if group == "G1" else 192
    if len(lem) % size:
        raise ValueError(f"msm_bases: {len(lem)} bytes is not a whole number of {size}-byte {group} points")
    for k in range(0, len(lem), 48):
        if int.from_bytes(lem[k : k + 48], "little") >= Q:
            raise InvalidPoint(f"msm_bases: {group} point #{k // size} has a coordinate not less than q")
    raw = fq_from_mont_many(bytes(lem))
    be = get_backend()
    decode = be.g1_from_uncompressed if group == "G1" else be.g2_from_uncompressed
    return group, be, [decode(raw[k : k + size], check=False) for k in range(0, len(raw), size)]


def msm(bases: object, scalars: Sequence[int], offset: int = 0) -> bytes:
    """snarkjs' LEM bytes of sum_i k_i P_(offset + i) over the points of :func:`msm_bases`
    (96 bytes for G1, 192 for G2; all zeros for the point at infinity): the prover's
    A, B, C and H sums (Groth 2016 section 3.2). Every k must be an int in [0, r)
    (ValueError names the first other) and the slice must lie within the points
    (ValueError). The reference is the curve backend's MSM (arkworks' Pippenger, or
    py_ecc's); O(n / log n) group operations."""
    from zkproofs.ceremony import encoding as enc

    group, be, points = bases  # type: ignore[misc]
    if offset < 0 or offset + len(scalars) > len(points):
        raise ValueError(f"msm: {len(scalars)} scalars from offset {offset} do not fit {len(points)} bases")
    for i, k in enumerate(scalars):
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < R:
            raise ValueError(f"msm: scalar #{i} is not in [0, r)")
    window = points[offset : offset + len(scalars)]
    total = (be.g1_msm if group == "G1" else be.g2_msm)(window, scalars)
    return enc.points_to_lem(be, group, [total])
