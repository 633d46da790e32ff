"""Note gadgets: owner keys, note commitment and nullifier in-circuit.

Mirror :mod:`zkproofs.settlement.notes` (same tags, same Poseidon widths and
input order; Zcash protocol specification, sections 4.2.2 and 4.16, with
Poseidon, Grassi et al. 2021). A test holds each gadget against the native
function.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.poseidon import permutation, poseidon_hash
from zkproofs.poseidon import poseidon_params
from zkproofs.r1cs import ConstraintSystem, LinearCombination
from zkproofs.settlement.notes import KEYS_TAG, NF_TAG, NOTE_HASH_T, NOTE_TAG, PK_TAG


def tagged_sponge(cs: ConstraintSystem, inputs: Sequence[LinearCombination], tag: int, *, outputs: int = 1) -> list[LinearCombination]:
    """In-circuit :func:`zkproofs.settlement.notes.tagged_sponge`: one t = 3 permutation, at most 243 constraints
    (3 fewer per constant state element: the capacity and any zero padding)."""
    if not 1 <= len(inputs) <= 2 or not 1 <= outputs <= 2 or not 0 < tag < 1 << 64:
        raise ValueError("tagged_sponge absorbs 1 or 2 elements, squeezes 1 or 2, with a tag in [1, 2^64)")
    state = [cs.constant((len(inputs) << 64) + tag), *inputs, *[cs.constant(0)] * (2 - len(inputs))]
    return permutation(cs, state, poseidon_params(3))[1 : 1 + outputs]


def owner_keys(cs: ConstraintSystem, sk: LinearCombination) -> tuple[LinearCombination, LinearCombination]:
    """(nk, pk) derived from the spending key sk: (ak, nk) = P(KEYS, sk), pk = P(PK, ak, nk).

    Knowing a preimage sk of pk is what authorises a spend. Cost: 237 + 240 constraints.
    """
    with cs.scope("owner_keys"):
        ak, nk = tagged_sponge(cs, [sk], KEYS_TAG, outputs=2)
        (pk,) = tagged_sponge(cs, [ak, nk], PK_TAG)
    return nk, pk


def note_commitment(
    cs: ConstraintSystem,
    pk: LinearCombination,
    collateral: Sequence[LinearCombination],
    debt: Sequence[LinearCombination],
    salt: LinearCombination,
) -> LinearCombination:
    """Poseidon_t5([NOTE_TAG, A, pk, *collateral, *debt, salt]). No range checks (caller's job).

    Cost: 300 constraints per 4 inputs absorbed (ceil((2A + 4) / 4) permutations).
    """
    if len(collateral) != len(debt):
        raise ValueError("a note has equally many collateral and debt amounts")
    with cs.scope("note_commitment"):
        tag = [cs.constant(NOTE_TAG), cs.constant(len(collateral))]
        return poseidon_hash(cs, [*tag, pk, *collateral, *debt, salt], t=NOTE_HASH_T)


def nullifier(cs: ConstraintSystem, nk: LinearCombination, position: LinearCombination, commitment: LinearCombination) -> LinearCombination:
    """Poseidon_t5([NF_TAG, nk, position, commitment]). 300 constraints."""
    with cs.scope("nullifier"):
        return poseidon_hash(cs, [cs.constant(NF_TAG), nk, position, commitment], t=NOTE_HASH_T)
