"""Native Poseidon permutation and sponge (Grassi et al., USENIX Security 2021).

Knows nothing of constraints; :mod:`zkproofs.gadgets.poseidon` mirrors
:func:`permute_reference` round by round and a test holds the two together.

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
    """Same function as :func:`permute_reference`, with the loops tightened.

    Cost per permutation: 3 (R_F t + R_P) multiplications for the S-boxes and
    (R_F + R_P) t^2 for the MDS layer: 828 at t = 3, 2000 at t = 5.
    """
    s = list(state)
    t = params.t
    if len(s) != t:
        raise ValueError(f"Poseidon state must have {t} elements, got {len(s)}")
    mds = params.mds
    half = params.r_f // 2
    constants = params.round_constants
    p = R
    for index in range(params.r_f + params.r_p):
        rc = constants[index]
        if index < half or index >= half + params.r_p:
            s = [x + c for x, c in zip(s, rc)]
            s = [x * x % p * (x * x % p) % p * x % p for x in s]
        else:
            s = [x + c for x, c in zip(s, rc)]
            x = s[0] % p
            x2 = x * x % p
            s[0] = x2 * x2 % p * x
        s = [sum(map(mul, row, s)) % p for row in mds]
    return s


def poseidon_hash(inputs: Sequence[int], *, t: int = 3) -> int:
    """Poseidon sponge hash of a fixed-length list of field elements (convention above).

    Raises ValueError for an empty list or an unsupported width, and
    NonCanonicalFieldElement for an input outside [0, r).
    """
    if not inputs:
        raise ValueError("poseidon_hash needs at least one input")
    params = poseidon_params(t)
    for i, x in enumerate(inputs):
        if not isinstance(x, int) or not 0 <= x < R:
            raise NonCanonicalFieldElement(f"Poseidon input {i}: {x!r} is not in [0, r)")
    rate = t - 1
    state = [len(inputs) << 64] + [0] * rate
    for start in range(0, len(inputs), rate):
        for i, x in enumerate(inputs[start : start + rate]):
            state[1 + i] = (state[1 + i] + x) % R
        state = permute(state, params)
    return state[1]


def hash2(a: int, b: int) -> int:
    """Two-to-one hash: ``poseidon_hash([a, b], t=3)``."""
    return poseidon_hash([a, b], t=3)
