"""Field kernels: the one place that chooses compiled (C) or reference (Python) code.

The hot field arithmetic of zkproofs (Poseidon permutations and sponges over many
inputs, whole Merkle-sum tree levels from and to byte records, NTTs, batch inversion,
for Groth16 setup fixed-base G1/G2 multiplication and F_q conversion to snarkjs'
byte layout, and the prover's G1/G2 multi-scalar multiplications) has two
implementations with the same functions: :mod:`zkproofs.kernels.native` (the C
extension built from ``fr.c`` by ``pip install``) and
:mod:`zkproofs.kernels.reference` (pure Python, the reference and the fallback). Callers use the functions of this module; nothing else branches on
which is active.

Choice, made at the first kernel call: ``ZKPROOFS_KERNELS=python`` or ``native``;
by default ``native`` when the extension imports, else ``python``. Asking for
``native`` when it was not built (or for an unknown name) raises BackendUnavailable
rather than silently running 10-100x slower. :func:`use_kernels` switches
in-process (tests, benchmarks); ``zkproofs doctor`` and ``zkproofs --version``
report the choice.
"""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType
from typing import TYPE_CHECKING, Sequence

from zkproofs.errors import BackendUnavailable
from zkproofs.kernels import reference

MAX_SUMS = reference.MAX_SUMS
MAX_LEAF_AMOUNTS = reference.MAX_LEAF_AMOUNTS
"""Most sums a Merkle-sum record carries in either kernel (4096: 2048 assets)."""

if TYPE_CHECKING:
    from zkproofs.poseidon.optimized import OptimizedConstants

try:
    from zkproofs.kernels import native as _native_module
except ImportError as exc:  # extension not built: the reference path serves
    _native_module = None
    _native_error: str | None = (
        "the C extension zkproofs.kernels._native was not built at install time"
        if importlib.util.find_spec("zkproofs.kernels._native") is None
        else f"the C extension zkproofs.kernels._native does not load: {exc}"
    )
else:
    _native_error = None

KERNELS = ("native", "python")


def native_unavailable_reason() -> str | None:
    """Why the compiled kernels could not be imported, or None if they can."""
    return _native_error


def native_code_path() -> str | None:
    """The compiled Poseidon code path, "ifma" (x86-64 AVX-512 IFMA), "adx" (x86-64
    BMI2/ADX) or "generic" (portable C), the fastest chosen from CPUID at import, or None
    when the C kernels are not built."""
    return None if _native_module is None else _native_module.code_path()


def _module(name: str) -> ModuleType:
    if name == "python":
        return reference
    if name == "native":
        if _native_module is None:
            raise BackendUnavailable(f"the compiled kernels are not built ({_native_error}); reinstall with a C compiler or set ZKPROOFS_KERNELS=python")
        return _native_module
    raise BackendUnavailable(f"unknown kernels {name!r}; choose one of {', '.join(KERNELS)}")


_active: ModuleType | None = None
_active_name = ""


def use_kernels(name: str) -> None:
    """Make ``name`` ("native" or "python") the active kernels for this process.

    Raises BackendUnavailable for an unknown name or native kernels that were not built.
    """
    global _active, _active_name
    _active = _module(name)
    _active_name = name


def _chosen() -> ModuleType:
    if _active is None:
        use_kernels(os.environ.get("ZKPROOFS_KERNELS") or ("native" if _native_module is not None else "python"))
    return _active  # type: ignore[return-value]


def active_kernels() -> str:
    """The active kernels, "native" or "python" (choosing them now if no call has yet).

    Raises BackendUnavailable as :func:`use_kernels` does for a bad ZKPROOFS_KERNELS.
    """
    _chosen()
    return _active_name


def permute_many(states: Sequence[Sequence[int]], opt: "OptimizedConstants") -> list[list[int]]:
    """The Poseidon permutation of each state; see :func:`reference.permute_many`. O(n)."""
    return _chosen().permute_many(states, opt)


