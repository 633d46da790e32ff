"""The liquidator's side of :class:`circuits.liquidation.Liquidation`: witness and proof of a liquidation.

A liquidation takes a note that is strictly below the venue's maintenance ratio at an
epoch's prices, repays its whole debt with collateral worth at most debt x (1 + penalty)
(:func:`zkproofs.gadgets.liquidation.seizure_for`) and leaves the rest in a new note of the
same owner, salted with :func:`~zkproofs.settlement.notes.liquidation_salt` so that the
owner can open it. It needs the note's opening and the owner's (ak, nk), never sk.
:func:`build_liquidation` refuses natively, with the figures, what the circuit would refuse:
a note at or above maintenance (``NOT_LIQUIDATABLE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from circuits.liquidation import Liquidation
from zkproofs.errors import MalformedInput
from zkproofs.gadgets.liquidation import penalty_ok, seizure_for
from zkproofs.gadgets.margin import below_margin, ratio_reached_bps
from zkproofs.settlement.note_tree import MembershipPath
from zkproofs.settlement.notes import Note, liquidation_salt, nullifier, public_key
from zkproofs.settlement.transition import TransitionRefused, signed_to_field


@dataclass(frozen=True)
class LiquidationWitness:
    """A liquidation ready to prove: circuit inputs, the remainder note and the public figures."""

    circuit: Liquidation
    inputs: dict[str, int]
    new_note: Note
    nullifier: int
    seized: tuple[int, ...]
    """Collateral taken per asset (10^-8 units)."""
    repaid: tuple[int, ...]
    """Debt repaid per asset: the note's whole debt."""


def build_liquidation(ak: int, nk: int, note: Note, path: MembershipPath, anchor: int, prices: Sequence[int],
                      haircuts_bps: Sequence[int], maintenance_ratio_bps: int, penalty_bps: int, context: int, *,
                      depth: int) -> LiquidationWitness:
    """Inputs of :class:`Liquidation` for ``note`` at ``path`` under ``anchor``.

    Raises TransitionRefused("NOT_LIQUIDATABLE") with the ratio the note reaches when it is at or
    above ``maintenance_ratio_bps`` at ``prices``, MalformedInput for keys that do not own the note,
    a penalty outside [0, 10^4] bps or a path of another depth. O(A) plus the hashes.
    """
    if public_key(ak, nk) != note.pk:
        raise MalformedInput("these keys (ak, nk) do not own the note")
    if path.depth != depth:
        raise MalformedInput(f"the path has depth {path.depth}; expected {depth}")
    if not penalty_ok(penalty_bps):
        raise MalformedInput("penalty_bps: expected an integer in [0, 10^4]")
    if not below_margin(note.collateral, note.debt, prices, haircuts_bps, maintenance_ratio_bps):
        reached = ratio_reached_bps(note.collateral, note.debt, prices, haircuts_bps)
        shown = "no debt" if reached is None else f"{reached / 100:.2f} % ({reached} bps)"
        raise TransitionRefused("NOT_LIQUIDATABLE", f"the note reaches {shown} at these prices, not below the "
                                                    f"maintenance ratio of {maintenance_ratio_bps / 100:.2f} %")
    nf = nullifier(nk, path.position, note.commitment())
    seized = seizure_for(note.collateral, note.debt, prices, penalty_bps)
    left = tuple(c - s for c, s in zip(note.collateral, seized))
    new = Note(note.pk, left, (0,) * note.assets, liquidation_salt(nk, nf))
    a = note.assets
    inputs = {
        "anchor": anchor,
        **{f"collateral_delta[{i}]": signed_to_field(-s) for i, s in enumerate(seized)},
        **{f"debt_delta[{i}]": signed_to_field(-d) for i, d in enumerate(note.debt)},
        **{f"price[{i}]": p for i, p in enumerate(prices)},
        **{f"haircut_bps[{i}]": h for i, h in enumerate(haircuts_bps)},
        "maintenance_ratio_bps": maintenance_ratio_bps,
        "penalty_bps": penalty_bps,
        "context": context,
        "ak": ak,
        "nk": nk,
        **{f"old_collateral[{i}]": x for i, x in enumerate(note.collateral)},
        **{f"old_debt[{i}]": x for i, x in enumerate(note.debt)},
        "old_salt": note.salt,
        **{f"path_bits[{k}]": b for k, b in enumerate(path.bits)},
        **{f"siblings[{k}]": s for k, s in enumerate(x for level in path.siblings for x in level)},
    }
    return LiquidationWitness(Liquidation(assets=a, depth=depth), inputs, new, nf, seized, note.debt)
