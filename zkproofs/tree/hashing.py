"""Native hashing of the Merkle-sum liability tree: commitments, leaves, nodes, ranges.

Merkle-sum tree with full sums (Hu, Zhang, Guo 2019, "Merkle^2" / the fix of
Maxwell's summation tree: a parent carries left + right, never max), multi-asset
with debt as in Summa (summa-solvency's ``merkle_sum_tree``) and DAPOL+
(Ji, Chalkias 2021) for the padding. Knows nothing of constraints;
:mod:`zkproofs.gadgets.merkle_sum` mirrors it and a test holds the two together.

Hashes are Poseidon sponges (:func:`zkproofs.poseidon.poseidon_hash`) over the
BLS12-381 scalar field:

* id field      = SHA-512(b"zkproofs/account-id/v1" || utf8(id)) mod r
* salt          = HMAC-SHA512(tree_secret, b"salt/" || utf8(id)) mod r
* commitment    = Poseidon_t3([id field, salt])
* leaf          = Poseidon_t5([LEAF_TAG, commitment, e_1..e_A, d_1..d_A])
* node          = Poseidon_t5([NODE_TAG, h_L, E_L, D_L, h_R, E_R, D_R])

where e/d are a leaf's per-asset equities and debts and E/D a child's per-asset
sums. The tags (LEAF_TAG = 1, NODE_TAG = 2) keep a leaf from passing as a node;
the sponge's capacity (input length * 2^64) separates them as well.
Padding leaves (zero balances) commit to a pad id field and a pad salt, both
HMAC outputs under the tree secret, so they look like real zero-balance leaves.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Sequence

from zkproofs.accounts.model import canonical_id
from zkproofs.errors import MalformedInput
from zkproofs.field import R
from zkproofs.poseidon import poseidon_hash, poseidon_params

LEAF_TAG = 1
"""Domain tag: first input of every leaf hash."""
NODE_TAG = 2
"""Domain tag: first input of every internal-node hash."""
TREE_HASH_T = 5
"""Poseidon width of leaf and node hashes."""
COMMITMENT_T = 3
"""Poseidon width of the user commitment."""
AMOUNT_BITS = 64
"""Every leaf equity and debt is < 2^64; a sum at height k is < 2^(64 + k)."""
MAX_DEPTH = 64
"""Deepest tree supported (2^64 leaves); keeps 64 + depth far below the field size."""
ID_DOMAIN = b"zkproofs/account-id/v1"
PAD_ID_DOMAIN = b"pad-id/"
SECRET_BYTES = 32


class TreeError(MalformedInput):
    """A tree, proof or root file that is inconsistent or out of range (names what and where)."""


def json_field(obj: Any, key: str, kind: type, where: str) -> Any:
    """``obj[key]`` if ``obj`` is a dict holding a ``kind`` there (bool is not an int); else TreeError naming ``where``."""
    if not isinstance(obj, dict) or key not in obj:
        raise TreeError(f"{where}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TreeError(f"{where}: field {key!r} must be {kind.__name__}")
    return value


def _hmac_field(secret: bytes, message: bytes) -> int:
    return int.from_bytes(hmac.new(secret, message, hashlib.sha512).digest(), "big") % R


def id_bytes(account_id: str) -> bytes:
    """UTF-8 of the account id's canonical (NFC) form; TreeError for a string that has none
    (an unpaired surrogate, which a JSON ``\\ud800`` escape can produce)."""
    try:
        return canonical_id(account_id).encode("utf-8")
    except UnicodeEncodeError:
        raise TreeError(f"account id {account_id!r} is not valid Unicode text (unpaired surrogate)") from None


def id_field(account_id: str) -> int:
    """Hash-to-field of an account id: SHA-512(ID_DOMAIN || utf8(id)) mod r (bias < 2^-257)."""
    return int.from_bytes(hashlib.sha512(ID_DOMAIN + id_bytes(account_id)).digest(), "big") % R


def user_salt(secret: bytes, account_id: str) -> int:
    """The user's secret salt: HMAC-SHA512(secret, b"salt/" || utf8(id)) mod r."""
    return _hmac_field(secret, b"salt/" + id_bytes(account_id))


