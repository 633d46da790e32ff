"""The challenge a proof of reserves signs: the auditor's nonce and the liability root.

Every address the exchange claims signs the same text::

    zkproofs proof of reserves
    root: <the published root hash, 64 hex digits>
    nonce: <the auditor's nonce, 32-128 lowercase hex digits>

Binding the root ties the reserves to one published liability tree (the same root
file the customers' inclusion proofs and the batch proofs refer to); the nonce is
drawn fresh by the auditor (at least 128 bits), so signatures collected for an
earlier audit, or made before the root existed, do not verify. A signature proves
control of the key at signing time, not the balance: the balance comes from the
auditor's own node (:mod:`zkproofs.reserves.snapshot`).
"""

from __future__ import annotations

import re
import secrets

from zkproofs.errors import ReservesError

_NONCE = re.compile(r"[0-9a-f]{32,128}")


def new_nonce() -> str:
    """A fresh 256-bit nonce from the OS CSPRNG, as the auditor draws it (64 hex digits)."""
    return secrets.token_hex(32)


def check_nonce(nonce: str) -> str:
    """The nonce if it is 32-128 lowercase hex digits (128 to 512 bits); ReservesError otherwise."""
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise ReservesError(f"nonce: expected 32 to 128 lowercase hex digits (at least 128 bits), got {nonce!r:.80}")
    return nonce


def challenge_message(root_hash: int, nonce: str) -> str:
    """The text every claimed address signs (module docstring). ReservesError for a bad nonce."""
    return f"zkproofs proof of reserves\nroot: {root_hash:064x}\nnonce: {check_nonce(nonce)}"
