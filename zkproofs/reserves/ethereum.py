"""Ethereum address ownership: EIP-191 ``personal_sign`` signatures, with eth-account.

The signed bytes are ``"\\x19Ethereum Signed Message:\\n" + len(message) + message``
(EIP-191 version 0x45, what wallets and custody systems sign for ``personal_sign``);
the signature is 65 bytes r || s || v as 0x-prefixed hex. Verification recovers the
signer's address from the signature and compares it with the claimed one (both as
EIP-55 checksummed addresses); a malformed signature is a definite reject.
"""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_hex_address, to_checksum_address

from zkproofs.errors import ReservesError


def normalize_address(address: str) -> str:
    """The EIP-55 checksummed form of a 0x-prefixed 40-hex-digit address; ReservesError
    otherwise (a mixed-case address whose checksum is wrong is refused: a typo)."""
    if not isinstance(address, str) or not address.startswith("0x") or not is_hex_address(address):
        raise ReservesError(f"not an Ethereum address (0x and 40 hex digits): {address!r:.80}")
    checksummed, body = to_checksum_address(address), address[2:]
    if body != body.lower() and body != body.upper() and address != checksummed:
        raise ReservesError(f"Ethereum address {address}: its EIP-55 checksum is wrong")
    return checksummed


def address_of(private_key: str) -> str:
    """The checksummed address of a 32-byte private key (hex); ReservesError if invalid."""
    try:
        return Account.from_key(private_key).address
    except (ValueError, TypeError) as exc:
        raise ReservesError(f"not an Ethereum private key ({exc})") from None


def sign(private_key: str, message: str) -> str:
    """The EIP-191 signature (0x + 130 hex digits) of ``message`` by ``private_key``."""
    try:
        signed = Account.sign_message(encode_defunct(text=message), private_key=private_key)
    except (ValueError, TypeError) as exc:
        raise ReservesError(f"not an Ethereum private key ({exc})") from None
    return "0x" + bytes(signed.signature).hex()


def verify(address: str, message: str, signature: str) -> bool:
    """True iff ``signature`` is an EIP-191 signature of ``message`` by ``address``'s key.
    Never raises for a malformed signature (False)."""
    try:
        expected = normalize_address(address)
        recovered = Account.recover_message(encode_defunct(text=message), signature=signature)
    except Exception:  # a malformed address or signature (eth-account raises several types): "no"
        return False
    return recovered == expected
