"""Price epochs: the prices a lending venue proves margin against, signed by a quorum of oracles.

A venue names n oracle keys (Ed25519, RFC 8032, through PyNaCl) and a quorum k.
For each epoch every oracle signs its own quotes for all the venue's assets with
the epoch's sequence number and its own timestamp (:func:`sign_quotes`). The venue
assembles an epoch from the signed quotes of at least k distinct oracles of its set
(:func:`assemble_epoch`): each asset's epoch price is the **lower median** of the
signers' quotes, so that with an honest majority among the signers (k > n / 2 and at
most n - k oracles faulty) no faulty oracle can move a price outside the range of the
honest quotes, and the price is always one an oracle actually quoted. The epoch's
timestamp is the lower median of the signers' timestamps, for the same reason.

An epoch is refused (:class:`EpochRefused`, with a reason code) when a signature
does not verify, a signer is not in the set or signs twice, fewer than k sign,
signers disagree on the sequence number, the sequence is not the previous epoch's
plus one (the first epoch is number 1), the timestamp goes back or lies in the
future, an asset is missing or priced at zero, or a price moves more than
``max_move_bps`` against the previous epoch's (an asset the previous epoch did not
price, one the venue has just listed, has no bound yet, as in the first epoch). A signature that does not verify
refuses the whole epoch rather than being dropped: a venue must learn that an
oracle is broken or impersonated, not settle around it silently.

Units: prices are integers in 10^-8 USD per whole unit of the asset
(:mod:`zkproofs.settlement.units`); timestamps are unix seconds; bounds are basis
points (1 bps = 0.01 %). Proofs reference an epoch by its sequence number and the
verifier takes the prices from the epoch it holds, never from a request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

from zkproofs.errors import MalformedInput, ZkProofsError
from zkproofs.jsontext import loads
from zkproofs.settlement.units import format_fixed, parse_fixed

DOMAIN = b"zkproofs-price-epoch-v1\x00"
"""Prefix of every signed quote message, so that an oracle's signature cannot be replayed as anything else."""

EPOCH_FORMAT = "zkproofs-price-epoch"
QUOTES_FORMAT = "zkproofs-signed-quotes"
KEY_FORMAT = "zkproofs-oracle-key"
VERSION = 1
MAX_PRICE = (1 << 128) - 1
MAX_U64 = (1 << 64) - 1

# Reason codes of EpochRefused.
BAD_SIGNATURE = "BAD_SIGNATURE"
UNKNOWN_SIGNER = "UNKNOWN_SIGNER"
DUPLICATE_SIGNER = "DUPLICATE_SIGNER"
NO_QUORUM = "NO_QUORUM"
SEQUENCE_MISMATCH = "SEQUENCE_MISMATCH"
STALE_SEQUENCE = "STALE_SEQUENCE"
SEQUENCE_GAP = "SEQUENCE_GAP"
TIMESTAMP_BACKWARDS = "TIMESTAMP_BACKWARDS"
TIMESTAMP_FUTURE = "TIMESTAMP_FUTURE"
MISSING_PRICE = "MISSING_PRICE"
PRICE_OUT_OF_BOUNDS = "PRICE_OUT_OF_BOUNDS"
WRONG_VENUE = "WRONG_VENUE"
MISMATCH = "MISMATCH"


class EpochRefused(ZkProofsError):
    """A price epoch the venue must not use; ``reason`` is one of the codes above, ``detail`` names what."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def new_oracle_key() -> tuple[bytes, str]:
    """A fresh oracle key pair from the OS: (32-byte Ed25519 seed to keep secret, public key in hex)."""
    key = SigningKey.generate()
    return bytes(key), key.verify_key.encode().hex()


def oracle_key_to_json(seed: bytes) -> str:
    """An oracle's key file: its 32-byte Ed25519 seed (secret) and public key, hex; keep it mode 0600."""
    public = SigningKey(seed).verify_key.encode().hex()
    return json.dumps({"format": KEY_FORMAT, "version": VERSION, "seed": seed.hex(), "public_key": public}, indent=1) + "\n"


