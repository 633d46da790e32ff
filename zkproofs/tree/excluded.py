"""The record of input accounts a tree leaves out, so that liabilities never shrink silently.

A loader may reject rows (Binance's invalid accounts: undercollateralised, or an
amount out of range; :attr:`~zkproofs.accounts.model.AccountSet.rejected`). Those
customers' equity is then missing from the published liabilities. A tree is
built without them only on request (``build_tree(..., exclude_invalid=True)``,
``zkproofs tree build --exclude-invalid``), and then the database (meta key
``excluded``) and the root file (field ``excluded``) carry how many accounts were
left out and their summed equity and debt per asset, as written in the input.
The audit fails its *excluded* check unless the auditor accepts them explicitly.

Root-file layout (amounts are signed decimal strings of base units: a rejected
row may hold a negative amount)::

    "excluded": {"accounts": 10, "totals": {"BTC": {"equity": "280986564167", "debt": "140587570013",
                                                   "equity_units": "2809.86564167", "debt_units": "1405.87570013"}, ...}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zkproofs.accounts.amounts import AmountError, format_amount, to_base_units
from zkproofs.accounts.model import AccountSet, Asset
from zkproofs.jsontext import loads
from zkproofs.tree.hashing import TreeError

MAX_SUM = 1 << 320
"""Bound on the magnitude of an excluded total (2^256 per row, far more rows than a tree holds)."""


@dataclass(frozen=True)
class Excluded:
    """``accounts`` left out of the tree and, per asset, their summed ``equity`` and ``debt`` (base units)."""

    accounts: int
    equity: tuple[int, ...]
    debt: tuple[int, ...]

    @classmethod
    def of(cls, account_set: AccountSet) -> "Excluded":
        """What building ``account_set`` leaves out: its rejected rows."""
        return cls(len(account_set.rejected), tuple(account_set.rejected_equity), tuple(account_set.rejected_debt))

    @classmethod
    def none(cls, n_assets: int) -> "Excluded":
        """Nothing excluded, over ``n_assets`` assets."""
        return cls(0, (0,) * n_assets, (0,) * n_assets)

    def describe(self, assets: tuple[Asset, ...]) -> str:
        """``"10 input account(s) excluded, holding BTC equity 2809.86564167 debt 1405.87570013; ..."``."""
        held = "; ".join(
            f"{a.symbol} equity {format_amount(e, a.decimals)} debt {format_amount(d, a.decimals)}"
            for a, e, d in zip(assets, self.equity, self.debt)
        )
        return f"{self.accounts} input account(s) excluded from the liabilities, holding {held}"

    def to_meta(self) -> str:
        """The database's meta value: ``{"accounts": n, "equity": ["..."], "debt": ["..."]}``."""
        return json.dumps({"accounts": self.accounts, "equity": [str(v) for v in self.equity], "debt": [str(v) for v in self.debt]})

    @classmethod
    def from_meta(cls, text: Any, n_assets: int, where: str) -> "Excluded":
        """Decode :meth:`to_meta`; TreeError when missing or malformed (a tree must say what it left out)."""
        if not isinstance(text, str):
            raise TreeError(f"{where}: no record of excluded accounts (meta key 'excluded')")
        obj = loads(text, where, TreeError)
        if not isinstance(obj, dict) or set(obj) != {"accounts", "equity", "debt"}:
            raise TreeError(f"{where}: expected accounts, equity and debt")
        lists = [obj["equity"], obj["debt"]]
        if not all(isinstance(v, list) and len(v) == n_assets for v in lists):
            raise TreeError(f"{where}: expected {n_assets} equity and debt totals")
        equity, debt = ([_signed(v, f"{where}.{name}") for v in values] for name, values in zip(("equity", "debt"), lists))
        return cls(_count(obj["accounts"], f"{where}.accounts"), tuple(equity), tuple(debt))

    def to_dict(self, assets: tuple[Asset, ...]) -> dict[str, Any]:
        """The root file's ``excluded`` object (layout in the module docstring)."""
        return {
            "accounts": self.accounts,
            "totals": {
                a.symbol: {
                    "equity": str(e),
                    "debt": str(d),
                    "equity_units": format_amount(e, a.decimals),
                    "debt_units": format_amount(d, a.decimals),
                }
                for a, e, d in zip(assets, self.equity, self.debt)
            },
        }

    @classmethod
    def from_dict(cls, obj: Any, assets: tuple[Asset, ...], where: str) -> "Excluded":
        """Decode the root file's ``excluded`` object; TreeError naming the field.

        The ``*_units`` fields must agree with the base units (a root whose
        readable figures differ from its exact ones is refused).
        """
        if not isinstance(obj, dict) or set(obj) != {"accounts", "totals"}:
            raise TreeError(f"{where}: expected an object with accounts and totals")
        totals = obj["totals"]
        if not isinstance(totals, dict) or set(totals) != {a.symbol for a in assets}:
            raise TreeError(f"{where}.totals: must name exactly the assets")
        equity, debt = [], []
        for a in assets:
            at = f"{where}.totals.{a.symbol}"
            entry = totals[a.symbol]
            if not isinstance(entry, dict) or set(entry) != {"equity", "debt", "equity_units", "debt_units"}:
                raise TreeError(f"{at}: expected equity, debt, equity_units and debt_units")
            for name, out in (("equity", equity), ("debt", debt)):
                value = _signed(entry[name], f"{at}.{name}")
                if entry[f"{name}_units"] != format_amount(value, a.decimals):
                    raise TreeError(f"{at}.{name}_units: does not match {name}")
                out.append(value)
        return cls(_count(obj["accounts"], f"{where}.accounts"), tuple(equity), tuple(debt))


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TreeError(f"{where}: expected a non-negative integer")
    return value


def _signed(value: Any, where: str) -> int:
    if not isinstance(value, str):
        raise TreeError(f"{where}: expected a decimal string")
    try:
        return to_base_units(value, 0, signed=True, maximum=MAX_SUM)
    except AmountError as exc:
        raise TreeError(f"{where}: {exc}") from None
