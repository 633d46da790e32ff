"""``zkproofs ceremony``: multi-party Groth16 setup, compatible with snarkjs.

Phase 1 (powers of tau, ``ptau``) and phase 2 (per-circuit keys, ``key``) hang
their command groups on :data:`ceremony`.
"""

from __future__ import annotations

import click


@click.group("ceremony")
def ceremony() -> None:
    """Multi-party setup ceremony (BGM17), file-compatible with snarkjs (bls12381).

    Phase 1: `ceremony ptau ...` (powers of tau). Phase 2: `ceremony key ...`
    (per-circuit keys). Anyone can verify a transcript; the keys are safe if at
    least one contributor destroyed their randomness.
    """