def pad_id_field(secret: bytes, index: int) -> int:
    """Id field of padding leaf number ``index`` (0-based among the pads): an HMAC output."""
    return _hmac_field(secret, PAD_ID_DOMAIN + str(index).encode())


def pad_salt(secret: bytes, index: int) -> int:
    """Salt of padding leaf number ``index``: HMAC-SHA512(secret, b"pad/" || index) mod r."""
    return _hmac_field(secret, b"pad/" + str(index).encode())


def order_key(secret: bytes, label: bytes) -> bytes:
    """Sort key of a leaf in the keyed shuffle: HMAC-SHA256(secret, b"order/" || label).

    Sorting leaves by this key is a permutation chosen by the secret, so a leaf's
    position leaks nothing about the id or the input order. Labels: b"id/" + id
    for accounts, b"pad/" + index for padding.
    """
    return hmac.new(secret, b"order/" + label, hashlib.sha256).digest()


def commitment(id_value: int, salt: int) -> int:
    """User commitment Poseidon_t3([id field, salt]) (hides the id from the tree)."""
    return poseidon_hash([id_value, salt], t=COMMITMENT_T)


def user_commitment(account_id: str, salt: int) -> int:
    """:func:`commitment` of the hashed id ``account_id`` and ``salt``."""
    return commitment(id_field(account_id), salt)


def leaf_hash(commitment_value: int, equities: Sequence[int], debts: Sequence[int]) -> int:
    """Poseidon_t5([LEAF_TAG, commitment, *equities, *debts]). Amounts must be in [0, r)."""
    return poseidon_hash([LEAF_TAG, commitment_value, *equities, *debts], t=TREE_HASH_T)


def node_hash(left_hash: int, left_sums: Sequence[int], right_hash: int, right_sums: Sequence[int]) -> int:
    """Poseidon_t5([NODE_TAG, left_hash, *left_sums, right_hash, *right_sums]).

    ``*_sums`` are a child's per-asset equity sums followed by its debt sums (length 2A).
    """
    return poseidon_hash([NODE_TAG, left_hash, *left_sums, right_hash, *right_sums], t=TREE_HASH_T)


def sum_bound(height: int) -> int:
    """Exclusive upper bound of any sum at ``height`` (leaves: 0): 2^(64 + height)."""
    return 1 << (AMOUNT_BITS + height)


def check_sums(sums: Sequence[int], height: int, where: str) -> None:
    """Raise TreeError unless every entry is an int in [0, 2^(64 + height))."""
    bound = sum_bound(height)
    for i, value in enumerate(sums):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < bound:
            raise TreeError(f"{where}: sum {i} = {value!r} is not in [0, 2^{AMOUNT_BITS + height})")


def hash_parameters() -> dict:
    """The hash parameters a published root carries (what a verifier must reproduce)."""
    tree = poseidon_params(TREE_HASH_T)
    comm = poseidon_params(COMMITMENT_T)
    return {
        "hash": "poseidon",
        "field": f"BLS12-381 scalar field r=0x{R:064x}",
        "alpha": tree.alpha,
        "tree_t": TREE_HASH_T,
        "tree_r_f": tree.r_f,
        "tree_r_p": tree.r_p,
        "commitment_t": COMMITMENT_T,
        "commitment_r_f": comm.r_f,
        "commitment_r_p": comm.r_p,
        "sponge": "capacity = len(inputs) * 2^64, rate t-1, output state[1]",
        "leaf_tag": LEAF_TAG,
        "node_tag": NODE_TAG,
        "id_hash": "sha512(zkproofs/account-id/v1 || id) mod r",
        "amount_bits": AMOUNT_BITS,
    }
