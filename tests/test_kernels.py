"""Field kernels: the compiled C (zkproofs.kernels.native) equals the Python reference.

Every test takes the ``kern`` fixture and runs once per kernel path, so the reference
is itself checked against independent references (the published Poseidon vectors, the
literal Poseidon spec, galois for the NTT, pow(x, -1, r) for inversion) and the C
against the same. The native path is skipped with its reason when the extension was
not built, unless ZKPROOFS_REQUIRE_NATIVE=1 (as in CI), where that is a failure.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading

import galois
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkproofs import kernels
from zkproofs.domain import EvaluationDomain
from zkproofs.errors import BackendUnavailable, NonCanonicalFieldElement
from zkproofs.field import R, galois_field
from zkproofs.kernels import reference
from zkproofs.poseidon import PoseidonParams, permute_reference, poseidon_params
from zkproofs.poseidon.optimized import OptimizedConstants, optimized_constants
from tests.test_poseidon import VECTORS, sponge_by_spec

EDGES = [0, 1, 2, R - 2, R - 1]
SHIFT = 7  # any nonzero shift works; 7 generates F_r^*
field_elements = st.one_of(st.sampled_from(EDGES), st.integers(min_value=0, max_value=R - 1))


def _native_or_skip():
    try:
        from zkproofs.kernels import native
    except ImportError as exc:
        if os.environ.get("ZKPROOFS_REQUIRE_NATIVE") == "1":
            pytest.fail(f"ZKPROOFS_REQUIRE_NATIVE=1 but the compiled kernels are not built: {exc}")
        pytest.skip(f"compiled kernels not built ({exc}): only the reference path is tested")
    return native


def _isa_or_skip(native, isa):
    try:
        native._native.set_isa(isa)
    except ValueError as exc:
        pytest.skip(f"Poseidon code path {isa!r} not available on this machine ({exc})")


@pytest.fixture(scope="module", params=["python", "native", "native-adx", "native-generic"])
def kern(request):
    """Each kernel module in turn: the Python reference, the compiled C with the code path
    chosen at import (AVX-512 IFMA or BMI2/ADX on a CPU that has them), the compiled C
    forced onto the BMI2/ADX path (skipped where the CPU lacks it) and onto the portable
    path (fr.c compiles the Poseidon hot path once per instruction set)."""
    if request.param == "python":
        yield reference
        return
    native = _native_or_skip()
    chosen = native._native.isa()
    if request.param != "native":
        _isa_or_skip(native, request.param.removeprefix("native-"))
    try:
        yield native
    finally:
        native._native.set_isa(chosen)


def synthetic_params(t: int, r_p: int = 9) -> PoseidonParams:
    """A Poseidon-shaped instance of width t (random constants, Cauchy MDS): exercises
    the kernels at widths params.py does not ship; not a secure instance."""
    rng = random.Random(1000 + t)
    constants = tuple(tuple(rng.randrange(R) for _ in range(t)) for _ in range(8 + r_p))
    xs, ys = list(range(1, t + 1)), list(range(t + 1, 2 * t + 1))
    mds = tuple(tuple(pow(x + y, -1, R) for y in ys) for x in xs)
    return PoseidonParams(t, 8, r_p, constants, mds)


ALL_WIDTHS = list(range(2, 18))
PARAMS = {t: poseidon_params(t) if t in VECTORS else synthetic_params(t) for t in ALL_WIDTHS}


# Poseidon -------------------------------------------------------------------------
@pytest.mark.parametrize("t", sorted(VECTORS))
def test_published_vectors(kern, t):
    opt = optimized_constants(poseidon_params(t))
    assert kern.permute_many([list(range(t)), list(range(t))], opt) == [VECTORS[t]] * 2


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_permutation_equals_literal_spec_at_every_width(kern, data):
    t = data.draw(st.sampled_from(ALL_WIDTHS))
    params = PARAMS[t]
    states = data.draw(st.lists(st.lists(field_elements, min_size=t, max_size=t), min_size=1, max_size=3))
    assert kern.permute_many(states, optimized_constants(params)) == [permute_reference(s, params) for s in states]


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_permutation_reduces_any_int_like_the_spec(kern, data):
    t = data.draw(st.sampled_from(sorted(VECTORS)))
    params = poseidon_params(t)
    wild = st.one_of(st.integers(min_value=-(2**300), max_value=2**300), st.sampled_from([R, 2**256 - 1, 2**256, -1, -R]))
    state = data.draw(st.lists(wild, min_size=t, max_size=t))
    assert kern.permute_many([state], optimized_constants(params)) == [permute_reference([x % R for x in state], params)]


def extreme_constants(t: int, r_p: int = 5) -> OptimizedConstants:
    """Appendix-B constants with every entry r - 1: each lazy dot product in the C sums t
    products of (r - 1) with a state element, the largest accumulations the kernel's
    bounds (poseidon_isa.h) must hold. Not a Poseidon instance; the reference evaluates it too."""
    top = R - 1
    row, matrix = (top,) * t, ((top,) * t,) * t
    return OptimizedConstants(t=t, mds=matrix, first_constants=(row,) * 4, pre_sparse_mds=matrix,
                              partial_constants=(top,) * r_p, sparse=((top, (top,) * (t - 1), (top,) * (t - 1)),) * r_p,
                              last_constants=(row,) * 4)


@pytest.mark.parametrize("t", ALL_WIDTHS)
def test_lazy_reduction_holds_at_the_largest_sums(kern, t):
    opt = extreme_constants(t)
    states = [[R - 1] * t, [0] * t, list(range(t)), [R - 1 - i for i in range(t)]]
    assert kern.permute_many(states, opt) == [reference.permute_one(s, opt) for s in states]


def test_code_path_selection_refuses_unknown_names():
    native = _native_or_skip()
    chosen = native._native.isa()
    assert chosen in ("ifma", "adx", "generic")
    with pytest.raises(ValueError, match="not available"):
        native._native.set_isa("avx9000")
    assert native._native.isa() == chosen


@pytest.mark.parametrize("length", [0, 2, 4, 6])
def test_permutation_refuses_wrong_state_length(kern, length):
    with pytest.raises(ValueError, match=f"must have 5 elements, got {length}"):
        kern.permute_many([[0] * 5, [0] * length], optimized_constants(poseidon_params(5)))


def test_permutation_of_no_states(kern):
    assert kern.permute_many([], optimized_constants(poseidon_params(3))) == []


@pytest.mark.parametrize("t", [3, 5])
def test_generic_partial_round_loop_matches_vector(monkeypatch, t):
    """The reference's width-independent partial-round loop (widths without an unrolled kernel)."""
    calls = []
    loop = reference._partial_rounds_any

    def spy(*args):
        calls.append(len(args[0]))
        return loop(*args)

    monkeypatch.setattr(reference, "_PARTIAL_ROUNDS", {})
    monkeypatch.setattr(reference, "_partial_rounds_any", spy)
    assert reference.permute_one(list(range(t)), optimized_constants(poseidon_params(t))) == VECTORS[t]
    assert calls == [t]


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_sponge_follows_documented_convention(kern, data):
    t = data.draw(st.sampled_from(sorted(VECTORS)))
    length = data.draw(st.integers(min_value=1, max_value=2 * t + 1))
    rows = data.draw(st.lists(st.lists(field_elements, min_size=length, max_size=length), min_size=1, max_size=3))
    assert kern.poseidon_hash_many(rows, optimized_constants(poseidon_params(t))) == [sponge_by_spec(r, t) for r in rows]


