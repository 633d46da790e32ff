"""The account set a liability tree commits to: assets and per-account equity and debt.

Amounts are non-negative integers in each asset's base units (10^-decimals of a
whole unit). Equity is what the venue owes the customer; debt is what the
customer owes the venue (loans, negative balances). Signed input balances are
split into the two columns by the loaders in :mod:`zkproofs.accounts`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_AMOUNT = (1 << 64) - 1
"""Largest equity or debt a leaf may carry (amounts are range-checked to 64 bits)."""

MAX_DECIMALS = 36
"""Most decimals an asset may have (ETH's on-chain 18 with room to spare)."""

MAX_PLEDGES = 16
"""Most pledge classes an account set may have (Binance has three)."""

_PLEDGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", re.ASCII)


def pledge_problem(pledges: object) -> str | None:
    """Why ``pledges`` is not a list of pledge class names, or None: at most :data:`MAX_PLEDGES`
    distinct names of 1 to 32 ASCII letters, digits, ``_``, ``.`` or ``-`` (starting with a letter
    or digit), so that a name prints safely and the list has one unambiguous encoding."""
    if not isinstance(pledges, (list, tuple)) or len(pledges) > MAX_PLEDGES:
        return f"expected a list of at most {MAX_PLEDGES} pledge class names"
    if not all(isinstance(p, str) and _PLEDGE_NAME.fullmatch(p) for p in pledges):
        return "a pledge class name must be 1 to 32 ASCII letters, digits, '_', '.' or '-'"
    if len(set(pledges)) != len(pledges):
        return "pledge class names must be distinct"
    return None


def canonical_id(account_id: str) -> str:
    """The form of an account id that is hashed, stored and compared: Unicode NFC.

    NFC "jos\u00e9" and NFD "jose\u0301" are one account (UAX #15: canonically
    equivalent strings display alike). Ids are otherwise exact and
    case-sensitive: "Alice" and "alice" are two accounts, since an exchange's
    ids are opaque to us and case folding is locale-dependent. Formats whose ids
    are bytes written in hex (Binance) lower-case them in their loader.
    O(len(account_id)); ASCII ids take the quick-check path.
    """
    return unicodedata.normalize("NFC", account_id)


@dataclass(frozen=True)
class Asset:
    """An asset column: ticker ``symbol`` and ``decimals`` (base units per unit = 10**decimals)."""

    symbol: str
    decimals: int


@dataclass(frozen=True)
class Account:
    """One customer: ``equities[i]`` and ``debts[i]`` in base units of asset i (tuples of len(assets)).

    ``collateral`` is the equity pledged against debt, where the input format
    says so: for each *pledge class* k of the set (:attr:`AccountSet.pledges`,
    e.g. Binance's VIP loan, margin and portfolio margin) and asset i,
    ``collateral[k * A + i]`` base units (class-major, length K * A), and per
    asset the classes together at most the equity. Empty when the set has no
    pledge classes; then the whole equity is what covers debt. The tree's leaf
    commits these amounts beside equities and debts
    (:mod:`zkproofs.tree.hashing`), and the global proof values them.
    ``id`` is stored in its canonical form (:func:`canonical_id`, NFC).
    """

    id: str
    equities: tuple[int, ...]
    debts: tuple[int, ...]
    collateral: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", canonical_id(self.id))


@dataclass(frozen=True)
class AccountSet:
    """Accounts over a fixed asset list, ids unique, every amount in [0, MAX_AMOUNT].

    ``rejected`` lists (source location, account id, reason) for input rows a
    format marks invalid and the loader refused; they are reported, never
    silently dropped. ``rejected_equity`` and ``rejected_debt`` are, per asset,
    the summed equity and debt columns of those rows as written (base units;
    a rejected row may hold a negative or out-of-range amount, so these are
    plain ints), all zero when nothing was rejected. ``source`` names where
    the set was read from. ``pledges`` names the pledge classes of every
    account's ``collateral`` (:class:`Account`), in order; empty when the input
    does not distinguish pledged collateral.
    """

    assets: tuple[Asset, ...]
    accounts: tuple[Account, ...]
    source: str = ""
    rejected: tuple[tuple[str, str, str], ...] = field(default=())
    rejected_equity: tuple[int, ...] = ()
    rejected_debt: tuple[int, ...] = ()
    pledges: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = pledge_problem(self.pledges)
        if problem:
            raise ValueError(f"pledges {self.pledges!r}: {problem}")
        n = len(self.assets)
        for name in ("rejected_equity", "rejected_debt"):
            value = getattr(self, name)
            if value == ():
                object.__setattr__(self, name, (0,) * n)
            elif len(value) != n:
                raise ValueError(f"{name} has {len(value)} entries for {n} assets")

    def totals(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(equity totals, debt totals) per asset, in base units."""
        n = len(self.assets)
        equity, debt = [0] * n, [0] * n
        for account in self.accounts:
            for i in range(n):
                equity[i] += account.equities[i]
                debt[i] += account.debts[i]
        return tuple(equity), tuple(debt)


@dataclass(frozen=True)
class AccountStream:
    """Accounts over a fixed asset list, read once and never held: the input of a streaming tree build.

    ``accounts`` is any iterable of :class:`Account` (a generator over a file or
    a database cursor); :func:`zkproofs.tree.build.build_tree` checks each
    account's amounts and finds duplicate ids as it sorts them. The other
    fields are :class:`AccountSet`'s (nothing rejected unless a loader says so).
    """

    assets: tuple[Asset, ...]
    accounts: Iterable[Account]
    source: str = ""
    rejected: tuple[tuple[str, str, str], ...] = field(default=())
    rejected_equity: tuple[int, ...] = ()
    rejected_debt: tuple[int, ...] = ()
    pledges: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        AccountSet.__post_init__(self)  # type: ignore[arg-type]
