"""The solvency policy: public prices and tiered haircuts, the public inputs they give a
batch circuit, and the native rule every account must meet.

An account (per-asset equities e_i and debts d_i, base units, each < 2^64) is *solvent*
when the tiered value of its equity covers the value of its debt:

    sum_i f_i(e_i * U_i)  >=  10^4 * sum_i d_i * U_i

where U_i = price_i * 10^(D - dec_i) is the value of one base unit of asset i in
10^-(8 + D) USD (prices have 8 decimals; D is the largest ``decimals`` of the tree's
assets, so every asset's values share one unit and nothing is divided), and f_i is the
asset's tiered collateral value in basis points of that unit (Binance's progressive
collateral tiers, ``cex_assets_info.csv`` and ``CalculateAssetValueForCollateral`` in
binance/zkmerkle-proof-of-solvency): tier k covers values in (H_(k-1), H_k] USD
(H_(-1) = 0) and counts at ratio_k basis points; value above the last tier's bound counts
for nothing, and an asset with no tiers counts for nothing (its haircut is 100 %):

    f(V) = sum_k ratio_k * clamp(V - H_(k-1), 0, H_k - H_(k-1)).

Unlike Binance's integer code, no slice is rounded: both sides are exact integers.

Pledged collateral. Where the input distinguishes the part of the equity pledged against
debt (Binance's VIP-loan, margin and portfolio-margin collateral: K *pledge classes*,
:class:`~zkproofs.accounts.model.AccountSet`), the tree's leaves commit the K x A pledged
amounts p_ki, and the rule values those instead of the equity, each class by its own
tier table f_ki (Binance's ``CalculateAssetValueForCollateral`` per product):

    sum_k sum_i f_ki(p_ki * U_i)  >=  10^4 * sum_i d_i * U_i,   with  sum_k p_ki <= e_i.

A tree without pledge classes values the equity (K = 0, one table f_i per asset).

In the circuit (:mod:`zkproofs.gadgets.solvency`) f is evaluated by *tier slots*: slot k
is the line y = slope_k * e + intercept_k, valid for amounts e in [low_k, high_k]:

    slope_k = ratio_k * U,  intercept_k = sum_(j<k) ratio_j (H_j - H_(j-1)) - ratio_k H_(k-1),
    low_k = ceil(H_(k-1) / U),  high_k = min(floor(H_k / U), 2^64 - 1)

(H in the value unit), then a *tail slot* (slope 0, intercept f(H_last), amounts from
ceil(H_last / U) to 2^64 - 1) and empty slots (low 2^64 > high) up to the circuit's
``tiers``. On its slot's interval a line equals f exactly, and the slots' intervals
cover [0, 2^64), so the prover's choice of slot is checked, not trusted. Ratios must
not increase from one tier to the next (as Binance's never do), so every intercept
is >= 0.

Bounds (checked when the policy is read): U < 2^96, tier bounds below 2^160 value units,
so f < 10^4 * 2^160 < 2^174 = 2^VALUE_BITS and so is every debt value 10^4 d U.

File (JSON, ``format`` "zkproofs/solvency-policy", ``version`` 1)::

    {"format": ..., "version": 1,
     "assets": {"BTC": {"price": "65100.22", "decimals": 8, "tiers": [["10000", 10000], ["20000", 9000]],
                        "pledge_tiers": {"loan": [["10000", 9000]], "margin": [], "portfolio": [["5000", 9500]]}},
                "SHIB": {"price": "0.00001797", "decimals": 2, "tiers": []}}}

``price``: USD per whole unit, decimal string, at most 8 decimals, > 0; ``decimals``: the
asset's base units per whole unit (10^decimals), which the root file must state alike (the
root hash does not bind decimals, and a base unit's value depends on them: pinning them in
the policy the verifier holds closes that gap); ``tiers``: pairs
(upper bound in USD, decimal string with at most 8 decimals; ratio in basis points,
0..10000), bounds strictly increasing, ratios not increasing; ``pledge_tiers`` (optional):
one such list per pledge class, for trees whose leaves commit pledged amounts (``tiers``
then values nothing, and every asset needs a list for every class of the tree).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from zkproofs.accounts.amounts import AmountError, to_base_units
from zkproofs.accounts.model import MAX_DECIMALS, Asset
from zkproofs.errors import SolvencyError
from zkproofs.jsontext import is_exactly, loads

POLICY_FORMAT = "zkproofs/solvency-policy"
POLICY_VERSION = 1
PRICE_DECIMALS = 8
"""Prices and tier bounds are read at 8 decimals (10^-8 USD)."""
BPS = 10_000
AMOUNT_BITS = 64
UNIT_BITS = 96
"""Every U_i (value of one base unit) is below 2^96."""
VALUE_BITS = 174
"""Every tiered value and every debt value of one asset is below 2^174."""
EMPTY_LOW = 1 << AMOUNT_BITS
"""``low`` of an empty slot: above every ``high``, so no amount lies in it."""
MAX_AMOUNT = (1 << AMOUNT_BITS) - 1


@dataclass(frozen=True)
class AssetPolicy:
    """Price (10^-8 USD per whole unit, >= 1), decimals, tiers ((upper bound in 10^-8 USD, ratio in bps), ...)
    for the equity, and the tiers of each pledge class by name (for trees with pledged amounts)."""

    price: int
    decimals: int
    tiers: tuple[tuple[int, int], ...]
    pledge_tiers: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()

    def tiers_for(self, pledge: str | None) -> tuple[tuple[int, int], ...] | None:
        """The equity's tiers (``pledge`` None) or the pledge class's, None if the policy has none for it."""
        if pledge is None:
            return self.tiers
        return dict(self.pledge_tiers).get(pledge)


@dataclass(frozen=True)
class SolvencyPolicy:
    """Prices and tiers by asset symbol (:class:`AssetPolicy`)."""

    assets: dict[str, AssetPolicy]

    def max_tiers(self) -> int:
        """The most tiers any asset has (equity or pledge class)."""
        return max((len(t) for p in self.assets.values() for t in (p.tiers, *(t for _, t in p.pledge_tiers))), default=0)

    def to_dict(self) -> dict[str, Any]:
        """The policy file's JSON object."""
        return {
            "format": POLICY_FORMAT,
            "version": POLICY_VERSION,
            "assets": {
                symbol: {"price": format_usd(p.price), "decimals": p.decimals, "tiers": _tiers_list(p.tiers),
                         **({"pledge_tiers": {c: _tiers_list(t) for c, t in p.pledge_tiers}} if p.pledge_tiers else {})}
                for symbol, p in self.assets.items()
            },
        }