@pytest.mark.parametrize("t", ALL_WIDTHS)
def test_sponge_native_equals_reference_at_every_width(kern, t):
    opt = optimized_constants(PARAMS[t])
    rng = random.Random(t)
    rows = [[rng.choice(EDGES + [rng.randrange(R)]) for _ in range(2 * t + 1)] for _ in range(3)]
    assert kern.poseidon_hash_many(rows, opt) == reference.poseidon_hash_many(rows, opt)


def test_sponge_batch_crosses_chunk_boundaries(kern):
    """More rows than one C chunk (2048), so the conversion loop restarts mid-batch."""
    opt = optimized_constants(poseidon_params(3))
    rows = [[i, 2 * i] for i in range(2100)]
    digests = kern.poseidon_hash_many(rows, opt)
    assert len(set(digests)) == 2100
    assert digests[2099] == sponge_by_spec(rows[2099], 3) and digests[0] == sponge_by_spec(rows[0], 3)


@pytest.mark.parametrize("bad", [R, R + 5, 2**256 - 1, 2**256, 2**300, -1, "1", 1.0, None])
def test_sponge_refuses_non_canonical_input(kern, bad):
    opt = optimized_constants(poseidon_params(5))
    with pytest.raises(NonCanonicalFieldElement, match=r"Poseidon input 2: .* is not in \[0, r\)"):
        kern.poseidon_hash_many([[1, 2, 3], [0, 1, bad]], opt)


def test_sponge_refuses_empty_and_ragged_rows(kern):
    opt = optimized_constants(poseidon_params(3))
    assert kern.poseidon_hash_many([], opt) == []
    with pytest.raises(ValueError, match="at least one input"):
        kern.poseidon_hash_many([[]], opt)
    with pytest.raises(ValueError, match="input 2 has 1 elements, input 0 has 2"):
        kern.poseidon_hash_many([[1, 2], [3, 4], [5]], opt)


def test_sponge_releases_the_gil_safely_across_threads(kern):
    """Two threads hashing at once get exactly the single-threaded results."""
    opt = optimized_constants(poseidon_params(5))
    rows = [[i, i + 1, i + 2, i + 3, i + 4, i + 5] for i in range(300)]
    expected = kern.poseidon_hash_many(rows, opt)
    results = [None, None]

    def work(k):
        results[k] = kern.poseidon_hash_many(rows, opt)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [expected, expected]


