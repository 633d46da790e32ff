"""Radix-2 evaluation domains over F_r and the number-theoretic transform (NTT).

The domain of size N (a power of two, N <= 2**32) is the subgroup {w^i} of the
N-th roots of unity; ``fft`` maps coefficients to evaluations on it and ``ifft``
back, each in O(N log N) field multiplications (iterative Cooley-Tukey).
``coset_fft`` evaluates on g*{w^i} with g a primitive 2N-th root of unity: the
odd 2N-th roots, where the vanishing polynomial Z(X) = X^N - 1 is the constant
-2. snarkjs' Groth16 prover and its ``.zkey`` H query use this coset (Groth16's
H query in the Lagrange basis of the 2N-th roots, see :mod:`zkproofs.groth16.qap`).

The transforms and batch inversion run in the active field kernels
(:mod:`zkproofs.kernels`: compiled C, or the Python reference).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from zkproofs import kernels
from zkproofs.field import R, root_of_unity
from zkproofs.kernels import batch_inverse


class EvaluationDomain:
    """The multiplicative subgroup of order ``size`` (a power of two) in F_r."""

    def __init__(self, size: int):
        self.size = size
        self.log_size = size.bit_length() - 1
        self.omega = root_of_unity(size)
        self.omega_inv = pow(self.omega, -1, R)
        self.size_inv = pow(size, -1, R)

    @staticmethod
    def for_constraints(n: int) -> "EvaluationDomain":
        """The smallest domain with at least ``n`` points (``n >= 1``)."""
        return _domain(max(n - 1, 0).bit_length())

    def elements(self) -> list[int]:
        """[w^0, w^1, ..., w^(N-1)]."""
        out = [1] * self.size
        w = self.omega
        for i in range(1, self.size):
            out[i] = out[i - 1] * w % R
        return out

    def vanishing_at(self, x: int) -> int:
        """Z(x) = x^N - 1."""
        return (pow(x, self.size, R) - 1) % R

    def lagrange_at(self, tau: int) -> list[int]:
        """[L_0(tau), ..., L_{N-1}(tau)] for tau outside the domain, in O(N).

        L_i(tau) = Z(tau) * w^i / (N * (tau - w^i)); one batch inversion.
        Raises ValueError if tau is in the domain (Z(tau) = 0).
        """
        z = self.vanishing_at(tau)
        if z == 0:
            raise ValueError("tau lies in the evaluation domain")
        elements = self.elements()
        inverses = batch_inverse([(tau - w) % R for w in elements])
        factor = z * self.size_inv % R
        return [factor * w % R * d % R for w, d in zip(elements, inverses)]

    def fft(self, coeffs: Sequence[int]) -> list[int]:
        """Evaluations on the domain of the polynomial with ``coeffs`` (len <= N). O(N log N)."""
        return kernels.ntt(self._fits(coeffs), self.size, self.omega)

    def ifft(self, evals: Sequence[int]) -> list[int]:
        """Coefficients (length N) of the polynomial with these N evaluations. O(N log N)."""
        return kernels.ntt(self._fits(evals), self.size, self.omega_inv, post_factor=self.size_inv)

    def coset_fft(self, coeffs: Sequence[int]) -> list[int]:
        """Evaluations at the odd 2N-th roots of unity g*w^i (g = a primitive 2N-th root),
        in O(N log N). Raises ValueError for N = 2**32 (F_r has no 2**33-th root)."""
        return kernels.ntt(self._fits(coeffs), self.size, self.omega, pre_shift=root_of_unity(2 * self.size))

    def _fits(self, values: Sequence[int]) -> Sequence[int]:
        if len(values) > self.size:
            raise ValueError(f"{len(values)} values do not fit a domain of size {self.size}")
        return values


@lru_cache(maxsize=None)
def _domain(log_size: int) -> EvaluationDomain:
    return EvaluationDomain(1 << log_size)


__all__ = ["EvaluationDomain", "batch_inverse"]
