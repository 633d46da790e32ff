"""Notes, owner keys and nullifiers: native values, gadgets held against them, and domain checks."""

from __future__ import annotations

import pytest

from zkproofs.errors import MalformedInput
from zkproofs.poseidon import poseidon_hash
from zkproofs.r1cs import ConstraintSystem
from zkproofs.settlement.notes import KEYS_TAG, PK_TAG, Note, OwnerKeys, note_commitment, nullifier, public_key, tagged_sponge
from zkproofs.gadgets import notes as gadgets  # after zkproofs.settlement: importing the gadgets first is an import cycle


def test_keys_are_deterministic_distinct_and_hide_the_spending_key():
    keys = OwnerKeys.from_spending_key(123456789)
    assert keys == OwnerKeys.from_spending_key(123456789)
    assert len({keys.sk, keys.ak, keys.nk, keys.pk}) == 4
    assert keys.pk == public_key(keys.ak, keys.nk)
    assert "123456789" not in repr(keys)
    with pytest.raises(MalformedInput):
        OwnerKeys.from_spending_key(0)


def test_tagged_sponges_are_separated_from_each_other_and_from_untagged_hashes():
    ak, nk = tagged_sponge([5], KEYS_TAG, outputs=2)
    assert len({ak, nk, tagged_sponge([5], PK_TAG)[0], tagged_sponge([5, 0], KEYS_TAG)[0], poseidon_hash([5])}) == 5
    assert public_key(6, 7) not in (poseidon_hash([6, 7]), public_key(7, 6))
    for bad in (([], KEYS_TAG), ([1, 2, 3], KEYS_TAG), ([1], 0), ([1], 1 << 64)):
        with pytest.raises(ValueError):
            tagged_sponge(*bad)


def test_note_domains():
    with pytest.raises(MalformedInput, match=r"collateral\[0\]"):
        Note(pk=1, collateral=(1 << 64,), debt=(0,), salt=1)
    with pytest.raises(MalformedInput, match=r"debt\[0\]"):
        Note(pk=1, collateral=(0,), debt=(-1,), salt=1)
    with pytest.raises(MalformedInput, match="equally many"):
        Note(pk=1, collateral=(0, 1), debt=(0,), salt=1)


def test_commitment_binds_owner_amounts_order_salt_and_asset_count():
    base = note_commitment(7, [1, 2], [0, 0], 9)
    assert len({base, note_commitment(8, [1, 2], [0, 0], 9), note_commitment(7, [2, 1], [0, 0], 9),
                note_commitment(7, [1, 2], [0, 0], 10), note_commitment(7, [1, 0], [2, 0], 9),
                note_commitment(7, [1, 2, 0], [0, 0, 0], 9)}) == 6


def test_nullifier_depends_on_key_position_and_commitment():
    nfs = {nullifier(1, 0, 5), nullifier(2, 0, 5), nullifier(1, 1, 5), nullifier(1, 0, 6)}
    assert len(nfs) == 4


def test_gadgets_mirror_the_native_functions():
    keys = OwnerKeys.from_spending_key(42)
    note = Note(pk=keys.pk, collateral=(5, 6, 7), debt=(1, 0, 2), salt=99)
    cs = ConstraintSystem({"sk": 42})
    sk = cs.private_input("sk")
    nk, pk = gadgets.owner_keys(cs, sk)
    assert cs.num_constraints == 237 + 240  # one permutation each, constant capacity and padding free
    cm = gadgets.note_commitment(cs, pk, [cs.constant(x) for x in note.collateral], [cs.constant(x) for x in note.debt], cs.constant(99))
    nf = gadgets.nullifier(cs, nk, cs.constant(3), cm)
    assert (nk.value, pk.value, cm.value) == (keys.nk, keys.pk, note.commitment())
    assert nf.value == nullifier(keys.nk, 3, note.commitment())
    r1cs, w = cs.finish()
    r1cs.check(w)
