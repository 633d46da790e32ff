"""Groth16 zk-SNARK over BLS12-381 (Groth 2016, "On the Size of Pairing-Based
Non-interactive Arguments", ePrint 2016/260, section 3.2).

Split by role as arkworks' ``groth16`` crate: :mod:`keys` (data structures),
:mod:`qap` (R1CS to QAP), :mod:`setup` (generator), :mod:`prover`, :mod:`verifier`,
:mod:`serialize` (file formats), :mod:`trust` (a key against its circuit).
"""

from zkproofs.groth16.keys import Proof, ProvingKey, VerifyingKey
from zkproofs.groth16.prover import prove
from zkproofs.groth16.setup import setup
from zkproofs.groth16.verifier import verify, verify_batch

__all__ = ["Proof", "ProvingKey", "VerifyingKey", "prove", "setup", "verify", "verify_batch"]
