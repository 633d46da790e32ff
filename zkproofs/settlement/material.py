"""Liquidation material: a debt-carrying note's opening and the owner's (ak, nk), sealed to the venue.

A liquidation (:mod:`circuits.liquidation`) needs the note's opening and the owner's
nullifier key nk and spend authority ak, never the spending key. A trader whose note
carries debt therefore gives the venue that material with every transition that leaves
debt in a note or spends a note that carried it, encrypted to the venue's X25519 key
with a libsodium sealed box (``crypto_box_seal``: X25519 + XSalsa20-Poly1305 with an
ephemeral sender key, through PyNaCl), so that only the venue can read it. The venue
opens it on receipt and checks that it opens the transition's new commitment
(:func:`open_material`); it then knows that note and, holding nk, can recognise its
spend by its nullifier. Notes without debt never carry material and stay private from
the venue.

What the venue learns from material: the note's amounts, and nk, which lets it compute
the nullifier of every note of the same owner keys it sees appended; a trader who wants
privacy back after repaying moves to fresh keys (a new wallet).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from zkproofs.atomic import atomic_write_text
from zkproofs.errors import MalformedInput
from zkproofs.field import R
from zkproofs.jsontext import loads
from zkproofs.settlement.notes import Note, public_key

MATERIAL_FORMAT = "zkproofs-liquidation-material"
SEALING_KEY_FORMAT = "zkproofs-venue-sealing-key"
VERSION = 1
MAX_SEALED_HEX = 16_384
"""A sealed material's hex length bound (a note of 2,048 assets is far below it... for 64 assets it is ~7 KB)."""


@dataclass(frozen=True)
class Material:
    """What a liquidation needs of one note: the owner's ak and nk and the note's opening."""

    ak: int
    nk: int
    note: Note


def new_sealing_key() -> tuple[bytes, str]:
    """A fresh venue sealing key pair (X25519): (32-byte secret, public key in hex)."""
    key = PrivateKey.generate()
    return bytes(key), bytes(key.public_key).hex()


def sealing_key_to_json(secret: bytes) -> str:
    """The venue's sealing key file (secret and public key, hex): keep it mode 0600."""
    public = bytes(PrivateKey(secret).public_key).hex()
    return json.dumps({"format": SEALING_KEY_FORMAT, "version": VERSION, "secret": secret.hex(), "public_key": public}, indent=1) + "\n"


def sealing_key_from_json(text: str | bytes, where: str) -> PrivateKey:
    """The sealing key of a key file; MalformedInput naming the field."""
    d = loads(text, where)
    if not isinstance(d, dict) or d.get("format") != SEALING_KEY_FORMAT or d.get("version") != VERSION:
        raise MalformedInput(f"{where}: expected format {SEALING_KEY_FORMAT!r} version {VERSION}")
    if set(d) != {"format", "version", "secret", "public_key"}:
        raise MalformedInput(f"{where}: expected exactly format, version, secret and public_key")
    secret = _hex(d["secret"], 32, f"{where}.secret")
    key = PrivateKey(secret)
    if bytes(key.public_key).hex() != d["public_key"]:
        raise MalformedInput(f"{where}.public_key: not the public key of the file's secret")
    return key


def write_sealing_key(folder: str | os.PathLike, secret_name: str, public_name: str) -> str:
    """Make a fresh sealing key in ``folder``: the secret file (mode 0600, written atomically) and the
    public key file (hex) traders seal to. Returns the public key; MalformedInput if a secret file
    is already there (a venue's sealing key is never overwritten: notes' material is sealed to it)."""
    folder = Path(folder)
    secret_path = folder / secret_name
    if secret_path.exists():
        raise MalformedInput(f"{secret_path}: already exists (a sealing key is never overwritten)")
    secret, public = new_sealing_key()
    atomic_write_text(secret_path, sealing_key_to_json(secret))
    os.chmod(secret_path, 0o600)
    atomic_write_text(folder / public_name, public + "\n")
    return public


def public_key_from_hex(text: str, where: str) -> PublicKey:
    """A venue's sealing public key from 64 hex digits; MalformedInput otherwise."""
    return PublicKey(_hex(text.strip(), 32, where))


def seal_material(venue_key: PublicKey, ak: int, nk: int, note: Note) -> str:
    """The sealed material of ``note`` for the venue (hex). O(A)."""
    doc = {"format": MATERIAL_FORMAT, "version": VERSION, "ak": str(ak), "nk": str(nk), "pk": str(note.pk),
           "collateral": [str(x) for x in note.collateral], "debt": [str(x) for x in note.debt], "salt": str(note.salt)}
    return SealedBox(venue_key).encrypt(json.dumps(doc).encode()).hex()


def open_material(key: PrivateKey, sealed: str, assets: int, commitment: int, where: str = "material") -> Material:
    """Open a sealed material and check it: it decrypts with the venue's key, ak and nk give the note's
    owner, the note has ``assets`` amounts in [0, 2^64) and its commitment is ``commitment``.
    MalformedInput naming what does not hold. One X25519 exchange, O(A) hashes."""
    if not isinstance(sealed, str) or len(sealed) > MAX_SEALED_HEX:
        raise MalformedInput(f"{where}: expected a sealed box in hex, at most {MAX_SEALED_HEX} digits")
    try:
        plain = SealedBox(key).decrypt(bytes.fromhex(sealed))
    except (ValueError, CryptoError):
        raise MalformedInput(f"{where}: does not open with the venue's sealing key") from None
    d = loads(plain, where)
    names = {"format", "version", "ak", "nk", "pk", "collateral", "debt", "salt"}
    if not isinstance(d, dict) or set(d) != names or d["format"] != MATERIAL_FORMAT or d["version"] != VERSION:
        raise MalformedInput(f"{where}: not a {MATERIAL_FORMAT} of version {VERSION}")
    ak, nk, pk, salt = (_scalar(d[k], f"{where}.{k}") for k in ("ak", "nk", "pk", "salt"))
    if public_key(ak, nk) != pk:
        raise MalformedInput(f"{where}: ak and nk are not the keys of the note's owner")
    for side in ("collateral", "debt"):
        if not isinstance(d[side], list) or len(d[side]) != assets:
            raise MalformedInput(f"{where}.{side}: expected {assets} amounts")
    note = Note(pk, tuple(_scalar(x, f"{where}.collateral") for x in d["collateral"]),
                tuple(_scalar(x, f"{where}.debt") for x in d["debt"]), salt)
    if note.commitment() != commitment:
        raise MalformedInput(f"{where}: does not open the transition's new note commitment")
    return Material(ak, nk, note)


def _hex(value: object, size: int, where: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or any(c not in "0123456789abcdef" for c in value):
        raise MalformedInput(f"{where}: expected {size} bytes as {2 * size} lowercase hex digits")
    return bytes.fromhex(value)


def _scalar(value: object, where: str) -> int:
    if not isinstance(value, str) or not value.isdigit() or (len(value) > 1 and value[0] == "0") or int(value) >= R:
        raise MalformedInput(f"{where}: expected a canonical decimal field element")
    return int(value)
