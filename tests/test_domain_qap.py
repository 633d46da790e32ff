"""NTT and the R1CS-to-QAP reduction, checked against galois as an independent reference."""

import random

import galois
import pytest

from circuits.cubic import Cubic
from zkproofs.domain import EvaluationDomain, batch_inverse
from zkproofs.errors import UnsatisfiedConstraint
from zkproofs.field import R, galois_field
from zkproofs.groth16.qap import compute_h, domain_for, evaluate_at

rng = random.Random(1234)


@pytest.fixture(scope="module")
def GF():
    return galois_field()


@pytest.mark.parametrize("size", [1, 2, 8, 64])
def test_fft_matches_galois_polynomial_evaluation(GF, size):
    # galois.ntt(x, modulus=r) would rebuild GF(r) with the slow primitive-element
    # search; evaluating the polynomial with galois.Poly is the same reference.
    domain = EvaluationDomain(size)
    omega = GF(domain.omega)
    assert omega**size == 1 and (size == 1 or omega ** (size // 2) != 1)  # order exactly N
    values = [rng.randrange(R) for _ in range(size)]
    poly = galois.Poly(values[::-1], field=GF)
    expected = poly(GF([int(omega**i) for i in range(size)]))
    assert domain.fft(values) == [int(x) for x in expected]
    assert domain.ifft(domain.fft(values)) == values


def test_coset_fft_evaluates_on_the_coset(GF):
    domain = EvaluationDomain(16)
    coeffs = [rng.randrange(R) for _ in range(16)]
    poly = galois.Poly(coeffs[::-1], field=GF)
    points = [7 * w % R for w in domain.elements()]
    assert domain.coset_fft(coeffs) == [int(v) for v in poly(GF(points))]
    assert domain.coset_ifft(domain.coset_fft(coeffs)) == coeffs


def test_domain_sizes():
    assert EvaluationDomain.for_constraints(1).size == 1
    assert EvaluationDomain.for_constraints(5).size == 8
    assert EvaluationDomain.for_constraints(8).size == 8
    assert EvaluationDomain.for_constraints(9).size == 16


def test_batch_inverse():
    values = [rng.randrange(1, R) for _ in range(20)]
    assert batch_inverse(values) == [pow(v, -1, R) for v in values]
    with pytest.raises(ZeroDivisionError):
        batch_inverse([1, 0, 2])


def test_qap_evaluations_match_lagrange_interpolation(GF):
    r1cs = Cubic().shape
    domain = domain_for(r1cs)
    assert domain.size >= r1cs.num_constraints + r1cs.num_public + 1
    points = GF(domain.elements())
    tau = rng.randrange(R)
    a_tau, b_tau, c_tau = evaluate_at(r1cs, domain, tau)
    n = r1cs.num_constraints
    for j in range(r1cs.num_variables):
        column_a = [row.get(j, 0) for row in r1cs.a] + [1 if k == j else 0 for k in range(r1cs.num_public + 1)]
        column_a += [0] * (domain.size - len(column_a))
        column_b = [row.get(j, 0) for row in r1cs.b] + [0] * (domain.size - n)
        column_c = [row.get(j, 0) for row in r1cs.c] + [0] * (domain.size - n)
        for column, got in ((column_a, a_tau[j]), (column_b, b_tau[j]), (column_c, c_tau[j])):
            poly = galois.lagrange_poly(points, GF(column))
            assert int(poly(GF(tau))) == got


def test_quotient_satisfies_divisibility(GF):
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    domain = domain_for(r1cs)
    h = compute_h(r1cs, witness, domain)
    assert len(h) == domain.size - 1
    tau = rng.randrange(R)
    a_tau, b_tau, c_tau = evaluate_at(r1cs, domain, tau)
    a = sum(x * w for x, w in zip(a_tau, witness)) % R
    b = sum(x * w for x, w in zip(b_tau, witness)) % R
    c = sum(x * w for x, w in zip(c_tau, witness)) % R
    h_tau = sum(coeff * pow(tau, i, R) for i, coeff in enumerate(h)) % R
    assert (a * b - c) % R == h_tau * domain.vanishing_at(tau) % R


def test_quotient_refuses_unsatisfying_witness():
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 36})
    with pytest.raises(UnsatisfiedConstraint, match="x\\^3 \\+ x \\+ 5 = y"):
        compute_h(r1cs, witness, domain_for(r1cs))


def test_quotient_of_rows_that_do_not_multiply_is_not_a_polynomial():
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    a, b, c = r1cs.evaluate(witness)
    c[0] += 1  # row 0 no longer satisfies a * b = c
    with pytest.raises(ArithmeticError):
        compute_h(r1cs, witness, domain_for(r1cs), rows=(a, b, c))
