"""Poseidon: published vectors, fast == reference, sponge convention, gadget == native, forgeries.

Native Poseidon (zkproofs.poseidon) is checked against the authors' hadeshash test
vectors; the optimised permutation (appendix B of the paper) against the literal
spec on random states; the gadget (zkproofs.gadgets.poseidon) against the native
hash; and forged witnesses against the constraint system.
"""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits.range_poseidon import RangePoseidon
from tests.helpers import forged
from zkproofs.errors import NonCanonicalFieldElement
from zkproofs.field import R
from zkproofs.gadgets.poseidon import poseidon_hash as poseidon_hash_gadget
from zkproofs.poseidon import PoseidonParams, hash2, permute, permute_reference, poseidon_hash, poseidon_hash_many, poseidon_params
from zkproofs.poseidon import native
from zkproofs.poseidon.optimized import derive, optimized_constants
from zkproofs.r1cs import ConstraintSystem

# hadeshash test vectors (poseidonperm_x5_255_3 and poseidonperm_x5_255_5): permutation of [0, 1, .., t-1]
VECTORS = {
    3: [
        0x28CE19420FC246A05553AD1E8C98F5C9D67166BE2C18E9E4CB4B4E317DD2A78A,
        0x51F3E312C95343A896CFD8945EA82BA956C1118CE9B9859B6EA56637B4B1DDC4,
        0x3B2B69139B235626A0BFB56C9527AE66A7BF486AD8C11C14D1DA0C69BBE0F79A,
    ],
    5: [
        0x2A918B9C9F9BD7BB509331C81E297B5707F6FC7393DCEE1B13901A0B22202E18,
        0x65EBF8671739EEB11FB217F2D5C5BF4A0C3F210E3F3CD3B08B5DB75675D797F7,
        0x2CC176FC26BC70737A696A9DFD1B636CE360EE76926D182390CDB7459CF585CE,
        0x4DC4E29D283AFD2A491FE6AEF122B9A968E74EFF05341F3CC23FDA1781DCB566,
        0x03FF622DA276830B9451B88B85E6184FD6AE15C8AB3EE25A5667BE8592CCE3B1,
    ],
}
WIDTHS = sorted(VECTORS)
field_elements = st.integers(min_value=0, max_value=R - 1)


# published vectors --------------------------------------------------------------
@pytest.mark.parametrize("t", WIDTHS)
@pytest.mark.parametrize("perm", [permute, permute_reference], ids=["permute", "permute_reference"])
def test_hadeshash_vector(perm, t):
    assert perm(list(range(t)), poseidon_params(t)) == VECTORS[t]


# optimised == reference -----------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(st.data())
def test_permute_matches_reference_on_random_states(data):
    t = data.draw(st.sampled_from(WIDTHS))
    state = data.draw(st.lists(field_elements, min_size=t, max_size=t))
    params = poseidon_params(t)
    assert permute(state, params) == permute_reference(state, params)


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_permute_reduces_non_canonical_state_like_reference(data):
    """The permutation (unlike the hash) takes any ints, reducing them as the spec does."""
    t = data.draw(st.sampled_from(WIDTHS))
    state = data.draw(st.lists(st.integers(min_value=-(2**300), max_value=2**300), min_size=t, max_size=t))
    params = poseidon_params(t)
    assert permute(state, params) == permute_reference(state, params) == permute([x % R for x in state], params)


@pytest.mark.parametrize("t,length", [(3, 0), (3, 2), (3, 4), (5, 3), (5, 4), (5, 6)])
def test_permute_rejects_wrong_state_length(t, length):
    with pytest.raises(ValueError, match="must have"):
        permute([0] * length, poseidon_params(t))


def test_permute_refuses_other_sbox():
    base = poseidon_params(3)
    cube = PoseidonParams(base.t, base.r_f, base.r_p, base.round_constants, base.mds, alpha=3)
    with pytest.raises(ValueError, match="x\\^5"):
        permute([0, 1, 2], cube)


def test_derivation_refuses_singular_block_and_odd_full_rounds():
    base = poseidon_params(3)
    ones = ((1, 1, 1),) * 3  # lower-right 2x2 block singular: (B2) does not apply
    with pytest.raises(ValueError, match="singular"):
        derive(PoseidonParams(3, base.r_f, base.r_p, base.round_constants, ones))
    with pytest.raises(ValueError, match="round structure"):
        derive(PoseidonParams(3, 7, 58, base.round_constants, base.mds))


def test_optimised_constants_are_derived_once_per_instance():
    params = poseidon_params(5)
    assert optimized_constants(params) is optimized_constants(params)
    assert optimized_constants(params) == derive(params)


