"""The auditor's check of a whole liability tree, its reserves and its customers' debt cover.

Checks, in order (each a :class:`AuditCheck` in the report):

1. *recompute*: salts, padding, leaf order, every leaf and node from the
   ``accounts`` table and the tree secret (:func:`zkproofs.tree.build.hash_tree`),
   compared with every stored ``nodes`` row byte for byte; no extra or missing rows;
2. *ranges*: every amount < 2^64 and every sum at height k < 2^(64 + k)
   (checked while recomputing; a violation fails check 1 and 2);
3. *root file*: the published root equals the stored root node, depth, assets
   and record of excluded accounts;
3a. *excluded*: no input account was left out of the tree
   (:mod:`zkproofs.tree.excluded`), or the auditor accepts the ones that were
   (``accept_excluded``); otherwise a failed check naming their number and balances;
4. *reserves* (with RESERVES.json, ``{"BTC": "12.5"}``, whole units): for every
   asset, liabilities (the root's equity sum) <= declared reserve;
5. *debt cover* (with PRICES.json, ``{"BTC": {"price": "27000.12",
   "haircut_bps": 500}}``): every account with debt is covered when
   sum_i c_i * p_i * (10000 - h_i) >= 10000 * sum_j d_j * p_j, where c_i is the
   stated collateral (all equity when not stated), prices are scaled to 8
   decimals (USD * 10^8) and every rounding goes against the account
   (collateral value rounded down, debt value rounded up). Uncovered accounts
   are listed; they do not change the verdict, which compares liabilities with
   reserves (the tree already counts every equity in full).

Verdict: ``insolvent`` if any check fails or liabilities exceed reserves for an
asset; ``solvent`` if all pass and reserves were declared; ``unknown`` if all
pass but no reserves were given. Cost: a full rebuild (2N - 1 Poseidon hashes).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from zkproofs.accounts.amounts import AmountError, format_amount, to_base_units
from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.jsontext import loads
from zkproofs.tree.build import Progress, hash_tree
from zkproofs.tree.hashing import TreeError
from zkproofs.tree.root import PublishedRoot, published_root
from zkproofs.tree.store import TreeStore

PRICE_DECIMALS = 8
"""Prices are scaled to 10^-8 USD."""
BPS = 10_000
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
MAX_LISTED_MISMATCHES = 10


@dataclass(frozen=True)
class AuditCheck:
    """One named check: passed or not, with a human-readable detail."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Price:
    """A price in USD as an exact fraction and a haircut in basis points (0..10000)."""

    price: Fraction
    haircut_bps: int

    def scaled(self, up: bool) -> int:
        """The price in 10^-8 USD, rounded up (``up``) or down."""
        value = self.price * 10**PRICE_DECIMALS
        return math.ceil(value) if up else math.floor(value)


@dataclass(frozen=True)
class UncoveredAccount:
    """An account whose haircut collateral value is below its debt value.

    Values are in 10^-8 USD times 10^4 (basis-point scale) so both sides are
    exact integers: ``collateral_value`` = sum floor(c * p * (10000 - h) / 10^dec),
    ``debt_value`` = 10000 * sum ceil(d * p / 10^dec).
    """

    id: str
    collateral_value: int
    debt_value: int


@dataclass(frozen=True)
class AuditReport:
    """The audit's outcome: every check, per-asset liabilities and reserves, uncovered accounts, verdict."""

    checks: tuple[AuditCheck, ...]
    assets: tuple[Asset, ...]
    liabilities: tuple[int, ...]
    debts: tuple[int, ...]
    reserves: tuple[int, ...] | None
    uncovered: tuple[UncoveredAccount, ...]
    verdict: str
    reasons: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True iff the verdict is not ``insolvent`` (every check passed)."""
        return self.verdict != "insolvent"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: amounts as decimal strings, per asset in base and whole units."""
        per_asset = {}
        for i, a in enumerate(self.assets):
            entry = {
                "liabilities": str(self.liabilities[i]),
                "liabilities_units": format_amount(self.liabilities[i], a.decimals),
                "debts": str(self.debts[i]),
                "debts_units": format_amount(self.debts[i], a.decimals),
            }
            if self.reserves is not None:
                entry["reserves"] = str(self.reserves[i])
                entry["reserves_units"] = format_amount(self.reserves[i], a.decimals)
            per_asset[a.symbol] = entry
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "checks": [asdict(c) for c in self.checks],
            "assets": per_asset,
            "uncovered": [
                {"id": u.id, "collateral_value": str(u.collateral_value), "debt_value": str(u.debt_value)} for u in self.uncovered
            ],
        }


