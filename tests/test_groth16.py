"""Groth16 end to end: prove with one backend, verify with the other; every rejection path.

Tier 2: full setup/prove/verify on small circuits. The pure-Python setup and
larger circuits are marked slow.
"""

import dataclasses

import pytest

from circuits.balance_threshold import BalanceThreshold
from circuits.cubic import Cubic
from tests.helpers import g1_off_curve_compressed, g1_off_subgroup_compressed
from zkproofs.errors import (
    CircuitMismatch,
    InvalidPoint,
    MalformedInput,
    NonCanonicalFieldElement,
    PublicInputCountMismatch,
    UnsatisfiedConstraint,
)
from zkproofs.field import R
from zkproofs.groth16 import prove, setup, verify, verify_batch
from zkproofs.groth16.serialize import (
    pk_from_bytes,
    pk_to_bytes,
    proof_from_json,
    proof_to_json,
    vk_from_json,
    vk_to_json,
)

BALANCE = {"balance": 1_000_000, "salt": 987654321, "threshold": 250_000}


@pytest.fixture(scope="module")
def cubic_pk():
    return setup(Cubic(), backend="arkworks", party="tests")


@pytest.fixture(scope="module")
def cubic_proof(cubic_pk):
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    return prove(cubic_pk, r1cs, witness)


@pytest.fixture(scope="module")
def balance_pk():
    return setup(BalanceThreshold(), backend="arkworks", party="tests")


@pytest.fixture(scope="module")
def balance_proof(balance_pk):
    r1cs, witness = BalanceThreshold().synthesize(BALANCE)
    return prove(balance_pk, r1cs, witness), witness[1:3]


def test_proof_is_192_bytes(cubic_proof):
    assert len(cubic_proof.to_bytes()) == 192


@pytest.mark.parametrize("verifier", ["arkworks", "py_ecc"])
def test_cubic_proves_and_verifies_across_backends(cubic_pk, cubic_proof, verifier):
    assert verify(cubic_pk.vk, [35], cubic_proof, backend=verifier) is True
    assert verify(cubic_pk.vk, [36], cubic_proof, backend=verifier) is False


@pytest.mark.parametrize("verifier", ["arkworks", "py_ecc"])
def test_balance_threshold_across_backends(balance_pk, balance_proof, verifier):
    proof, public = balance_proof
    assert verify(balance_pk.vk, public, proof, backend=verifier) is True
    threshold, commitment = public
    assert verify(balance_pk.vk, [threshold + 1, commitment], proof, backend=verifier) is False
    assert verify(balance_pk.vk, [threshold, commitment + 1], proof, backend=verifier) is False


def test_proving_with_py_ecc_verifies_with_arkworks():
    pk = setup(Cubic(), backend="py_ecc", party="tests")
    r1cs, witness = Cubic().synthesize({"x": 5, "y": 135})
    proof = prove(pk, r1cs, witness)
    assert verify(pk.vk, [135], proof, backend="arkworks") is True


def test_proofs_are_randomised(cubic_pk, cubic_proof):
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    again = prove(cubic_pk, r1cs, witness)
    assert again.to_bytes() != cubic_proof.to_bytes()
    assert verify(cubic_pk.vk, [35], again)


def test_unsatisfied_witness_cannot_be_proven(balance_pk):
    r1cs, witness = BalanceThreshold().synthesize({**BALANCE, "threshold": BALANCE["balance"] + 1})
    with pytest.raises(UnsatisfiedConstraint) as info:
        prove(balance_pk, r1cs, witness)
    assert "greater_or_equal" in info.value.label


def test_balance_at_boundaries_cannot_be_proven_above_2_64(balance_pk):
    r1cs, witness = BalanceThreshold().synthesize({**BALANCE, "balance": 2**64 - 1})
    assert r1cs.is_satisfied(witness)
    r1cs, witness = BalanceThreshold().synthesize({**BALANCE, "balance": 2**64})
    with pytest.raises(UnsatisfiedConstraint):
        prove(balance_pk, r1cs, witness)