@dataclass(frozen=True)
class TierSlots:
    """One asset's slots (:func:`policy_inputs`): equal-length tuples of ints, and the debt unit 10^4 U."""

    slopes: tuple[int, ...]
    intercepts: tuple[int, ...]
    lows: tuple[int, ...]
    highs: tuple[int, ...]
    debt_unit: int

    def slot_of(self, amount: int) -> int:
        """The first slot whose interval holds ``amount`` (0 <= amount < 2^64); ValueError if none."""
        for k, (low, high) in enumerate(zip(self.lows, self.highs)):
            if low <= amount <= high:
                return k
        raise ValueError(f"amount {amount} lies in no tier slot")

    def value(self, amount: int) -> int:
        """f(amount * U) in bps of the value unit. O(slots)."""
        k = self.slot_of(amount)
        return self.slopes[k] * amount + self.intercepts[k]


def _tiers_list(tiers: Sequence[tuple[int, int]]) -> list[list[Any]]:
    return [[format_usd(h), r] for h, r in tiers]


def format_usd(units: int) -> str:
    """A price or bound in 10^-8 USD as the policy file writes it: ``6510022000000`` -> ``"65100.22"``."""
    whole, frac = divmod(units, 10**PRICE_DECIMALS)
    return f"{whole}.{frac:08d}".rstrip("0").rstrip(".") if frac else str(whole)