def _read_json(path: str | Path) -> Any:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TreeError(f"{path}: {exc.strerror}") from None
    return loads(data, str(path), TreeError)


def parse_reserves(obj: Any, assets: tuple[Asset, ...], where: str = "reserves") -> dict[str, int]:
    """{"BTC": "12.5"} (whole units, decimal strings) -> base units per symbol.

    Raises TreeError naming the key for a non-object, a non-string, a malformed
    or negative amount or more decimals than the asset has. Assets not listed
    are absent from the result (the audit counts them as no reserve).
    """
    if not isinstance(obj, dict):
        raise TreeError(f"{where}: expected a JSON object of asset -> amount")
    decimals = {a.symbol: a.decimals for a in assets}
    out = {}
    for symbol, text in obj.items():
        if not isinstance(text, str):
            raise TreeError(f"{where}: key {symbol!r}: expected a decimal string")
        try:
            out[symbol] = to_base_units(text, decimals.get(symbol, 0), maximum=1 << 256)
        except AmountError as exc:
            raise TreeError(f"{where}: key {symbol!r}: {exc}") from None
    return out


def parse_prices(obj: Any, where: str = "prices") -> dict[str, Price]:
    """{"BTC": {"price": "27000.12", "haircut_bps": 500}} -> Price per symbol.

    Prices are non-negative decimal strings (any number of decimals: kept
    exactly, rounded only when valued); haircut_bps an integer in [0, 10000].
    Raises TreeError naming the key and field otherwise.
    """
    if not isinstance(obj, dict):
        raise TreeError(f"{where}: expected a JSON object of asset -> {{price, haircut_bps}}")
    out = {}
    for symbol, entry in obj.items():
        at = f"{where}: key {symbol!r}"
        if not isinstance(entry, dict):
            raise TreeError(f"{at}: expected an object with price and haircut_bps")
        price = entry.get("price")
        if not isinstance(price, str) or not _DECIMAL.fullmatch(price):
            raise TreeError(f"{at}, field 'price': expected a non-negative decimal string, got {price!r}")
        haircut = entry.get("haircut_bps", 0)
        if isinstance(haircut, bool) or not isinstance(haircut, int) or not 0 <= haircut <= BPS:
            raise TreeError(f"{at}, field 'haircut_bps': expected an integer in [0, {BPS}], got {haircut!r}")
        out[symbol] = Price(Fraction(price), haircut)
    return out


def load_reserves(path: str | Path, assets: tuple[Asset, ...]) -> dict[str, int]:
    """:func:`parse_reserves` of the JSON file at ``path``."""
    return parse_reserves(_read_json(path), assets, str(path))


def load_prices(path: str | Path) -> dict[str, Price]:
    """:func:`parse_prices` of the JSON file at ``path``."""
    return parse_prices(_read_json(path), str(path))


