"""Proof of solvency over every account: batch proofs of the whole liability tree, their
aggregation up to the published root, and the verdict against proven reserves.

Modules: :mod:`~zkproofs.solvency.policy` (prices and tiered haircuts, their public
inputs and the native solvency rule), :mod:`~zkproofs.solvency.plan` (which proofs cover
a tree), :mod:`~zkproofs.solvency.witness` (batch and aggregation inputs from a tree
database), :mod:`~zkproofs.solvency.prove` (the coordinator), :mod:`~zkproofs.solvency.proofset`
(the published proof set), :mod:`~zkproofs.solvency.verify` (the auditor's check).
"""
