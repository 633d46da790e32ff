"""Constants for the fast Poseidon permutation (Grassi et al., USENIX Security 2021, appendix B).

Derived once per :class:`~zkproofs.poseidon.params.PoseidonParams` from its round
constants and MDS matrix (no stored tables) and cached; the permutation that uses
them is :func:`zkproofs.poseidon.native.permute`.

Notation: M is the t x t MDS matrix, c_k the round constants of round k
(0 <= k < R_F + R_P), S0 the partial S-box layer (x^5 on element 0 only), e0 the
first unit vector. Rounds half .. half + R_P - 1 (half = R_F / 2) are partial:
X_{j+1} = M S0(X_j + c_j), j = 0 .. R_P - 1 counting partial rounds only.

**Step 1, constants forward (appendix B.1).** S0 does not touch elements 1..t-1,
so a constant on those elements passes through it: S0(Y + a e0 + r) = S0(Y + a e0) + r
for any r with r[0] = 0. Writing X_j = Y_j + d_j with d_0 = 0::

    c'_j = c_j + d_j,   a_j = c'_j[0],   d_{j+1} = M (c'_j - a_j e0)           (B1)

gives Y_{j+1} = M S0(Y_j + a_j e0): each partial round adds one scalar, and the
last carry d_{R_P} is added to the constants of the first full round after the
partial rounds.

**Step 2, sparse matrices (appendix B.2).** Any matrix with an invertible
lower-right block D factors as::

    [[m00, b^T], [w, D]] = [[m00, b^T D^-1], [w, I]] . diag(1, D)              (B2)

and diag(1, D) commutes with S0 and with adding a e0. Working from the last
partial round back, the matrix of partial round j is N_j = M for j = R_P - 1 and
N_j = diag(1, D_{j+1}) M otherwise; (B2) splits N_j into the sparse factor kept in
round j and diag(1, D_j), which moves into round j - 1. The last factor,
diag(1, D_0), multiplies the MDS of the last full round before the partial
rounds: M_pre = diag(1, D_0) M.

A sparse round is y0 = m00 x0 + sum_i v_i x_i, y_i = x_i + w_i x0: 2t - 1
multiplications instead of t^2. The blocks D are products of the lower-right
block of the Cauchy matrix M (itself Cauchy, so invertible) and earlier D's; a
singular block raises ValueError rather than silently computing something else.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkproofs.field import R
from zkproofs.poseidon.params import PoseidonParams

Matrix = tuple[tuple[int, ...], ...]
Sparse = tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...]
"""Per partial round, (m00, v, w) of the sparse matrix [[m00, v^T], [w, I]] in (B2)."""


@dataclass(frozen=True)
class OptimizedConstants:
    """The transformed description of one Poseidon instance.

    Shapes: ``first_constants`` and ``last_constants`` hold R_F / 2 rows of t
    constants (the full rounds before and after the partial rounds, the first row
    of ``last_constants`` including the carry d_{R_P} of (B1));
    ``pre_sparse_mds`` is M_pre (t x t); ``partial_constants`` holds the R_P
    scalars a_j; ``sparse`` holds R_P triples (m00, v, w) with v, w of length
    t - 1, for partial rounds in order. ``mds`` is M, used by the other full rounds.
    """

    t: int
    mds: Matrix
    first_constants: Matrix
    pre_sparse_mds: Matrix
    partial_constants: tuple[int, ...]
    sparse: Sparse
    last_constants: Matrix

    @property
    def multiplications(self) -> int:
        """Field multiplications per permutation (S-boxes, matrices; no reductions counted).

        R_F (3t + t^2) for the full rounds plus R_P (3 + 2t - 1) for the partial
        rounds: 600 at t = 3 (828 unoptimised), 1040 at t = 5 (2000 unoptimised).
        """
        t, r_f, r_p = self.t, 2 * len(self.first_constants), len(self.sparse)
        return r_f * (3 * t + t * t) + r_p * (3 + 2 * t - 1)


def _mat_vec(m: Matrix, v: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sum(a * b for a, b in zip(row, v)) % R for row in m)


def _mat_mul(a: Matrix, b: Matrix) -> Matrix:
    columns = list(zip(*b))
    return tuple(tuple(sum(x * y for x, y in zip(row, col)) % R for col in columns) for row in a)


def _inverse(m: Matrix) -> Matrix:
    """Gauss-Jordan inverse over F_r; ValueError if m is singular. O(n^3)."""
    n = len(m)
    rows = [list(row) + [int(i == j) for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if rows[r][col] % R), None)
        if pivot is None:
            raise ValueError("Poseidon MDS block is singular: the sparse factorisation does not apply")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        scale = pow(rows[col][col], -1, R)
        rows[col] = [x * scale % R for x in rows[col]]
        for r in range(n):
            if r != col and rows[r][col]:
                f = rows[r][col]
                rows[r] = [(x - f * y) % R for x, y in zip(rows[r], rows[col])]
    return tuple(tuple(row[n:]) for row in rows)


def _block_diag_one(d: Matrix) -> Matrix:
    """diag(1, d) for a (t-1) x (t-1) block d."""
    return ((1,) + (0,) * len(d),) + tuple((0,) + row for row in d)


def derive(params: PoseidonParams) -> OptimizedConstants:
    """Apply (B1) and (B2) to ``params``. O((R_F + R_P) t^2 + R_P t^3) field operations, ~ms.

    Raises ValueError if the S-box is not x^5 (the fast permutation hard-wires
    it), if R_F is odd or R_P is zero, or if a block D is singular.
    """
    t, half, r_p = params.t, params.r_f // 2, params.r_p
    if params.alpha != 5:
        raise ValueError(f"the fast Poseidon permutation implements the x^5 S-box, not x^{params.alpha}")
    if params.r_f % 2 or r_p < 1 or t < 2:
        raise ValueError(f"Poseidon instance t={t}, R_F={params.r_f}, R_P={r_p} has no half-full-partial-half round structure")
    mds = params.mds
    constants = params.round_constants

    # (B1): carry the non-first part of each partial-round constant forward.
    carry = (0,) * t
    scalars = []
    for j in range(r_p):
        shifted = tuple((c + d) % R for c, d in zip(constants[half + j], carry))
        scalars.append(shifted[0])
        carry = _mat_vec(mds, (0,) + shifted[1:])
    after = tuple((c + d) % R for c, d in zip(constants[half + r_p], carry))
    last_constants = (after,) + tuple(constants[half + r_p + 1 :])

    # (B2): factor from the last partial round backwards.
    sparse = []
    current = mds
    for _ in range(r_p):
        m00, b = current[0][0], current[0][1:]
        w = tuple(row[0] for row in current[1:])
        block = tuple(row[1:] for row in current[1:])
        block_inv = _inverse(block)
        v = tuple(sum(x * y for x, y in zip(b, col)) % R for col in zip(*block_inv))
        sparse.append((m00, v, w))
        current = _mat_mul(_block_diag_one(block), mds)
    sparse.reverse()
    return OptimizedConstants(
        t=t,
        mds=mds,
        first_constants=tuple(constants[:half]),
        pre_sparse_mds=current,
        partial_constants=tuple(scalars),
        sparse=tuple(sparse),
        last_constants=last_constants,
    )


_CACHE: dict[int, tuple[PoseidonParams, OptimizedConstants]] = {}


def optimized_constants(params: PoseidonParams) -> OptimizedConstants:
    """:func:`derive` of ``params``, computed on first use and cached per params object.

    The cache is keyed by identity (``poseidon_params`` returns one object per
    width) and holds a reference to ``params``, so an id is never reused; a
    lookup costs one dict access instead of hashing every constant.
    """
    entry = _CACHE.get(id(params))
    if entry is None or entry[0] is not params:
        entry = (params, derive(params))
        _CACHE[id(params)] = entry
    return entry[1]