def debt_cover(account: Account, assets: tuple[Asset, ...], prices: Mapping[str, Price]) -> tuple[int, int]:
    """(collateral value, debt value) of ``account``, scaled as in :class:`UncoveredAccount`.

    Collateral is ``account.collateral`` where stated, else the equities. Raises
    TreeError if an asset the account holds or owes has no price. Exact integers.
    """
    collateral = account.collateral or account.equities
    coll_value = 0
    debt_value = 0
    for i, asset in enumerate(assets):
        c, d = collateral[i], account.debts[i]
        if not c and not d:
            continue
        price = prices.get(asset.symbol)
        if price is None:
            raise TreeError(f"no price for {asset.symbol} (account {account.id!r} holds or owes it)")
        unit = 10**asset.decimals
        if c:
            coll_value += c * price.scaled(up=False) * (BPS - price.haircut_bps) // unit
        if d:
            debt_value += -(-d * price.scaled(up=True) // unit)
    return coll_value, BPS * debt_value


def _recompute(store: TreeStore, accounts: AccountSet, progress: Progress | None, workers: int | None) -> list[AuditCheck]:
    mismatches: list[str] = []
    compared = 0

    def compare(height: int, chunk: int, mask: int, data: bytes) -> None:
        nonlocal compared
        compared += 1
        try:
            stored = store.row(height, chunk)
        except TreeError as exc:
            mismatches.append(str(exc))
            return
        if stored != (mask, data):
            mismatches.append(f"nodes row ({height}, {chunk}) differs from the recomputed one")

    stored_index = store.leaf_indices()

    def placed(index: int, account: Account) -> None:
        if stored_index.get(account.id) != index:
            mismatches.append(f"account {account.id!r}: stored leaf index differs from the secret's")

    try:
        tree = hash_tree(len(accounts.assets), accounts.accounts, store.secret, compare, height=store.fixed_height,
                         workers=workers, progress=progress, placed=placed)
    except TreeError as exc:
        return [AuditCheck("ranges", False, str(exc)), AuditCheck("recompute", False, "accounts cannot form a tree")]
    if tree.depth != store.depth:
        mismatches.append(f"{len(accounts.accounts)} accounts make a tree of depth {tree.depth}, the stored one has depth {store.depth}")
    total = store.count_rows()
    if total != compared:
        mismatches.append(f"{total} node rows stored, {compared} expected")
    ranges = AuditCheck("ranges", True, f"{len(accounts.accounts)} accounts: amounts < 2^64, sums at height k < 2^(64+k)")
    if mismatches:
        shown = "; ".join(mismatches[:MAX_LISTED_MISMATCHES])
        more = f" (+{len(mismatches) - MAX_LISTED_MISMATCHES} more)" if len(mismatches) > MAX_LISTED_MISMATCHES else ""
        return [ranges, AuditCheck("recompute", False, shown + more)]
    return [ranges, AuditCheck("recompute", True, f"{compared} node rows recomputed and equal to the stored ones")]


def audit_tree(
    db_path: str | Path,
    root: PublishedRoot,
    *,
    reserves: Mapping[str, int] | None = None,
    prices: Mapping[str, Price] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    accept_excluded: bool = False,
) -> AuditReport:
    """Run every check of the module docstring on the tree at ``db_path`` against ``root``.

    ``reserves``: base units per symbol (:func:`load_reserves`); ``prices``:
    :func:`load_prices`. ``accept_excluded``: pass the *excluded* check although
    the tree leaves input accounts out (the detail still names them). Raises
    TreeError if the database cannot be read at all; every other problem is a
    failed check in the report.
    """
    with TreeStore(db_path) as store:
        assets = store.assets
        n = len(assets)
        stored_accounts = tuple(
            Account(row.id, row.equities, row.debts, row.collateral) for row in store.accounts()
        )
        account_set = AccountSet(assets, stored_accounts, source=str(db_path))
        checks = _recompute(store, account_set, progress, workers)
        stored_root = published_root(store)
    reasons = [c.detail for c in checks if not c.ok]
    same = (
        stored_root.root_hash == root.root_hash
        and stored_root.depth == root.depth
        and stored_root.assets == root.assets
        and stored_root.sums == root.sums
        and stored_root.excluded == root.excluded
    )
    checks.append(AuditCheck("root file", same, "published root equals the stored root" if same else "published root differs from the stored tree"))
    if not same:
        reasons.append("the published root differs from the stored tree")
    excluded = stored_root.excluded
    if excluded.accounts == 0:
        checks.append(AuditCheck("excluded", True, "no input account was left out of the tree"))
    else:
        detail = excluded.describe(assets)
        checks.append(AuditCheck("excluded", accept_excluded, f"{detail} (accepted by the auditor)" if accept_excluded else detail))
        if not accept_excluded:
            reasons.append(detail)
    liabilities, debts = stored_root.equity_totals, stored_root.debt_totals
    reserve_units: tuple[int, ...] | None = None
    if reserves is not None:
        reserve_units = tuple(reserves.get(a.symbol, 0) for a in assets)
        short = [a.symbol for a, lia, res in zip(assets, liabilities, reserve_units) if lia > res]
        detail = "reserves cover liabilities for every asset" if not short else f"liabilities exceed reserves for {', '.join(short)}"
        checks.append(AuditCheck("reserves", not short, detail))
        reasons.extend(
            f"{a.symbol}: liabilities {format_amount(lia, a.decimals)} > reserves {format_amount(res, a.decimals)}"
            for a, lia, res in zip(assets, liabilities, reserve_units)
            if lia > res
        )
    uncovered: list[UncoveredAccount] = []
    if prices is not None:
        try:
            for account in stored_accounts:
                if any(account.debts):
                    coll, debt = debt_cover(account, assets, prices)
                    if coll < debt:
                        uncovered.append(UncoveredAccount(account.id, coll, debt))
            checks.append(AuditCheck("debt cover", True, f"{len(uncovered)} account(s) with debt not covered by collateral"))
        except TreeError as exc:
            checks.append(AuditCheck("debt cover", False, str(exc)))
            reasons.append(str(exc))
    if reasons:
        verdict = "insolvent"
    elif reserves is None:
        verdict = "unknown"
    else:
        verdict = "solvent"
    return AuditReport(
        checks=tuple(checks),
        assets=assets,
        liabilities=tuple(liabilities[:n]),
        debts=tuple(debts[:n]),
        reserves=reserve_units,
        uncovered=tuple(uncovered),
        verdict=verdict,
        reasons=tuple(reasons),
    )
