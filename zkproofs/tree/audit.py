"""The database holder's check of a whole liability tree: recompute it and compare.

Checks, in order (each a :class:`AuditCheck` in the report):

1. *recompute*: salts, padding, leaf order, every leaf and node from the
   ``accounts`` table and the tree secret (:func:`zkproofs.tree.build.hash_tree`),
   compared with every stored ``nodes`` row byte for byte; no extra or missing rows;
2. *ranges*: every amount < 2^64 and every sum at height k < 2^(64 + k)
   (checked while recomputing; a violation fails check 1 and 2);
3. *root file*: the published root equals the stored root node, depth, assets
   pledge classes and record of excluded accounts;
4. *excluded*: no input account was left out of the tree
   (:mod:`zkproofs.tree.excluded`), or the auditor accepts the ones that were
   (``accept_excluded``); otherwise a failed check naming their number and balances.

Verdict: ``consistent`` if every check passes, ``inconsistent`` otherwise. This needs
the plaintext database and the tree secret; whether every account is in range and
solvent, and whether the liabilities are covered by reserves, is shown to anyone
without them by the global proof and the verdict (:mod:`zkproofs.solvency`, ``zkproofs
solvency verify|verdict``), which replaced this module's declared-reserves and
flat-haircut debt-cover checks. Cost: a full rebuild (2N - 1 Poseidon hashes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zkproofs.accounts.amounts import format_amount
from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.tree.build import Progress, hash_tree
from zkproofs.tree.hashing import TreeError
from zkproofs.tree.root import PublishedRoot, published_root
from zkproofs.tree.store import TreeStore

MAX_LISTED_MISMATCHES = 10


@dataclass(frozen=True)
class AuditCheck:
    """One named check: passed or not, with a human-readable detail."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class AuditReport:
    """The audit's outcome: every check, per-asset liabilities and debts (base units), verdict."""

    checks: tuple[AuditCheck, ...]
    assets: tuple[Asset, ...]
    liabilities: tuple[int, ...]
    debts: tuple[int, ...]
    verdict: str
    reasons: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True iff every check passed (verdict ``consistent``)."""
        return self.verdict == "consistent"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: amounts as decimal strings, per asset in base and whole units."""
        per_asset = {
            a.symbol: {
                "liabilities": str(self.liabilities[i]),
                "liabilities_units": format_amount(self.liabilities[i], a.decimals),
                "debts": str(self.debts[i]),
                "debts_units": format_amount(self.debts[i], a.decimals),
            }
            for i, a in enumerate(self.assets)
        }
        return {"verdict": self.verdict, "reasons": list(self.reasons), "checks": [asdict(c) for c in self.checks], "assets": per_asset}


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
        tree = hash_tree(len(accounts.assets), accounts.accounts, store.secret, compare, pledges=tuple(accounts.pledges), height=store.fixed_height,
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
    progress: Progress | None = None,
    workers: int | None = None,
    accept_excluded: bool = False,
) -> AuditReport:
    """Run every check of the module docstring on the tree at ``db_path`` against ``root``.

    ``accept_excluded``: pass the *excluded* check although the tree leaves input
    accounts out (the detail still names them). Raises TreeError if the database
    cannot be read at all; every other problem is a failed check in the report.
    """
    with TreeStore(db_path) as store:
        assets = store.assets
        n = len(assets)
        stored_accounts = tuple(Account(row.id, row.equities, row.debts, row.collateral) for row in store.accounts())
        account_set = AccountSet(assets, stored_accounts, source=str(db_path), pledges=store.pledges)
        checks = _recompute(store, account_set, progress, workers)
        stored_root = published_root(store)
    reasons = [c.detail for c in checks if not c.ok]
    same = (
        stored_root.root_hash == root.root_hash
        and stored_root.depth == root.depth
        and stored_root.assets == root.assets
        and stored_root.sums == root.sums
        and stored_root.excluded == root.excluded
        and stored_root.pledges == root.pledges
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
    return AuditReport(
        checks=tuple(checks),
        assets=assets,
        liabilities=tuple(stored_root.equity_totals[:n]),
        debts=tuple(stored_root.debt_totals[:n]),
        verdict="inconsistent" if reasons else "consistent",
        reasons=tuple(reasons),
    )