def test_swapped_proof_elements_rejected(cubic_pk, cubic_proof):
    swapped = dataclasses.replace(cubic_proof, a=cubic_proof.c, c=cubic_proof.a)
    assert verify(cubic_pk.vk, [35], swapped) is False


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_batch_accepts_good_proofs_and_names_each_bad_one(cubic_pk, cubic_proof, backend):
    r1cs, witness = Cubic().synthesize({"x": 2, "y": 15})
    other = prove(cubic_pk, r1cs, witness)  # x^3 + x + 5 = 15 at x = 2
    vk = cubic_pk.vk
    assert verify_batch(vk, [([35], cubic_proof), ([15], other)], backend=backend) == [True, True]
    assert verify_batch(vk, [([35], cubic_proof)], backend=backend) == [True]
    # one bad leg in a batch, first or second: the batch fails and the verdicts name it
    assert verify_batch(vk, [([35], cubic_proof), ([16], other)], backend=backend) == [True, False]
    assert verify_batch(vk, [([36], cubic_proof), ([15], other)], backend=backend) == [False, True]
    # proofs swapped between statements, or one proof's A with the other's B and C: every verdict false
    assert verify_batch(vk, [([35], other), ([15], cubic_proof)], backend=backend) == [False, False]
    mixed = dataclasses.replace(cubic_proof, a=other.a)
    assert verify_batch(vk, [([35], mixed), ([15], other)], backend=backend) == [False, True]


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_batch_weights_catch_errors_that_cancel(cubic_pk, cubic_proof, backend, monkeypatch):
    """Two valid proofs whose C points are moved by +D and -D: each is invalid, and under equal
    weights (1/2 each: weights sum to one) their errors cancel and the batch equation holds.
    The random 128-bit weights, which never take that value, catch them (bellman's batch
    verifier draws random weights for this reason)."""
    from zkproofs.backends import get_backend
    from zkproofs.groth16 import verifier as verifier_module

    be = get_backend(backend)
    r1cs, witness = Cubic().synthesize({"x": 2, "y": 15})
    other = prove(cubic_pk, r1cs, witness)
    d = be.g1_mul(be.g1_generator(), 123456789)
    shift = lambda proof, point: dataclasses.replace(proof, c=be.g1_to_bytes(be.g1_add(be.g1_from_bytes(proof.c), point)))  # noqa: E731
    items = [([35], shift(cubic_proof, d)), ([15], shift(other, be.g1_neg(d)))]
    vk = cubic_pk.vk
    assert [verify(vk, *item, backend=backend) for item in items] == [False, False]
    with monkeypatch.context() as m:  # equal weights (1/2 each, summing to 1): the errors cancel and the batch passes
        m.setattr(verifier_module, "_batch_weights", lambda n: [(R + 1) // 2] * n)
        assert verify_batch(vk, items, backend=backend) == [True, True]
    assert verify_batch(vk, items, backend=backend) == [False, False]


def test_batch_refuses_malformed_input_before_pairing(cubic_pk, cubic_proof, balance_pk):
    with pytest.raises(ValueError):
        verify_batch(cubic_pk.vk, [])
    with pytest.raises(PublicInputCountMismatch):
        verify_batch(cubic_pk.vk, [([35], cubic_proof), ([], cubic_proof)])
    with pytest.raises(NonCanonicalFieldElement):
        verify_batch(cubic_pk.vk, [([35], cubic_proof), ([R + 35], cubic_proof)])
    with pytest.raises(CircuitMismatch):
        verify_batch(balance_pk.vk, [([1, 2], cubic_proof)])


def test_wrong_public_input_count(cubic_pk, cubic_proof):
    with pytest.raises(PublicInputCountMismatch):
        verify(cubic_pk.vk, [], cubic_proof)
    with pytest.raises(PublicInputCountMismatch):
        verify(cubic_pk.vk, [35, 1], cubic_proof)


@pytest.mark.parametrize("value", [R, R + 35, 2**256, -1])
def test_non_canonical_public_input(cubic_pk, cubic_proof, value):
    with pytest.raises(NonCanonicalFieldElement):
        verify(cubic_pk.vk, [value], cubic_proof)


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
@pytest.mark.parametrize(
    "field,data",
    [
        ("a", bytes([0xC0]) + bytes(47)),  # identity
        ("c", bytes([0xC0]) + bytes(47)),
        ("a", "off_curve"),
        ("c", "off_subgroup"),
        ("a", bytes(48)),  # no compression flag
        ("b", bytes([0xC0]) + bytes(95)),  # identity in G2
        ("b", bytes([0x80]) + bytes(95)),  # x = 0 on the twist: no valid point
    ],
)
def test_invalid_proof_points(cubic_pk, cubic_proof, backend, field, data):
    if data == "off_curve":
        data = g1_off_curve_compressed()
    elif data == "off_subgroup":
        data = g1_off_subgroup_compressed()
    with pytest.raises(InvalidPoint):
        verify(cubic_pk.vk, [35], dataclasses.replace(cubic_proof, **{field: data}), backend=backend)


def test_key_of_another_circuit(cubic_pk, balance_pk, cubic_proof):
    with pytest.raises(CircuitMismatch):
        verify(balance_pk.vk, [1, 2], cubic_proof)
    # a proof relabelled with the other circuit's digest still fails: the equation does not hold
    relabelled = dataclasses.replace(cubic_proof, circuit_digest=balance_pk.vk.circuit.digest)
    assert verify(balance_pk.vk, [35, 0], relabelled) is False


def test_proving_key_of_another_circuit(cubic_pk):
    r1cs, witness = BalanceThreshold().synthesize(BALANCE)
    with pytest.raises(CircuitMismatch):
        prove(cubic_pk, r1cs, witness)


def test_serialization_round_trip(balance_pk, balance_proof):
    proof, public = balance_proof
    vk = vk_from_json(vk_to_json(balance_pk.vk))
    assert vk == balance_pk.vk
    loaded, named = proof_from_json(proof_to_json(proof, vk, public))
    assert loaded == proof and [named[n] for n in vk.public_names] == public
    pk = pk_from_bytes(pk_to_bytes(balance_pk), backend="arkworks")
    r1cs, witness = BalanceThreshold().synthesize(BALANCE)
    assert verify(vk, public, prove(pk, r1cs, witness))


def test_truncated_and_corrupted_proving_key(cubic_pk):
    data = pk_to_bytes(cubic_pk)
    with pytest.raises(MalformedInput, match="checksum"):
        pk_from_bytes(data[:-100])
    corrupted = bytearray(data)
    corrupted[len(data) // 2] ^= 1
    with pytest.raises(MalformedInput, match="checksum"):
        pk_from_bytes(bytes(corrupted))
    with pytest.raises(MalformedInput):
        pk_from_bytes(b"not a key")


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda d: d.pop("proof"), "missing field 'proof'"),
        (lambda d: d.update(curve="bn254"), "bn254"),
        (lambda d: d["proof"].update(a="zz"), "not valid hex"),
        (lambda d: d["proof"].update(b="00" * 10), "expected 96 bytes"),
        (lambda d: d["public_inputs"].update(y=str(R)), "not in \\[0, r\\)"),
        (lambda d: d.update(version=99), "unsupported version"),
    ],
)
def test_malformed_proof_files(cubic_pk, cubic_proof, mutate, match):
    import json

    doc = json.loads(proof_to_json(cubic_proof, cubic_pk.vk, [35]))
    mutate(doc)
    with pytest.raises(MalformedInput, match=match):
        proof_from_json(json.dumps(doc))
    with pytest.raises(MalformedInput, match="invalid JSON"):
        proof_from_json('{"format": ')


