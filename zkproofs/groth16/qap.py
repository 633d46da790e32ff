"""R1CS to QAP reduction (GGPR 2013; Groth 2016, section 2.3) and the quotient H(X).

Row i of the R1CS becomes the point w^i of a radix-2 domain of size N; column j
becomes the polynomials A_j, B_j, C_j with A_j(w^i) = A[i][j]. As arkworks does,
l + 1 extra rows "z_k * 0 = 0" (k = 0..l: the one and the public inputs) are
appended so that the public-input polynomials are linearly independent, which
Groth16's soundness proof needs. N is the least power of two >= n + l + 1.

For a satisfying assignment z, A(X)B(X) - C(X) = H(X) Z(X) with
A(X) = sum_j z_j A_j(X) etc. and Z(X) = X^N - 1; H has degree <= N - 2.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.domain import COSET_SHIFT, EvaluationDomain
from zkproofs.field import R
from zkproofs.r1cs import R1CS


def domain_for(r1cs: R1CS) -> EvaluationDomain:
    """The evaluation domain of ``r1cs``'s QAP (size >= constraints + public inputs + 1)."""
    return EvaluationDomain.for_constraints(r1cs.num_constraints + r1cs.num_public + 1)


def evaluate_at(r1cs: R1CS, domain: EvaluationDomain, tau: int) -> tuple[list[int], list[int], list[int]]:
    """(A_j(tau), B_j(tau), C_j(tau)) for every variable j, in O(N + nnz).

    Uses the Lagrange basis at tau (one batch inversion), then one pass over the
    sparse rows. Raises ValueError if tau lies in the domain.
    """
    lagrange = domain.lagrange_at(tau)
    m = r1cs.num_variables
    columns = []
    for rows in (r1cs.a, r1cs.b, r1cs.c):
        acc = [0] * m
        for row, li in zip(rows, lagrange):
            for var, coeff in row.items():
                acc[var] += coeff * li
        columns.append(acc)
    n = r1cs.num_constraints
    a_tau = columns[0]
    for k in range(r1cs.num_public + 1):  # input-consistency rows: A = z_k
        a_tau[k] += lagrange[n + k]
    return tuple([x % R for x in col] for col in columns)  # type: ignore[return-value]


def compute_h(r1cs: R1CS, witness: Sequence[int], domain: EvaluationDomain, rows=None) -> list[int]:
    """Coefficients h_0..h_{N-2} of H(X) = (A(X)B(X) - C(X)) / Z(X).

    Cost: O(nnz) to evaluate the rows (skipped when ``rows`` = ``r1cs.evaluate(witness)``
    is given), then 7 NTTs of size N (O(N log N)): interpolate A, B, C, evaluate
    them on the coset g*D where Z is the constant g^N - 1, divide pointwise,
    interpolate back. Raises UnsatisfiedConstraint (from ``r1cs.evaluate``) if the
    witness does not satisfy the system, and ArithmeticError if the rows given
    are not those of a satisfying assignment (H would not be a polynomial).
    """
    a, b, c = rows if rows is not None else r1cs.evaluate(witness)
    a = a + list(witness[: r1cs.num_public + 1])  # input-consistency rows: z_k * 0 = 0
    evaluations = [domain.coset_fft(domain.ifft(values)) for values in (a, b, c)]
    a_s, b_s, c_s = evaluations
    z_inv = pow(pow(COSET_SHIFT, domain.size, R) - 1, -1, R)
    quotient = [(x * y - w) * z_inv % R for x, y, w in zip(a_s, b_s, c_s)]
    h = domain.coset_ifft(quotient)
    if h[-1] != 0:
        raise ArithmeticError("H(X) has degree N - 1: the witness does not satisfy the constraint system")
    return h[:-1]