def _usd(value: Any, where: str, *, positive: bool) -> int:
    if not isinstance(value, str):
        raise SolvencyError(f"{where} must be a decimal string such as \"65100.22\"")
    try:
        units = to_base_units(value, PRICE_DECIMALS, maximum=(1 << 200) - 1)
    except AmountError as exc:
        raise SolvencyError(f"{where}: {exc}") from None
    if positive and units == 0:
        raise SolvencyError(f"{where} must be above zero")
    return units


def policy_from_dict(obj: Any, where: str = "policy") -> SolvencyPolicy:
    """Decode and check a policy object (module docstring); SolvencyError naming the field otherwise."""
    if not isinstance(obj, dict):
        raise SolvencyError(f"{where}: not a JSON object")
    if not is_exactly(obj.get("format"), POLICY_FORMAT) or not is_exactly(obj.get("version"), POLICY_VERSION):
        raise SolvencyError(f"{where}: not a {POLICY_FORMAT} version {POLICY_VERSION} file")
    extra = set(obj) - {"format", "version", "assets"}
    if extra:
        raise SolvencyError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
    assets = obj.get("assets")
    if not isinstance(assets, dict) or not assets:
        raise SolvencyError(f"{where}: \"assets\" must be a non-empty object of symbol -> {{price, tiers}}")
    out: dict[str, AssetPolicy] = {}
    for symbol, entry in assets.items():
        here = f"{where}: asset {symbol}"
        if not isinstance(entry, dict) or not {"price", "decimals", "tiers"} <= set(entry) <= {"price", "decimals", "tiers", "pledge_tiers"}:
            raise SolvencyError(f"{here}: must be an object with exactly \"price\", \"decimals\" and \"tiers\" (and optionally \"pledge_tiers\")")
        price = _usd(entry["price"], f"{here}: price", positive=True)
        decimals = entry["decimals"]
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS:
            raise SolvencyError(f"{here}: decimals {decimals!r} is not an integer in [0, {MAX_DECIMALS}]")
        pledge_obj = entry.get("pledge_tiers", {})
        if not isinstance(pledge_obj, dict) or not all(c for c in pledge_obj):
            raise SolvencyError(f"{here}: pledge_tiers must be an object of pledge class -> tiers")
        pledge_tiers = tuple(sorted((c, _tiers(t, f"{here}: pledge class {c}")) for c, t in pledge_obj.items()))  # by name: one canonical form
        out[symbol] = AssetPolicy(price, decimals, _tiers(entry["tiers"], here), pledge_tiers)
    return SolvencyPolicy(out)


def _tiers(tiers_obj: Any, here: str) -> tuple[tuple[int, int], ...]:
    """A tier list [[upper bound USD, ratio bps], ...]: bounds increasing, ratios not increasing."""
    if not isinstance(tiers_obj, list):
        raise SolvencyError(f"{here}: tiers must be a list of [upper bound USD, ratio bps]")
    tiers: list[tuple[int, int]] = []
    for k, tier in enumerate(tiers_obj):
        tw = f"{here}: tier {k}"
        if not isinstance(tier, list) or len(tier) != 2:
            raise SolvencyError(f"{tw} must be [upper bound USD (string), ratio bps (integer)]")
        bound = _usd(tier[0], f"{tw} upper bound", positive=True)
        ratio = tier[1]
        if isinstance(ratio, bool) or not isinstance(ratio, int) or not 0 <= ratio <= BPS:
            raise SolvencyError(f"{tw}: ratio {ratio!r} is not an integer number of basis points in [0, {BPS}]")
        if tiers and bound <= tiers[-1][0]:
            raise SolvencyError(f"{tw}: upper bound {tier[0]} does not increase")
        if tiers and ratio > tiers[-1][1]:
            raise SolvencyError(f"{tw}: ratio {ratio} bps is above the previous tier's {tiers[-1][1]} (ratios may not increase)")
        tiers.append((bound, ratio))
    return tuple(tiers)


