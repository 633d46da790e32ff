"""The escrow venue's policy, loaded from TOML (:mod:`tomllib`).

Layout (paths relative to the policy file)::

    [venue]
    name = "zk-venue"               # bound into deposit and withdrawal contexts
    assets = ["BTC", "ETH", "USDC", "USDT"]   # ordered: the order of every note's amounts
    min_ratio_bps = 15000           # margin every new note must meet (150 %)
    haircut_bps = { BTC = 500, ETH = 1000 }   # per asset, reductions (default 0)
    anchor_window = 100             # the last K roots are accepted as anchors
    tree_depth = 32                 # note tree height in bits (even: 16 levels of 4-ary nodes = 2^32 notes)
    price_feed = "prices.json"      # JsonFilePriceFeed file
    price_tolerance_bps = 50        # |proof price - feed price| <= 0.5 % of the feed price; proofs then
                                    # show ceil(min_ratio * 10050 / 9950) (proof_ratio_bps), so the note
                                    # meets min_ratio_bps at the feed's prices whichever way each price leans
    max_price_age_seconds = 60
    max_request_bytes = 65536
    trust_single_party_keys = false # true: accept a key from a single-party setup (the venue
                                    # trusts the party named in it, which could forge proofs)

    [markets.BTC-USDC]
    base = "BTC"
    quote = "USDC"

The venue's circuit is ``valid_transition`` with ``assets = len(assets)`` and
``depth = tree_depth``. Unknown keys are errors (a misspelt key would leave a
default silently in force). Errors are PolicyError naming the file and key.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from zkproofs.gadgets.margin import MAX_ASSETS, MAX_HAIRCUT_BPS, RATIO_BITS
from zkproofs.errors import MalformedInput
from zkproofs.settlement.note_tree import MAX_DEPTH
from zkproofs.settlement.transition import NAME_PATTERN, TRANSFER_KINDS

NO_MARGIN_BPS = 1
"""The least ratio the circuit takes (collateral value >= 0.01 % of debt value): what transitions that
can only improve a note prove (:meth:`VenuePolicy.ratio_for`)."""
MAX_TOLERANCE_BPS = 5_000
"""A price may differ from the feed's by at most half its value (:attr:`VenuePolicy.proof_ratio_bps` divides by 10^4 - t)."""

VENUE_KEYS = {"name", "assets", "min_ratio_bps", "haircut_bps", "anchor_window", "tree_depth", "price_feed",
              "price_tolerance_bps", "max_price_age_seconds", "max_request_bytes", "trust_single_party_keys"}


class PolicyError(MalformedInput):
    """A policy file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Market:
    """A trading pair of two of the venue's assets (indices into ``VenuePolicy.assets``)."""

    name: str
    base: int
    quote: int


