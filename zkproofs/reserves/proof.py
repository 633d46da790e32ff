"""A proof of reserves: the exchange's signatures over the challenge, one per claimed address,
and the auditor's check of them against a balance snapshot.

File (JSON, strict: no duplicate keys, every field checked)::

    {"format": "zkproofs/reserves", "version": 1, "root_hash": "<64 hex>",
     "nonce": "<the auditor's nonce>",
     "claims": [{"chain": "ethereum" | "bitcoin", "address": ..., "signature": ...}, ...]}

:func:`sign_reserves` makes one from the exchange's keys (it verifies every signature it
made before returning); :func:`verify_reserves` is the auditor's side: the root and the
nonce must be the auditor's, every claim's signature must verify (EIP-191 or BIP-137),
no address may be claimed twice, every claimed address must be in the snapshot; the
reserves per asset are then the snapshot's balances of the claimed addresses. A signature
shows control of an address's key at some time after the nonce was drawn; the balances
are the auditor's own node's (the exchange's file states none).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from zkproofs.errors import ReservesError
from zkproofs.jsontext import is_exactly, loads
from zkproofs.reserves import bitcoin, ethereum
from zkproofs.reserves.challenge import challenge_message, check_nonce
from zkproofs.reserves.snapshot import Snapshot, normalize_address
from zkproofs.tree.root import PublishedRoot

FORMAT = "zkproofs/reserves"
VERSION = 1
CHAINS = ("ethereum", "bitcoin")


@dataclass(frozen=True)
class Claim:
    """One claimed address: ``chain`` ("ethereum" or "bitcoin"), the address in canonical
    form, and its signature over the challenge (EIP-191 hex or BIP-137 base64)."""

    chain: str
    address: str
    signature: str

    def verifies(self, message: str) -> bool:
        """Whether the signature is the address's over ``message`` (never raises)."""
        if self.chain not in CHAINS:
            return False
        module = ethereum if self.chain == "ethereum" else bitcoin
        return module.verify(self.address, message, self.signature)


@dataclass(frozen=True)
class ReservesProof:
    """The exchange's signatures for one root and one nonce."""

    root_hash: int
    nonce: str
    claims: tuple[Claim, ...]

    @property
    def message(self) -> str:
        return challenge_message(self.root_hash, self.nonce)


@dataclass(frozen=True)
class ReservesReport:
    """What the auditor learns: reserves per asset symbol (base units) over the proven
    addresses, how many addresses were proven, the snapshot heights per chain, and the
    snapshot's addresses nobody claimed (not counted)."""

    reserves: dict[str, int]
    proven_addresses: int
    heights: dict[str, int]
    unclaimed: tuple[str, ...]


def reserves_to_json(proof: ReservesProof) -> str:
    return json.dumps({
        "format": FORMAT, "version": VERSION, "root_hash": f"{proof.root_hash:064x}", "nonce": proof.nonce,
        "claims": [{"chain": c.chain, "address": c.address, "signature": c.signature} for c in proof.claims],
    }, indent=2) + "\n"


def _field(obj: Any, name: str, where: str) -> str:
    value = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(value, str):
        raise ReservesError(f"{where}: field {name!r}: expected a string")
    return value


def reserves_from_json(text: str | bytes, where: str = "reserves") -> ReservesProof:
    """Decode a proof of reserves; ReservesError naming the field for anything unexpected
    (including an address claimed twice). Signatures are checked by :func:`verify_reserves`."""
    obj = loads(text, where, ReservesError)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT or not is_exactly(obj.get("version"), VERSION):
        raise ReservesError(f"{where}: not a {FORMAT} v{VERSION} file")
    unknown = set(obj) - {"format", "version", "root_hash", "nonce", "claims"}
    if unknown:
        raise ReservesError(f"{where}: unexpected field(s) {', '.join(sorted(unknown))}")
    root_text = _field(obj, "root_hash", where)
    if len(root_text) != 64 or root_text != root_text.lower() or any(c not in "0123456789abcdef" for c in root_text):
        raise ReservesError(f"{where}: field 'root_hash': expected 64 lowercase hex digits")
    nonce = check_nonce(_field(obj, "nonce", where))
    items = obj.get("claims")
    if not isinstance(items, list) or not items:
        raise ReservesError(f"{where}: field 'claims': expected a non-empty list")
    claims, seen = [], set()
    for i, item in enumerate(items):
        here = f"{where}.claims[{i}]"
        if not isinstance(item, dict) or set(item) != {"chain", "address", "signature"}:
            raise ReservesError(f"{here}: expected exactly the fields chain, address, signature")
        chain = _field(item, "chain", here)
        if chain not in CHAINS:
            raise ReservesError(f"{here}: field 'chain': expected one of {', '.join(CHAINS)}, got {chain!r:.40}")
        try:
            address = normalize_address(chain, _field(item, "address", here))
        except ReservesError as exc:
            raise ReservesError(f"{here}: field 'address': {exc}") from None
        if address in seen:
            raise ReservesError(f"{here}: address {address} is claimed twice")
        seen.add(address)
        claims.append(Claim(chain, address, _field(item, "signature", here)))
    return ReservesProof(int(root_text, 16), nonce, tuple(claims))