@pytest.mark.parametrize("t,multiplications", [(3, 600), (5, 1040)])
def test_optimised_shapes_and_cost(t, multiplications):
    params = poseidon_params(t)
    opt = optimized_constants(params)
    half = params.r_f // 2
    assert len(opt.first_constants) == len(opt.last_constants) == half
    assert len(opt.partial_constants) == len(opt.sparse) == params.r_p
    assert all(len(v) == len(w) == t - 1 for _, v, w in opt.sparse)
    # constants of rounds untouched by (B1) are the original ones
    assert opt.first_constants == params.round_constants[:half]
    assert opt.last_constants[1:] == params.round_constants[half + params.r_p + 1 :]
    assert opt.multiplications == multiplications


# sponge convention ----------------------------------------------------------------
def sponge_by_spec(inputs: list[int], t: int) -> int:
    """The convention of native.py's docstring, written out with the literal permutation."""
    params = poseidon_params(t)
    state = [len(inputs) << 64] + [0] * (t - 1)
    for start in range(0, len(inputs), t - 1):
        for i, x in enumerate(inputs[start : start + t - 1]):
            state[1 + i] = (state[1 + i] + x) % R
        state = permute_reference(state, params)
    return state[1]


@pytest.mark.parametrize("t", WIDTHS)
@pytest.mark.parametrize("length", range(1, 10))
def test_hash_follows_documented_sponge(t, length):
    inputs = [(7919 * i + 3) ** 5 % R for i in range(length)]
    assert poseidon_hash(inputs, t=t) == sponge_by_spec(inputs, t)


@pytest.mark.parametrize("t", WIDTHS)
def test_zero_padding_does_not_collide(t):
    """Lengths are domain-separated: [x] and [x, 0] (and longer zero tails) hash differently."""
    for x in (0, 1, R - 1):
        digests = {poseidon_hash([x] + [0] * extra, t=t) for extra in range(9)}
        assert len(digests) == 9


@pytest.mark.parametrize("t", WIDTHS)
def test_hash_lengths_1_to_9_distinct(t):
    digests = [poseidon_hash(list(range(1, n + 1)), t=t) for n in range(1, 10)]
    assert len(set(digests)) == 9
    assert all(0 <= d < R for d in digests)


def test_hash2_is_width_3_hash_of_two():
    assert hash2(5, 6) == poseidon_hash([5, 6], t=3) != hash2(6, 5)


@pytest.mark.parametrize("t", WIDTHS)
@pytest.mark.parametrize("bad", [R, R + 5, 2**256, -1, -R])
def test_hash_rejects_non_canonical_input(t, bad):
    with pytest.raises(NonCanonicalFieldElement, match="input 1"):
        poseidon_hash([3, bad, 4], t=t)


def test_hash_rejects_empty_input_and_unknown_width():
    with pytest.raises(ValueError, match="at least one"):
        poseidon_hash([], t=3)
    with pytest.raises(ValueError, match="not supported"):
        poseidon_hash([1], t=4)


# parameters -----------------------------------------------------------------------
def _det(rows: list[list[int]]) -> int:
    """Determinant over F_r by Gaussian elimination."""
    m = [list(r) for r in rows]
    n, det = len(m), 1
    for col in range(n):
        pivot = next((r for r in range(col, n) if m[r][col] % R), None)
        if pivot is None:
            return 0
        if pivot != col:
            m[col], m[pivot] = m[pivot], m[col]
            det = -det
        det = det * m[col][col] % R
        inv = pow(m[col][col], -1, R)
        for r in range(col + 1, n):
            f = m[r][col] * inv % R
            m[r] = [(a - f * b) % R for a, b in zip(m[r], m[col])]
    return det % R


