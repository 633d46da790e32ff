"""The venue's settlement policy, loaded from TOML (:mod:`tomllib`).

Layout (paths are relative to the policy file)::

    [settlement]
    price_tolerance_bps = 50        # |request price - feed price| <= 0.5 % of the feed price
    max_price_age_seconds = 60      # the feed's quote may be at most this old
    price_feed = "prices.json"      # JsonFilePriceFeed file
    max_request_bytes = 65536       # POST /settlements body limit
    trust_single_party_keys = false # true: accept keys from a single-party setup (you trust
                                    # the party named in them, which could forge proofs);
                                    # false (default): only ceremony keys whose transcript
                                    # was verified against the circuit

    [markets.BTC-USDC]
    min_ratio_bps = 15000           # 150 %
    collateral = ["BTC", "ETH"]     # ordered: the order of the circuit's collateral inputs
    debt = ["USDC"]                 # ordered
    haircut_bps = { BTC = 500, ETH = 1000 }   # minimum haircut per collateral asset (default 0)

A market's circuit is ``collateral_ratio`` with collateral = len(collateral) and
debt = len(debt): :attr:`MarketPolicy.circuit_params`. Errors are PolicyError
naming the file and the key (``policy.toml: markets.BTC-USDC.min_ratio_bps: ...``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from circuits.collateral_ratio import MAX_ASSETS, MAX_HAIRCUT_BPS, RATIO_BITS
from zkproofs.errors import MalformedInput
from zkproofs.settlement.request import MARKET_PATTERN

CIRCUIT_NAME = "collateral_ratio"


class PolicyError(MalformedInput):
    """A policy file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class MarketPolicy:
    """One market: minimum ratio (bps, in [1, 2^24]), ordered assets, minimum haircuts (bps)."""

    name: str
    min_ratio_bps: int
    collateral_assets: tuple[str, ...]
    debt_assets: tuple[str, ...]
    min_haircut_bps: tuple[int, ...]
    """Aligned with ``collateral_assets``."""

    @property
    def circuit_params(self) -> dict[str, int]:
        """Parameters of the market's ``collateral_ratio`` circuit."""
        return {"collateral": len(self.collateral_assets), "debt": len(self.debt_assets)}


@dataclass(frozen=True)
class Policy:
    """Global limits and the markets by name."""

    price_tolerance_bps: int
    max_price_age_seconds: int
    price_feed: Path | None
    max_request_bytes: int
    markets: Mapping[str, MarketPolicy]
    trust_single_party_keys: bool = False
    """Accept single-party keys (an explicit opt-in; see :mod:`zkproofs.groth16.trust`)."""

    def market(self, name: str) -> MarketPolicy | None:
        return self.markets.get(name)


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


def _assets(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(a, str) and a for a in value):
        raise PolicyError(f"{where}.{key}: expected a non-empty list of asset names")
    if len(set(value)) != len(value):
        raise PolicyError(f"{where}.{key}: an asset is listed twice")
    if len(value) > MAX_ASSETS:
        raise PolicyError(f"{where}.{key}: at most {MAX_ASSETS} assets")
    return tuple(value)


def policy_from_dict(data: Mapping[str, Any], where: str = "policy", base: Path | None = None) -> Policy:
    """Build a Policy from parsed TOML; PolicyError naming ``where`` and the key.

    Unknown tables and keys are errors, not ignored: a misspelt ``[settlment]``
    would otherwise leave the defaults silently in force.
    """
    unknown = set(data) - {"settlement", "markets"}
    if unknown:
        raise PolicyError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))} (expected [settlement] and [markets.NAME])")
    settlement = data.get("settlement", {})
    if not isinstance(settlement, dict):
        raise PolicyError(f"{where}: settlement: expected a table")
    at = f"{where}: settlement"
    feed = settlement.get("price_feed")
    if feed is not None and (not isinstance(feed, str) or not feed):
        raise PolicyError(f"{at}.price_feed: expected a file name")
    markets_table = data.get("markets")
    if not isinstance(markets_table, dict) or not markets_table:
        raise PolicyError(f"{where}: markets: expected at least one [markets.NAME] table")
    markets = {}
    for name, table in markets_table.items():
        mat = f"{where}: markets.{name}"
        if not MARKET_PATTERN.fullmatch(name):
            raise PolicyError(f"{mat}: a market name is 1-64 characters from A-Z a-z 0-9 . _ : -")
        if not isinstance(table, dict):
            raise PolicyError(f"{mat}: expected a table")
        unknown = set(table) - {"min_ratio_bps", "collateral", "debt", "haircut_bps"}
        if unknown:
            raise PolicyError(f"{mat}: unknown key(s) {', '.join(sorted(unknown))}")
        collateral = _assets(table, "collateral", mat)
        debt = _assets(table, "debt", mat)
        cuts = table.get("haircut_bps", {})
        if not isinstance(cuts, dict):
            raise PolicyError(f"{mat}.haircut_bps: expected a table of asset = bps")
        stray = set(cuts) - set(collateral)
        if stray:
            raise PolicyError(f"{mat}.haircut_bps: {', '.join(sorted(stray))} not among the collateral assets")
        markets[name] = MarketPolicy(
            name=name,
            min_ratio_bps=_int(table, "min_ratio_bps", mat, 1, 1 << RATIO_BITS),
            collateral_assets=collateral,
            debt_assets=debt,
            min_haircut_bps=tuple(_int(cuts, a, f"{mat}.haircut_bps", 0, MAX_HAIRCUT_BPS, 0) for a in collateral),
        )
    unknown = set(settlement) - {"price_tolerance_bps", "max_price_age_seconds", "price_feed", "max_request_bytes", "trust_single_party_keys"}
    if unknown:
        raise PolicyError(f"{at}: unknown key(s) {', '.join(sorted(unknown))}")
    trust_single_party = settlement.get("trust_single_party_keys", False)
    if not isinstance(trust_single_party, bool):
        raise PolicyError(f"{at}.trust_single_party_keys: expected true or false")
    return Policy(
        price_tolerance_bps=_int(settlement, "price_tolerance_bps", at, 0, 10_000),
        max_price_age_seconds=_int(settlement, "max_price_age_seconds", at, 0, 10**9),
        price_feed=None if feed is None else (base or Path(".")) / feed,
        max_request_bytes=_int(settlement, "max_request_bytes", at, 1024, 1 << 30, 1 << 20),
        markets=markets,
        trust_single_party_keys=trust_single_party,
    )


def load_policy(path: str | os.PathLike) -> Policy:
    """Read and check a policy TOML file (layout in the module docstring).

    Raises PolicyError naming the file (and line for TOML syntax errors) and key.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: invalid TOML ({exc})") from None
    return policy_from_dict(data, path.name, path.parent)