def poseidon_hash_many(inputs: Sequence[Sequence[int]], opt: "OptimizedConstants") -> list[int]:
    """The Poseidon sponge of each input row; see :func:`reference.poseidon_hash_many`. O(n L / (t - 1)) permutations."""
    return _chosen().poseidon_hash_many(inputs, opt)


def merkle_sum_leaves(
    keys: Sequence[Sequence[int]], amounts: Sequence[Sequence[int]], commitment_opt: "OptimizedConstants",
    leaf_opt: "OptimizedConstants", n_amounts: int, n_sums: int, sum_bytes: int, tag: int, prefix: Sequence[int] = (),
) -> bytes:
    """Leaf records of many users in one call; see :func:`reference.merkle_sum_leaves`. O(n) permutations."""
    return _chosen().merkle_sum_leaves(keys, amounts, commitment_opt, leaf_opt, n_amounts, n_sums, sum_bytes, tag, prefix)


def merkle_sum_level(records: bytes, opt: "OptimizedConstants", n_sums: int, sum_bytes: int, slot_bits: int, tag: int) -> bytes:
    """Parent records of a whole level in one call; see :func:`reference.merkle_sum_level`. O(m) permutations."""
    return _chosen().merkle_sum_level(records, opt, n_sums, sum_bytes, slot_bits, tag)


def ntt(values: Sequence[int], size: int, omega: int, pre_shift: int = 1, post_factor: int = 1, post_shift: int = 1) -> list[int]:
    """Twisted radix-2 NTT; see :func:`reference.ntt`. O(size log size)."""
    return _chosen().ntt(values, size, omega, pre_shift, post_factor, post_shift)


def batch_inverse(values: Sequence[int]) -> list[int]:
    """Inverses mod r by Montgomery's trick; see :func:`reference.batch_inverse`. O(n)."""
    return _chosen().batch_inverse(values)


def fixed_base_table(group: str, base_lem: bytes, count: int) -> object:
    """A base point ("G1" or "G2", LEM bytes) prepared for about ``count`` fixed-base
    multiplications; see :func:`reference.fixed_base_table`. O(2^w 255 / w) additions."""
    return _chosen().fixed_base_table(group, base_lem, count)


def fixed_base_mul(table: object, scalars: Sequence[int]) -> bytes:
    """LEM bytes of [k] base for each scalar k in [0, r); see :func:`reference.fixed_base_mul`.
    O(n 255 / w) additions; the native kernel releases the GIL."""
    return _chosen().fixed_base_mul(table, scalars)


def fixed_base_msm(tables: Sequence[object], scalars: Sequence[int]) -> bytes:
    """LEM bytes of sum_j k_j B_j over fixed bases prepared by :func:`fixed_base_table`; see
    :func:`reference.fixed_base_msm`. O(sum of the tables' windows) additions; the native
    kernel releases the GIL. Tables must have been made by the kernels now active."""
    return _chosen().fixed_base_msm(tables, scalars)


def msm_bases(group: str, lem: bytes) -> object:
    """The points of a proving-key query ("G1" or "G2", LEM bytes) prepared for :func:`msm`;
    see :func:`reference.msm_bases`. O(n)."""
    return _chosen().msm_bases(group, lem)


def msm(bases: object, scalars: Sequence[int], offset: int = 0) -> bytes:
    """LEM bytes of sum_i k_i P_(offset + i) over prepared bases; see :func:`reference.msm`.
    O(n / log n) group operations; the native kernel releases the GIL. Bases must have
    been prepared by the kernels now active."""
    return _chosen().msm(bases, scalars, offset)


def fq_from_mont_many(data: bytes) -> bytes:
    """48-byte F_q elements from Montgomery to standard form; see :func:`reference.fq_from_mont_many`. O(n)."""
    return _chosen().fq_from_mont_many(data)


__all__ = ["KERNELS", "active_kernels", "batch_inverse", "fixed_base_msm", "fixed_base_mul", "fixed_base_table", "fq_from_mont_many", "merkle_sum_leaves", "msm", "msm_bases", "merkle_sum_level", "native_code_path", "native_unavailable_reason", "ntt", "permute_many", "poseidon_hash_many", "use_kernels"]
