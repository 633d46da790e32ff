"""Proof of reserves: the exchange signs the auditor's challenge with the key of every address
it claims (EIP-191 with eth-account, BIP-137 on embit), and the auditor sums those
addresses' balances from a snapshot of their own node. See :mod:`.challenge` (what is
signed), :mod:`.ethereum` and :mod:`.bitcoin` (the signature schemes), :mod:`.snapshot`
(the auditor's balances) and :mod:`.proof` (the file and both sides' checks).
"""

from zkproofs.reserves.challenge import challenge_message, check_nonce, new_nonce
from zkproofs.reserves.proof import (
    Claim,
    ReservesProof,
    ReservesReport,
    reserves_from_json,
    reserves_to_json,
    sign_reserves,
    verify_reserves,
)
from zkproofs.reserves.snapshot import Snapshot, parse_snapshot, read_snapshot

__all__ = ["Claim", "ReservesProof", "ReservesReport", "Snapshot", "challenge_message", "check_nonce", "new_nonce",
           "parse_snapshot", "read_snapshot", "reserves_from_json", "reserves_to_json", "sign_reserves", "verify_reserves"]
