"""Native hashing of the Merkle-sum liability tree: commitments, leaves, nodes, ranges, packing.

Merkle-sum tree with full sums (Hu, Zhang, Guo 2019, "Merkle^2" / the fix of
Maxwell's summation tree: a parent carries left + right, never max, and its
hash binds each child's full per-asset sums), multi-asset with debt as in Summa
(summa-solvency's ``merkle_sum_tree``) and DAPOL+ (Ji, Chalkias 2021) for the
padding. Knows nothing of constraints; :mod:`zkproofs.gadgets.merkle_sum`
mirrors it and a test holds the two together.

Layout (version 3, "packed", with pledge classes). Hashes are Poseidon sponges
(:func:`zkproofs.poseidon.poseidon_hash`) over the BLS12-381 scalar field r:

* id field      = SHA-512(b"zkproofs/account-id/v1" || utf8(id)) mod r
* salt          = HMAC-SHA512(tree_secret, b"salt/" || utf8(id)) mod r
* commitment    = Poseidon_t3([id field, salt])
* leaf          = Poseidon_t5([commitment, *pack_64([LEAF_TAG, e_1..e_A, d_1..d_A])])  (no pledge classes)
* leaf          = Poseidon_t5([commitment, pledge digest, *pack_64([LEAF_TAG, e_1..e_A, d_1..d_A, p_1..p_KA])])
* pledge digest = SHA-512(b"zkproofs/pledge-classes/v1" || "\n".join(class names)) mod r
* node          = Poseidon_t5([h_L, h_R, *pack_W([NODE_TAG, E_L, D_L, E_R, D_R])])

where e/d are a leaf's per-asset equities and debts, p its pledged amounts
(K pledge classes x A assets, class-major; K = 0, so none, unless the input
distinguishes pledged collateral: :class:`~zkproofs.accounts.model.Account`),
E/D a child's per-asset sums (A each), and ``pack_w(values)`` puts ``S = 254 // w`` values of w bits in
each field element, little-endian (value j of an element is multiplied by
2^(w j)); the last element is zero-filled. Leaf amounts use w = 64; node sums
w = W = 64 + depth, the bit length of the root's sums, so every sum at any
height fits its slot. Packing is injective because every slot value is
range-checked below 2^w (here and in the circuit) and S w <= 254 < log2 r.
Pledged amounts are committed, not summed: node sums are equities and debts
only, so a node is the same with or without pledge classes. Every leaf of a
tree with pledge classes hashes their digest, so the root hash binds the
classes' names, order and number (the root file lists them; a list relabelled
there gives other leaf hashes, and a class's amounts are valued by its name's
tiers): the amounts are bound by position, the positions by the digest.
A leaf with pledge classes has at least one input more than one without
(the digest), so the two never hash alike.
The tags (LEAF_TAG = 1, NODE_TAG = 2) occupy slot 0; leaf and node inputs also
mostly differ in length (4 and 8 inputs at 4 assets and depth <= 20), which the
sponge's capacity (length * 2^64) separates; where they coincide (8 and 8 with 2
pledge classes) their third inputs differ in the low 64 bits (LEAF_TAG = 1 in a
leaf's first packed element, NODE_TAG = 2 in a node's), so a leaf and a node hash
alike only by a Poseidon collision.

Why this layout: the version-1 node hashed [tag, h_L, 2A sums, h_R, 2A sums]
one per field element: 19 inputs, 5 permutations at 4 assets, a leaf 3, plus
the commitment: 9 permutations per user and about 1,500 constraints of
Poseidon per level. Sums are below 2^(64 + depth) and range-checked anyway, so
three (depth <= 20) or two (depth <= 63) fit one field element: a 4-asset node
is 8 inputs (depth <= 20, 2 permutations) or 11 inputs (3 permutations), a leaf
4 inputs (1 permutation), so a user costs 4 (5 at depth > 20) permutations
instead of 9, and a circuit level about 600 constraints of Poseidon instead of
1,500. Packing is linear, so it is free in the circuit, and the sum of two
packed children is the packed sum of the parent (no slot overflows below the
root). t = 5 (rate 4) was kept over t = 3: it absorbs twice the inputs per
permutation for 1.2 times the constraints; wider Poseidon instances have no
published vectors for this field (:mod:`zkproofs.poseidon.params`), and a
4-ary tree saves only a third of the node hashes at the price of 3 siblings and
a 4-way selection per level in the circuit.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Sequence, Union

from zkproofs import kernels
from zkproofs.accounts.model import canonical_id
from zkproofs.errors import MalformedInput
from zkproofs.field import R
from zkproofs.poseidon import poseidon_hash, poseidon_hash_many
from zkproofs.poseidon.optimized import optimized_constants
from zkproofs.poseidon.params import ALPHA, ROUNDS, poseidon_params

LEAF_TAG = 1
"""Domain tag: first input of every leaf hash."""
NODE_TAG = 2
"""Domain tag: first input of every internal-node hash."""
SUBTREE_TAG = 3
"""Domain tag: first packed slot of a subtree commitment (:func:`subtree_commitment`)."""
TREE_HASH_T = 5
"""Poseidon width of leaf and node hashes."""
COMMITMENT_T = 3
"""Poseidon width of the user commitment."""
AMOUNT_BITS = 64
"""Every leaf equity and debt is < 2^64; a sum at height k is < 2^(64 + k)."""
MAX_ASSETS = kernels.MAX_SUMS // 2
"""Most assets a tree takes: each record carries an equity and a debt sum per asset (2048)."""
MAX_LEAF_AMOUNTS = kernels.MAX_LEAF_AMOUNTS
"""Most amounts a leaf commits: (2 + K) A <= 8192 for K pledge classes."""
MAX_DEPTH = 64
"""Deepest tree supported (2^64 leaves); a sum slot of 64 + depth <= 128 bits fits a field element."""
PACK_BITS = 254
"""Bits of a packed field element: 2^254 < r, so a packed element is canonical and packing injective."""
LAYOUT_VERSION = 3
"""Version of the leaf and node encodings above (1: one sum per field element; 2: packed, no pledge classes)."""
ID_DOMAIN = b"zkproofs/account-id/v1"
PLEDGE_DOMAIN = b"zkproofs/pledge-classes/v1"
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


class _Hmac:
    """HMAC (RFC 2104) under one key with the key's two padded blocks hashed once: each message
    then costs a copy of each state and the message's own blocks. The same bytes as
    ``hmac.digest(key, message, hash)`` (tests hold them equal), about 2.5x faster for the
    short messages of a tree (0.8 against 2.1 us for SHA-256: hmac.digest sets the key up in
    OpenSSL on every call)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, constructor: Callable[..., Any]):
        block = constructor().block_size
        padded = int.from_bytes((constructor(key).digest() if len(key) > block else key).ljust(block, b"\0"), "big")
        self._inner = constructor((padded ^ int.from_bytes(b"\x36" * block, "big")).to_bytes(block, "big"))
        self._outer = constructor((padded ^ int.from_bytes(b"\x5c" * block, "big")).to_bytes(block, "big"))

    def __call__(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class TreeKeys:
    """The keyed hashes of one tree secret (salts, padding, leaf order), set up once for many
    calls: a build's worker makes one per subtree. Every function of this module that takes
    a ``secret`` takes a TreeKeys as well (:data:`Secret`)."""

    __slots__ = ("sha256", "sha512")

    def __init__(self, secret: bytes):
        self.sha256 = _Hmac(secret, hashlib.sha256)
        """HMAC-SHA256 under the secret."""
        self.sha512 = _Hmac(secret, hashlib.sha512)
        """HMAC-SHA512 under the secret."""


Secret = Union[bytes, TreeKeys]
"""A tree secret (32 bytes), or its :class:`TreeKeys`."""


def tree_keys(secret: Secret) -> TreeKeys:
    """``secret``'s :class:`TreeKeys` (itself if it is one)."""
    return secret if isinstance(secret, TreeKeys) else TreeKeys(secret)


def _hmac_field(secret: Secret, message: bytes) -> int:
    return int.from_bytes(tree_keys(secret).sha512(message), "big") % R


def id_bytes(account_id: str) -> bytes:
    """UTF-8 of the account id's canonical (NFC) form; TreeError for a string that has none
    (an unpaired surrogate, which a JSON ``\\ud800`` escape can produce)."""
    try:
        return canonical_id(account_id).encode("utf-8")
    except UnicodeEncodeError:
        raise TreeError(f"account id {account_id!r} is not valid Unicode text (unpaired surrogate)") from None


def id_field(account_id: str) -> int:
    """Hash-to-field of an account id: SHA-512(ID_DOMAIN || utf8(id)) mod r (bias < 2^-257)."""
    return id_field_of(id_bytes(account_id))


def id_field_of(canonical: bytes) -> int:
    """:func:`id_field` of an id already turned into :func:`id_bytes` (a build does that once per account)."""
    return int.from_bytes(hashlib.sha512(ID_DOMAIN + canonical).digest(), "big") % R


def user_salt(secret: Secret, account_id: str) -> int:
    """The user's secret salt: HMAC-SHA512(secret, b"salt/" || utf8(id)) mod r."""
    return user_salt_of(secret, id_bytes(account_id))


def user_salt_of(secret: Secret, canonical: bytes) -> int:
    """:func:`user_salt` of an id already turned into :func:`id_bytes`."""
    return _hmac_field(secret, b"salt/" + canonical)


def commitment_inputs(secret: Secret, account_id: str) -> tuple[int, int]:
    """(:func:`id_field`, :func:`user_salt`) of an account, the inputs of its commitment, its id
    encoded once. TreeError as :func:`id_bytes`."""
    canonical = id_bytes(account_id)
    return id_field_of(canonical), user_salt_of(secret, canonical)


def pad_id_field(secret: Secret, index: int) -> int:
    """Id field of padding leaf number ``index`` (0-based among the pads): an HMAC output."""
    return _hmac_field(secret, PAD_ID_DOMAIN + str(index).encode())


def pad_salt(secret: Secret, index: int) -> int:
    """Salt of padding leaf number ``index``: HMAC-SHA512(secret, b"pad/" || index) mod r."""
    return _hmac_field(secret, b"pad/" + str(index).encode())


def order_key(secret: Secret, label: bytes) -> bytes:
    """Sort key of a leaf in the keyed shuffle: HMAC-SHA256(secret, b"order/" || label).

    Sorting leaves by this key is a permutation chosen by the secret, so a leaf's
    position leaks nothing about the id or the input order. Labels: b"id/" + id
    for accounts, b"pad/" + index for padding.
    """
    return tree_keys(secret).sha256(b"order/" + label)


def position_candidate(secret: Secret, account_id: str, attempt: int, height: int) -> int:
    """Candidate leaf of an account in a fixed-height tree (DAPOL+ NDM-SMT, Ji and Chalkias 2021):
    HMAC-SHA256(secret, b"pos/" || attempt || b"/" || utf8(id)) mod 2^height; attempt 0, 1, ...
    until a free leaf is found (collisions)."""
    digest = tree_keys(secret).sha256(b"pos/" + str(attempt).encode() + b"/" + id_bytes(account_id))
    return int.from_bytes(digest, "big") % (1 << height)


def pad_node_hash(secret: Secret, height: int, idx: int) -> int:
    """Hash of the padding node (height, idx) of a fixed-height tree: HMAC-SHA512(secret,
    b"pad-node/" || height || b"/" || idx) mod r, with zero sums. Without the secret it
    cannot be told from a Poseidon output, so a padding node looks like a real node whose
    subtree holds only zero balances (DAPOL+, "padding nodes")."""
    return _hmac_field(secret, f"pad-node/{height}/{idx}".encode())


def commitment(id_value: int, salt: int) -> int:
    """User commitment Poseidon_t3([id field, salt]) (hides the id from the tree)."""
    return poseidon_hash([id_value, salt], t=COMMITMENT_T)


def commitments(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """:func:`commitment` of each (id field, salt): one batched Poseidon call, n t = 3 permutations."""
    return poseidon_hash_many([list(p) for p in pairs], t=COMMITMENT_T)


def user_commitment(account_id: str, salt: int) -> int:
    """:func:`commitment` of the hashed id ``account_id`` and ``salt``."""
    return commitment(id_field(account_id), salt)


def slot_bits(depth: int) -> int:
    """W = 64 + depth: slot width of node sums in a tree of ``depth`` (the root sums' bound)."""
    return AMOUNT_BITS + depth


def pack(values: Sequence[int], bits: int) -> list[int]:
    """``values`` (each < 2^bits, not checked here) packed 254 // bits per field element, little-endian.

    Raises ValueError if bits > 254.

    Element j holds values[j S .. j S + S) as sum_i values[j S + i] * 2^(bits i); the
    last element is zero-filled. O(len(values)).
    """
    per = PACK_BITS // bits
    if per < 1:
        raise ValueError(f"cannot pack {bits}-bit values into {PACK_BITS}-bit field elements")
    out = []
    for start in range(0, len(values), per):
        acc = 0
        for i, v in enumerate(values[start : start + per]):
            acc |= v << (bits * i)
        out.append(acc)
    return out


def pledge_digest(pledges: Sequence[str]) -> int:
    """The digest of a tree's pledge class names that its leaves hash: SHA-512(b"zkproofs/pledge-classes/v1"
    || "\n".join(names)) mod r (names as :func:`zkproofs.accounts.model.pledge_problem` allows: no newline)."""
    return int.from_bytes(hashlib.sha512(PLEDGE_DOMAIN + "\n".join(pledges).encode("ascii")).digest(), "big") % R


def leaf_prefix(pledges: Sequence[str]) -> list[int]:
    """What a leaf hashes between the commitment and the amounts: [] without pledge classes, else
    [:func:`pledge_digest`]."""
    return [pledge_digest(pledges)] if pledges else []


def leaf_inputs(commitment_value: int, amounts: Sequence[int], prefix: Sequence[int] = ()) -> list[int]:
    """[commitment, *prefix, *pack_64([LEAF_TAG, *amounts])]: the sponge inputs of a leaf (amounts:
    equities, debts, then the pledged amounts; ``prefix``: :func:`leaf_prefix` of the tree's pledge classes)."""
    return [commitment_value, *prefix, *pack([LEAF_TAG, *amounts], AMOUNT_BITS)]


def node_inputs(left_hash: int, left_sums: Sequence[int], right_hash: int, right_sums: Sequence[int], depth: int) -> list[int]:
    """[h_L, h_R, *pack_W([NODE_TAG, *left_sums, *right_sums])], W = 64 + depth: a node's sponge inputs."""
    return [left_hash, right_hash, *pack([NODE_TAG, *left_sums, *right_sums], slot_bits(depth))]


def leaf_hash(commitment_value: int, equities: Sequence[int], debts: Sequence[int], pledged: Sequence[int] = (),
              pledges: Sequence[str] = ()) -> int:
    """Poseidon_t5(:func:`leaf_inputs`) of equities, debts and the pledged amounts (K x A, class-major)
    of the pledge classes ``pledges`` (none in a tree without pledge classes). Amounts must be in
    [0, 2^64) and there must be len(pledges) x A pledged amounts (TreeError otherwise)."""
    if len(pledged) != len(pledges) * len(equities):
        raise TreeError(f"leaf: {len(pledged)} pledged amounts for {len(pledges)} pledge classes and {len(equities)} assets")
    check_sums((*equities, *debts, *pledged), 0, "leaf")
    return poseidon_hash(leaf_inputs(commitment_value, (*equities, *debts, *pledged), leaf_prefix(pledges)), t=TREE_HASH_T)


def leaf_hashes(leaves: Sequence[tuple[int, Sequence[int]]], pledges: Sequence[str] = ()) -> list[int]:
    """:func:`leaf_hash` of each (commitment, amounts) of a tree with the pledge classes ``pledges``, in one
    batched Poseidon call (ranges and lengths: the caller's).

    O(n) t = 5 permutations: ceil((1 + min(K, 1) + ceil((1 + (2 + K) A) / 3)) / 4) each (one at 4
    assets without pledge classes, three with Binance's three).
    """
    prefix = leaf_prefix(pledges)  # one digest for the whole batch
    return poseidon_hash_many([leaf_inputs(c, amounts, prefix) for c, amounts in leaves], t=TREE_HASH_T)


def node_hash(left_hash: int, left_sums: Sequence[int], right_hash: int, right_sums: Sequence[int], *, depth: int) -> int:
    """Poseidon_t5(:func:`node_inputs`) of a node in a tree of ``depth``.

    ``*_sums`` are a child's per-asset equity sums followed by its debt sums
    (length 2A), each in [0, 2^(64 + depth)) (TreeError otherwise).
    """
    if len(left_sums) != len(right_sums):
        raise TreeError("node hash: left and right children have different numbers of sums")
    check_sums((*left_sums, *right_sums), depth, "node")
    return poseidon_hash(node_inputs(left_hash, left_sums, right_hash, right_sums, depth), t=TREE_HASH_T)


def node_hashes(pairs: Sequence[tuple[int, Sequence[int], int, Sequence[int]]], depth: int) -> list[int]:
    """:func:`node_hash` of each (h_L, sums_L, h_R, sums_R) in one batched call (ranges: the caller's).

    O(n) t = 5 permutations: ceil((2 + ceil((1 + 4A) / S)) / 4) each, S = 254 // (64 + depth).
    """
    return poseidon_hash_many([node_inputs(lh, ls, rh, rs, depth) for lh, ls, rh, rs in pairs], t=TREE_HASH_T)


def subtree_commitment(node_hash_value: int, sums: Sequence[int], blinding: int, *, depth: int) -> int:
    """Hiding commitment to a subtree's root (hash and 2A sums) in a tree of ``depth``:
    Poseidon_t5([hash, *pack_W([SUBTREE_TAG, *sums]), blinding]), W = 64 + depth.

    What a batch or aggregation proof of the global solvency proof outputs instead of
    the subtree's sums (:mod:`zkproofs.solvency`): binding as Poseidon is collision
    resistant (with every sum < 2^W, as the proofs that open it check), hiding while
    ``blinding`` is uniform and secret. TreeError for a sum out of range. Two
    permutations at 4 assets and depth <= 20.
    """
    check_sums(sums, depth, "subtree commitment")
    return poseidon_hash([node_hash_value, *pack([SUBTREE_TAG, *sums], slot_bits(depth)), blinding], t=TREE_HASH_T)


def record_sum_bytes(depth: int) -> int:
    """Bytes per sum in a stored node record of a tree of ``depth``: ceil((64 + depth) / 8)."""
    return (AMOUNT_BITS + depth + 7) // 8


def leaf_records(keys: Sequence[tuple[int, int]], amounts: Sequence[Sequence[int]], depth: int, n_sums: int,
                 pledges: Sequence[str] = ()) -> bytes:
    """Stored records (:class:`zkproofs.tree.store.NodeCodec`) of the leaves of users with
    keys (id field, salt) and amounts ((2 + K) A each: equities, debts, pledged amounts, each
    < 2^64), in one kernel call (:func:`zkproofs.kernels.merkle_sum_leaves`): the commitment,
    the leaf hash of :func:`leaf_hash` (with the digest of ``pledges``, the tree's pledge classes)
    and the first ``n_sums`` = 2A amounts as sums, with no Python object per leaf.

    Raises ValueError (NonCanonicalFieldElement for a key) as the kernel does; the caller
    has checked the accounts. O(n) permutations (2 per user at 4 assets, 4 with 3 pledge classes).
    """
    n_amounts = len(amounts[0]) if amounts else n_sums
    return kernels.merkle_sum_leaves(keys, amounts, _opt(COMMITMENT_T), _opt(TREE_HASH_T), n_amounts, n_sums, record_sum_bytes(depth), LEAF_TAG,
                                     leaf_prefix(pledges))


def parent_records(records: bytes, depth: int, n_sums: int) -> bytes:
    """The records of the parents of a whole level of records (pairs left, right in order)
    in one kernel call (:func:`zkproofs.kernels.merkle_sum_level`): :func:`node_hash` and
    the summed sums of each pair, with no Python object per node.

    Raises ValueError for a child sum not below 2^(64 + depth), a child hash not < r or a
    length that is not whole pairs. O(m) permutations (2 per node at 4 assets and depth <= 20).
    """
    return kernels.merkle_sum_level(records, _opt(TREE_HASH_T), n_sums, record_sum_bytes(depth), slot_bits(depth), NODE_TAG)


def _opt(t: int):
    return optimized_constants(poseidon_params(t))


def prepare_hashes() -> None:
    """Derive the tree's Poseidon constants and the kernels' copy of them now (cached per process):
    a process pool forked after this inherits them, where each worker took about 0.2 s over its
    first task deriving them (2^16 users hash in about 3 s on two cores). O(1)."""
    for t in (COMMITMENT_T, TREE_HASH_T):
        kernels.permute_many([[0] * t], _opt(t))


def sum_bound(height: int) -> int:
    """Exclusive upper bound of any sum at ``height`` (leaves: 0): 2^(64 + height)."""
    return 1 << (AMOUNT_BITS + height)


def check_sums(sums: Sequence[int], height: int, where: str) -> None:
    """Raise TreeError unless every entry is an int in [0, 2^(64 + height))."""
    bound = sum_bound(height)
    if all(type(v) is int for v in sums) and (not sums or (min(sums) >= 0 and max(sums) < bound)):
        return  # the common case, without a Python step per value
    for i, value in enumerate(sums):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < bound:
            raise TreeError(f"{where}: sum {i} = {value!r} is not in [0, 2^{AMOUNT_BITS + height})")


def hash_parameters() -> dict:
    """The hash parameters a published root carries (what a verifier must reproduce).

    Built from the instance table, without generating the constants (a verifier needs this at once)."""
    return {
        "hash": "poseidon",
        "field": f"BLS12-381 scalar field r=0x{R:064x}",
        "alpha": ALPHA,
        "tree_t": TREE_HASH_T,
        "tree_r_f": ROUNDS[TREE_HASH_T][0],
        "tree_r_p": ROUNDS[TREE_HASH_T][1],
        "commitment_t": COMMITMENT_T,
        "commitment_r_f": ROUNDS[COMMITMENT_T][0],
        "commitment_r_p": ROUNDS[COMMITMENT_T][1],
        "sponge": "capacity = len(inputs) * 2^64, rate t-1, output state[1]",
        "layout": LAYOUT_VERSION,
        "leaf": "[commitment, *pack_64([leaf_tag, *equities, *debts])] without pledge classes, else "
                "[commitment, pledge_digest, *pack_64([leaf_tag, *equities, *debts, *pledged])], pledged: classes x assets, class-major",
        "pledge_digest": "sha512(zkproofs/pledge-classes/v1 || newline-joined class names) mod r",
        "node": "[h_L, h_R, *pack_W([node_tag, *sums_L, *sums_R])], W = amount_bits + depth",
        "pack": "254 // w values of w bits per field element, little-endian, last zero-filled",
        "leaf_tag": LEAF_TAG,
        "node_tag": NODE_TAG,
        "id_hash": "sha512(zkproofs/account-id/v1 || id) mod r",
        "amount_bits": AMOUNT_BITS,
    }