def load_policy(path: str | Path) -> SolvencyPolicy:
    """Read a policy file (strict JSON: no duplicate keys); SolvencyError naming the file and field."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SolvencyError(f"{path}: cannot read the policy ({exc.strerror})") from None
    return policy_from_dict(loads(data, str(path), SolvencyError), str(path))


def policy_from_binance(info_csv: str | Path, table: str = "portfolio") -> SolvencyPolicy:
    """A policy from Binance's ``cex_assets_info.csv``: each token's price, its three tier tables as
    the ``pledge_tiers`` of the pledge classes ``loan``, ``margin`` and ``portfolio`` (what a tree
    of Binance's user file commits: :data:`zkproofs.accounts.binance.PLEDGES`), and one of them
    (``table``) as the equity's tiers for trees without pledged amounts; percent ratios as basis
    points, symbols upper-cased (as :mod:`zkproofs.accounts.binance` reads them). SolvencyError for
    a bad table name or file; the tiers' own checks as :func:`policy_from_dict`."""
    from zkproofs.accounts.binance import AMOUNT_DECIMALS, PLEDGES, load_binance_assets_info
    from zkproofs.errors import AccountsError

    columns = {"loan": "loan_tiers", "margin": "margin_tiers", "portfolio": "portfolio_tiers"}
    column = columns.get(table)
    if column is None or tuple(columns) != PLEDGES:
        raise SolvencyError(f"unknown Binance tier table {table!r}: loan, margin or portfolio")
    try:
        info = load_binance_assets_info(info_csv, price_decimals=PRICE_DECIMALS)
    except AccountsError as exc:
        raise SolvencyError(str(exc)) from None
    assets = {}
    for symbol, entry in info.items():
        def tiers(name: str) -> list[list[Any]]:
            return [[str(high), ratio * 100] for _, high, ratio in getattr(entry, name)]  # noqa: B023 (called at once)

        assets[symbol.upper()] = {"price": format_usd(entry.usdt_price), "decimals": AMOUNT_DECIMALS, "tiers": tiers(column),
                                  "pledge_tiers": {pledge: tiers(name) for pledge, name in columns.items()}}
    return policy_from_dict({"format": POLICY_FORMAT, "version": POLICY_VERSION, "assets": assets}, str(info_csv))


def unit_decimals(assets: Sequence[Asset]) -> int:
    """D: the largest number of decimals among ``assets`` (the value unit is 10^-(8 + D) USD)."""
    return max(a.decimals for a in assets)


def policy_inputs(policy: SolvencyPolicy, assets: Sequence[Asset], tiers: int, pledges: Sequence[str] = ()) -> list[TierSlots]:
    """The tier slots of the tree's *slot sets*, ``tiers`` slots each (module docstring): one per
    asset valuing its equity (no ``pledges``), or one per pledge class and asset, class-major
    (set k A + i values class k of asset i). Set i < A carries asset i's debt unit either way.
    SolvencyError if an asset of the tree has no policy entry or other decimals than the
    policy's, the policy names an asset the tree lacks, an asset has no tiers for a pledge class
    of the tree or ``tiers`` or more tiers (the tail needs a slot), or a unit or bound leaves its
    range. O(max(1, K) A tiers)."""
    symbols = [a.symbol for a in assets]
    missing = [s for s in symbols if s not in policy.assets]
    if missing:
        raise SolvencyError(f"the policy has no price for asset(s) {', '.join(missing)}")
    unknown = sorted(set(policy.assets) - set(symbols))
    if unknown:
        raise SolvencyError(f"the policy prices asset(s) the tree does not hold: {', '.join(unknown)}")
    wrong = [f"{a.symbol} has {a.decimals} decimals, the policy {policy.assets[a.symbol].decimals}"
             for a in assets if a.decimals != policy.assets[a.symbol].decimals]
    if wrong:
        raise SolvencyError(f"the tree's decimals differ from the policy's: {'; '.join(wrong)}")
    d_max = unit_decimals(assets)
    out = []
    for pledge in pledges or (None,):
        for asset in assets:
            p = policy.assets[asset.symbol]
            table = p.tiers_for(pledge)
            what = f"asset {asset.symbol}" + ("" if pledge is None else f", pledge class {pledge!r},")
            if table is None:
                raise SolvencyError(f"the policy has no tiers for pledge class {pledge!r} of asset {asset.symbol} (pledge_tiers)")
            out.append(_slots(table, p.price * 10 ** (d_max - asset.decimals), d_max, tiers, what))
    return out


def _slots(table: Sequence[tuple[int, int]], unit: int, d_max: int, tiers: int, what: str) -> TierSlots:
    """The ``tiers`` slots of one tier table for a base unit worth ``unit`` value units."""
    if len(table) >= tiers:
        raise SolvencyError(f"{what} has {len(table)} tiers: the circuit needs tiers >= {len(table) + 1}")
    if unit >= 1 << UNIT_BITS:
        raise SolvencyError(f"{what}: one base unit is worth 2^96 value units or more (price too high)")
    slopes, intercepts, lows, highs = [], [], [], []
    below, counted = 0, 0  # H_(k-1) in value units, f(H_(k-1))
    for bound, ratio in table:
        high_value = bound * 10**d_max
        if high_value >= 1 << (VALUE_BITS - 14):
            raise SolvencyError(f"{what}: tier bound {format_usd(bound)} USD is beyond the supported 2^160 value units")
        slopes.append(ratio * unit)
        intercepts.append(counted - ratio * below)
        lows.append(-(-below // unit))
        highs.append(min(high_value // unit, MAX_AMOUNT))
        counted += ratio * (high_value - below)
        below = high_value
    slopes.append(0)
    intercepts.append(counted)
    lows.append(-(-below // unit))
    highs.append(MAX_AMOUNT)
    for _ in range(tiers - len(slopes)):
        slopes.append(0)
        intercepts.append(0)
        lows.append(EMPTY_LOW)
        highs.append(MAX_AMOUNT)
    return TierSlots(tuple(slopes), tuple(intercepts), tuple(lows), tuple(highs), unit * BPS)


def flat_inputs(slots: Sequence[TierSlots], n_assets: int) -> list[int]:
    """The slots as a batch circuit's public inputs before its commitment, in
    :meth:`circuits.solvency_batch.SolvencyBatch.public_inputs` order: every set's slopes,
    intercepts, lows and highs, then the ``n_assets`` debt units."""
    out = []
    for s in slots:
        out += [*s.slopes, *s.intercepts, *s.lows, *s.highs]
    return out + [s.debt_unit for s in slots[:n_assets]]


def account_values(slots: Sequence[TierSlots], amounts: Sequence[int], debts: Sequence[int]) -> tuple[int, int]:
    """(tiered collateral value, debt value) of an account, both in bps of the value unit:
    ``amounts[s]`` valued by slot set s (the equities, or the pledged amounts class-major, as
    :func:`policy_inputs` orders the sets), ``debts[i]`` at set i's debt unit. Amounts must be in
    [0, 2^64) (ValueError otherwise). O(sets * slots)."""
    for x in (*amounts, *debts):
        if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= MAX_AMOUNT:
            raise ValueError(f"amount {x!r} is not in [0, 2^64)")
    collateral = sum(s.value(e) for s, e in zip(slots, amounts, strict=True))
    debt = sum(s.debt_unit * d for s, d in zip(slots, debts))
    return collateral, debt


def tiered_value_reference(price: int, decimals: int, d_max: int, tiers: Sequence[tuple[int, int]], amount: int) -> int:
    """f(amount * U) straight from the definition (sum of clamped slices), the oracle of
    :meth:`TierSlots.value` in tests. O(tiers)."""
    value = amount * price * 10 ** (d_max - decimals)
    total, below = 0, 0
    for bound, ratio in tiers:
        high = bound * 10**d_max
        total += ratio * max(0, min(value, high) - below)
        below = high
    return total


def write_policy_text(policy: SolvencyPolicy) -> str:
    """The policy as a JSON document (two-space indent, trailing newline)."""
    return json.dumps(policy.to_dict(), indent=2) + "\n"
