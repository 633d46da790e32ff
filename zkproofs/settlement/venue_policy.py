"""The escrow venue's policy, loaded from TOML (:mod:`tomllib`).

Layout (paths relative to the policy file)::

    [venue]
    name = "zk-venue"               # bound into every transition's context and into the oracles' signatures
    assets = ["BTC", "ETH", "USDC", "USDT"]   # ordered: the order of every note's amounts
    initial_ratio_bps = 15000       # what a withdrawal, trade leg or borrow leaves a note at (150 %)
    maintenance_ratio_bps = 12500   # what a note carrying debt is re-proven at after each price epoch
    haircut_bps = { BTC = 500, ETH = 1000 }   # per asset, reductions (default 0)
    grace_period_seconds = 3600     # how long after an epoch a note has to re-prove its health
    liquidation_penalty_bps = 500   # a liquidation takes collateral worth at most debt x 1.05
    max_epoch_age_seconds = 3600    # a withdrawal, trade or borrow needs an epoch at most this old
    anchor_window = 100             # the last K roots are accepted as anchors
    tree_depth = 32                 # note tree height in bits (even: 16 levels of 4-ary nodes = 2^32 notes)
    max_request_bytes = 65536
    trust_single_party_keys = false # true: accept a key from a single-party setup (the venue
                                    # trusts the party named in it, which could forge proofs)

    [oracles]                       # who signs the price epochs (zkproofs.settlement.epochs)
    keys = ["9f1c...", "04ab...", "77de..."]  # Ed25519 public keys, 64 hex digits each
    quorum = 2                      # k of the n keys must sign an epoch (k > n / 2 for a robust median)
    max_move_bps = 2000             # an epoch price moves at most 20 % against the previous epoch's
    max_future_seconds = 60         # an epoch dated further ahead of the venue's clock is refused

    [markets.BTC-USDC]
    base = "BTC"
    quote = "USDC"

Ratios are collateral value after haircuts over debt value, in basis points:
10^4 < maintenance < initial <= 2^24 (a note at exactly 10^4 would hold no buffer
before its collateral no longer covers its debt). Prices are never part of the
policy: every proof is checked against the prices of a price epoch the oracles
signed (:meth:`zkproofs.settlement.venue.Venue.publish_epoch`).

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
from zkproofs.settlement.epochs import OracleSet
from zkproofs.settlement.note_tree import MAX_DEPTH
from zkproofs.settlement.transition import NAME_PATTERN, TRANSFER_KINDS, Kind

NO_MARGIN_BPS = 1
"""The least ratio the circuit takes (collateral value >= 0.01 % of debt value): what transitions that
can only improve a note prove (:meth:`VenuePolicy.ratio_for`)."""
UNIT_RATIO_BPS = 10_000

VENUE_KEYS = {"name", "assets", "initial_ratio_bps", "maintenance_ratio_bps", "haircut_bps", "grace_period_seconds",
              "liquidation_penalty_bps",
              "max_epoch_age_seconds", "anchor_window", "tree_depth", "max_request_bytes", "trust_single_party_keys"}
ORACLE_KEYS = {"keys", "quorum", "max_move_bps", "max_future_seconds"}


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
    """The venue's assets, margin policy, oracles, anchor window and markets (layout in the module docstring)."""

    name: str
    assets: tuple[str, ...]
    initial_ratio_bps: int
    maintenance_ratio_bps: int
    haircut_bps: tuple[int, ...]
    grace_period_seconds: int
    liquidation_penalty_bps: int
    max_epoch_age_seconds: int
    anchor_window: int
    tree_depth: int
    max_request_bytes: int
    oracles: OracleSet
    markets: Mapping[str, Market]
    trust_single_party_keys: bool = False
    """Accept a single-party key (an explicit opt-in; see :mod:`zkproofs.groth16.trust`)."""

    def ratio_for(self, kind: str) -> int:
        """The ``min_ratio_bps`` a transition of ``kind`` proves, in bps: the initial ratio for a
        withdrawal, trade leg or borrow (which can worsen a note); the maintenance ratio for a health
        proof; :data:`NO_MARGIN_BPS` for a deposit or a repayment, which only add collateral or remove
        debt and so may leave a note that prices pushed under a ratio still under it (a partial cure).
        Every kind proves at the exact prices of a signed epoch (no tolerance to absorb)."""
        if kind in {k.name.lower() for k in TRANSFER_KINDS}:
            return NO_MARGIN_BPS
        return self.maintenance_ratio_bps if kind == Kind.HEALTH.name.lower() else self.initial_ratio_bps

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