# NTT ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def GF():
    return galois_field()


def galois_evaluations(GF, coeffs, points):
    return [int(v) for v in galois.Poly(list(coeffs)[::-1], field=GF)(GF(points))]


@pytest.mark.parametrize("size", [1, 2, 4, 32])
def test_ntt_matches_galois(kern, GF, size):
    rng = random.Random(size)
    domain = EvaluationDomain(size)
    values = [rng.choice(EDGES + [rng.randrange(R)]) for _ in range(size)]
    powers = domain.elements()
    assert kern.ntt(values, size, domain.omega) == galois_evaluations(GF, values, powers)
    coset = [SHIFT * w % R for w in powers]
    assert kern.ntt(values, size, domain.omega, pre_shift=SHIFT) == galois_evaluations(GF, values, coset)
    # inverse: the evaluations on the domain (coset) interpolate back to the coefficients
    evals = galois_evaluations(GF, values, powers)
    assert kern.ntt(evals, size, domain.omega_inv, post_factor=domain.size_inv) == values
    evals = galois_evaluations(GF, values, coset)
    g_inv = pow(SHIFT, -1, R)
    assert kern.ntt(evals, size, domain.omega_inv, post_factor=domain.size_inv, post_shift=g_inv) == values


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_ntt_native_equals_reference_with_any_twists(kern, data):
    log = data.draw(st.integers(min_value=0, max_value=9))
    size = 1 << log
    values = data.draw(st.lists(field_elements, min_size=0, max_size=size))
    twists = data.draw(st.lists(field_elements, min_size=3, max_size=3))
    omega = EvaluationDomain(size).omega
    assert kern.ntt(values, size, omega, *twists) == reference.ntt(values, size, omega, *twists)


def test_ntt_reduces_non_canonical_values(kern):
    omega = EvaluationDomain(4).omega
    wild = [R, -1, 2**256 + 3, 2**300]
    assert kern.ntt(wild, 4, omega) == reference.ntt([x % R for x in wild], 4, omega)


@pytest.mark.parametrize("size,count", [(3, 1), (0, 0), (4, 5)])
def test_ntt_refuses_bad_sizes(kern, size, count):
    with pytest.raises(ValueError):
        kern.ntt([1] * count, size, 1)


# batch inversion --------------------------------------------------------------------
def test_batch_inverse_matches_pow(kern):
    rng = random.Random(5)
    values = [1, 2, R - 1, R - 2] + [rng.randrange(1, R) for _ in range(50)]
    assert kern.batch_inverse(values) == [pow(v, -1, R) for v in values]
    assert kern.batch_inverse([]) == []
    assert kern.batch_inverse([R + 3, -1]) == [pow(3, -1, R), R - 1]


@pytest.mark.parametrize("values", [[0], [1, 0, 2], [5, R], [3, -R]])
def test_batch_inverse_refuses_zero(kern, values):
    with pytest.raises(ZeroDivisionError, match="zero element"):
        kern.batch_inverse(values)


# selection --------------------------------------------------------------------------
def test_selection_by_environment():
    code = "import zkproofs.kernels as k; print(k.active_kernels())"
    env = dict(os.environ, ZKPROOFS_KERNELS="python")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "python"
    env["ZKPROOFS_KERNELS"] = "fortran"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown kernels 'fortran'" in bad.stderr


def test_use_kernels_switches_the_dispatch(monkeypatch):
    before = kernels.active_kernels()
    try:
        kernels.use_kernels("python")
        calls = []
        monkeypatch.setattr(reference, "batch_inverse", lambda v: calls.append(v) or [1])
        assert kernels.batch_inverse([1]) == [1] and calls == [[1]]
        with pytest.raises(BackendUnavailable, match="unknown kernels"):
            kernels.use_kernels("gpu")
        assert kernels.active_kernels() == "python"
    finally:
        kernels.use_kernels(before)


