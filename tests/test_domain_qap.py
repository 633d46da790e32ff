"""NTT and the R1CS-to-QAP reduction, checked against galois as an independent reference."""

import random

import galois
import pytest

from circuits.cubic import Cubic
from zkproofs.domain import EvaluationDomain, batch_inverse
from zkproofs.errors import UnsatisfiedConstraint
from zkproofs.field import R, galois_field, root_of_unity
from zkproofs.groth16.qap import domain_for, evaluate_at, h_query_at, h_scalars

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


def test_roots_of_unity_are_snarkjs_ones():
    # ffjavascript's Fr.w[32] for BLS12-381 is 5^((r-1)/2^32) (5: least non-residue).
    assert root_of_unity(1 << 32) == pow(5, (R - 1) >> 32, R)
    assert pow(root_of_unity(1 << 32), 1 << 31, R) == R - 1
    assert root_of_unity(8) == pow(root_of_unity(16), 2, R)


def test_coset_fft_evaluates_on_the_odd_2n_th_roots(GF):
    domain = EvaluationDomain(16)
    coeffs = [rng.randrange(R) for _ in range(16)]
    poly = galois.Poly(coeffs[::-1], field=GF)
    g = root_of_unity(32)
    points = [pow(g, 2 * i + 1, R) for i in range(16)]
    assert domain.coset_fft(coeffs) == [int(v) for v in poly(GF(points))]
    assert all(domain.vanishing_at(x) == R - 2 for x in points)  # Z = -2 on the coset


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


def test_h_query_basis_gives_h_times_z_at_tau(GF):
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    domain = domain_for(r1cs)
    e = h_scalars(r1cs, witness, domain)
    assert len(e) == domain.size
    tau = rng.randrange(R)
    a_tau, b_tau, c_tau = evaluate_at(r1cs, domain, tau)
    a = sum(x * w for x, w in zip(a_tau, witness)) % R
    b = sum(x * w for x, w in zip(b_tau, witness)) % R
    c = sum(x * w for x, w in zip(c_tau, witness)) % R
    basis = h_query_at(domain, tau)
    assert (a * b - c) % R == sum(x * y for x, y in zip(e, basis)) % R
    # and H(tau) Z(tau) for a polynomial H of degree <= N - 2: the values are -2 H(g w^i)
    h = [x * pow(R - 2, -1, R) % R for x in e]
    coeffs = [v * pow(root_of_unity(2 * domain.size), -i, R) % R for i, v in enumerate(domain.ifft(h))]
    assert coeffs[-1] == 0


def test_quotient_refuses_unsatisfying_witness():
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 36})
    with pytest.raises(UnsatisfiedConstraint, match="x\\^3 \\+ x \\+ 5 = y"):
        h_scalars(r1cs, witness, domain_for(r1cs))


def test_quotient_of_rows_that_do_not_multiply_is_not_a_polynomial():
    r1cs, witness = Cubic().synthesize({"x": 3, "y": 35})
    a, b, c = r1cs.evaluate(witness)
    c[0] += 1  # row 0 no longer satisfies a * b = c
    with pytest.raises(ArithmeticError):
        h_scalars(r1cs, witness, domain_for(r1cs), rows=(a, b, c))
