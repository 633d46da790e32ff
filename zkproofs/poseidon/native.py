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

from typing import Sequence

from zkproofs import kernels
from zkproofs.field import R
from zkproofs.poseidon.optimized import optimized_constants
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


def permute(state: Sequence[int], params: PoseidonParams) -> list[int]:
    """Same function as :func:`permute_reference`, evaluated with the optimisations of
    the Poseidon paper's appendix B (constants: :mod:`zkproofs.poseidon.optimized`)
    by the active field kernels (:mod:`zkproofs.kernels`: C, or the Python of
    :func:`zkproofs.kernels.reference.permute_one`).

    ``state`` holds t integers (any ints: they are reduced mod r, as in the
    reference); returns t canonical field elements. Raises ValueError for a state
    of the wrong length or an instance whose S-box is not x^5.

    Cost per permutation: R_F (3t + t^2) + R_P (2t + 2) multiplications: 600 at
    t = 3, 1040 at t = 5, against 828 and 2000 for the literal spec. See
    benchmarks/bench_kernels.py for timings.
    """
    return kernels.permute_many([state], optimized_constants(params))[0]


def permute_many(states: Sequence[Sequence[int]], params: PoseidonParams) -> list[list[int]]:
    """:func:`permute` applied to each of ``states`` (n states of t integers each).

    The batched entry point that hot paths (tree levels, leaf hashing) call: the
    compiled kernel takes the whole batch in one call, with the GIL released while
    it computes. O(n) permutations. Raises ValueError as :func:`permute` does.
    """
    return kernels.permute_many(states, optimized_constants(params))


def poseidon_hash(inputs: Sequence[int], *, t: int = 3) -> int:
    """Poseidon sponge hash of a fixed-length list of field elements (convention above).

    Raises ValueError for an empty list or an unsupported width, and
    NonCanonicalFieldElement for an input outside [0, r).
    """
    return poseidon_hash_many([inputs], t=t)[0]


def poseidon_hash_many(inputs: Sequence[Sequence[int]], *, t: int = 3) -> list[int]:
    """:func:`poseidon_hash` of each of ``inputs`` (n lists of one common length L >= 1).

    One call into the active kernels for the whole batch (the compiled sponge
    validates and absorbs every row in C): n ceil(L / (t - 1)) permutations.
    Raises ValueError for an empty list, unequal lengths or an unsupported width,
    and NonCanonicalFieldElement for an input outside [0, r).
    """
    if not inputs:
        return []
    return kernels.poseidon_hash_many(inputs, optimized_constants(poseidon_params(t)))


def hash2(a: int, b: int) -> int:
    """Two-to-one hash: ``poseidon_hash([a, b], t=3)``."""
    return poseidon_hash([a, b], t=3)
