"""Bitcoin address ownership: BIP-137 signed messages, on embit's secp256k1 and addresses.

The signed hash is SHA256d(varstr("Bitcoin Signed Message:\\n") || varstr(message)),
the signature a base64 65-byte compact recoverable ECDSA signature whose header byte
says how to rebuild the address from the recovered public key (BIP-137, "Signatures
of messages" table):

    27-30  P2PKH, uncompressed key     31-34  P2PKH, compressed key
    35-38  P2SH-P2WPKH (nested segwit)  39-42  P2WPKH (native segwit, bech32)

with the recovery id in the low two bits. Verification recovers the key, derives the
address of the header's type on the claimed address's network and compares; anything
malformed is a definite reject. A compressed-P2PKH header (31-34) is also accepted for
the same key's segwit addresses, as Electrum and COLDCARD sign them (the key controls
all three scripts, so nothing is gained by refusing them). Taproot (P2TR) addresses need BIP-322, which this
format cannot express: they are refused. Bitcoin Core's ``signmessage`` writes the
P2PKH form, so its signatures verify here unchanged.

Cryptography (secp256k1 signing and recovery, address encodings) is embit's (libsecp256k1
through ctypes); this module only frames the message and reads the header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from embit import ec, script
from embit.networks import NETWORKS
from embit.util import secp256k1

from zkproofs.errors import ReservesError

KINDS = ("p2pkh", "p2sh-p2wpkh", "p2wpkh")
_HEADER_BASE = {"p2pkh": 31, "p2sh-p2wpkh": 35, "p2wpkh": 39}  # compressed keys
_MAGIC = b"Bitcoin Signed Message:\n"


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def message_hash(message: str) -> bytes:
    """SHA256d of the BIP-137 framing of ``message`` (UTF-8)."""
    data = message.encode()
    framed = _varint(len(_MAGIC)) + _MAGIC + _varint(len(data)) + data
    return hashlib.sha256(hashlib.sha256(framed).digest()).digest()


def _address(pub: ec.PublicKey, kind: str, network: dict) -> str:
    if kind == "p2pkh":
        return script.p2pkh(pub).address(network)
    if kind == "p2wpkh":
        return script.p2wpkh(pub).address(network)
    return script.p2sh(script.p2wpkh(pub)).address(network)


def _network_of(address: str) -> dict | None:
    """The network whose address prefixes ``address`` uses (main, test, regtest, signet)."""
    for net in NETWORKS.values():
        if address.lower().startswith(net["bech32"] + "1"):
            return net
    try:
        version = ec.base58.decode_check(address)[:1]
    except Exception:  # not base58check: no network
        return None
    for net in NETWORKS.values():
        if version in (net["p2pkh"], net["p2sh"]):
            return net
    return None


def normalize_address(address: str) -> str:
    """``address`` if it is a valid P2PKH, P2SH or P2WPKH address of a known network
    (base58check, or bech32 with a valid checksum, in one case: returned lowercase);
    ReservesError otherwise. P2WSH and taproot are refused: BIP-137 signs with one key
    (taproot would need BIP-322). A P2SH address can only be proven as P2SH-P2WPKH."""
    if not isinstance(address, str) or not address.isascii() or not address.isalnum():
        raise ReservesError(f"not a Bitcoin address: {address!r:.80}")
    if address not in (address.lower(), address.upper()) and _network_of(address) is not None \
            and address.lower().startswith(_network_of(address)["bech32"] + "1"):
        raise ReservesError(f"Bitcoin address {address}: mixed case is not valid bech32")
    net = _network_of(address)
    canonical = address.lower() if net is not None and address.lower().startswith(net["bech32"] + "1") else address
    try:
        kind = script.address_to_scriptpubkey(canonical).script_type()
    except Exception:  # embit raises its own errors for a bad checksum, length or version
        kind = None
    if net is None or kind not in ("p2pkh", "p2sh", "p2wpkh"):
        reason = "taproot and P2WSH addresses cannot sign BIP-137 messages" if kind in ("p2tr", "p2wsh") else "invalid encoding or checksum"
        raise ReservesError(f"not a Bitcoin address BIP-137 can prove: {address!r:.80} ({reason})")
    return canonical


def _private_key(wif: str) -> ec.PrivateKey:
    try:
        key = ec.PrivateKey.from_wif(wif)
    except Exception as exc:  # embit raises its own errors for bad WIF
        raise ReservesError(f"not a Bitcoin private key in WIF ({exc})") from None
    if not key.compressed:
        raise ReservesError("uncompressed Bitcoin keys are not supported (segwit needs compressed keys)")
    return key


def address_of(wif: str, kind: str) -> str:
    """The address of ``kind`` (one of :data:`KINDS`) for a WIF private key, on the WIF's network."""
    if kind not in KINDS:
        raise ReservesError(f"Bitcoin address kind {kind!r}: expected one of {', '.join(KINDS)}")
    key = _private_key(wif)
    return _address(key.get_public_key(), kind, key.network)


def sign(wif: str, kind: str, message: str) -> str:
    """The BIP-137 signature (base64) of ``message`` by a compressed WIF key, for its
    address of ``kind``. Deterministic (RFC 6979, as libsecp256k1 signs)."""
    if kind not in KINDS:
        raise ReservesError(f"Bitcoin address kind {kind!r}: expected one of {', '.join(KINDS)}")
    key = _private_key(wif)
    sig = secp256k1.ecdsa_sign_recoverable(message_hash(message), key.secret)
    compact, recid = secp256k1.ecdsa_recoverable_signature_serialize_compact(sig)
    return base64.b64encode(bytes([_HEADER_BASE[kind] + recid]) + compact).decode()


def verify(address: str, message: str, signature: str) -> bool:
    """True iff ``signature`` is a BIP-137 signature of ``message`` by the key of
    ``address`` (P2PKH, P2SH-P2WPKH or P2WPKH on any network). Never raises (False)."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return False
    if len(raw) != 65 or not 27 <= raw[0] <= 42:
        return False
    header = raw[0]
    try:
        address = normalize_address(address)
    except ReservesError:
        return False
    network = _network_of(address)
    if header < 31:
        kinds, compressed = ("p2pkh",), False
    elif header < 35:  # Electrum and COLDCARD sign segwit addresses with this header too
        kinds, compressed = KINDS, True
    else:
        kinds, compressed = (KINDS[(header - 31) // 4],), True
    try:
        sig = secp256k1.ecdsa_recoverable_signature_parse_compact(raw[1:], (header - 27) & 3)
        pub = ec.PublicKey(secp256k1.ecdsa_recover(sig, message_hash(message)), compressed)
        return any(_address(pub, kind, network) == address for kind in kinds)
    except Exception:  # not a valid signature (r, s out of range, no point to recover)
        return False
