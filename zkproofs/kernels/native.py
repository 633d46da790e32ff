"""The compiled kernels: thin wrappers over the C extension ``_native`` (``fr.c``).

Same functions, arguments, results and errors as :mod:`zkproofs.kernels.reference`
(see there for the definitions and sources). Importing this module raises
ImportError when the extension was not built, or was built from an older ``fr.c``
that lacks one of the functions used here; :mod:`zkproofs.kernels` then uses
the reference. Each call converts its Python ints to Montgomery form once,
releases the GIL for the batched loop and converts the results back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from zkproofs.kernels import _native

_REQUIRED = ("poseidon_new", "permute_many", "hash_many", "merkle_sum_leaves", "merkle_sum_level", "ntt", "batch_inverse", "set_isa", "isa",
             "fixed_base_table", "fixed_base_mul", "fixed_base_msm", "fq_from_mont_many", "msm_bases", "msm")
_missing = [name for name in _REQUIRED if not hasattr(_native, name)]
if _missing:  # an extension built from an older fr.c (a checkout updated without reinstalling)
    raise ImportError(f"the compiled kernels are older than this source (no {', '.join(_missing)}); rebuild them: pip install -e .")

if TYPE_CHECKING:
    from zkproofs.poseidon.optimized import OptimizedConstants

_INSTANCES: dict[int, tuple[object, object]] = {}


def _flatten(opt: "OptimizedConstants") -> list[int]:
    """The constants in fr.c's order: first | M | M_pre | a_j | (m00, v, w) per round | last."""
    flat: list[int] = []
    for rows in (opt.first_constants, opt.mds, opt.pre_sparse_mds):
        for row in rows:
            flat.extend(row)
    flat.extend(opt.partial_constants)
    for m00, v, w in opt.sparse:
        flat.append(m00)
        flat.extend(v)
        flat.extend(w)
    for row in opt.last_constants:
        flat.extend(row)
    return flat


def _instance(opt: "OptimizedConstants"):
    """The C-side copy of ``opt`` (Montgomery form), built once per constants object.

    Keyed by identity like :func:`zkproofs.poseidon.optimized.optimized_constants`
    (which returns one object per instance) and holding ``opt``, so ids are not reused.
    """
    entry = _INSTANCES.get(id(opt))
    if entry is None or entry[0] is not opt:
        capsule = _native.poseidon_new(opt.t, len(opt.first_constants), len(opt.sparse), _flatten(opt))
        entry = _INSTANCES[id(opt)] = (opt, capsule)
    return entry[1]


def code_path() -> str:
    """The active Poseidon code path of fr.c, the fastest the CPU has (CPUID at import):
    "ifma" (eight states at once on AVX-512 IFMA, poseidon_ifma.h), "adx" (BMI2/ADX
    intrinsics and assembly, poseidon_isa.h) or "generic" (portable C)."""
    return _native.isa()


def permute_many(states: Sequence[Sequence[int]], opt: "OptimizedConstants") -> list[list[int]]:
    """C twin of :func:`zkproofs.kernels.reference.permute_many`."""
    return _native.permute_many(_instance(opt), states)


def poseidon_hash_many(inputs: Sequence[Sequence[int]], opt: "OptimizedConstants") -> list[int]:
    """C twin of :func:`zkproofs.kernels.reference.poseidon_hash_many`."""
    return _native.hash_many(_instance(opt), inputs)


def merkle_sum_leaves(keys, amounts, commitment_opt: "OptimizedConstants", leaf_opt: "OptimizedConstants", n_amounts: int, n_sums: int,
                      sum_bytes: int, tag: int, prefix=()) -> bytes:
    """C twin of :func:`zkproofs.kernels.reference.merkle_sum_leaves`."""
    return _native.merkle_sum_leaves(_instance(commitment_opt), _instance(leaf_opt), keys, amounts, n_amounts, n_sums, sum_bytes, tag, prefix)


def merkle_sum_level(records: bytes, opt: "OptimizedConstants", n_sums: int, sum_bytes: int, slot_bits: int, tag: int) -> bytes:
    """C twin of :func:`zkproofs.kernels.reference.merkle_sum_level`."""
    return _native.merkle_sum_level(_instance(opt), records, n_sums, sum_bytes, slot_bits, tag)


def ntt(values: Sequence[int], size: int, omega: int, pre_shift: int = 1, post_factor: int = 1, post_shift: int = 1) -> list[int]:
    """C twin of :func:`zkproofs.kernels.reference.ntt`."""
    return _native.ntt(values, size, omega, pre_shift, post_factor, post_shift)


def batch_inverse(values: Sequence[int]) -> list[int]:
    """C twin of :func:`zkproofs.kernels.reference.batch_inverse`."""
    return _native.batch_inverse(values)


def fixed_base_table(group: str, base_lem: bytes, count: int) -> object:
    """C twin of :func:`zkproofs.kernels.reference.fixed_base_table` (a table of
    :func:`~zkproofs.kernels.reference.fixed_base_window` bits, built without the GIL)."""
    if group not in ("G1", "G2"):
        raise ValueError(f"fixed_base_table: group must be 'G1' or 'G2', not {group!r}")
    from zkproofs.errors import InvalidPoint
    from zkproofs.kernels.reference import fixed_base_window

    try:
        return _native.fixed_base_table(1 if group == "G1" else 2, bytes(base_lem), fixed_base_window(count))
    except ValueError as exc:
        raise InvalidPoint(str(exc)) from None


def fixed_base_msm(tables: Sequence[object], scalars: Sequence[int]) -> bytes:
    """C twin of :func:`zkproofs.kernels.reference.fixed_base_msm`."""
    return _native.fixed_base_msm(tables, scalars)


def fixed_base_mul(table: object, scalars: Sequence[int]) -> bytes:
    """C twin of :func:`zkproofs.kernels.reference.fixed_base_mul`; runs without the GIL, so
    threads sharing one table multiply in parallel."""
    return _native.fixed_base_mul(table, scalars)


def fq_from_mont_many(data: bytes) -> bytes:
    """C twin of :func:`zkproofs.kernels.reference.fq_from_mont_many`."""
    return _native.fq_from_mont_many(data)


def msm_bases(group: str, lem: bytes) -> object:
    """C twin of :func:`zkproofs.kernels.reference.msm_bases` (the points in C memory, in
    Montgomery form, ready for the bucket method)."""
    if group not in ("G1", "G2"):
        raise ValueError(f"msm_bases: group must be 'G1' or 'G2', not {group!r}")
    from zkproofs.errors import InvalidPoint

    size = 96 if group == "G1" else 192
    if len(lem) % size:
        raise ValueError(f"msm_bases: {len(lem)} bytes is not a whole number of {size}-byte {group} points")
    try:
        return _native.msm_bases(1 if group == "G1" else 2, lem)
    except ValueError as exc:
        raise InvalidPoint(str(exc)) from None


def msm(bases: object, scalars: Sequence[int], offset: int = 0) -> bytes:
    """C twin of :func:`zkproofs.kernels.reference.msm`: Pippenger with signed digits and
    batched affine buckets (msm_impl.h), without the GIL, so threads run MSMs at once."""
    return _native.msm(bases, scalars, offset)
