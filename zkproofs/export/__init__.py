"""Exports to other tools' formats: iden3 binary R1CS / witness, snarkjs JSON, a Solidity verifier."""