def test_verification_key_with_wrong_ic_count(cubic_pk):
    import json

    doc = json.loads(vk_to_json(cubic_pk.vk))
    doc["ic"].append(doc["ic"][0])
    with pytest.raises(MalformedInput, match="ic has 3 points"):
        vk_from_json(json.dumps(doc))


def test_prover_checks_refuse_after_the_msms_have_started(cubic_pk):
    """The witness MSMs start before the digest and row checks; a failed check still raises
    the specific error and forms no proof."""
    from zkproofs.errors import CircuitError

    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    with pytest.raises(CircuitError, match="assignment has 3 values"):
        prove(cubic_pk, r1cs, witness[:3])
    # same shape (variables, domain), one coefficient changed: only the digest tells
    row = dict(r1cs.c[0])
    var = next(iter(row))
    row[var] = (row[var] + 1) % R
    other = dataclasses.replace(r1cs, c=(row,) + r1cs.c[1:])
    assert other.num_variables == r1cs.num_variables and other.digest() != r1cs.digest()
    with pytest.raises(CircuitMismatch):
        prove(cubic_pk, other, witness)
    forged = list(witness)
    forged[-1] = (forged[-1] + 1) % R
    with pytest.raises(UnsatisfiedConstraint):
        prove(cubic_pk, r1cs, forged)


def test_a_key_prepared_with_fixed_base_tables_gives_the_same_verdicts(balance_pk, balance_proof):
    """A key prepared for many checks (the venue's service) computes the input combination from
    the kernels' fixed-base tables: single and batched verdicts stay exactly those of the MSM."""
    from zkproofs import kernels
    from zkproofs.groth16 import verifier

    if kernels.active_kernels() != "native":
        pytest.skip("the fixed-base tables are used with the compiled kernels only")
    proof, public = balance_proof
    threshold, commitment = public
    vk = balance_pk.vk
    pvk = verifier.prepare(vk, "arkworks", fixed_base=True)
    assert "native" in pvk.ic_state
    assert verify(vk, public, proof) is True
    assert verify(vk, [threshold + 1, commitment], proof) is False
    assert verify_batch(vk, [(public, proof), (public, proof)]) == [True, True]
    assert verify_batch(vk, [(public, proof), ([threshold, commitment + 1], proof)]) == [True, False]
    kernels.use_kernels("python")  # tables of other kernels are not used
    try:
        assert verify(vk, public, proof) is True and verify(vk, [threshold + 1, commitment], proof) is False
    finally:
        kernels.use_kernels("native")