def oracle_key_from_json(text: str | bytes, where: str) -> bytes:
    """The seed of an oracle key file; MalformedInput naming the field (a public key that is not the
    seed's, e.g. a hand-edited file, included)."""
    d = _fields(loads(text, where), where, KEY_FORMAT, {"seed", "public_key"})
    seed = d["seed"]
    if not isinstance(seed, str) or len(seed) != 64 or any(c not in "0123456789abcdef" for c in seed):
        raise MalformedInput(f"{where}.seed: expected 32 bytes as 64 lowercase hex digits")
    if SigningKey(bytes.fromhex(seed)).verify_key.encode().hex() != d["public_key"]:
        raise MalformedInput(f"{where}.public_key: not the public key of the file's seed")
    return bytes.fromhex(seed)


def _hex_key(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise MalformedInput(f"{what}: expected an Ed25519 public key as 64 lowercase hex digits")
    return value


@dataclass(frozen=True)
class OracleSet:
    """Who may sign a venue's price epochs, and the bounds an epoch must keep.

    ``keys``: the n oracles' Ed25519 public keys (hex, distinct); ``quorum``: k, the
    least number of distinct oracles whose signed quotes make an epoch (1 <= k <= n;
    k > n / 2 is what makes the median robust, see the module docstring);
    ``assets``: the venue's assets, in the order quotes are signed; ``max_move_bps``:
    how far an asset's epoch price may move against the previous epoch's (basis
    points, > 0); ``max_future_seconds``: how far ahead of the venue's clock an
    epoch's timestamp may be. Raises MalformedInput (:meth:`validate`) otherwise.
    """

    venue: str
    keys: tuple[str, ...]
    quorum: int
    assets: tuple[str, ...]
    max_move_bps: int
    max_future_seconds: int = 60

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not self.venue:
            raise MalformedInput("oracles: the venue name is empty")
        for i, key in enumerate(self.keys):
            _hex_key(key, f"oracles.keys[{i}]")
        if len(set(self.keys)) != len(self.keys):
            raise MalformedInput("oracles.keys: the same key is listed twice")
        if not self.keys:
            raise MalformedInput("oracles.keys: at least one oracle is needed")
        if isinstance(self.quorum, bool) or not isinstance(self.quorum, int) or not 1 <= self.quorum <= len(self.keys):
            raise MalformedInput(f"oracles.quorum: must be an integer from 1 to {len(self.keys)} (the number of keys)")
        if not self.assets or len(set(self.assets)) != len(self.assets):
            raise MalformedInput("oracles.assets: expected distinct asset symbols")
        for name, value, low in (("max_move_bps", self.max_move_bps, 1), ("max_future_seconds", self.max_future_seconds, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MalformedInput(f"oracles.{name}: must be an integer >= {low}")


def quote_message(venue: str, sequence: int, timestamp: int, assets: Sequence[str], prices: Mapping[str, int]) -> bytes:
    """The bytes an oracle signs: DOMAIN, then the venue name, the sequence number and the
    timestamp (u64, big-endian), then for each asset in ``assets``' order its symbol and its
    price (u128, big-endian); names are UTF-8 with a u16 length. Raises MalformedInput for
    a missing asset or a number out of range."""
    out = [DOMAIN, _name(venue), _u(sequence, 8, "sequence"), _u(timestamp, 8, "timestamp")]
    for asset in assets:
        if asset not in prices:
            raise MalformedInput(f"quotes: no price for {asset}")
        out += [_name(asset), _u(prices[asset], 16, f"price of {asset}")]
    return b"".join(out)


def _name(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > 0xFFFF:
        raise MalformedInput("quotes: a name is longer than 65535 bytes")
    return len(data).to_bytes(2, "big") + data


def _u(value: int, size: int, what: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << (8 * size):
        raise MalformedInput(f"quotes: {what} must be an integer in [0, 2^{8 * size})")
    return value.to_bytes(size, "big")


@dataclass(frozen=True)
class SignedQuotes:
    """One oracle's quotes for one epoch: ``prices`` (asset -> 10^-8 USD per whole unit),
    its ``timestamp`` (unix seconds), the epoch ``sequence``, the ``signer``'s public key
    (hex) and its 64-byte Ed25519 ``signature`` over :func:`quote_message`."""

    venue: str
    sequence: int
    timestamp: int
    prices: Mapping[str, int]
    signer: str
    signature: bytes


def sign_quotes(seed: bytes, venue: str, sequence: int, timestamp: int, prices: Mapping[str, int], assets: Sequence[str]) -> SignedQuotes:
    """An oracle's signed quotes (``seed``: its 32-byte secret from :func:`new_oracle_key`)."""
    key = SigningKey(seed)
    message = quote_message(venue, sequence, timestamp, assets, prices)
    return SignedQuotes(venue, sequence, timestamp, {a: prices[a] for a in assets}, key.verify_key.encode().hex(), key.sign(message).signature)


@dataclass(frozen=True)
class PriceEpoch:
    """An assembled epoch: per-asset ``prices`` (the lower median of the signers' quotes,
    10^-8 USD per whole unit), its ``sequence`` number and ``timestamp`` (the lower
    median of the signers'), and the ``quotes`` it was assembled from (anyone holding
    the venue's :class:`OracleSet` can re-check it with :func:`verify_epoch`)."""

    venue: str
    sequence: int
    timestamp: int
    prices: Mapping[str, int]
    quotes: tuple[SignedQuotes, ...]


def lower_median(values: Sequence[int]) -> int:
    """The lower median: the element of rank floor((len - 1) / 2) in sorted order. O(n log n)."""
    if not values:
        raise ValueError("the median of nothing")
    return sorted(values)[(len(values) - 1) // 2]


def _check_signatures(oracles: OracleSet, quotes: Sequence[SignedQuotes]) -> None:
    seen: set[str] = set()
    for q in quotes:
        if q.signer not in oracles.keys:
            raise EpochRefused(UNKNOWN_SIGNER, f"{q.signer[:16]}... is not one of the venue's oracles")
        if q.signer in seen:
            raise EpochRefused(DUPLICATE_SIGNER, f"oracle {q.signer[:16]}... signed more than once")
        seen.add(q.signer)
        if q.venue != oracles.venue:
            raise EpochRefused(WRONG_VENUE, f"oracle {q.signer[:16]}... signed quotes for venue {q.venue!r}")
        for asset in oracles.assets:
            if not q.prices.get(asset):
                raise EpochRefused(MISSING_PRICE, f"oracle {q.signer[:16]}... gives no positive price for {asset}")
        if set(q.prices) != set(oracles.assets):
            extra = sorted(set(q.prices) - set(oracles.assets))
            raise EpochRefused(MISSING_PRICE, f"oracle {q.signer[:16]}... quotes assets the venue does not list: {extra}")
        message = quote_message(q.venue, q.sequence, q.timestamp, oracles.assets, q.prices)
        try:
            VerifyKey(bytes.fromhex(q.signer)).verify(message, q.signature)
        except (BadSignatureError, CryptoError, ValueError, TypeError):
            raise EpochRefused(BAD_SIGNATURE, f"the signature of oracle {q.signer[:16]}... does not verify") from None
    if len(seen) < oracles.quorum:
        raise EpochRefused(NO_QUORUM, f"{len(seen)} oracles signed, the quorum is {oracles.quorum} of {len(oracles.keys)}")


def assemble_epoch(oracles: OracleSet, quotes: Sequence[SignedQuotes], previous: PriceEpoch | None, now: int) -> PriceEpoch:
    """The epoch made by ``quotes`` after ``previous`` (None for the first), at the venue's clock ``now``.

    Every check of the module docstring, in that order; raises EpochRefused with its
    reason code. Cost: one Ed25519 verification per signer, O(n log n) per asset.
    """
    _check_signatures(oracles, quotes)
    sequences = {q.sequence for q in quotes}
    if len(sequences) != 1:
        raise EpochRefused(SEQUENCE_MISMATCH, f"the oracles signed different sequence numbers {sorted(sequences)}")
    sequence = sequences.pop()
    expected = previous.sequence + 1 if previous is not None else 1
    if sequence < expected:
        raise EpochRefused(STALE_SEQUENCE, f"epoch {sequence} does not come after epoch {expected - 1}")
    if sequence > expected:
        raise EpochRefused(SEQUENCE_GAP, f"epoch {sequence} skips epoch {expected}")
    timestamp = lower_median([q.timestamp for q in quotes])
    if previous is not None and timestamp < previous.timestamp:
        raise EpochRefused(TIMESTAMP_BACKWARDS, f"epoch {sequence} is dated {timestamp}, before epoch {previous.sequence} ({previous.timestamp})")
    if timestamp > now + oracles.max_future_seconds:
        raise EpochRefused(TIMESTAMP_FUTURE, f"epoch {sequence} is dated {timestamp - now} s ahead of the venue's clock")
    prices = {asset: lower_median([q.prices[asset] for q in quotes]) for asset in oracles.assets}
    if previous is not None:
        for asset, price in prices.items():
            before = previous.prices.get(asset)
            if before is not None and abs(price - before) * 10_000 > oracles.max_move_bps * before:
                raise EpochRefused(
                    PRICE_OUT_OF_BOUNDS,
                    f"{asset} moves from {format_fixed(before)} to {format_fixed(price)}, more than {oracles.max_move_bps} bps",
                )
    return PriceEpoch(oracles.venue, sequence, timestamp, prices, tuple(quotes))


def check_signed(oracles: OracleSet, epoch: PriceEpoch) -> PriceEpoch:
    """What a trader checks of an epoch a venue serves, without its predecessor: a quorum of
    the venue's oracles signed quotes for this venue and sequence, and the recorded prices and
    timestamp are their lower medians. Returns ``epoch``; EpochRefused (codes as
    :func:`assemble_epoch`'s, MISMATCH for values that are not the quotes'). One Ed25519
    verification per signer."""
    _check_signatures(oracles, epoch.quotes)
    if epoch.venue != oracles.venue or any(q.sequence != epoch.sequence for q in epoch.quotes):
        raise EpochRefused(SEQUENCE_MISMATCH, f"epoch {epoch.sequence}'s quotes are not all for this venue and sequence")
    prices = {asset: lower_median([q.prices[asset] for q in epoch.quotes]) for asset in oracles.assets}
    if (lower_median([q.timestamp for q in epoch.quotes]), prices) != (epoch.timestamp, dict(epoch.prices)):
        raise EpochRefused(MISMATCH, f"epoch {epoch.sequence}'s recorded prices or timestamp are not those its signed quotes give")
    return epoch


def verify_epoch(oracles: OracleSet, epoch: PriceEpoch, previous: PriceEpoch | None, now: int) -> PriceEpoch:
    """Re-check a recorded ``epoch`` (read back from a ledger or a file): assembled again
    from its own signed quotes, it must give exactly its recorded venue, sequence,
    timestamp and prices. Returns it; EpochRefused with the failed check's code, or
    MISMATCH when the quotes are sound but the recorded values are not theirs."""
    again = assemble_epoch(oracles, epoch.quotes, previous, now)
    if (again.venue, again.sequence, again.timestamp, dict(again.prices)) != (epoch.venue, epoch.sequence, epoch.timestamp, dict(epoch.prices)):
        raise EpochRefused(MISMATCH, f"epoch {epoch.sequence}'s recorded prices or timestamp are not those its signed quotes give")
    return epoch


# --- JSON ------------------------------------------------------------------------------------

def quotes_to_dict(q: SignedQuotes) -> dict[str, Any]:
    """One oracle's quotes as a JSON object: prices as decimal strings (8 decimals), signer and signature in hex."""
    return {
        "format": QUOTES_FORMAT, "version": VERSION, "venue": q.venue, "sequence": q.sequence,
        "timestamp": q.timestamp, "prices": {a: format_fixed(p) for a, p in q.prices.items()},
        "signer": q.signer, "signature": q.signature.hex(),
    }  # fmt: skip


def epoch_to_dict(epoch: PriceEpoch) -> dict[str, Any]:
    """An epoch as a JSON object: its values (prices as decimal strings) and every signed quote it was made of."""
    return {
        "format": EPOCH_FORMAT, "version": VERSION, "venue": epoch.venue, "sequence": epoch.sequence,
        "timestamp": epoch.timestamp, "prices": {a: format_fixed(p) for a, p in epoch.prices.items()},
        "quotes": [quotes_to_dict(q) for q in epoch.quotes],
    }  # fmt: skip


def epoch_to_json(epoch: PriceEpoch) -> str:
    """:func:`epoch_to_dict` as JSON text, read back by :func:`epoch_from_json`."""
    return json.dumps(epoch_to_dict(epoch), indent=1) + "\n"


def quotes_to_json(q: SignedQuotes) -> str:
    """:func:`quotes_to_dict` as JSON text, read back by :func:`quotes_from_json`."""
    return json.dumps(quotes_to_dict(q), indent=1) + "\n"


def _fields(obj: object, where: str, fmt: str, names: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise MalformedInput(f"{where}: expected a JSON object")
    if obj.get("format") != fmt or obj.get("version") != VERSION or isinstance(obj.get("version"), bool):
        raise MalformedInput(f"{where}: expected format {fmt!r} version {VERSION}")
    expected = names | {"format", "version"}
    unknown, missing = sorted(set(obj) - expected), sorted(expected - set(obj))
    if unknown:
        raise MalformedInput(f"{where}: unknown field {unknown[0]!r}")
    if missing:
        raise MalformedInput(f"{where}: missing field {missing[0]!r}")
    return obj


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_U64:
        raise MalformedInput(f"{what}: expected an integer in [0, 2^64)")
    return value


def _prices(value: object, what: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise MalformedInput(f"{what}: expected an object of asset -> decimal price")
    prices = {asset: parse_fixed(p, f"{what}.{asset}") for asset, p in value.items()}
    for asset, p in prices.items():
        if p > MAX_PRICE:
            raise MalformedInput(f"{what}.{asset}: price out of range")
    return prices


def quotes_from_dict(obj: object, where: str) -> SignedQuotes:
    """Decode one oracle's signed quotes; MalformedInput names the field. The signature is
    not checked here (:func:`assemble_epoch` does, against the venue's oracle set)."""
    d = _fields(obj, where, QUOTES_FORMAT, {"venue", "sequence", "timestamp", "prices", "signer", "signature"})
    if not isinstance(d["venue"], str):
        raise MalformedInput(f"{where}.venue: expected a string")
    sig = d["signature"]
    if not isinstance(sig, str) or len(sig) != 128 or any(c not in "0123456789abcdef" for c in sig):
        raise MalformedInput(f"{where}.signature: expected 64 bytes as 128 lowercase hex digits")
    return SignedQuotes(
        d["venue"], _int(d["sequence"], f"{where}.sequence"), _int(d["timestamp"], f"{where}.timestamp"),
        _prices(d["prices"], f"{where}.prices"), _hex_key(d["signer"], f"{where}.signer"), bytes.fromhex(sig),
    )  # fmt: skip


def quotes_from_json(text: str | bytes, where: str) -> SignedQuotes:
    """:func:`quotes_from_dict` of JSON text (duplicate keys refused); ``where`` names the source in errors."""
    return quotes_from_dict(loads(text, where), where)


def epoch_from_json(text: str | bytes, where: str) -> PriceEpoch:
    """Decode an epoch (duplicate keys, unknown fields, non-string prices refused, the
    field named). Its consistency with its quotes is :func:`verify_epoch`'s job."""
    d = _fields(loads(text, where), where, EPOCH_FORMAT, {"venue", "sequence", "timestamp", "prices", "quotes"})
    if not isinstance(d["venue"], str):
        raise MalformedInput(f"{where}.venue: expected a string")
    if not isinstance(d["quotes"], list):
        raise MalformedInput(f"{where}.quotes: expected a list")
    quotes = tuple(quotes_from_dict(q, f"{where}.quotes[{i}]") for i, q in enumerate(d["quotes"]))
    return PriceEpoch(d["venue"], _int(d["sequence"], f"{where}.sequence"), _int(d["timestamp"], f"{where}.timestamp"),
                      _prices(d["prices"], f"{where}.prices"), quotes)
