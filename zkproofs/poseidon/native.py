"""Native Poseidon permutation and sponge (Grassi et al., USENIX Security 2021).

Knows nothing of constraints; :mod:`zkproofs.gadgets.poseidon` mirrors
:func:`permute_reference` round by round and a test holds the two together.
:func:`permute` computes the same function with the partial-round optimisations
of the paper's appendix B (constants derived in :mod:`zkproofs.poseidon.optimized`):
the hot path of the Merkle-sum tree.

Sponge (our convention on top of the permutation, section 4.2 of the paper):
state = [capacity, rate_1 .. rate_{t-1}]; the capacity starts at
len(inputs) * 2^64 (domain separation for fixed-length hashing with one output,
so inputs of different lengths never collide by zero-padding); inputs are added
into the rate part in chunks of t - 1, the last chunk zero-padded, with a
permutation after each chunk; the output is state[1].
"""

from __future__ import annotations

from operator import mul
from typing import Sequence

from zkproofs.errors import NonCanonicalFieldElement
from zkproofs.field import R
from zkproofs.poseidon.optimized import Sparse, optimized_constants
from zkproofs.poseidon.params import PoseidonParams, poseidon_params


def permute_reference(state: Sequence[int], params: PoseidonParams) -> list[int]:
    """The Hades permutation exactly as specified: add constants, S-box, MDS, per round."""
    t = params.t
    s = list(state)
    if len(s) != t:
        raise ValueError(f"Poseidon state must have {t} elements, got {len(s)}")
    for index, constants in enumerate(params.round_constants):
        s = [(x + c) % R for x, c in zip(s, constants)]
        if params.is_full_round(index):
            s = [pow(x, params.alpha, R) for x in s]
        else:
            s[0] = pow(s[0], params.alpha, R)
        s = [sum(m * x for m, x in zip(row, s)) % R for row in params.mds]
    return s


def _partial_rounds_t3(s: list[int], scalars: tuple[int, ...], sparse: Sparse) -> list[int]:
    """:func:`_partial_rounds_any` unrolled for t = 3 (locals instead of lists)."""
    p = R
    x0, x1, x2 = s
    for a, (m00, (v1, v2), (w1, w2)) in zip(scalars, sparse):
        x0 = (x0 + a) % p
        sq = x0 * x0 % p
        x0 = sq * sq * x0 % p
        x0, x1, x2 = m00 * x0 + v1 * x1 + v2 * x2, x1 + w1 * x0, x2 + w2 * x0
    return [x0, x1, x2]


def _partial_rounds_t5(s: list[int], scalars: tuple[int, ...], sparse: Sparse) -> list[int]:
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


def _partial_rounds_any(s: list[int], scalars: tuple[int, ...], sparse: Sparse) -> list[int]:
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


def permute(state: Sequence[int], params: PoseidonParams) -> list[int]:
    """Same function as :func:`permute_reference`, evaluated with the optimisations of
    the Poseidon paper's appendix B (see :mod:`zkproofs.poseidon.optimized`).

    ``state`` holds t integers (any ints: they are reduced mod r, as in the
    reference); returns t canonical field elements. Raises ValueError for a state
    of the wrong length or an instance whose S-box is not x^5.

    Evaluation order, with the constants of :func:`optimized_constants`:
    R_F / 2 full rounds, the last one multiplying by M_pre instead of M; R_P
    sparse partial rounds, each adding one scalar a_j before its S-box (B1) and
    mixing with y0 = m00 x0 + <v, x[1:]>, y_i = x_i + w_i x0 (B2); R_F / 2 full
    rounds with M. Reductions are deferred: a matrix row is one sum of products
    with the next round's constant, reduced once; the S-box is (x^2 mod r)^2 x
    mod r (two reductions); in the partial rounds elements 1..t-1 are not reduced
    at all (they grow by a few bits over R_P rounds) and element 0 once per round.

    Cost per permutation: R_F (3t + t^2) + R_P (2t + 2) multiplications and
    about 3 (R_F t + R_P) reductions: 600 and ~250 at t = 3, 1040 and ~310 at
    t = 5, against 828 and 2000 multiplications for the literal spec. See
    benchmarks/bench_poseidon.py for timings.
    """
    t = params.t
    if len(state) != t:
        raise ValueError(f"Poseidon state must have {t} elements, got {len(state)}")
    opt = optimized_constants(params)
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


def permute_many(states: Sequence[Sequence[int]], params: PoseidonParams) -> list[list[int]]:
    """:func:`permute` applied to each of ``states`` (n states of t integers each).

    The batched entry point that hot paths (tree levels, leaf hashing) call, so that
    a compiled kernel can take the whole batch in one call. O(n) permutations.
    Raises ValueError as :func:`permute` does.
    """
    return [permute(state, params) for state in states]


def poseidon_hash(inputs: Sequence[int], *, t: int = 3) -> int:
    """Poseidon sponge hash of a fixed-length list of field elements (convention above).

    Raises ValueError for an empty list or an unsupported width, and
    NonCanonicalFieldElement for an input outside [0, r).
    """
    return poseidon_hash_many([inputs], t=t)[0]


def poseidon_hash_many(inputs: Sequence[Sequence[int]], *, t: int = 3) -> list[int]:
    """:func:`poseidon_hash` of each of ``inputs`` (n lists of one common length L >= 1).

    Absorbs all n sponges in lockstep, one :func:`permute_many` call per block of
    t - 1 inputs: ceil(L / (t - 1)) batched calls, n permutations each.
    Raises ValueError for an empty list, unequal lengths or an unsupported width,
    and NonCanonicalFieldElement for an input outside [0, r).
    """
    if not inputs:
        return []
    length = len(inputs[0])
    if length == 0:
        raise ValueError("poseidon_hash needs at least one input")
    params = poseidon_params(t)
    for j, row in enumerate(inputs):
        if len(row) != length:
            raise ValueError(f"poseidon_hash_many: input {j} has {len(row)} elements, input 0 has {length}")
        for i, x in enumerate(row):
            if not isinstance(x, int) or not 0 <= x < R:
                raise NonCanonicalFieldElement(f"Poseidon input {i}: {x!r} is not in [0, r)")
    rate = t - 1
    states = [[length << 64] + [0] * rate for _ in inputs]
    for start in range(0, length, rate):
        for state, row in zip(states, inputs):
            for i, x in enumerate(row[start : start + rate]):
                state[1 + i] = (state[1 + i] + x) % R
        states = permute_many(states, params)
    return [state[1] for state in states]


def hash2(a: int, b: int) -> int:
    """Two-to-one hash: ``poseidon_hash([a, b], t=3)``."""
    return poseidon_hash([a, b], t=3)