def _key_claim(key: Any, message: str, where: str) -> Claim:
    if not isinstance(key, dict):
        raise ReservesError(f"{where}: expected an object")
    chain = key.get("chain")
    if chain == "ethereum":
        if set(key) != {"chain", "private_key"}:
            raise ReservesError(f"{where}: an Ethereum key has exactly the fields chain, private_key")
        secret = _field(key, "private_key", where)
        return Claim(chain, ethereum.address_of(secret), ethereum.sign(secret, message))
    if chain == "bitcoin":
        if set(key) != {"chain", "wif", "kind"}:
            raise ReservesError(f"{where}: a Bitcoin key has exactly the fields chain, wif, kind ({', '.join(bitcoin.KINDS)})")
        wif, kind = _field(key, "wif", where), _field(key, "kind", where)
        return Claim(chain, bitcoin.address_of(wif, kind), bitcoin.sign(wif, kind, message))
    raise ReservesError(f"{where}: field 'chain': expected one of {', '.join(CHAINS)}")


def _signed_claim(item: Any, message: str, where: str) -> Claim:
    if not isinstance(item, dict) or set(item) != {"chain", "address", "signature"}:
        raise ReservesError(f"{where}: expected exactly the fields chain, address, signature")
    chain = _field(item, "chain", where)
    if chain not in CHAINS:
        raise ReservesError(f"{where}: field 'chain': expected one of {', '.join(CHAINS)}")
    return Claim(chain, normalize_address(chain, _field(item, "address", where)), _field(item, "signature", where))


def sign_reserves(root_hash: int, nonce: str, keys: Sequence[Any] = (), where: str = "keys", *,
                  signed: Sequence[Any] = (), signed_where: str = "signatures") -> ReservesProof:
    """The exchange's proof: every key in ``keys`` signs the challenge for ``root_hash`` and
    ``nonce``, and the signatures in ``signed`` (``{"chain", "address", "signature"}``, made
    elsewhere over :func:`~zkproofs.reserves.challenge.challenge_message`: by Bitcoin
    Core's ``signmessage``, a hardware wallet or a custody system, so cold keys never
    leave it) join them. A key is ``{"chain": "ethereum", "private_key": "0x..."}`` or
    ``{"chain": "bitcoin", "wif": ..., "kind": "p2pkh" | "p2sh-p2wpkh" | "p2wpkh"}``.
    Raises ReservesError naming the entry for a bad key or signature entry, a signature
    that does not verify, or an address given twice; never returns a proof whose
    signatures do not verify. O(len(keys) + len(signed)) signatures."""
    message = challenge_message(root_hash, nonce)
    entries = []
    for items, label, make in ((keys, where, _key_claim), (signed, signed_where, _signed_claim)):
        if not isinstance(items, (list, tuple)):
            raise ReservesError(f"{label}: expected a list")
        entries += [(f"{label}[{i}]", item, make) for i, item in enumerate(items)]
    if not entries:
        raise ReservesError(f"{where}: no keys and no signatures: nothing to prove")
    claims, seen = [], set()
    for here, item, make in entries:
        try:
            claim = make(item, message, here)
        except ReservesError as exc:
            text = str(exc)
            raise ReservesError(text if text.startswith(here) else f"{here}: {text}") from None
        if claim.address in seen:
            raise ReservesError(f"{here}: address {claim.address} is given twice")
        if not claim.verifies(message):
            raise ReservesError(f"{here}: the signature for {claim.address} does not verify over this challenge")
        seen.add(claim.address)
        claims.append(claim)
    return ReservesProof(root_hash, nonce, tuple(claims))


def verify_reserves(proof: ReservesProof, root: PublishedRoot, nonce: str, snapshot: Snapshot) -> ReservesReport:
    """The auditor's check (module docstring). Raises ReservesError saying what failed: the
    proof is for another root or nonce, a claim's signature does not verify (all such
    claims named), or a claimed address is missing from the snapshot. O(claims + rows)."""
    if proof.root_hash != root.root_hash:
        raise ReservesError(f"the proof of reserves is for root {proof.root_hash:064x}, not the published {root.root_hash:064x}")
    if proof.nonce != check_nonce(nonce):
        raise ReservesError("the proof of reserves answers another nonce than the auditor's: the signatures may predate this audit")
    message = proof.message
    bad = [c.address for c in proof.claims if not c.verifies(message)]
    if bad:
        raise ReservesError(f"{len(bad)} claimed address(es) without a valid signature over the challenge: {', '.join(bad)}")
    present = snapshot.addresses()
    missing = [c.address for c in proof.claims if c.address not in present]
    if missing:
        raise ReservesError(f"claimed address(es) absent from the snapshot (list them with balance 0 if empty): {', '.join(missing)}")
    claimed = {c.address for c in proof.claims}
    reserves = {a.symbol: 0 for a in root.assets}
    for (address, asset), amount in snapshot.balances.items():
        if address in claimed:
            reserves[asset] += amount
    return ReservesReport(reserves, len(claimed), dict(snapshot.heights), tuple(sorted(present - claimed)))
