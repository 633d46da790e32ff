"""The published root: what an exchange publishes and every inclusion proof is checked against.

JSON layout (``format`` "zkproofs/liability-root", ``version`` 4)::

    {"format", "version", "created_at", "root_hash" (decimal string),
     "depth", "assets": [{"symbol", "decimals"}],
     "pledges": [names of the pledge classes every leaf commits, in order; [] for none],
     "totals": {SYMBOL: {"equity", "debt" (base units, decimal strings),
                         "equity_units", "debt_units" (whole units, decimal strings)}},
     "excluded": {"accounts", "totals": {SYMBOL: {"equity", "debt", ...}}}, (zkproofs.tree.excluded)
     "hash": {...},  (zkproofs.tree.hashing.hash_parameters())
     "verification_key": SHA-256 hex of the inclusion circuit's key, or null}

Total liabilities per asset are the root's equity sums. The tree secret is never
part of it. ``verification_key`` (:func:`zkproofs.groth16.serialize.vk_hash`)
names the one key zero-knowledge inclusion proofs are checked with, so a
customer cannot be handed another; a root naming none (null) admits only plain
proofs. ``excluded`` records the input accounts ``tree build --exclude-invalid``
left out of the totals (count and summed balances per asset; zero when none).
Version 1 named no key, version 2 recorded no exclusions, version 3 named no
pledge classes: all are refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from zkproofs.accounts.amounts import format_amount
from zkproofs.accounts.model import MAX_DECIMALS, Asset, pledge_problem
from zkproofs.field import decode_scalar, parse_decimal
from zkproofs.jsontext import is_exactly, loads
from zkproofs.tree.excluded import Excluded
from zkproofs.tree.hashing import MAX_DEPTH, MAX_LEAF_AMOUNTS, TreeError, check_sums, hash_parameters, json_field
from zkproofs.tree.store import TreeStore

ROOT_FORMAT = "zkproofs/liability-root"
ROOT_VERSION = 4
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class PublishedRoot:
    """A decoded root file: hash, depth, assets, per-asset equity and debt totals (base units),
    and the input accounts left out of them (:class:`~zkproofs.tree.excluded.Excluded`; none by default)."""

    root_hash: int
    depth: int
    assets: tuple[Asset, ...]
    equity_totals: tuple[int, ...]
    debt_totals: tuple[int, ...]
    created_at: str
    verification_key: str | None = None
    """SHA-256 (hex) of the verification key ZK inclusion proofs use, or None."""
    excluded: Excluded | None = None
    pledges: tuple[str, ...] = ()
    """The pledge classes every leaf commits (:class:`~zkproofs.accounts.model.AccountSet`)."""

    def __post_init__(self) -> None:
        if self.excluded is None:
            object.__setattr__(self, "excluded", Excluded.none(len(self.assets)))

    @property
    def sums(self) -> tuple[int, ...]:
        """Equity totals then debt totals: the root node's sums."""
        return (*self.equity_totals, *self.debt_totals)


def root_to_dict(root: PublishedRoot) -> dict[str, Any]:
    """The JSON object of a published root (layout in the module docstring)."""
    return {
        "format": ROOT_FORMAT,
        "version": ROOT_VERSION,
        "created_at": root.created_at,
        "root_hash": str(root.root_hash),
        "depth": root.depth,
        "assets": [{"symbol": a.symbol, "decimals": a.decimals} for a in root.assets],
        "pledges": list(root.pledges),
        "totals": {
            a.symbol: {
                "equity": str(e),
                "debt": str(d),
                "equity_units": format_amount(e, a.decimals),
                "debt_units": format_amount(d, a.decimals),
            }
            for a, e, d in zip(root.assets, root.equity_totals, root.debt_totals)
        },
        "excluded": root.excluded.to_dict(root.assets),
        "hash": hash_parameters(),
        "verification_key": root.verification_key,
    }


def root_to_json(root: PublishedRoot) -> str:
    """:func:`root_to_dict` as indented JSON text."""
    return json.dumps(root_to_dict(root), indent=2) + "\n"


def _amount(value: Any, where: str) -> int:
    return parse_decimal(value, what=where, error=TreeError)


