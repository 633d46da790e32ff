"""Price feeds: the venue's oracle behind one small interface.

A :class:`PriceFeed` answers ``quote(asset)`` with a :class:`PriceQuote`: the price
in USD per whole unit as an integer with 8 decimals and the unix time of its last
update. :class:`JsonFilePriceFeed` (the default) reads a JSON file that an oracle
process rewrites (atomically); :class:`StaticPriceFeed` serves fixed quotes for
tests. A venue plugs its own oracle by implementing the protocol.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol

from zkproofs.errors import MalformedInput, ZkProofsError
from zkproofs.jsontext import loads
from zkproofs.settlement.units import parse_fixed


@dataclass(frozen=True)
class PriceQuote:
    """``price``: USD per whole unit, fixed point with 8 decimals (int); ``updated_at``: unix seconds."""

    price: int
    updated_at: int


class PriceUnavailable(ZkProofsError):
    """The feed has no price for an asset (or cannot be read)."""


class PriceFeed(Protocol):
    """What the settlement verifier needs from an oracle."""

    def quote(self, asset: str) -> PriceQuote:
        """The current quote for ``asset``; PriceUnavailable if there is none."""
        ...


class StaticPriceFeed:
    """Fixed quotes (asset -> PriceQuote), replaceable with :meth:`set`: for tests and demos."""

    def __init__(self, quotes: Mapping[str, PriceQuote] | None = None):
        self._quotes = dict(quotes or {})

    def set(self, asset: str, quote: PriceQuote) -> None:
        self._quotes[asset] = quote

    def quote(self, asset: str) -> PriceQuote:
        try:
            return self._quotes[asset]
        except KeyError:
            raise PriceUnavailable(f"no price for {asset!r}") from None


def parse_price_file(obj: object, where: str) -> dict[str, PriceQuote]:
    """Decode ``{"BTC": {"price": "27000.12", "updated_at": 1700000000}, ...}``.

    Prices are decimal strings converted exactly (at most 8 decimals, positive);
    ``updated_at`` is an integer of unix seconds. MalformedInput names the asset
    and field.
    """
    if not isinstance(obj, dict):
        raise MalformedInput(f"{where}: expected a JSON object of asset -> quote")
    quotes = {}
    for asset, entry in obj.items():
        at = f"{where}: {asset}"
        if not isinstance(entry, dict):
            raise MalformedInput(f"{at}: expected an object with price and updated_at")
        if "price" not in entry or "updated_at" not in entry:
            raise MalformedInput(f"{at}: missing field {'price' if 'price' not in entry else 'updated_at'!r}")
        if not isinstance(entry["price"], str):
            raise MalformedInput(f"{at}.price: expected a decimal string such as \"27000.12\"")
        price = parse_fixed(entry["price"], f"{at}.price")
        if price == 0:
            raise MalformedInput(f"{at}.price: must be positive")
        updated = entry["updated_at"]
        if isinstance(updated, bool) or not isinstance(updated, int) or updated < 0:
            raise MalformedInput(f"{at}.updated_at: expected non-negative integer unix seconds")
        quotes[asset] = PriceQuote(price=price, updated_at=updated)
    return quotes


class JsonFilePriceFeed:
    """Quotes from a JSON file (layout in :func:`parse_price_file`), re-read when it changes.

    The file is re-read when its modification time, size or inode change (an
    oracle should replace it atomically, e.g. with :func:`zkproofs.atomic.atomic_write_text`).
    A file that cannot be read or decoded makes ``quote`` raise PriceUnavailable
    with the reason: the verifier then rejects rather than using old prices.
    Thread-safe. Cost: one ``stat`` per quote, a parse per change.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._quotes: dict[str, PriceQuote] = {}

    def _load(self) -> dict[str, PriceQuote]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise PriceUnavailable(f"price feed {self.path}: {exc.strerror}") from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp != self._stamp:
                try:
                    quotes = parse_price_file(loads(self.path.read_bytes(), str(self.path)), str(self.path))
                except (OSError, MalformedInput) as exc:
                    raise PriceUnavailable(f"price feed unusable: {exc}") from None
                self._quotes, self._stamp = quotes, stamp
            return self._quotes

    def quote(self, asset: str) -> PriceQuote:
        quotes = self._load()
        try:
            return quotes[asset]
        except KeyError:
            raise PriceUnavailable(f"price feed {self.path.name} has no price for {asset!r}") from None