@pytest.mark.parametrize("t,r_f,r_p", [(3, 8, 57), (5, 8, 60)])
def test_parameters(t, r_f, r_p):
    params = poseidon_params(t)
    assert (params.t, params.r_f, params.r_p, params.alpha) == (t, r_f, r_p, 5)
    assert len(params.round_constants) == params.rounds == r_f + r_p
    assert all(len(row) == t and all(0 <= c < R for c in row) for row in params.round_constants)
    assert len(set(c for row in params.round_constants for c in row)) == (r_f + r_p) * t
    mds = [list(row) for row in params.mds]
    assert len(mds) == t and all(len(row) == t for row in mds)
    # MDS: every square submatrix is invertible (entries non-zero, whole matrix invertible, ...)
    for k in range(1, t + 1):
        for rows in combinations(range(t), k):
            for cols in combinations(range(t), k):
                assert _det([[mds[i][j] for j in cols] for i in rows]) != 0
    # x^5 is a permutation of F_r exactly when gcd(5, r - 1) = 1
    assert (R - 1) % 5 != 0
    assert [params.is_full_round(i) for i in range(params.rounds)] == [True] * (r_f // 2) + [False] * r_p + [True] * (r_f // 2)


def test_parameters_are_cached_and_widths_limited():
    assert poseidon_params(3) is poseidon_params(3)
    with pytest.raises(ValueError, match="not supported"):
        poseidon_params(4)


# gadget == native -----------------------------------------------------------------
def build_hash(values: list[int], t: int, cs: ConstraintSystem | None = None):
    """Hash private inputs in-circuit and expose the digest as public output ``digest``."""
    cs = cs if cs is not None else ConstraintSystem({f"x{i}": v for i, v in enumerate(values)})
    inputs = [cs.private_input(f"x{i}") for i in range(len(values))]
    digest = poseidon_hash_gadget(cs, inputs, t=t)
    cs.public_output("digest", digest)
    r1cs, witness = cs.finish()
    return r1cs, witness


@settings(max_examples=12, deadline=None)
@given(st.data())
def test_gadget_matches_native(data):
    t = data.draw(st.sampled_from(WIDTHS))
    values = data.draw(st.lists(field_elements, min_size=1, max_size=7))
    r1cs, witness = build_hash(values, t)
    assert r1cs.is_satisfied(witness)
    assert r1cs.public_names == ("digest",)
    assert witness[1] == poseidon_hash(values, t=t)


@pytest.mark.parametrize("t,length", [(3, 1), (3, 2), (3, 3), (5, 4), (5, 5), (5, 9)])
def test_gadget_matches_native_at_chunk_boundaries(t, length):
    values = [R - 1 - i for i in range(length)]
    r1cs, witness = build_hash(values, t)
    assert r1cs.is_satisfied(witness)
    assert witness[1] == poseidon_hash(values, t=t)
    permutations = -(-length // (t - 1))
    params = poseidon_params(t)
    sboxes = params.r_f * t + params.r_p
    # 3 products per S-box, plus the output row; the first round's S-boxes of constant
    # elements (the capacity and any zero padding) fold into constants and cost nothing
    constant_elements = 1 + (t - 1) - min(length, t - 1)
    assert r1cs.num_constraints == 3 * sboxes * permutations - 3 * constant_elements + 1


# forgeries --------------------------------------------------------------------------
class TamperingSystem(ConstraintSystem):
    """Witness builder that adds ``delta`` to the product of constraint number ``target``.

    Everything downstream is then computed honestly from the wrong value (as a
    prover with a replaced hint would), so the only violated row is ``target``.
    """

    def __init__(self, inputs, target: int, delta: int = 1):
        super().__init__(inputs)
        self.target, self.delta = target, delta

    def mul(self, a, b, label="mul"):
        before = self.num_constraints
        out = super().mul(a, b, label)
        if before == self.target and self.num_constraints == before + 1:
            (var,) = out.terms
            out.value = (out.value + self.delta) % R
            self._values[var] = out.value
        return out


def sbox_rows(r1cs, power: str) -> list[int]:
    return [i for i, label in enumerate(r1cs.labels) if label.endswith(f"/x^{power}")]


@pytest.mark.parametrize("t", WIDTHS)
@pytest.mark.parametrize("power,position", [("5", "first"), ("5", "middle"), ("2", "middle"), ("4", "last")])
def test_forged_sbox_value_is_caught(t, power, position):
    values = [11, 22, 33]
    honest_r1cs, honest = build_hash(values, t)
    rows = sbox_rows(honest_r1cs, power)
    target = {"first": rows[0], "middle": rows[len(rows) // 2], "last": rows[-1]}[position]
    r1cs, witness = build_hash(values, t, TamperingSystem({f"x{i}": v for i, v in enumerate(values)}, target))
    assert r1cs.digest() == honest_r1cs.digest()  # same circuit, different assignment
    assert witness[1] != honest[1] == poseidon_hash(values, t=t)  # the forgery changes the output
    assert r1cs.first_unsatisfied(witness) == target
    assert not r1cs.is_satisfied(witness)


@pytest.mark.parametrize("t", WIDTHS)
def test_forged_output_is_caught(t):
    r1cs, witness = build_hash([1, 2, 3], t)
    assert r1cs.is_satisfied(witness)
    bad = forged(witness, 1, witness[1] + 1)
    assert r1cs.labels[r1cs.first_unsatisfied(bad)] == "output digest"


def test_groth16_rejects_wrong_digest():
    """A real proof of a Poseidon chain verifies for the honest digest and not for digest + 1."""
    from zkproofs.groth16 import prove, setup, verify

    circuit = RangePoseidon(count=1)
    pk = setup(circuit, backend="arkworks", party="tests")
    r1cs, witness = circuit.synthesize({"values[0]": 42})
    digest = hash2(0, 42)
    assert witness[1] == digest
    proof = prove(pk, r1cs, witness)
    assert verify(pk.vk, [digest], proof)
    assert not verify(pk.vk, [(digest + 1) % R], proof)


@pytest.mark.parametrize("t", [3, 5])
def test_batched_sponge_equals_one_at_a_time(t):
    rows = [[(i * 7919 + j * 104729) % R for j in range(6)] for i in range(5)]
    assert poseidon_hash_many(rows, t=t) == [poseidon_hash(row, t=t) for row in rows]
    assert poseidon_hash_many([], t=t) == []
    with pytest.raises(ValueError, match="input 1 has 5 elements"):
        poseidon_hash_many([rows[0], rows[1][:5]], t=t)
