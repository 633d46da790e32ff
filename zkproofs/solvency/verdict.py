"""The verdict: proven liabilities against proven reserves, per asset.

Liabilities per asset are the published root's equity total net of its debt total, as
Binance publishes them (a customer's debt in an asset offsets what the exchange owes in
it): the global proof (:mod:`zkproofs.solvency.verify`) shows both totals are the exact
sums over every account and that every account's debt is covered by its own equity after
tiered haircuts, which is what makes the netting sound. Reserves per asset are the
balances of the addresses whose keys signed the auditor's challenge, read from the
auditor's own node (:func:`zkproofs.reserves.verify_reserves`). Accounts the root records as
excluded (``tree build --exclude-invalid``: rows the input format calls invalid, such as
Binance's undercollateralised ones) are not in the tree, so nothing proves their debt
covered: their equity is added to the liabilities in full and their debt is not netted.
An asset is covered when reserves >= liabilities; its margin is reserves - liabilities
(negative: the shortfall). The verdict is ``solvent`` when every asset is covered and
``insolvent`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zkproofs.accounts.amounts import format_amount
from zkproofs.errors import SolvencyError
from zkproofs.tree.root import PublishedRoot


@dataclass(frozen=True)
class AssetVerdict:
    """One asset's figures in base units: equity and debt totals, net liabilities, reserves, margin."""

    symbol: str
    decimals: int
    equity: int
    debt: int
    reserves: int
    excluded_equity: int = 0

    @property
    def liabilities(self) -> int:
        """Liabilities: equity total - debt total of the tree (negative when its customers owe more than
        they hold), plus the excluded accounts' equity in full."""
        return self.equity - self.debt + self.excluded_equity

    @property
    def margin(self) -> int:
        """Reserves - net liabilities."""
        return self.reserves - self.liabilities

    @property
    def covered(self) -> bool:
        return self.margin >= 0

    def to_dict(self) -> dict[str, Any]:
        units = lambda v: format_amount(v, self.decimals) if v >= 0 else "-" + format_amount(-v, self.decimals)  # noqa: E731
        return {
            "equity": units(self.equity), "debt": units(self.debt), "excluded_equity": units(self.excluded_equity),
            "net_liabilities": units(self.liabilities),
            "reserves": units(self.reserves), "margin": units(self.margin), "covered": self.covered,
        }


@dataclass(frozen=True)
class Verdict:
    """``solvent`` or ``insolvent``, per-asset figures, and the excluded accounts the totals leave out."""

    assets: tuple[AssetVerdict, ...]
    excluded_accounts: int

    @property
    def solvent(self) -> bool:
        return all(a.covered for a in self.assets)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": "solvent" if self.solvent else "insolvent",
            "assets": {a.symbol: a.to_dict() for a in self.assets},
            "excluded_accounts": self.excluded_accounts,
        }


def solvency_verdict(root: PublishedRoot, reserves: dict[str, int]) -> Verdict:
    """The verdict for ``root`` (whose global proof the caller verified) and proven ``reserves``
    (symbol -> base units, as :class:`~zkproofs.reserves.proof.ReservesReport` gives them).
    SolvencyError if the reserves name an asset the root does not hold. O(A)."""
    unknown = sorted(set(reserves) - {a.symbol for a in root.assets})
    if unknown:
        raise SolvencyError(f"the reserves name asset(s) the root does not hold: {', '.join(unknown)}")
    assets = tuple(
        AssetVerdict(a.symbol, a.decimals, root.equity_totals[i], root.debt_totals[i], reserves.get(a.symbol, 0),
                     root.excluded.equity[i])
        for i, a in enumerate(root.assets)
    )
    return Verdict(assets, root.excluded.accounts)
