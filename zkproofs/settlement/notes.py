"""Margin notes, owner keys and nullifiers (native; the gadgets are :mod:`zkproofs.gadgets.notes`).

The model and the names are Zcash Sapling's (Zcash protocol specification,
section 3.2 "Notes", 4.2.2 "Sapling key components", 4.16 "Note commitments and
nullifiers") with Poseidon (Grassi et al. 2021) in place of Pedersen/BLAKE2s:

* **spending key** ``sk``: a random field element, held by the owner only;
* **spend authority** ``ak`` and **nullifier key** ``nk``: the two rate outputs
  of one t = 3 permutation, ``(ak, nk) = P([2^64 + KEYS_TAG, sk, 0])[1:3]`` (a
  sponge squeezing two elements); the nullifier key can be handed to a
  liquidator without giving away the power to spend (Sapling's ``nk`` beside ``ak``);
* **public key** ``pk = P([2 * 2^64 + PK_TAG, ak, nk])[1]`` (t = 3): what a note names as owner;
* **note** over the venue's A assets: (pk, collateral[A], debt[A], salt),
  every amount an integer in [0, 2^64) of 10^-8 units of its asset;
* **note commitment** ``cm = Poseidon_t5([NOTE_TAG, A, pk, *collateral, *debt, salt])``
  (A in the preimage: a commitment opens for one asset count only);
* **nullifier** of the note at position ``pos`` of the note commitment tree:
  ``nf = Poseidon_t5([NF_TAG, nk, pos, cm])``: one per note, and unlinkable to
  ``cm`` without ``nk`` (Sapling's PRF^nf over nk and the positioned commitment).

Every hash above is a sponge of fixed length with a distinct tag, so values of
one kind never open as another. The key hashes carry their tag in the capacity
element (len * 2^64 + tag, tag in [1, 2^64): the Poseidon paper's domain
separation, section 4.2), so each costs one permutation in-circuit; untagged
sponges (:func:`zkproofs.poseidon.poseidon_hash`) have capacity len * 2^64 and
never meet them. Errors: MalformedInput naming the field.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Sequence

from zkproofs.errors import MalformedInput
from zkproofs.field import R
from zkproofs.poseidon import permute, poseidon_hash, poseidon_params

AMOUNT_BITS = 64
"""Every note amount is in [0, 2^64) units of 10^-8 of its asset."""
KEYS_TAG = 0x7A6B2D6B657973  # "zk-keys"
PK_TAG = 0x7A6B2D706B  # "zk-pk"
NOTE_TAG = 0x7A6B2D6E6F7465  # "zk-note"
NF_TAG = 0x7A6B2D6E66  # "zk-nf"
LIQ_SALT_TAG = 0x7A6B2D6C6971  # "zk-liq"
NOTE_HASH_T = 5
"""Poseidon width of the public key, note commitment and nullifier hashes."""


def random_scalar() -> int:
    """A uniform nonzero field element from the OS CSPRNG (keys and salts)."""
    return secrets.randbelow(R - 1) + 1


@dataclass(frozen=True)
class OwnerKeys:
    """The key components derived from a spending key (see the module docstring).

    ``sk`` must never be printed or logged: ``repr`` hides it.
    """

    sk: int
    ak: int
    nk: int
    pk: int

    @classmethod
    def from_spending_key(cls, sk: int) -> "OwnerKeys":
        """Derive ak, nk and pk. MalformedInput unless sk is in [1, r). Two t = 3 permutations."""
        if isinstance(sk, bool) or not isinstance(sk, int) or not 0 < sk < R:
            raise MalformedInput("spending key: expected a field element in [1, r)")
        ak, nk = tagged_sponge([sk], KEYS_TAG, outputs=2)
        return cls(sk=sk, ak=ak, nk=nk, pk=public_key(ak, nk))

    @classmethod
    def generate(cls) -> "OwnerKeys":
        return cls.from_spending_key(random_scalar())

    def __repr__(self) -> str:
        return f"OwnerKeys(pk={self.pk}, sk=<hidden>)"


def tagged_sponge(inputs: Sequence[int], tag: int, *, outputs: int = 1) -> list[int]:
    """One t = 3 permutation of [len(inputs) * 2^64 + tag, *inputs, 0-padding]; its first ``outputs`` rate elements.

    At most 2 inputs and 2 outputs (one absorb, one squeeze); tag in [1, 2^64)
    (module docstring). Inputs must be field elements (the callers' types ensure it).
    """
    if not 1 <= len(inputs) <= 2 or not 1 <= outputs <= 2 or not 0 < tag < 1 << 64:
        raise ValueError("tagged_sponge absorbs 1 or 2 elements, squeezes 1 or 2, with a tag in [1, 2^64)")
    state = permute([(len(inputs) << 64) + tag, *inputs, *[0] * (2 - len(inputs))], poseidon_params(3))
    return state[1 : 1 + outputs]


def public_key(ak: int, nk: int) -> int:
    """pk = P([2 * 2^64 + PK_TAG, ak, nk])[1] (:func:`tagged_sponge`)."""
    return tagged_sponge([ak, nk], PK_TAG)[0]


def _check_amounts(values: Sequence[int], what: str) -> tuple[int, ...]:
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << AMOUNT_BITS:
            raise MalformedInput(f"{what}[{i}]: {v!r} is not an amount in [0, 2^64)")
    return tuple(values)


@dataclass(frozen=True)
class Note:
    """A margin account's opening: owner public key, per-asset amounts (10^-8 units), salt.

    ``collateral`` and ``debt`` follow the venue's asset order and have the same
    length A. MalformedInput for an amount outside [0, 2^64) or unequal lengths.
    """

    pk: int
    collateral: tuple[int, ...]
    debt: tuple[int, ...]
    salt: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "collateral", _check_amounts(self.collateral, "collateral"))
        object.__setattr__(self, "debt", _check_amounts(self.debt, "debt"))
        if len(self.collateral) != len(self.debt) or not self.collateral:
            raise MalformedInput("a note needs equally many (>= 1) collateral and debt amounts")
        for name in ("pk", "salt"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
                raise MalformedInput(f"note {name}: not a field element")

    @property
    def assets(self) -> int:
        return len(self.collateral)

    def commitment(self) -> int:
        """cm = Poseidon_t5([NOTE_TAG, A, pk, *collateral, *debt, salt]). O(A) permutations."""
        return note_commitment(self.pk, self.collateral, self.debt, self.salt)

    def apply(self, collateral_delta: Sequence[int], debt_delta: Sequence[int], salt: int) -> "Note":
        """The note old + delta with a fresh salt; MalformedInput if an amount leaves [0, 2^64)."""
        if len(collateral_delta) != self.assets or len(debt_delta) != self.assets:
            raise MalformedInput(f"a delta needs {self.assets} collateral and {self.assets} debt entries")
        return Note(
            pk=self.pk,
            collateral=tuple(a + d for a, d in zip(self.collateral, collateral_delta)),
            debt=tuple(a + d for a, d in zip(self.debt, debt_delta)),
            salt=salt,
        )

    @classmethod
    def empty(cls, pk: int, assets: int) -> "Note":
        """The all-zero note of ``pk`` (what a first deposit adds its delta to); salt 0."""
        return cls(pk=pk, collateral=(0,) * assets, debt=(0,) * assets, salt=0)


def note_commitment(pk: int, collateral: Sequence[int], debt: Sequence[int], salt: int) -> int:
    """The note commitment of the module docstring (no range checks: :class:`Note` makes them)."""
    return poseidon_hash([NOTE_TAG, len(collateral), pk, *collateral, *debt, salt], t=NOTE_HASH_T)


def liquidation_salt(nk: int, nullifier_value: int) -> int:
    """The salt of the note a liquidation leaves its owner: P([2 * 2^64 + LIQ_SALT_TAG, nk, nf])[1]
    (:func:`tagged_sponge`, t = 3). The owner, who holds nk, recomputes it from the liquidation's public
    nullifier and so can open (and spend) the remainder; without nk it stays hiding."""
    return tagged_sponge([nk, nullifier_value], LIQ_SALT_TAG)[0]


def nullifier(nk: int, position: int, commitment: int) -> int:
    """nf = Poseidon_t5([NF_TAG, nk, position, commitment]): the note at ``position`` spent."""
    return poseidon_hash([NF_TAG, nk, position, commitment], t=NOTE_HASH_T)
