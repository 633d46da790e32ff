"""Native Poseidon over the BLS12-381 scalar field: parameters, permutation, sponge."""

from zkproofs.poseidon.native import hash2, permute, permute_many, permute_reference, poseidon_hash, poseidon_hash_many
from zkproofs.poseidon.params import PoseidonParams, poseidon_params

__all__ = ["PoseidonParams", "hash2", "permute", "permute_many", "permute_reference", "poseidon_hash", "poseidon_hash_many", "poseidon_params"]
