"""Settlement at an escrow venue: margin notes, the note commitment tree, transitions, the venue, wallets.

Every change to a trader's escrowed margin account (a note, :mod:`~zkproofs.settlement.notes`)
is proven with :class:`circuits.valid_transition.ValidTransition`
(:mod:`~zkproofs.settlement.transition`, prover side) at the prices of signed
price epochs (:mod:`~zkproofs.settlement.epochs`); the venue
(:mod:`~zkproofs.settlement.venue`) verifies deposits, withdrawals, borrows,
repayments, health proofs and two-leg trades, liquidates notes under maintenance
(:mod:`~zkproofs.settlement.liquidation`, with the material borrowers seal to it,
:mod:`~zkproofs.settlement.material`) and records them in its SQLite ledger (:mod:`~zkproofs.settlement.venue_ledger`)
with the note commitment tree (:mod:`~zkproofs.settlement.note_tree`); a trader's
wallet file (:mod:`~zkproofs.settlement.wallet`) talks to a venue in process or over
HTTP (:mod:`~zkproofs.settlement.client`).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "zkproofs.settlement.note_tree": ("MembershipPath", "NoteTree"),
    "zkproofs.settlement.epochs": ("OracleSet", "PriceEpoch", "assemble_epoch", "sign_quotes"),
    "zkproofs.settlement.liquidation": ("build_liquidation",),
    "zkproofs.settlement.material": ("open_material", "seal_material"),
    "zkproofs.settlement.notes": ("Note", "OwnerKeys"),
    "zkproofs.settlement.transition": ("Kind", "TransitionRefused", "build_transition", "prove_transition", "transition_request"),
    "zkproofs.settlement.venue": ("Decision", "Reason", "Venue", "audit_ledger", "open_venue"),
    "zkproofs.settlement.venue_ledger": ("VenueLedger",),
    "zkproofs.settlement.venue_policy": ("PolicyError", "VenuePolicy", "load_venue_policy"),
    "zkproofs.settlement.wallet": ("LocalVenue", "Wallet", "WalletError", "create_wallet", "open_wallet"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """The exports load on first use (PEP 562): the circuits import :mod:`zkproofs.settlement.notes`,
    and :mod:`~zkproofs.settlement.transition` imports the circuits, so an eager import here would be circular."""
    if name not in _WHERE:
        raise AttributeError(f"module 'zkproofs.settlement' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