def root_from_dict(obj: Any, where: str = "root") -> PublishedRoot:
    """Decode and check a root object. TreeError naming the field for anything unexpected.

    Checks format and version, that the hash parameters are exactly ours (a root
    made with other parameters cannot be verified here), depth in [1, 64], and
    totals below 2^(64 + depth).
    """
    if not isinstance(obj, dict):
        raise TreeError(f"{where}: expected a JSON object")
    if obj.get("format") != ROOT_FORMAT or not is_exactly(obj.get("version"), ROOT_VERSION):
        raise TreeError(f"{where}: not a {ROOT_FORMAT} v{ROOT_VERSION} file")
    if obj.get("hash") != hash_parameters():
        raise TreeError(f"{where}: field 'hash': hash parameters differ from this verifier's")
    depth = json_field(obj, "depth", int, where)
    if not 1 <= depth <= MAX_DEPTH:
        raise TreeError(f"{where}: depth {depth} not in [1, {MAX_DEPTH}]")
    root_hash = decode_scalar(json_field(obj, "root_hash", str, where), what=f"{where}.root_hash")
    assets = []
    for i, item in enumerate(json_field(obj, "assets", list, where)):
        symbol = json_field(item, "symbol", str, f"{where}.assets[{i}]")
        decimals = json_field(item, "decimals", int, f"{where}.assets[{i}]")
        if not 0 <= decimals <= MAX_DECIMALS:
            raise TreeError(f"{where}.assets[{i}].decimals: {decimals} not in [0, {MAX_DECIMALS}]")
        assets.append(Asset(symbol, decimals))
    if not assets or len({a.symbol for a in assets}) != len(assets):
        raise TreeError(f"{where}.assets: expected distinct asset symbols")
    totals = json_field(obj, "totals", dict, where)
    if set(totals) != {a.symbol for a in assets}:
        raise TreeError(f"{where}.totals: must name exactly the assets")
    equity = tuple(_amount(json_field(totals, a.symbol, dict, f"{where}.totals").get("equity"), f"{where}.totals.{a.symbol}.equity") for a in assets)
    debt = tuple(_amount(totals[a.symbol].get("debt"), f"{where}.totals.{a.symbol}.debt") for a in assets)
    check_sums((*equity, *debt), depth, f"{where}.totals")
    if "verification_key" not in obj:
        raise TreeError(f"{where}: missing field 'verification_key' (the key's SHA-256, or null)")
    key = obj["verification_key"]
    if key is not None and (not isinstance(key, str) or not _SHA256.fullmatch(key)):
        raise TreeError(f"{where}.verification_key: expected 64 lowercase hex digits or null")
    if "excluded" not in obj:
        raise TreeError(f"{where}: missing field 'excluded' (the input accounts left out of the totals)")
    excluded = Excluded.from_dict(obj["excluded"], tuple(assets), f"{where}.excluded")
    pledges = json_field(obj, "pledges", list, where)
    problem = pledge_problem(pledges)
    if problem:
        raise TreeError(f"{where}.pledges: {problem}")
    if (2 + len(pledges)) * len(assets) > MAX_LEAF_AMOUNTS:
        raise TreeError(f"{where}.pledges: {len(pledges)} classes over {len(assets)} assets exceed {MAX_LEAF_AMOUNTS} amounts per leaf")
    return PublishedRoot(root_hash, depth, tuple(assets), equity, debt, str(obj.get("created_at", "")), verification_key=key, excluded=excluded,
                         pledges=tuple(pledges))


def root_from_json(text: str | bytes, where: str = "root") -> PublishedRoot:
    """:func:`root_from_dict` of JSON text; TreeError for invalid JSON."""
    return root_from_dict(loads(text, where, TreeError), where)


def published_root(store: TreeStore) -> PublishedRoot:
    """The root a stored tree publishes: its root node, depth, assets, creation time and exclusions.

    Reads the root node (one primary-key read) rather than trusting the meta table.
    """
    depth = store.depth
    root_hash, sums = store.node(depth, 0)
    n = len(store.assets)
    if len(sums) != 2 * n:
        raise TreeError(f"{store.path}: root node has {len(sums)} sums for {n} assets")
    excluded = Excluded.from_meta(store.meta.get("excluded"), n, f"{store.path}: meta excluded")
    return PublishedRoot(root_hash, depth, store.assets, tuple(sums[:n]), tuple(sums[n:]), store.meta.get("created_at", ""), excluded=excluded,
                         pledges=store.pledges)