def test_doctor_reports_the_active_kernels():
    from click.testing import CliRunner

    from cli.main import main

    result = CliRunner().invoke(main, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["kernels"]["active"] == kernels.active_kernels()
    assert report["kernels"]["native_built"] == (kernels.native_unavailable_reason() is None)
    assert report["kernels"]["poseidon_code_path"] == kernels.native_code_path()
    assert kernels.native_code_path() in ((None,) if kernels.native_unavailable_reason() else ("ifma", "adx", "generic"))
    version = CliRunner().invoke(main, ["--version"])
    assert f"kernels: {kernels.active_kernels()}" in version.output


# Merkle-sum tree levels -------------------------------------------------------------
OPT3, OPT5 = optimized_constants(poseidon_params(3)), optimized_constants(poseidon_params(5))
amount_values = st.one_of(st.sampled_from([0, 1, 2**64 - 1]), st.integers(min_value=0, max_value=2**64 - 1))


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_merkle_sum_leaves_native_equals_reference(kern, data):
    n_sums = data.draw(st.integers(min_value=1, max_value=10))
    n_amounts = n_sums + data.draw(st.integers(min_value=0, max_value=6))  # pledged amounts: hashed, not stored
    n = data.draw(st.integers(min_value=0, max_value=5))
    keys = data.draw(st.lists(st.tuples(field_elements, field_elements), min_size=n, max_size=n))
    amounts = data.draw(st.lists(st.lists(amount_values, min_size=n_amounts, max_size=n_amounts), min_size=n, max_size=n))
    sum_bytes = data.draw(st.integers(min_value=8, max_value=16))
    prefix = data.draw(st.lists(field_elements, max_size=reference.MAX_LEAF_PREFIX))  # the pledge classes' digest
    got = kern.merkle_sum_leaves(keys, amounts, OPT3, OPT5, n_amounts, n_sums, sum_bytes, 1, prefix)
    assert got == reference.merkle_sum_leaves(keys, amounts, OPT3, OPT5, n_amounts, n_sums, sum_bytes, 1, prefix)
    # and the documented layout, from the sponge by its spec
    size = 32 + n_sums * sum_bytes
    for i, ((key_id, salt), row) in enumerate(zip(keys, amounts)):
        commitment = sponge_by_spec([key_id, salt], 3)
        packed = reference._pack([1, *row], 64)
        assert got[i * size : i * size + 32] == sponge_by_spec([commitment, *prefix, *packed], 5).to_bytes(32, "big")
        assert got[i * size + 32 : (i + 1) * size] == b"".join(v.to_bytes(sum_bytes, "big") for v in row[:n_sums])


@pytest.mark.parametrize(
    "keys, amounts, error",
    [
        ([(R, 1)], [[1, 2]], NonCanonicalFieldElement),
        ([(1, -1)], [[1, 2]], NonCanonicalFieldElement),
        ([(1, 2, 3)], [[1, 2]], NonCanonicalFieldElement),
        ([(1, 2)], [[1, 2**64]], ValueError),
        ([(1, 2)], [[-1, 2]], ValueError),
        ([(1, 2)], [[True, 2]], ValueError),
        ([(1, 2)], [[1, 2, 3]], ValueError),
        ([(1, 2)], [], ValueError),
    ],
)
def test_merkle_sum_leaves_refuses_bad_input(kern, keys, amounts, error):
    with pytest.raises(error, match="merkle_sum_leaves"):
        kern.merkle_sum_leaves(keys, amounts, OPT3, OPT5, 2, 2, 9, 1)


@pytest.mark.parametrize("n_sums", [65, 440, reference.MAX_SUMS])
def test_merkle_sum_kernels_take_wide_records(kern, n_sums):
    """Many assets (OKX publishes 220: 440 sums) hash natively as by the reference."""
    keys, amounts = [(3, 4), (5, 6)], [[(7 * i + j) % 2**64 for i in range(n_sums)] for j in range(2)]
    leaves = kern.merkle_sum_leaves(keys, amounts, OPT3, OPT5, n_sums, n_sums, 9, 1)
    assert leaves == reference.merkle_sum_leaves(keys, amounts, OPT3, OPT5, n_sums, n_sums, 9, 1)
    assert kern.merkle_sum_level(leaves, OPT5, n_sums, 9, 65, 2) == reference.merkle_sum_level(leaves, OPT5, n_sums, 9, 65, 2)


def test_merkle_sum_kernels_refuse_more_sums_than_they_take(kern):
    n_sums = reference.MAX_SUMS + 1
    with pytest.raises(ValueError, match="unsupported shape"):
        kern.merkle_sum_leaves([(1, 2)], [[0] * n_sums], OPT3, OPT5, n_sums, n_sums, 9, 1)
    with pytest.raises(ValueError, match="unsupported shape"):  # fewer amounts than stored sums, or too many
        kern.merkle_sum_leaves([(1, 2)], [[0, 0]], OPT3, OPT5, 1, 2, 9, 1)
    with pytest.raises(ValueError, match="unsupported shape"):
        kern.merkle_sum_leaves([(1, 2)], [[0] * 2], OPT3, OPT5, reference.MAX_LEAF_AMOUNTS + 1, 2, 9, 1)
    for prefix in ([0] * (reference.MAX_LEAF_PREFIX + 1), [R], [-1]):
        with pytest.raises(NonCanonicalFieldElement, match="prefix"):
            kern.merkle_sum_leaves([(1, 2)], [[0, 0]], OPT3, OPT5, 2, 2, 9, 1, prefix)
    with pytest.raises(ValueError, match="unsupported shape"):
        kern.merkle_sum_level(bytes(2 * (32 + 9 * n_sums)), OPT5, n_sums, 9, 65, 2)


def _records(hashes, sums, sum_bytes):
    return b"".join(h.to_bytes(32, "big") + b"".join(v.to_bytes(sum_bytes, "big") for v in s) for h, s in zip(hashes, sums))


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_merkle_sum_level_native_equals_reference(kern, data):
    n_sums = data.draw(st.integers(min_value=1, max_value=10))
    bits = data.draw(st.sampled_from([64, 65, 84, 85, 127, 128]))
    sum_bytes = (bits + 7) // 8
    top = 2 ** (bits - 1) - 1  # children of a level below the top: their sum fits W bits
    child = st.one_of(st.sampled_from([0, top]), st.integers(min_value=0, max_value=top))
    m = data.draw(st.integers(min_value=0, max_value=4))
    hashes = data.draw(st.lists(field_elements, min_size=2 * m, max_size=2 * m))
    sums = data.draw(st.lists(st.lists(child, min_size=n_sums, max_size=n_sums), min_size=2 * m, max_size=2 * m))
    records = _records(hashes, sums, sum_bytes)
    got = kern.merkle_sum_level(records, OPT5, n_sums, sum_bytes, bits, 2)
    assert got == reference.merkle_sum_level(records, OPT5, n_sums, sum_bytes, bits, 2)
    for j in range(m):  # the documented layout, from the sponge by its spec
        packed = reference._pack([2, *sums[2 * j], *sums[2 * j + 1]], bits)
        parent = [a + b for a, b in zip(sums[2 * j], sums[2 * j + 1])]
        expected = _records([sponge_by_spec([hashes[2 * j], hashes[2 * j + 1], *packed], 5)], [parent], sum_bytes)
        size = len(expected)
        assert got[j * size : (j + 1) * size] == expected


def test_merkle_sum_level_binds_every_child_sum(kern):
    """Changing any one child sum (or hash) changes the parent hash: the full-sums binding."""
    n_sums, bits, sum_bytes = 4, 84, 11
    hashes, sums = [5, 6], [[1, 2, 3, 4], [5, 6, 7, 8]]
    honest = kern.merkle_sum_level(_records(hashes, sums, sum_bytes), OPT5, n_sums, sum_bytes, bits, 2)[:32]
    for child in range(2):
        for i in range(n_sums):
            forged = [list(s) for s in sums]
            forged[child][i] += 1
            assert kern.merkle_sum_level(_records(hashes, forged, sum_bytes), OPT5, n_sums, sum_bytes, bits, 2)[:32] != honest
        assert kern.merkle_sum_level(_records([7 if k == child else h for k, h in enumerate(hashes)], sums, sum_bytes), OPT5, n_sums, sum_bytes, bits, 2)[:32] != honest


@pytest.mark.parametrize(
    "hashes, sums, bits, sum_bytes, match",
    [
        ([R, 1], [[1], [2]], 84, 11, "child hash is not < r"),
        ([1, 2], [[2**84], [2]], 84, 11, "child sum is not below 2\\^W"),
        ([1, 2], [[2**64 - 1], [2**64 - 1]], 64, 8, "parent sum does not fit"),
        ([1, 2], [[2**128 - 1], [1]], 128, 16, "parent sum does not fit"),
    ],
)
def test_merkle_sum_level_refuses_bad_records(kern, hashes, sums, bits, sum_bytes, match):
    records = _records(hashes, sums, sum_bytes)
    with pytest.raises(ValueError, match=match):
        kern.merkle_sum_level(records, OPT5, 1, sum_bytes, bits, 2)


@pytest.mark.parametrize("length", [1, 43, 43 * 3])
def test_merkle_sum_level_refuses_partial_pairs(kern, length):
    with pytest.raises(ValueError, match="whole pairs"):
        kern.merkle_sum_level(bytes(length), OPT5, 1, 11, 84, 2)


# fixed-base G1 / G2 (Groth16 setup) ------------------------------------------------
def _generator_lem(group):
    from zkproofs.backends import get_backend
    from zkproofs.ceremony import encoding as enc

    be = get_backend("py_ecc")
    return enc.g1_to_lem(be, be.g1_generator()) if group == "G1" else enc.g2_to_lem(be, be.g2_generator())


def _py_ecc_multiples(group, scalars):
    """The oracle: py_ecc's own scalar multiplication, in snarkjs' LEM layout."""
    from zkproofs.backends import get_backend
    from zkproofs.ceremony import encoding as enc

    be = get_backend("py_ecc")
    if group == "G1":
        return b"".join(enc.g1_to_lem(be, be.g1_mul(be.g1_generator(), k)) for k in scalars)
    return b"".join(enc.g2_to_lem(be, be.g2_mul(be.g2_generator(), k)) for k in scalars)


EDGE_SCALARS = [0, 1, 2, 3, 15, 16, 17, R - 1, R - 2, (R - 1) // 2, 2**254, 2**64 - 1, 2**64]


@pytest.mark.parametrize("group", ["G1", "G2"])
@pytest.mark.parametrize("count", [1, 1000])  # windows of 4 and 8 bits
def test_fixed_base_equals_py_ecc(kern, group, count):
    """Both kernels against py_ecc's double-and-add, at edge scalars (0 is the point at
    infinity, all zeros; r - 1 is -G; 2^64 straddles a limb) and window widths that put a
    window across a limb boundary."""
    scalars = EDGE_SCALARS + [random.Random(7).randrange(R) for _ in range(4)]
    table = kern.fixed_base_table(group, _generator_lem(group), count)
    out = kern.fixed_base_mul(table, scalars)
    assert out == _py_ecc_multiples(group, scalars)
    assert out[: 96 if group == "G1" else 192] == bytes(96 if group == "G1" else 192)


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_fixed_base_native_equals_reference(data):
    native = _native_or_skip()
    group = data.draw(st.sampled_from(["G1", "G2"]))
    count = data.draw(st.sampled_from([1, 100, 5000]))
    scalars = data.draw(st.lists(st.integers(0, R - 1), min_size=0, max_size=40))
    base = kernels.reference.fixed_base_mul(kernels.reference.fixed_base_table(group, _generator_lem(group), 1), [data.draw(st.integers(1, R - 1))])
    expected = reference.fixed_base_mul(reference.fixed_base_table(group, base, count), scalars)
    assert native.fixed_base_mul(native.fixed_base_table(group, base, count), scalars) == expected


def test_fixed_base_threads_share_one_table(kern):
    """The native kernel releases the GIL: two threads on one table give what one call gives."""
    rng = random.Random(11)
    scalars = [rng.randrange(R) for _ in range(600)]
    table = kern.fixed_base_table("G1", _generator_lem("G1"), len(scalars))
    whole = kern.fixed_base_mul(table, scalars)
    parts = [b"", b""]

    def work(i):
        parts[i] = kern.fixed_base_mul(table, scalars[i * 300 : (i + 1) * 300])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert parts[0] + parts[1] == whole


@pytest.mark.parametrize("bad", [R, -1, 2**256, 1.0, "1"])
def test_fixed_base_refuses_scalars_outside_the_field(kern, bad):
    table = kern.fixed_base_table("G1", _generator_lem("G1"), 4)
    with pytest.raises((ValueError, TypeError), match="#2|int"):
        kern.fixed_base_mul(table, [1, 2, bad])


def test_fixed_base_refuses_a_base_off_the_curve(kern):
    from zkproofs.errors import InvalidPoint

    lem = bytearray(_generator_lem("G1"))
    lem[50] ^= 1  # y changed: off the curve
    with pytest.raises(InvalidPoint):
        kern.fixed_base_table("G1", bytes(lem), 4)
    with pytest.raises(ValueError, match="group"):
        kern.fixed_base_table("G3", _generator_lem("G1"), 4)


# fixed-base MSM (a hot verification key's input combination) ---------------------------------
@pytest.mark.parametrize("group", ["G1", "G2"])
def test_fixed_base_msm_is_the_discrete_log_sum(kern, group):
    """sum k_j (m_j G) = (sum k_j m_j) G against py_ecc, with a repeated base under equal
    scalars (the accumulator doubles), a base and its negation (it cancels to infinity on
    the way), edge scalars, and tables of two window widths mixed."""
    rng = random.Random(5)
    multiples = [5, 5, 9, R - 9, 1, 2] + [rng.randrange(1, R) for _ in range(6)]
    scalars = [7, 7, 3, 3, R - 1, 0, 2**64, 2**254, 1, 16, rng.randrange(R), rng.randrange(R)]
    lem = _msm_bases_lem(group, multiples)
    size = 96 if group == "G1" else 192
    tables = [kern.fixed_base_table(group, lem[j * size : (j + 1) * size], 1 if j % 2 else 1000) for j in range(len(multiples))]
    expected = _py_ecc_multiples(group, [sum(k * m for k, m in zip(scalars, multiples)) % R])
    assert kern.fixed_base_msm(tables, scalars) == expected
    assert kern.fixed_base_msm(tables[:4], [1, R - 1, 0, 0]) == bytes(size)  # 5G - 5G: infinity
    assert kern.fixed_base_msm([], []) == bytes(96)


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_fixed_base_msm_native_equals_reference(data):
    native = _native_or_skip()
    group = data.draw(st.sampled_from(["G1", "G2"]))
    n = data.draw(st.integers(1, 20))
    multiples = data.draw(st.lists(st.integers(1, R - 1), min_size=n, max_size=n))
    scalars = data.draw(st.lists(st.one_of(st.sampled_from([0, 1, R - 1]), st.integers(0, R - 1)), min_size=n, max_size=n))
    size = 96 if group == "G1" else 192
    lem = _msm_bases_lem(group, multiples)
    bases = [lem[j * size : (j + 1) * size] for j in range(n)]
    expected = reference.fixed_base_msm([reference.fixed_base_table(group, b, 1000) for b in bases], scalars)
    assert native.fixed_base_msm([native.fixed_base_table(group, b, 1000) for b in bases], scalars) == expected


def test_fixed_base_msm_refuses_bad_input(kern):
    g1 = kern.fixed_base_table("G1", _generator_lem("G1"), 4)
    g2 = kern.fixed_base_table("G2", _generator_lem("G2"), 4)
    for tables, scalars, message in (([g1, g1], [1], "2 tables but 1 scalars"), ([g1, g2], [1, 1], "both groups"),
                                     ([g1, g1], [1, R], "#1"), ([g1], [-1], "#0")):
        with pytest.raises(ValueError, match=message):
            kern.fixed_base_msm(tables, scalars)


# multi-scalar multiplication (the Groth16 prover) ---------------------------------------------
def _msm_bases_lem(group, multiples):
    """Bases m_j G as snarkjs' LEM bytes (m = 0: the point at infinity), by the reference
    fixed-base kernel (itself held to py_ecc above)."""
    table = reference.fixed_base_table(group, _generator_lem(group), len(multiples))
    return reference.fixed_base_mul(table, multiples)


@pytest.mark.parametrize("group", ["G1", "G2"])
def test_msm_equals_the_discrete_log_sum(kern, group):
    """sum k_j (m_j G) = (sum k_j m_j) G, checked against py_ecc's double-and-add, with a
    base at infinity, a repeated base under equal scalars (a bucket doubling), a base and
    its negation under equal scalars (a bucket emptied), edge scalars and an offset slice."""
    rng = random.Random(3)
    multiples = [0, 5, 5, 9, R - 9, 1, 2, 3] + [rng.randrange(1, R) for _ in range(8)]
    scalars = [7, 11, 11, 4, 4, 0, 1, R - 1] + EDGE_SCALARS[:8]
    bases = kern.msm_bases(group, _msm_bases_lem(group, multiples))
    expected = sum(k * m for k, m in zip(scalars, multiples)) % R
    assert kern.msm(bases, scalars) == _py_ecc_multiples(group, [expected])
    tail = sum(k * m for k, m in zip(scalars[:5], multiples[3:8])) % R
    assert kern.msm(bases, scalars[:5], 3) == _py_ecc_multiples(group, [tail])
    assert kern.msm(bases, []) == bytes(96 if group == "G1" else 192)


@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_msm_native_equals_reference(data):
    """Sizes that change the window width and fill several affine batches, with scalars
    drawn from bits and small amounts (one bucket takes most points: its overflow path),
    full field elements, or a mix."""
    native = _native_or_skip()
    group = data.draw(st.sampled_from(["G1", "G2"]))
    n = data.draw(st.sampled_from([1, 37, 700, 2500]))
    seed = data.draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    kind = data.draw(st.sampled_from(["bits", "field", "mixed"]))
    draw = {"bits": lambda: rng.randrange(2), "field": lambda: rng.randrange(R),
            "mixed": lambda: rng.choice([0, 1, rng.randrange(2**64), rng.randrange(R)])}[kind]
    scalars = [draw() for _ in range(n)]
    lem = _msm_bases_lem(group, [rng.randrange(R) for _ in range(n)])
    assert native.msm(native.msm_bases(group, lem), scalars) == reference.msm(reference.msm_bases(group, lem), scalars)


def test_msm_at_a_prover_sized_window():
    """12,000 bases: the native kernel picks 11-bit windows and fills batches of 512 (the
    hypothesis sizes stay below 10 bits), against arkworks through the reference twin."""
    native = _native_or_skip()
    rng = random.Random(17)
    n = 12_000
    lem = _msm_bases_lem("G1", [rng.randrange(R) for _ in range(n)])
    scalars = [rng.choice([0, 1, rng.randrange(2**64), rng.randrange(R)]) for _ in range(n)]
    assert native.msm(native.msm_bases("G1", lem), scalars) == reference.msm(reference.msm_bases("G1", lem), scalars)


def test_msm_threads_share_one_set_of_bases(kern):
    """The native kernel releases the GIL: two threads on one set of bases give the halves
    of one call's sum."""
    rng = random.Random(13)
    lem = _msm_bases_lem("G1", [rng.randrange(R) for _ in range(400)])
    scalars = [rng.randrange(R) for _ in range(400)]
    bases = kern.msm_bases("G1", lem)
    parts = [b"", b""]

    def work(i):
        parts[i] = kern.msm(bases, scalars[i * 200 : (i + 1) * 200], i * 200)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = kern.msm(kern.msm_bases("G1", parts[0] + parts[1]), [1, 1])  # the halves' sum
    assert both == kern.msm(bases, scalars)


@pytest.mark.parametrize("bad", [R, -1, 2**256, 1.0, "1"])
def test_msm_refuses_scalars_outside_the_field(kern, bad):
    bases = kern.msm_bases("G1", _msm_bases_lem("G1", [1, 2, 3]))
    with pytest.raises((ValueError, TypeError), match="#2|int"):
        kern.msm(bases, [1, 2, bad])


def test_msm_refuses_bad_bases_and_slices(kern):
    from zkproofs.backends.common import Q
    from zkproofs.errors import InvalidPoint

    lem = _msm_bases_lem("G1", [1, 2, 3])
    bases = kern.msm_bases("G1", lem)
    with pytest.raises(ValueError, match="do not fit"):
        kern.msm(bases, [1, 2], 2)
    with pytest.raises(ValueError, match="do not fit"):
        kern.msm(bases, [1], -1)
    with pytest.raises(InvalidPoint, match="#2"):
        kern.msm_bases("G1", lem[:192] + Q.to_bytes(48, "little") + lem[240:])
    with pytest.raises(ValueError, match="whole number"):
        kern.msm_bases("G2", lem)
    with pytest.raises(ValueError, match="group"):
        kern.msm_bases("G3", lem)


def test_fq_from_mont_many(kern):
    from zkproofs.backends.common import Q

    rng = random.Random(5)
    values = [0, 1, Q - 1] + [rng.randrange(Q) for _ in range(50)]
    data = b"".join(v.to_bytes(48, "little") for v in values)
    inv = pow(1 << 384, -1, Q)
    assert kern.fq_from_mont_many(data) == b"".join((v * inv % Q).to_bytes(48, "little") for v in values)
    with pytest.raises(ValueError, match="#3 is not less than q"):
        kern.fq_from_mont_many(data[: 3 * 48] + Q.to_bytes(48, "little"))
    with pytest.raises(ValueError, match="48-byte"):
        kern.fq_from_mont_many(data[:47])


def test_an_extension_built_from_older_source_is_refused(monkeypatch):
    """A checkout updated without reinstalling keeps an old _native: refused at import with
    the fix named, so the reference kernels serve instead of an AttributeError mid-build."""
    import importlib
    import types

    import zkproofs.kernels as package

    stale = types.ModuleType("zkproofs.kernels._native")
    stale.poseidon_new = stale.permute_many = stale.hash_many = lambda *args: None
    monkeypatch.setitem(sys.modules, "zkproofs.kernels._native", stale)
    monkeypatch.setattr(package, "_native", stale, raising=False)
    monkeypatch.delitem(sys.modules, "zkproofs.kernels.native", raising=False)
    with pytest.raises(ImportError, match=r"older than this source \(no merkle_sum_leaves, .*pip install -e"):
        importlib.import_module("zkproofs.kernels.native")


def test_curve_kernels_take_ints_only_and_own_their_arguments(kern):
    """A bool is not a scalar (the twins agree), and a scalar sequence whose iteration empties the
    tables' list cannot leave the kernel reading freed tables (it holds its own references)."""
    g1 = kern.fixed_base_table("G1", _generator_lem("G1"), 4)
    for bad in (True, 1.0):
        with pytest.raises(ValueError, match="#1"):
            kern.fixed_base_msm([g1, g1], [1, bad])
        with pytest.raises(ValueError, match="#1"):
            kern.fixed_base_mul(g1, [1, bad])
    tables = [kern.fixed_base_table("G1", _generator_lem("G1"), 4) for _ in range(3)]

    def scalars():
        yield 1
        yield 2
        tables.clear()
        yield 3

    with pytest.raises(ValueError, match="0 tables but 3 scalars"):  # the scalars are read first, then the tables
        kern.fixed_base_msm(tables, scalars())
    tables = [kern.fixed_base_table("G1", _generator_lem("G1"), 4) for _ in range(3)]
    assert kern.fixed_base_msm(tables, [1, 2, 3]) == _py_ecc_multiples("G1", [6])


def test_merkle_sum_leaves_owns_its_sequences(kern):
    """A key whose iteration empties the caller's list of keys changes nothing: the kernel holds
    its own copy (the C kernel used to read the list again, after it was emptied)."""
    keys, amounts = [], [[1, 2], [3, 4]]

    class Key:
        def __init__(self, a, b):
            self.pair = (a, b)

        def __iter__(self):
            keys.clear()
            return iter(self.pair)

        def __len__(self):
            return 2

        def __getitem__(self, i):
            keys.clear()
            return self.pair[i]

    keys += [Key(1, 2), Key(3, 4)]
    expected = reference.merkle_sum_leaves([(1, 2), (3, 4)], amounts, OPT3, OPT5, 2, 2, 9, 1)
    assert kern.merkle_sum_leaves(keys, amounts, OPT3, OPT5, 2, 2, 9, 1) == expected