@dataclass(frozen=True)
class VenuePolicy:
    """The venue's assets, margin policy, anchor window and markets (layout in the module docstring)."""

    name: str
    assets: tuple[str, ...]
    min_ratio_bps: int
    haircut_bps: tuple[int, ...]
    anchor_window: int
    tree_depth: int
    price_feed: Path | None
    price_tolerance_bps: int
    max_price_age_seconds: int
    max_request_bytes: int
    markets: Mapping[str, Market]
    trust_single_party_keys: bool = False
    """Accept a single-party key (an explicit opt-in; see :mod:`zkproofs.groth16.trust`)."""

    @property
    def proof_ratio_bps(self) -> int:
        """The ratio a transition that can worsen a note (withdrawal, trade leg, borrow) proves, in bps:
        ``min_ratio_bps`` raised to absorb the price tolerance, ceil(min_ratio * (10^4 + t) / (10^4 - t))
        for a tolerance of t bps (:meth:`ratio_for` gives every kind's).

        A proof's prices may differ from the feed's by t bps either way, and the venue
        cannot tell which of a hidden note's assets are collateral and which are debt, so
        collateral could be priced t bps high and debt t bps low. Proven at this ratio, the
        note meets ``min_ratio_bps`` at the feed's own prices: collateral value at the feed
        >= proven value / (1 + t) >= proof ratio * proven debt value / (1 + t) >= proof ratio
        * (1 - t) / (1 + t) * debt value at the feed >= min_ratio * debt value at the feed.
        """
        t = self.price_tolerance_bps
        return -(-self.min_ratio_bps * (10_000 + t) // (10_000 - t))

    def ratio_for(self, kind: str) -> int:
        """The ``min_ratio_bps`` a transition of ``kind`` proves: :attr:`proof_ratio_bps`, except
        for a deposit or a repayment, which only add collateral or remove debt and so may leave a
        note that prices have pushed under the ratio still under it (a partial cure):
        :data:`NO_MARGIN_BPS` for those."""
        return NO_MARGIN_BPS if kind in {k.name.lower() for k in TRANSFER_KINDS} else self.proof_ratio_bps

    @property
    def circuit_params(self) -> dict[str, int]:
        return {"assets": len(self.assets), "depth": self.tree_depth}

    def asset_index(self, asset: str) -> int | None:
        try:
            return self.assets.index(asset)
        except ValueError:
            return None


def _int(table: Mapping[str, Any], key: str, where: str, lo: int, hi: int, default: int | None = None) -> int:
    if key not in table:
        if default is not None:
            return default
        raise PolicyError(f"{where}.{key}: missing")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{where}.{key}: expected an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise PolicyError(f"{where}.{key}: {value} is not in [{lo}, {hi}]")
    return value


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise PolicyError(f"{where}: expected 1-128 characters from A-Z a-z 0-9 . _ : -")
    return value


def venue_policy_from_dict(data: Mapping[str, Any], where: str = "policy", base: Path | None = None) -> VenuePolicy:
    """Build a VenuePolicy from parsed TOML; PolicyError naming ``where`` and the key."""
    unknown = set(data) - {"venue", "markets"}
    if unknown:
        raise PolicyError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))} (expected [venue] and [markets.NAME])")
    venue = data.get("venue")
    if not isinstance(venue, dict):
        raise PolicyError(f"{where}: venue: expected a [venue] table")
    at = f"{where}: venue"
    unknown = set(venue) - VENUE_KEYS
    if unknown:
        raise PolicyError(f"{at}: unknown key(s) {', '.join(sorted(unknown))}")
    assets = venue.get("assets")
    if not isinstance(assets, list) or not assets or len(assets) > MAX_ASSETS:
        raise PolicyError(f"{at}.assets: expected a non-empty list of at most {MAX_ASSETS} asset names")
    for i, asset in enumerate(assets):
        _name(asset, f"{at}.assets[{i}]")
    if len(set(assets)) != len(assets):
        raise PolicyError(f"{at}.assets: an asset is listed twice")
    cuts = venue.get("haircut_bps", {})
    if not isinstance(cuts, dict):
        raise PolicyError(f"{at}.haircut_bps: expected a table of asset = bps")
    stray = set(cuts) - set(assets)
    if stray:
        raise PolicyError(f"{at}.haircut_bps: {', '.join(sorted(stray))} not among the assets")
    feed = venue.get("price_feed")
    if feed is not None and (not isinstance(feed, str) or not feed):
        raise PolicyError(f"{at}.price_feed: expected a file name")
    markets_table = data.get("markets", {})
    if not isinstance(markets_table, dict):
        raise PolicyError(f"{where}: markets: expected [markets.NAME] tables")
    markets = {}
    for name, table in markets_table.items():
        mat = f"{where}: markets.{name}"
        _name(name, mat)
        if not isinstance(table, dict) or set(table) != {"base", "quote"}:
            raise PolicyError(f"{mat}: expected exactly the keys base and quote")
        pair = []
        for side in ("base", "quote"):
            if table[side] not in assets:
                raise PolicyError(f"{mat}.{side}: {table[side]!r} is not one of the venue's assets")
            pair.append(assets.index(table[side]))
        if pair[0] == pair[1]:
            raise PolicyError(f"{mat}: base and quote are the same asset")
        markets[name] = Market(name, pair[0], pair[1])
    tree_depth = _int(venue, "tree_depth", at, 2, MAX_DEPTH, 32)
    if tree_depth % 2:
        raise PolicyError(f"{at}.tree_depth: expected an even number of bits (the note tree is 4-ary: 2 bits per level)")
    policy = VenuePolicy(
        name=_name(venue.get("name"), f"{at}.name"),
        assets=tuple(assets),
        min_ratio_bps=_int(venue, "min_ratio_bps", at, 1, 1 << RATIO_BITS),
        haircut_bps=tuple(_int(cuts, a, f"{at}.haircut_bps", 0, MAX_HAIRCUT_BPS, 0) for a in assets),
        anchor_window=_int(venue, "anchor_window", at, 1, 1 << 20, 100),
        tree_depth=tree_depth,
        price_feed=None if feed is None else (base or Path(".")) / feed,
        price_tolerance_bps=_int(venue, "price_tolerance_bps", at, 0, MAX_TOLERANCE_BPS, 50),
        max_price_age_seconds=_int(venue, "max_price_age_seconds", at, 0, 10**9, 60),
        max_request_bytes=_int(venue, "max_request_bytes", at, 1024, 1 << 30, 1 << 20),
        markets=markets,
        trust_single_party_keys=_bool(venue, "trust_single_party_keys", at),
    )
    if policy.proof_ratio_bps > 1 << RATIO_BITS:
        raise PolicyError(f"{at}: min_ratio_bps {policy.min_ratio_bps} with price_tolerance_bps {policy.price_tolerance_bps} "
                          f"needs proofs at {policy.proof_ratio_bps} bps, above the circuit's 2^{RATIO_BITS}")
    return policy


def _bool(table: Mapping[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise PolicyError(f"{where}.{key}: expected true or false")
    return value


def load_venue_policy(path: str | os.PathLike) -> VenuePolicy:
    """Read and check a venue policy TOML file; PolicyError naming the file (and line) and key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: invalid TOML ({exc})") from None
    return venue_policy_from_dict(data, path.name, path.parent)
