"""Poseidon permutation and sponge as constraints (Grassi et al., USENIX Security 2021).

Mirrors :func:`zkproofs.poseidon.permute_reference` round by round: add round
constants (free), S-box x^5 as three products x2 = x*x, x4 = x2*x2, x5 = x4*x,
MDS mixing (free: linear). Cost: at most 3 * (R_F * t + R_P) constraints per
permutation (243 at t = 3, 300 at t = 5); S-boxes of elements that are still
constants (the capacity and zero padding in the first round) are computed
without constraints, so one 2-input hash at t = 3 costs 240. The sponge convention is the native one
(:func:`zkproofs.poseidon.poseidon_hash`): capacity element initialised to
len(inputs) * 2^64, rate t - 1, output the first rate element.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.poseidon import PoseidonParams, poseidon_params
from zkproofs.r1cs import ConstraintSystem, LinearCombination, linear_sum


def _sbox(cs: ConstraintSystem, x: LinearCombination) -> LinearCombination:
    x2 = cs.mul(x, x, "x^2")
    x4 = cs.mul(x2, x2, "x^4")
    return cs.mul(x4, x, "x^5")


def permutation(cs: ConstraintSystem, state: Sequence[LinearCombination], params: PoseidonParams) -> list[LinearCombination]:
    """The Poseidon permutation of ``state`` (length params.t) in-circuit."""
    if len(state) != params.t:
        raise ValueError(f"Poseidon state must have {params.t} elements, got {len(state)}")
    half = params.r_f // 2
    state = list(state)
    wm = cs.witness_mode
    with cs.scope(f"poseidon{params.t}"):
        for rnd, constants in enumerate(params.round_constants):
            state = [s + c for s, c in zip(state, constants)]
            if rnd < half or rnd >= half + params.r_p:
                state = [_sbox(cs, s) for s in state]
            else:
                state[0] = _sbox(cs, state[0])
            state = [linear_sum((s * m for s, m in zip(state, row)), wm) for row in params.mds]
    return state


def poseidon_hash(cs: ConstraintSystem, inputs: Sequence[LinearCombination], *, t: int = 3) -> LinearCombination:
    """In-circuit :func:`zkproofs.poseidon.poseidon_hash` of a fixed number of field elements."""
    if not inputs:
        raise ValueError("poseidon_hash needs at least one input")
    params = poseidon_params(t)
    rate = t - 1
    state = [cs.constant(len(inputs) << 64)] + [cs.constant(0)] * rate
    for start in range(0, len(inputs), rate):
        chunk = inputs[start : start + rate]
        for i, x in enumerate(chunk):
            state[1 + i] = state[1 + i] + x
        state = permutation(cs, state, params)
    return state[1]
