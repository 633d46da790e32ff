"""Note gadgets: owner keys, note commitment and nullifier in-circuit.

Mirror :mod:`zkproofs.settlement.notes` (same tags, same Poseidon widths and
input order; Zcash protocol specification, sections 4.2.2 and 4.16, with
Poseidon, Grassi et al. 2021). A test holds each gadget against the native
function.
"""

from __future__ import annotations

from typing import Sequence

from zkproofs.gadgets.poseidon import poseidon_hash
from zkproofs.r1cs import ConstraintSystem, LinearCombination
from zkproofs.settlement.notes import AK_TAG, NF_TAG, NK_TAG, NOTE_HASH_T, NOTE_TAG, PK_TAG


def owner_keys(cs: ConstraintSystem, sk: LinearCombination) -> tuple[LinearCombination, LinearCombination]:
    """(nk, pk) derived from the spending key sk: ak = H(AK, sk), nk = H(NK, sk), pk = H5(PK, ak, nk).

    Knowing a preimage sk of pk is what authorises a spend. Cost: 2 x 240 + 300 constraints.
    """
    with cs.scope("owner_keys"):
        ak = poseidon_hash(cs, [cs.constant(AK_TAG), sk])
        nk = poseidon_hash(cs, [cs.constant(NK_TAG), sk])
        pk = poseidon_hash(cs, [cs.constant(PK_TAG), ak, nk], t=NOTE_HASH_T)
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
