"""R1CS to QAP reduction (GGPR 2013; Groth 2016, section 2.3) and the quotient H(X).

Row i of the R1CS becomes the point w^i of a radix-2 domain of size N; column j
becomes the polynomials A_j, B_j, C_j with A_j(w^i) = A[i][j]. As arkworks does,
l + 1 extra rows "z_k * 0 = 0" (k = 0..l: the one and the public inputs) are
appended so that the public-input polynomials are linearly independent, which
Groth16's soundness proof needs. N is the least power of two >= n + l + 1.

For a satisfying assignment z, A(X)B(X) - C(X) = H(X) Z(X) with
A(X) = sum_j z_j A_j(X) etc. and Z(X) = X^N - 1; H has degree <= N - 2.

The prover never needs H's coefficients. As snarkjs does, the H query is in the
Lagrange basis of the 2N-th roots of unity: H(X)Z(X) has degree <= 2N - 2 and
vanishes on the N-th roots (the even 2N-th roots), so
H(tau)Z(tau) = sum_i (ABC)(g w^i) L'_{2i+1}(tau), with g a primitive 2N-th root,
w = g^2, ABC = A*B - C and L'_k the Lagrange polynomials of the 2N-th roots.
The key holds [L'_{2i+1}(tau) / delta]_1 (i < N), the prover the N values
(ABC)(g w^i); this is the ``.zkey`` H section's basis.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.domain import EvaluationDomain
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


def h_query_at(domain: EvaluationDomain, tau: int) -> list[int]:
    """[L'_1(tau), L'_3(tau), ..., L'_{2N-1}(tau)]: the H query's scalars before 1/delta,
    with L'_k the Lagrange polynomials of the 2N-th roots of unity. O(N) (one batch
    inversion). Raises ValueError if tau is a 2N-th root of unity."""
    return EvaluationDomain(2 * domain.size).lagrange_at(tau)[1::2]


def h_scalars(r1cs: R1CS, witness: Sequence[int], domain: EvaluationDomain, rows=None) -> list[int]:
    """The N scalars of the H query's MSM: (A*B - C)(g w^i) at the odd 2N-th roots of unity.

    Cost: O(nnz) to evaluate the rows (skipped when ``rows`` = ``r1cs.evaluate(witness)``
    is given), then 6 NTTs of size N (O(N log N)): interpolate A, B, C on the domain
    and evaluate them on the coset of odd 2N-th roots. Raises UnsatisfiedConstraint
    (from ``r1cs.evaluate``) if the witness does not satisfy the system, and
    ArithmeticError if the rows given are not those of a satisfying assignment
    (A*B - C would not vanish on the domain, and the proof would be garbage).
    """
    a, b, c = rows if rows is not None else r1cs.evaluate(witness)
    for i, (x, y, w) in enumerate(zip(a, b, c)):
        if (x * y - w) % R:
            raise ArithmeticError(f"row {i}: A*B != C, the rows do not satisfy the constraint system")
    a = a + list(witness[: r1cs.num_public + 1])  # input-consistency rows: z_k * 0 = 0
    a_s, b_s, c_s = (domain.coset_fft(domain.ifft(values)) for values in (a, b, c))
    return [(x * y - w) % R for x, y, w in zip(a_s, b_s, c_s)]
