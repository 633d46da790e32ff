"""Proof of solvency over every account: batch proofs of the whole liability tree, their
aggregation up to the published root, and the verdict against proven reserves.

For a published root (hash, per-asset equity and debt totals, depth, pledge classes), a
proof set shows, revealing nothing else beyond the number of proofs:

1. every leaf of the tree (padding included) has every amount (equities, debts, pledged
   amounts) in [0, 2^64);
2. every account is solvent: its collateral (the equity, or where the tree has pledge
   classes the pledged amounts, which per asset sum to at most the equity), valued at the
   policy's prices with tiered haircuts, each class by its own tiers, in exact integers,
   is worth at least its debt (:mod:`~zkproofs.solvency.policy`);
3. every amount the check uses is committed in the account's leaf, and with pledge
   classes the leaf also hashes their names' digest (:mod:`zkproofs.tree.hashing`);
4. the published totals are the exact sums over all leaves, and the root hash is the root
   of exactly these leaves.

Modules: :mod:`~zkproofs.solvency.policy` (prices and tiered haircuts, their public
inputs and the native solvency rule), :mod:`~zkproofs.solvency.plan` (which proofs cover
a tree), :mod:`~zkproofs.solvency.witness` (batch and aggregation inputs from a tree
database), :mod:`~zkproofs.solvency.prove` (the coordinator), :mod:`~zkproofs.solvency.proofset`
(the published proof set), :mod:`~zkproofs.solvency.verify` (the auditor's check).
"""
