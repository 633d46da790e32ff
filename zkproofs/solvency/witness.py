"""The prover's side of the global proof: the tree's leaves read back from its database,
checked natively (so a bad leaf is named before any proving), and the inputs of every
batch and aggregation proof.

Leaves come from the ``accounts`` table (amounts, salts derived from the tree secret)
and the padding leaves, whose positions are the leaf indices no account holds, filled
in the order of their keys (:func:`zkproofs.tree.hashing.order_key` of b"pad/" + number:
the same merge :class:`zkproofs.tree.order.LeafOrder` makes at build time). Each leaf is
checked against the stored leaf record (hash and sums), so an accounts table edited after
the build is caught at its leaf, and the recomputed root against the published root file.

Blindings are derived, not drawn: HMAC-SHA512(tree secret, b"solvency/blind/" || root hash
|| "/" height "/" index) mod r, so a resumed run reproduces every commitment and nothing
secret needs storing beside the proofs. Without the tree secret they are unpredictable,
so the commitments hide the subtrees' sums (DAPOL+'s use of the secret for padding, Ji and
Chalkias 2021, applied to the proofs' blindings).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Iterator, Sequence

from zkproofs.errors import SolvencyError, StatementFails
from zkproofs.field import R
from circuits.solvency_batch import slot_names
from zkproofs.solvency.plan import Layer, ProofPlan
from zkproofs.accounts.model import Asset
from zkproofs.solvency.policy import TierSlots, account_values, flat_inputs, unit_decimals
from zkproofs.tree.hashing import (
    commitments,
    id_field,
    leaf_hashes,
    node_hashes,
    order_key,
    pad_id_field,
    pledge_digest,
    pad_salt,
    subtree_commitment,
)
from zkproofs.tree.root import PublishedRoot
from zkproofs.tree.store import TreeStore

Node = tuple[int, tuple[int, ...]]
"""(hash, sums): a node of the tree."""


@dataclass(frozen=True)
class Leaf:
    """A leaf of the tree: its index, account id (None for padding), commitment and amounts (base units;
    ``pledged``: K x A class-major, empty in a tree without pledge classes)."""

    index: int
    account_id: str | None
    commitment: int
    equities: tuple[int, ...]
    debts: tuple[int, ...]
    pledged: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """How errors name it: ``leaf 5 (account 'alice')`` or ``leaf 6 (padding)``."""
        return f"leaf {self.index} ({'padding' if self.account_id is None else f'account {self.account_id!r}'})"


def blinding(secret: bytes, root_hash: int, height: int, index: int) -> int:
    """The blinding of the commitment to node (height, index) (module docstring)."""
    message = b"solvency/blind/" + root_hash.to_bytes(32, "big") + f"/{height}/{index}".encode()
    return int.from_bytes(hmac.digest(secret, message, "sha512"), "big") % R


def tree_leaves(store: TreeStore, chunk: int = 1 << 12) -> Iterator[Leaf]:
    """Every leaf of a complete tree in index order. SolvencyError for a fixed-height tree
    (its padding nodes are not leaves a batch can open), an account row with the wrong
    number of amounts, or leaf indices that are not a set of distinct positions of the tree.
    Holds the padding's order (2^D - N keys) and one chunk of leaves. O(2^D) HMACs and
    2^D / chunk batched Poseidon calls (one t = 3 permutation per leaf)."""
    if store.fixed_height is not None:
        raise SolvencyError(f"{store.path}: a fixed-height tree (tree build --height) has no global proof yet: its padding nodes are not leaves")
    depth, n_assets, keys = store.depth, len(store.assets), store.keys
    n_pledged = len(store.pledges) * n_assets
    taken = store.account_count()
    pads = sorted(range((1 << depth) - taken), key=lambda p: order_key(keys, b"pad/" + str(p).encode()))
    pad_iter = iter(pads)
    pending: list[tuple[int, str | None, tuple[int, int], tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = []

    def flush() -> Iterator[Leaf]:
        values = commitments([key for _, _, key, _, _, _ in pending])
        for (index, account_id, _, equities, debts, pledged), value in zip(pending, values):
            yield Leaf(index, account_id, value, equities, debts, pledged)
        pending.clear()

    zero, no_pledge = (0,) * n_assets, (0,) * n_pledged
    next_index = 0
    for account in store.accounts_by_leaf():
        if not 0 <= account.leaf_index < 1 << depth or account.leaf_index < next_index:
            raise SolvencyError(f"{store.path}: account {account.id!r} has leaf index {account.leaf_index}, "
                                f"outside the tree or shared with another account")
        if len(account.equities) != n_assets or len(account.debts) != n_assets or len(account.collateral) != n_pledged:
            raise SolvencyError(f"{store.path}: account {account.id!r} does not have {n_assets} equities and debts "
                                f"and {n_pledged} pledged amounts")
        while next_index < account.leaf_index:
            pad = next(pad_iter)
            pending.append((next_index, None, (pad_id_field(keys, pad), pad_salt(keys, pad)), zero, zero, no_pledge))
            next_index += 1
        pending.append((next_index, account.id, (id_field(account.id), account.salt), account.equities, account.debts, account.collateral))
        next_index += 1
        if len(pending) >= chunk:
            yield from flush()
    while next_index < 1 << depth:
        pad = next(pad_iter)
        pending.append((next_index, None, (pad_id_field(keys, pad), pad_salt(keys, pad)), zero, zero, no_pledge))
        next_index += 1
        if len(pending) >= chunk:
            yield from flush()
    yield from flush()


def check_leaf(leaf: Leaf, slots: Sequence[TierSlots], assets: Sequence[Asset], pledges: Sequence[str] = ()) -> None:
    """StatementFails naming the leaf, the asset and the amount if an amount is outside
    [0, 2^64) (statement 1), the pledge classes together pledge more than the equity of an
    asset, or the account is not solvent under the policy (statement 2: the equity, or with
    ``pledges`` the pledged amounts, valued by ``slots``; both values in USD, rounded down to
    the cent)."""
    n = len(assets)
    named = [("equity", a.symbol, v) for a, v in zip(assets, leaf.equities)] + [("debt", a.symbol, v) for a, v in zip(assets, leaf.debts)]
    named += [(f"{pledge} collateral", a.symbol, v) for k, pledge in enumerate(pledges) for a, v in zip(assets, leaf.pledged[k * n : (k + 1) * n])]
    for kind, symbol, value in named:
        if not 0 <= value < 1 << 64:
            raise StatementFails(f"{leaf.name}: {kind} {symbol} = {value} is not in [0, 2^64)")
    for i, asset in enumerate(assets):
        pledged = sum(leaf.pledged[i::n])
        if pledged > leaf.equities[i]:
            raise StatementFails(f"{leaf.name}: {pledged} base units of {asset.symbol} pledged, more than its equity {leaf.equities[i]}")
    collateral, debt = account_values(slots, leaf.pledged if pledges else leaf.equities, leaf.debts)
    if collateral < debt:
        cents = 10 ** (4 + 8 + unit_decimals(assets) - 2)
        usd = lambda v: f"{v // cents // 100}.{v // cents % 100:02d}"  # noqa: E731
        what = "pledged collateral" if pledges else "equity"
        raise StatementFails(
            f"{leaf.name} is undercollateralised: its {what} is worth {usd(collateral)} USD after tiered haircuts, "
            f"its debt {usd(debt)} USD (short by {(debt - collateral) / cents / 100:.8g} USD)"
        )


def subtree_root(leaves: Sequence[Leaf], depth: int, pledges: Sequence[str] = ()) -> tuple[list[int], Node]:
    """(leaf hashes, (hash, sums) of the subtree whose leaves are ``leaves``) in a tree of ``depth`` with the
    pledge classes ``pledges``. O(len(leaves)) t = 5 permutations, batched per level (:func:`combine`)."""
    hashes = leaf_hashes([(leaf.commitment, (*leaf.equities, *leaf.debts, *leaf.pledged)) for leaf in leaves], pledges)
    return hashes, combine([(h, (*leaf.equities, *leaf.debts)) for h, leaf in zip(hashes, leaves)], depth)


def check_against_store(store: TreeStore, leaves: Sequence[Leaf], hashes: Sequence[int], top: Node, height: int, index: int) -> None:
    """StatementFails unless the recomputed root ``top`` of the subtree (``height``, ``index``) equals the
    stored node there (one primary-key read per batch); if it does not, the message names the first
    leaf whose recomputed hash or sums differ from its stored record (the accounts table or the nodes
    were edited after the build)."""
    if store.node(height, index) == top:
        return
    for leaf, h in zip(leaves, hashes):
        if store.node(0, leaf.index) != (h, (*leaf.equities, *leaf.debts)):
            raise StatementFails(f"{leaf.name}: the accounts table does not match the stored tree (edited after the build?)")
    raise StatementFails(f"node ({height}, {index}): the stored tree does not match its leaves (edited after the build?)")


def check_root(top: Node, root: PublishedRoot, where: str) -> None:
    """StatementFails unless the recomputed root equals the published root: hash, then each total, named."""
    node_hash_value, sums = top
    symbols = [a.symbol for a in root.assets]
    for i, symbol in enumerate(symbols):
        for kind, mine, published in (("equity", sums[i], root.equity_totals[i]), ("debt", sums[len(symbols) + i], root.debt_totals[i])):
            if mine != published:
                raise StatementFails(f"{where}: the {symbol} {kind} total {published} is not the sum over the leaves ({mine})")
    if node_hash_value != root.root_hash:
        raise StatementFails(f"{where}: root hash {root.root_hash} is not the root of the stored leaves ({node_hash_value})")


def batch_inputs(leaves: Sequence[Leaf], slots: Sequence[TierSlots], blinding_value: int, n_assets: int, pledges: Sequence[str] = ()) -> dict:
    """Inputs of :class:`circuits.solvency_batch.SolvencyBatch` for ``leaves`` of ``n_assets`` assets and
    the pledge classes ``pledges`` (the commitment is derived)."""
    tiers = len(slots[0].slopes)
    inputs: dict = dict(zip(slot_names(n_assets, tiers, len(pledges)), flat_inputs(slots, n_assets)))
    if pledges:
        inputs["pledge_classes"] = pledge_digest(pledges)
    for j, leaf in enumerate(leaves):
        inputs[f"leaf_commitments[{j}]"] = leaf.commitment
        for i in range(n_assets):
            inputs[f"equities[{j}][{i}]"] = leaf.equities[i]
            inputs[f"debts[{j}][{i}]"] = leaf.debts[i]
        for s, amount in enumerate(leaf.pledged):
            inputs[f"pledged[{j}][{s}]"] = amount
    inputs["blinding"] = blinding_value
    return inputs


def aggregate_inputs(layer: Layer, children: Sequence[tuple[Node, int, int]], root: PublishedRoot | None, blinding_value: int | None) -> dict:
    """Inputs of an aggregation or root proof over ``children`` = ((hash, sums), blinding, commitment), left to right."""
    inputs: dict = {}
    for m, ((h, sums), child_blinding, commitment) in enumerate(children):
        inputs[f"inputs[{m}]"] = commitment
        inputs[f"hashes[{m}]"] = h
        for s, value in enumerate(sums):
            inputs[f"sums[{m}][{s}]"] = value
        inputs[f"blindings[{m}]"] = child_blinding
    if layer.role == "root":
        if root is None:
            raise ValueError("a root proof needs the published root")
        inputs["root"] = root.root_hash
        for i, total in enumerate(root.equity_totals):
            inputs[f"root_equities[{i}]"] = total
        for i, total in enumerate(root.debt_totals):
            inputs[f"root_debts[{i}]"] = total
    else:
        inputs["blinding"] = blinding_value
    return inputs


def combine(nodes: Sequence[Node], depth: int) -> Node:
    """The node 2^k levels above ``nodes`` (a power of two of siblings, left to right), by the node rule."""
    level = list(nodes)
    while len(level) > 1:
        pairs = [(lh, ls, rh, rs) for (lh, ls), (rh, rs) in zip(level[0::2], level[1::2])]
        parents = node_hashes(pairs, depth)
        level = [(h, tuple(x + y for x, y in zip(ls, rs))) for h, (_, ls, _, rs) in zip(parents, pairs)]
    return level[0]


def commit(node: Node, blinding_value: int, depth: int) -> int:
    """:func:`zkproofs.tree.hashing.subtree_commitment` of a (hash, sums) node."""
    return subtree_commitment(node[0], node[1], blinding_value, depth=depth)


def layer_nodes(plan: ProofPlan, batch_tops: Sequence[Node]) -> list[list[Node]]:
    """The nodes every layer outputs, bottom first, from the batches' subtree roots."""
    out = [list(batch_tops)]
    for layer in plan.layers[1:]:
        below = out[-1]
        out.append([combine(below[j * layer.fan_in : (j + 1) * layer.fan_in], plan.depth) for j in range(layer.count)])
    return out
