"""Proof-level glue: statements about native data structures, proven with Groth16.

The native structures (:mod:`zkproofs.tree`) know no proofs; the modules here tie
one of them to a circuit and the proof system. :mod:`.inclusion`: zero-knowledge
inclusion in the Merkle-sum liability tree.
"""
