"""The circuit registry: every circuit zkproofs can set up, prove and verify by name."""

from __future__ import annotations

from typing import Mapping

from circuits.balance_threshold import BalanceThreshold
from circuits.cubic import Cubic
from circuits.liquidation import Liquidation
from circuits.merkle_sum_inclusion import MerkleSumInclusion
from circuits.range_poseidon import RangePoseidon
from circuits.solvency_aggregate import SolvencyAggregate, SolvencyRoot
from circuits.solvency_batch import SolvencyBatch
from circuits.valid_transition import ValidTransition
from zkproofs.circuit import Circuit
from zkproofs.errors import CircuitError

CIRCUITS: dict[str, type[Circuit]] = {cls.name: cls for cls in (Cubic, BalanceThreshold, RangePoseidon, MerkleSumInclusion, ValidTransition,
                                                           Liquidation, SolvencyBatch, SolvencyAggregate, SolvencyRoot)}


def get_circuit(name: str, params: Mapping[str, int] | None = None) -> Circuit:
    """Instantiate the circuit ``name`` with ``params``; CircuitError if unknown."""
    try:
        cls = CIRCUITS[name]
    except KeyError:
        raise CircuitError(f"unknown circuit {name!r}; known: {', '.join(sorted(CIRCUITS))}") from None
    return cls(**dict(params or {}))