def venue_policy_from_dict(data: Mapping[str, Any], where: str = "policy") -> VenuePolicy:
    """Build a VenuePolicy from parsed TOML; PolicyError naming ``where`` and the key."""
    unknown = set(data) - {"venue", "oracles", "markets"}
    if unknown:
        raise PolicyError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))} (expected [venue], [oracles] and [markets.NAME])")
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
    initial = _int(venue, "initial_ratio_bps", at, UNIT_RATIO_BPS + 1, 1 << RATIO_BITS)
    maintenance = _int(venue, "maintenance_ratio_bps", at, UNIT_RATIO_BPS + 1, 1 << RATIO_BITS)
    if maintenance >= initial:
        raise PolicyError(f"{at}.maintenance_ratio_bps: {maintenance} must be below initial_ratio_bps ({initial}): "
                          "a note just borrowed against must not be liquidatable at the same prices")
    return VenuePolicy(
        name=_name(venue.get("name"), f"{at}.name"),
        assets=tuple(assets),
        initial_ratio_bps=initial,
        maintenance_ratio_bps=maintenance,
        haircut_bps=tuple(_int(cuts, a, f"{at}.haircut_bps", 0, MAX_HAIRCUT_BPS, 0) for a in assets),
        grace_period_seconds=_int(venue, "grace_period_seconds", at, 0, 10**9, 3600),
        liquidation_penalty_bps=_int(venue, "liquidation_penalty_bps", at, 0, 10_000, 500),
        max_epoch_age_seconds=_int(venue, "max_epoch_age_seconds", at, 1, 10**9, 3600),
        anchor_window=_int(venue, "anchor_window", at, 1, 1 << 20, 100),
        tree_depth=tree_depth,
        max_request_bytes=_int(venue, "max_request_bytes", at, 1024, 1 << 30, 1 << 20),
        oracles=_oracles(data.get("oracles"), where, venue["name"], tuple(assets)),
        markets=markets,
        trust_single_party_keys=_bool(venue, "trust_single_party_keys", at),
    )


def _oracles(table: Any, where: str, venue: str, assets: tuple[str, ...]) -> OracleSet:
    at = f"{where}: oracles"
    if not isinstance(table, dict):
        raise PolicyError(f"{at}: expected an [oracles] table (keys, quorum): every price the venue uses comes from a signed epoch")
    unknown = set(table) - ORACLE_KEYS
    if unknown:
        raise PolicyError(f"{at}: unknown key(s) {', '.join(sorted(unknown))}")
    keys = table.get("keys")
    if not isinstance(keys, list) or not keys:
        raise PolicyError(f"{at}.keys: expected a non-empty list of Ed25519 public keys (64 hex digits each)")
    try:
        return OracleSet(
            venue=venue, keys=tuple(keys), quorum=_int(table, "quorum", at, 1, len(keys)), assets=assets,
            max_move_bps=_int(table, "max_move_bps", at, 1, 10**6, 2000),
            max_future_seconds=_int(table, "max_future_seconds", at, 0, 10**6, 60),
        )  # fmt: skip
    except PolicyError:
        raise
    except MalformedInput as exc:
        raise PolicyError(f"{where}: {exc}") from None


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
    return venue_policy_from_dict(data, path.name)