def test_fixed_base_combination_skips_an_identity_ic_point():
    """A public input no constraint reads has IC point 0: it gets no table and adds nothing."""
    from zkproofs import kernels
    from zkproofs.backends import get_backend
    from zkproofs.groth16 import verifier

    if kernels.active_kernels() != "native":
        pytest.skip("the fixed-base tables are used with the compiled kernels only")
    be = get_backend("arkworks")
    g = be.g1_generator()
    ic = (be.g1_mul(g, 3), be.g1_mul(g, 0), be.g1_mul(g, R - 5))
    pvk = verifier.PreparedVerifyingKey(None, None, None, ic)
    verifier._ic_tables(be, pvk)
    assert be.g1_is_identity(ic[1]) and pvk.ic_state["native"][0] == [0, 2]
    for scalars in ([1, 2, 3], [0, 9, 0], [R - 1, 1, 1]):
        assert verifier._ic_combination(be, pvk, scalars) == be.g1_msm(ic, scalars)


def _cubic_item(pk, x):
    r1cs, witness = Cubic().synthesize({"x": x, "y": x**3 + x + 5})
    return [x**3 + x + 5], prove(pk, r1cs, witness)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_batch_weights_sum_to_one_and_are_fresh_128_bit(n):
    from zkproofs.groth16 import verifier

    draws = [verifier._batch_weights(n) for _ in range(200)]
    rest = [r for w in draws for r in w[1:]]
    assert all(len(w) == n and sum(w) % R == 1 and w[0] != 0 for w in draws)
    assert all(2 <= r < 1 << 128 for r in rest)
    assert len(set(rest)) == len(rest) and max(r.bit_length() for r in rest) >= 120


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
@pytest.mark.parametrize("n", [2, 3])
def test_a_good_batch_passes_the_batch_equation_itself(cubic_pk, backend, n, monkeypatch):
    """Valid proofs (one statement twice) pass without the proof-by-proof fallback: the weighted
    equation itself holds, whatever the weights."""
    from zkproofs.groth16 import verifier

    items = [_cubic_item(cubic_pk, x) for x in range(2, 1 + n)] + [_cubic_item(cubic_pk, 2)]

    def no_fallback(*args):
        raise AssertionError("the batch equation failed on valid proofs")

    monkeypatch.setattr(verifier, "_check_one", no_fallback)
    assert verify_batch(cubic_pk.vk, items, backend=backend) == [True] * n


@pytest.mark.parametrize("backend", ["arkworks", "py_ecc"])
def test_two_bad_proofs_built_for_one_weight_pass_only_at_that_weight(cubic_pk, backend, monkeypatch):
    """C_0 + t D and C_1 + (t - 1) D pass the batch iff r_1 = t (r_0 = 1 - r_1): one value among
    2^128 - 2, the soundness bound of the module docstring, met exactly."""
    import types

    from zkproofs.backends import get_backend
    from zkproofs.groth16 import verifier

    be = get_backend(backend)
    d = be.g1_mul(be.g1_generator(), 987654321)
    t = 2**127 + 12345

    def shift(item, k):
        xs, proof = item
        return xs, dataclasses.replace(proof, c=be.g1_to_bytes(be.g1_add(be.g1_from_bytes(proof.c), be.g1_mul(d, k))))

    items = [shift(_cubic_item(cubic_pk, 3), t), shift(_cubic_item(cubic_pk, 2), t - 1)]
    assert [verify(cubic_pk.vk, *item, backend=backend) for item in items] == [False, False]
    assert verify_batch(cubic_pk.vk, items, backend=backend) == [False, False]
    for drawn, verdict in ((t - 2, [True, True]), (t - 1, [False, False])):  # randbelow + 2 = t, then t + 1
        with monkeypatch.context() as m:
            m.setattr(verifier, "secrets", types.SimpleNamespace(randbelow=lambda bound, drawn=drawn: drawn))
            assert verify_batch(cubic_pk.vk, items, backend=backend) == verdict
