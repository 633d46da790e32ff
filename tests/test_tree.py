"""Native Merkle-sum tree: build, storage, plain inclusion proofs (and their forgeries), audit."""

import dataclasses
import json
import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkproofs.accounts import load_accounts
from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.field import R
from zkproofs.poseidon import poseidon_hash
from zkproofs.tree import (
    TreeError,
    TreeStore,
    UnknownAccount,
    build_tree,
    inclusion_failure,
    leaf_order,
    make_inclusion_proof,
    published_root,
    root_from_dict,
    root_to_dict,
    verify_inclusion,
)
from zkproofs.tree import build as build_module
from zkproofs.tree.store import NodeCodec
from zkproofs.tree.audit import audit_tree
from zkproofs.tree.hashing import (
    LEAF_TAG,
    MAX_ASSETS,
    NODE_TAG,
    commitment,
    leaf_hash,
    leaf_inputs,
    leaf_records,
    parent_records,
    node_hash,
    node_inputs,
    pad_id_field,
    pad_node_hash,
    pad_salt,
    TreeKeys,
    tree_keys,
    user_commitment,
)
from zkproofs.tree.proof import InclusionProof, proof_from_dict, proof_to_dict
from zkproofs.tree.root import PublishedRoot

FIXTURES = Path(__file__).parent / "fixtures" / "tree"
SECRET = bytes(range(32))
ASSETS = (Asset("BTC", 8), Asset("ETH", 8))


def account_set(n: int, assets=ASSETS) -> AccountSet:
    accounts = tuple(
        Account(f"user{i}", tuple(1000 * i + j for j in range(len(assets))), tuple((i * 7 + j) % 5 for j in range(len(assets))))
        for i in range(n)
    )
    return AccountSet(assets, accounts, source="test")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The 6-account fixture built with a fixed secret: (db path, root, account set)."""
    accounts = load_accounts(FIXTURES / "accounts_6.csv")
    db = tmp_path_factory.mktemp("tree") / "liabilities.db"
    build_tree(accounts, db, secret=SECRET)
    with TreeStore(db) as store:
        root = published_root(store)
    return db, root, accounts


def proof_of(db, user):
    with TreeStore(db) as store:
        return make_inclusion_proof(store, user)


# build ------------------------------------------------------------------------
def test_same_input_and_secret_give_the_same_root(tmp_path):
    accounts = account_set(5)
    a = build_tree(accounts, tmp_path / "a.db", secret=SECRET)
    b = build_tree(accounts, tmp_path / "b.db", secret=SECRET)
    c = build_tree(accounts, tmp_path / "c.db", secret=bytes(32))
    assert a.root_hash == b.root_hash != c.root_hash
    assert a.equity_totals == c.equity_totals == accounts.totals()[0]
    assert a.debt_totals == accounts.totals()[1]


def test_input_order_does_not_change_the_root(tmp_path):
    accounts = account_set(5)
    reordered = dataclasses.replace(accounts, accounts=tuple(reversed(accounts.accounts)))
    assert build_tree(accounts, tmp_path / "a.db", secret=SECRET).root_hash == build_tree(reordered, tmp_path / "b.db", secret=SECRET).root_hash


@pytest.mark.parametrize("n,depth", [(1, 1), (2, 1), (3, 2), (5, 3), (8, 3), (9, 4)])
def test_padding_to_a_power_of_two(tmp_path, n, depth):
    summary = build_tree(account_set(n), tmp_path / "t.db", secret=SECRET)
    assert (summary.depth, summary.leaf_count) == (depth, 1 << depth)
    with TreeStore(tmp_path / "t.db") as store:
        assert store.count_nodes() == 2 * summary.leaf_count - 1


def test_padding_leaves_have_distinct_random_looking_commitments(tmp_path):
    accounts = account_set(9)
    depth, order = leaf_order(accounts, SECRET)
    pads = sorted(-1 - label for label in order if label < 0)
    assert (depth, pads) == (4, list(range(7)))
    pad_commitments = {commitment(pad_id_field(SECRET, p), pad_salt(SECRET, p)) for p in pads}
    assert len(pad_commitments) == 7
    build_tree(accounts, tmp_path / "t.db", secret=SECRET)
    with TreeStore(tmp_path / "t.db") as store:
        user_commitments = {user_commitment(a.id, store.account(a.id).salt) for a in accounts.accounts}
        # a pad leaf has the form of a real zero-balance leaf: (Poseidon output, zero sums)
        pad_leaf = order.index(-1)
        pad_hash, pad_sums = store.node(0, pad_leaf)
        assert pad_sums == (0, 0, 0, 0)
        assert pad_hash == leaf_hash(commitment(pad_id_field(SECRET, 0), pad_salt(SECRET, 0)), (0, 0), (0, 0))
    assert not pad_commitments & user_commitments


def test_leaf_order_is_shuffled_by_the_secret():
    accounts = account_set(16)
    a, b = leaf_order(accounts, SECRET)[1], leaf_order(accounts, bytes(32))[1]
    assert sorted(a) == sorted(b) == list(range(16)) and a != b and a != list(range(16))


def test_parallel_build_equals_sequential(tmp_path, monkeypatch):
    accounts = account_set(40)
    sequential = build_tree(accounts, tmp_path / "s.db", secret=SECRET, workers=1)
    monkeypatch.setattr(build_module, "PARALLEL_THRESHOLD", 8)
    seen = []
    parallel = build_tree(accounts, tmp_path / "p.db", secret=SECRET, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert parallel.root_hash == sequential.root_hash
    assert seen[-1] == (127, 127) and len(seen) == 8 + 3  # 8 subtrees of 8 leaves, then 3 levels
    with TreeStore(tmp_path / "s.db") as s, TreeStore(tmp_path / "p.db") as p:
        assert list(s.rows()) == list(p.rows())


@pytest.mark.parametrize("bad_id, message", [("\ud800", "unpaired surrogate"), ("user3", "duplicate account id")])
def test_order_keys_from_the_workers_refuse_what_the_parent_would(tmp_path, monkeypatch, bad_id, message):
    """A held set large enough for a pool has its order keys computed in the workers: an id that is not
    Unicode text, or a second account with an id, still fails the build and writes nothing."""
    monkeypatch.setattr(build_module, "PARALLEL_THRESHOLD", 8)
    good = account_set(40)
    accounts = AccountSet(good.assets, (*good.accounts[:30], Account(bad_id, (1, 1), (0, 0)), *good.accounts[30:]), source="test")
    with pytest.raises(TreeError, match=message):
        build_tree(accounts, tmp_path / "t.db", secret=SECRET, workers=2)
    assert not (tmp_path / "t.db").exists()


@pytest.mark.parametrize("gc_on", [True, False])
def test_a_build_leaves_the_garbage_collector_as_it_found_it(tmp_path, monkeypatch, gc_on):
    """build_tree pauses Python's cyclic collector while it works, and restores it, also after a failure."""
    import gc

    was = gc.isenabled()
    (gc.enable if gc_on else gc.disable)()
    try:
        build_tree(account_set(20), tmp_path / "t.db", secret=SECRET)
        assert gc.isenabled() is gc_on
        duplicate = account_set(3)
        with pytest.raises(TreeError, match="duplicate"):
            build_tree(AccountSet(duplicate.assets, duplicate.accounts * 2), tmp_path / "u.db", secret=SECRET)
        assert gc.isenabled() is gc_on
    finally:
        (gc.enable if was else gc.disable)()


@settings(max_examples=60, deadline=None)
@given(key=st.binary(max_size=300), message=st.binary(max_size=300))
def test_tree_keys_are_hmac(key, message):
    """TreeKeys precomputes the key's padded blocks: the bytes of RFC 2104 HMAC (hmac.digest), any key length."""
    import hmac

    keys = TreeKeys(key)
    assert keys.sha256(message) == hmac.digest(key, message, "sha256")
    assert keys.sha512(message) == hmac.digest(key, message, "sha512")
    assert tree_keys(keys) is keys


def test_a_tree_of_many_assets_proves_inclusion(tmp_path):
    """OKX publishes 220 assets: 440 sums per record, beyond what one field element of packed sums holds."""
    assets = tuple(Asset(f"A{i}", 0) for i in range(220))
    accounts = account_set(5, assets)
    build_tree(accounts, tmp_path / "t.db", secret=SECRET)
    with TreeStore(tmp_path / "t.db") as store:
        root = published_root(store)
        assert root.equity_totals == accounts.totals()[0]
        assert verify_inclusion(make_inclusion_proof(store, "user3"), root)


@pytest.mark.parametrize(
    "accounts,message",
    [
        (AccountSet(ASSETS, ()), "zero accounts"),
        (account_set(1, tuple(Asset(f"A{i}", 0) for i in range(MAX_ASSETS + 1))), f"1 to {MAX_ASSETS} assets"),
        (AccountSet(ASSETS, (Account("a", (1 << 64, 0), (0, 0)),)), "not in [0, 2^64)"),
        (AccountSet(ASSETS, (Account("a", (1, 0), (0, -1)),)), "not in [0, 2^64)"),
        (AccountSet(ASSETS, (Account("a", (1,), (0,)),)), "expected 2 equities"),
        (AccountSet(ASSETS, (Account("a", (1, 0), (0, 0)), Account("a", (1, 0), (0, 0)))), "duplicate"),
    ],
)
def test_bad_input_writes_nothing(tmp_path, accounts, message):
    db = tmp_path / "t.db"
    build_tree(account_set(3), db, secret=SECRET)
    before = db.read_bytes()
    with pytest.raises(TreeError) as info:
        build_tree(accounts, db, secret=SECRET)
    assert message in str(info.value)
    assert db.read_bytes() == before
    assert os.listdir(tmp_path) == ["t.db"]


def test_secret_must_be_32_bytes():
    with pytest.raises(TreeError, match="32 bytes"):
        leaf_order(account_set(2), b"short")


def test_store_refuses_a_non_tree_file(tmp_path):
    (tmp_path / "x.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(TreeError, match="not a zkproofs tree"):
        TreeStore(tmp_path / "x.db")
    with pytest.raises(TreeError, match="no such"):
        TreeStore(tmp_path / "missing.db")


def test_packed_layout_and_tags():
    """Layout 2: a node packs [NODE_TAG, sums_L, sums_R] in 64 + depth bit slots, a leaf [LEAF_TAG, amounts] in 64."""
    assert LEAF_TAG != NODE_TAG
    w = 65  # depth 1: three slots per element
    assert node_hash(5, (1, 2), 6, (3, 4), depth=1) == poseidon_hash([5, 6, NODE_TAG + (1 << w) + (2 << 2 * w), 3 + (4 << w)], t=5)
    assert leaf_hash(5, (1, 2), (3, 4)) == poseidon_hash([5, LEAF_TAG + (1 << 64) + (2 << 128), 3 + (4 << 64)], t=5)
    # depth 21: slots of 85 bits, two per element
    assert node_inputs(5, (1, 2), 6, (3, 4), 21) == [5, 6, NODE_TAG + (1 << 85), 2 + (3 << 85), 4]
    # the sums are bound slot by slot: moving a unit across a slot boundary changes the hash
    assert node_hash(5, (1, 2), 6, (3, 4), depth=1) != node_hash(5, (2, 1), 6, (3, 4), depth=1)
    assert leaf_inputs(5, (0, 0, 0, 0)) != [5, NODE_TAG, 0]


@pytest.mark.parametrize(
    "call",
    [
        lambda: node_hash(5, (1 << 65, 0), 6, (0, 0), depth=1),
        lambda: node_hash(5, (1, 0), 6, (0, -1), depth=1),
        lambda: leaf_hash(5, (1 << 64,), (0,)),
    ],
)
def test_native_hashes_refuse_values_that_overflow_a_slot(call):
    with pytest.raises(TreeError, match="not in"):
        call()


# root file --------------------------------------------------------------------
def test_root_round_trip_and_whole_units(sample):
    _, root, _ = sample
    doc = root_to_dict(root)
    assert doc["totals"]["BTC"] == {"equity": "375000001", "debt": "60000000", "equity_units": "3.75000001", "debt_units": "0.6"}
    assert doc["hash"]["leaf_tag"] == LEAF_TAG and doc["hash"]["tree_t"] == 5
    assert "secret" not in json.dumps(doc)
    assert root_from_dict(json.loads(json.dumps(doc))) == root


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda d: d.update(format="x"), "not a zkproofs/liability-root"),
        (lambda d: d["hash"].update(node_tag=3), "hash parameters"),
        (lambda d: d.update(depth=0), "depth"),
        (lambda d: d.update(root_hash=str(R)), r"not in \[0, r\)"),
        (lambda d: d["totals"]["BTC"].update(equity="-1"), "decimal string"),
        (lambda d: d["totals"]["BTC"].update(equity=str(1 << 80)), "2\\^67"),
        (lambda d: d["totals"].pop("ETH"), "exactly the assets"),
    ],
)
def test_malformed_root_is_refused(sample, mutate, message):
    doc = root_to_dict(sample[1])
    mutate(doc)
    with pytest.raises(Exception, match=message):
        root_from_dict(doc)


# plain proofs -------------------------------------------------------------------
def test_every_account_is_included(sample):
    db, root, accounts = sample
    for account in accounts.accounts:
        proof = proof_of(db, account.id)
        assert (proof.equities, proof.debts) == (account.equities, account.debts)
        assert inclusion_failure(proof, root) is None
        assert proof_from_dict(json.loads(json.dumps(proof_to_dict(proof)))) == proof


def test_proof_reads_one_row_per_level(sample):
    db, root, _ = sample
    with TreeStore(db) as store:
        statements = []
        store.conn.set_trace_callback(statements.append)
        make_inclusion_proof(store, "carol")
    assert len(statements) == 1 + root.depth + 1  # account, siblings, root
    assert all("WHERE" in s for s in statements)


def test_unknown_user(sample):
    with pytest.raises(UnknownAccount):
        proof_of(sample[0], "mallory")


def _forgeries(sample):
    db, root, _ = sample
    other = proof_of(db, "bob")

    def sibling(proof, k, fn):
        siblings = list(proof.siblings)
        h, sums = siblings[k]
        siblings[k] = fn(h, sums)
        return dataclasses.replace(proof, siblings=tuple(siblings))

    return {
        "tampered_sibling_sum": lambda p: sibling(p, 0, lambda h, s: (h, (s[0] + 1, *s[1:]))),
        "swapped_sibling_order": lambda p: dataclasses.replace(p, leaf_index=p.leaf_index ^ 1),
        "balance_2_64": lambda p: dataclasses.replace(p, equities=(1 << 64, *p.equities[1:])),
        "wrapping_sum": lambda p: sibling(p, p.depth - 1, lambda h, s: (h, (R - 1, *s[1:]))),
        "wrong_salt": lambda p: dataclasses.replace(p, salt=p.salt + 1),
        "other_user": lambda p: dataclasses.replace(p, user_id=other.user_id, salt=other.salt),
        "truncated_path": lambda p: dataclasses.replace(p, siblings=p.siblings[:-1]),
    }


def test_forgery_fixture_matches_the_tests(sample):
    assert set(json.loads((FIXTURES / "forged_proofs.json").read_text())) == set(_forgeries(sample))


@pytest.mark.parametrize("name", sorted(json.loads((FIXTURES / "forged_proofs.json").read_text())))
def test_forged_plain_proof_fails(sample, name):
    db, root, _ = sample
    proof = proof_of(db, "alice")
    forged = _forgeries(sample)[name](proof)
    assert forged != proof
    assert not verify_inclusion(forged, root)


def test_wrapping_sibling_is_refused_even_when_the_root_is_consistent():
    """A depth-1 tree whose second leaf has equity r - 90: the root sum wraps to 10."""
    c1, c2 = user_commitment("alice", 1), user_commitment("mallory", 2)
    alice, mallory = (100, 0), (R - 90, 0)
    # hashed without the native range checks, packed mod r, as a cheating exchange (or the circuit) would
    l1, l2 = (poseidon_hash([x % R for x in leaf_inputs(c, sums)], t=5) for c, sums in ((c1, alice), (c2, mallory)))
    root_hash = poseidon_hash([x % R for x in node_inputs(l1, alice, l2, mallory, 1)], t=5)
    root = PublishedRoot(root_hash, 1, (Asset("BTC", 8),), (10,), (0,), "")
    proof = InclusionProof("alice", 1, 0, ("BTC",), (100,), (0,), ((l2, mallory),), root_hash, (10, 0))
    assert "not in [0, 2^64)" in inclusion_failure(proof, root)


def test_proof_against_another_root_fails(sample, tmp_path):
    db, root, accounts = sample
    build_tree(accounts, tmp_path / "other.db", secret=bytes(32))
    with TreeStore(tmp_path / "other.db") as store:
        other_root = published_root(store)
    proof = proof_of(db, "alice")
    assert verify_inclusion(proof, root) and not verify_inclusion(proof, other_root)
    lower = dataclasses.replace(root, equity_totals=(root.equity_totals[0] - 1, root.equity_totals[1]))
    assert inclusion_failure(proof, lower) == "the path's sums differ from the published totals"


def test_malformed_proof_file(sample):
    doc = proof_to_dict(proof_of(sample[0], "alice"))
    doc["path"][0]["equities"] = ["1"]
    with pytest.raises(TreeError, match=r"path\[0\].equities"):
        proof_from_dict(doc)


# audit ----------------------------------------------------------------------------
def test_audit_of_a_sound_tree(sample):
    db, root, _ = sample
    report = audit_tree(db, root)
    assert report.verdict == "consistent" and report.ok, report.reasons
    assert all(c.ok for c in report.checks)
    assert report.to_dict()["assets"]["BTC"]["liabilities_units"] == "3.75000001"


def _tampered_copy(db, tmp_path, sql, args=()):
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(db).read_bytes())
    conn = sqlite3.connect(copy)
    conn.execute(sql, args)
    conn.commit()
    conn.close()
    return copy


@pytest.mark.parametrize(
    "sql,check",
    [
        ("UPDATE accounts SET equities = '[150000001, 1000000000]' WHERE id = 'alice'", "recompute"),
        ("UPDATE nodes SET data = zeroblob(length(data)) WHERE height = 1 AND chunk = 0", "recompute"),
        # one byte of a leaf's first sum (record 0: hash bytes 0..31, then the sums)
        ("UPDATE nodes SET data = substr(data, 1, 40) || x'ff' || substr(data, 42) WHERE height = 0 AND chunk = 0", "recompute"),
        ("UPDATE nodes SET mask = 1 WHERE height = 0 AND chunk = 0", "recompute"),
        ("DELETE FROM accounts WHERE id = 'erin'", "recompute"),
        ("UPDATE accounts SET debts = '[18446744073709551616, 0]' WHERE id = 'dave'", "ranges"),
        ("UPDATE accounts SET leaf_index = (leaf_index + 1) % 8 WHERE id = 'bob'", "recompute"),
        # a row moved to another chunk keeps its bytes: only the key comparison catches it
        ("UPDATE nodes SET chunk = 5 WHERE height = 2 AND chunk = 0", "recompute"),
    ],
)
def test_audit_detects_tampering(sample, tmp_path, sql, check):
    db, root, _ = sample
    report = audit_tree(_tampered_copy(db, tmp_path, sql), root)
    assert report.verdict == "inconsistent"
    assert not {c.name: c.ok for c in report.checks}[check]


def test_audit_of_an_unreadable_cell_is_a_tree_error(sample, tmp_path):
    db, root, _ = sample
    with pytest.raises(TreeError, match="account 'bob' leaf_index: 'x' is not an integer"):
        audit_tree(_tampered_copy(db, tmp_path, "UPDATE accounts SET leaf_index = 'x' WHERE id = 'bob'"), root)


def test_audit_detects_a_root_file_of_another_tree(sample):
    db, root, _ = sample
    report = audit_tree(db, dataclasses.replace(root, root_hash=root.root_hash ^ 1))
    assert report.verdict == "inconsistent" and not {c.name: c.ok for c in report.checks}["root file"]


@settings(max_examples=6, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1), st.integers(0, 3)),
        min_size=1,
        max_size=9,
    )
)
def test_random_trees_include_everyone_with_exact_totals(tmp_path_factory, rows):
    accounts = AccountSet(ASSETS[:1], tuple(Account(f"id{i}", (e,), (d if k else 0,)) for i, (e, d, k) in enumerate(rows)))
    db = tmp_path_factory.mktemp("random") / "t.db"
    summary = build_tree(accounts, db, secret=SECRET)
    assert (summary.equity_totals, summary.debt_totals) == accounts.totals()
    with TreeStore(db) as store:
        root = published_root(store)
        assert all(verify_inclusion(make_inclusion_proof(store, a.id), root) for a in accounts.accounts)


# fixed-height trees (DAPOL+ NDM-SMT) ----------------------------------------------------
def _fixed(tmp_path, accounts, height=8, name="f.db", secret=SECRET):
    db = tmp_path / name
    summary = build_tree(accounts, db, secret=secret, height=height)
    return db, summary


def _shape(doc):
    """Everything about a proof's form but its values: keys, path length, sums per level."""
    return (tuple(sorted(doc)), len(doc["path"]), tuple((len(p["equities"]), len(p["debts"])) for p in doc["path"]))


def test_fixed_height_proofs_have_one_shape_whatever_the_number_of_accounts(tmp_path):
    shapes, roots = set(), set()
    for n in (1, 3, 20):
        accounts = account_set(n)
        db, summary = _fixed(tmp_path, accounts, name=f"f{n}.db")
        assert (summary.depth, summary.leaf_count) == (8, 256)
        with TreeStore(db) as store:
            root = published_root(store)
            for a in accounts.accounts:
                proof = make_inclusion_proof(store, a.id)
                assert inclusion_failure(proof, root) is None
                shapes.add(_shape(proof_to_dict(proof)))
        doc = root_to_dict(root)
        roots.add((doc["depth"], tuple(sorted(doc))))
        assert (root.equity_totals, root.debt_totals) == accounts.totals()
    assert len(shapes) == 1 and len(roots) == 1


def test_fixed_height_padding_nodes_look_like_real_zero_sum_nodes(tmp_path):
    accounts = AccountSet(ASSETS, (Account("zero", (0, 0), (0, 0)), Account("rich", (5, 6), (1, 0))))
    db, _ = _fixed(tmp_path, accounts, height=10)
    with TreeStore(db) as store:
        zero, rich = store.account("zero").leaf_index, store.account("rich").leaf_index
        assert zero >> 1 != rich >> 1  # not siblings (true for this secret)
        real_zero_leaf = store.node(0, zero)
        pad = store.node(0, rich ^ 1)
        assert real_zero_leaf[1] == pad[1] == (0, 0, 0, 0)
        assert 0 <= pad[0] < R and 0 <= real_zero_leaf[0] < R
        assert pad[0] == pad_node_hash(SECRET, 0, rich ^ 1) != pad_node_hash(bytes(32), 0, rich ^ 1)
        # every sibling on rich's path off zero's path is a padding node of its height
        for k in range(1, 10):
            sibling = (rich >> k) ^ 1
            if sibling != zero >> k:
                assert store.node(k, sibling) == (pad_node_hash(SECRET, k, sibling), (0, 0, 0, 0))
        # records all have one size: a padding node and a real one are the same bytes long
        assert {len(data) % store.codec.size for _, _, _, data in store.rows()} == {0}


def test_fixed_height_materialises_o_n_h_nodes(tmp_path):
    accounts = account_set(3)
    db, _ = _fixed(tmp_path, accounts, height=40)
    with TreeStore(db) as store:
        # per level at most 2N materialised nodes (N paths and their siblings), the root alone on top
        assert 41 <= store.count_nodes() <= 2 * 3 * 40 + 1
        assert store.fixed_height == 40


def test_fixed_height_collisions_move_to_a_fresh_leaf(tmp_path, monkeypatch):
    monkeypatch.setattr(build_module, "position_candidate", lambda secret, account_id, attempt, height: attempt % (1 << height))
    accounts = account_set(4)
    db, _ = _fixed(tmp_path, accounts, height=2)  # every account first asks for leaf 0: a full tree of 4
    with TreeStore(db) as store:
        assert sorted(store.leaf_indices().values()) == [0, 1, 2, 3]
        root = published_root(store)
        assert all(verify_inclusion(make_inclusion_proof(store, a.id), root) for a in accounts.accounts)


def test_fixed_height_is_independent_of_input_order(tmp_path):
    accounts = account_set(6)
    reordered = dataclasses.replace(accounts, accounts=tuple(reversed(accounts.accounts)))
    assert _fixed(tmp_path, accounts, name="a.db")[1].root_hash == _fixed(tmp_path, reordered, name="b.db")[1].root_hash


@pytest.mark.parametrize("n,height,message", [(5, 2, "do not fit"), (1, 0, "height"), (1, 65, "height")])
def test_fixed_height_refuses_impossible_trees(tmp_path, n, height, message):
    with pytest.raises(TreeError, match=message):
        build_tree(account_set(n), tmp_path / "t.db", secret=SECRET, height=height)
    assert not (tmp_path / "t.db").exists()


def test_fixed_height_parallel_build_equals_sequential(tmp_path, monkeypatch):
    accounts = account_set(12)
    _, sequential = _fixed(tmp_path, accounts, name="s.db", height=6)
    monkeypatch.setattr(build_module, "PARALLEL_THRESHOLD", 4)
    summary = build_tree(accounts, tmp_path / "p.db", secret=SECRET, height=6, workers=2)
    assert summary.root_hash == sequential.root_hash
    with TreeStore(tmp_path / "s.db") as s, TreeStore(tmp_path / "p.db") as p:
        assert list(s.rows()) == list(p.rows())


def test_fixed_height_audit_recomputes_and_detects_an_edited_node(tmp_path):
    accounts = account_set(5)
    db, _ = _fixed(tmp_path, accounts)
    with TreeStore(db) as store:
        root = published_root(store)
    assert audit_tree(db, root).verdict == "consistent"
    # a node (real or padding) given another sum
    forged = _tampered_copy(db, tmp_path, "UPDATE nodes SET data = substr(data, 1, 40) || x'01' || substr(data, 42) WHERE height = 3 AND chunk = (SELECT MIN(chunk) FROM nodes WHERE height = 3)")
    report = audit_tree(forged, root)
    assert report.verdict == "inconsistent" and not {c.name: c.ok for c in report.checks}["recompute"]


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_level_records_equal_the_per_node_definition(data):
    """hashing.leaf_records / parent_records (one kernel call per level, used by the build)
    give exactly leaf_hash / node_hash and NodeCodec's records of the summed sums."""
    depth = data.draw(st.sampled_from([1, 5, 20, 21, 40, 64]))
    n_assets = data.draw(st.integers(min_value=1, max_value=5))
    codec = NodeCodec(depth, n_assets)
    amount = st.integers(min_value=0, max_value=2**64 - 1)
    count = 2 ** data.draw(st.integers(min_value=1, max_value=min(3, depth)))
    keys = data.draw(st.lists(st.tuples(st.integers(0, R - 1), st.integers(0, R - 1)), min_size=count, max_size=count))
    pledges = ("loan", "margin", "portfolio")[: data.draw(st.integers(min_value=0, max_value=3))]
    width = (2 + len(pledges)) * n_assets
    rows = data.draw(st.lists(st.lists(amount, min_size=width, max_size=width), min_size=count, max_size=count))
    leaves = [leaf_hash(commitment(i, s), row[:n_assets], row[n_assets : 2 * n_assets], row[2 * n_assets :], pledges)
              for (i, s), row in zip(keys, rows)]
    records = leaf_records(keys, rows, depth, 2 * n_assets, pledges)
    sums = [row[: 2 * n_assets] for row in rows]  # pledged amounts are hashed, not summed
    assert records == codec.encode_many(leaves, sums)
    hashes = leaves
    while len(hashes) > 1:
        parents = [node_hash(hashes[i], sums[i], hashes[i + 1], sums[i + 1], depth=depth) for i in range(0, len(hashes), 2)]
        sums = [[a + b for a, b in zip(sums[i], sums[i + 1])] for i in range(0, len(sums), 2)]
        hashes = parents
        records = parent_records(records, depth, 2 * n_assets)
        assert records == codec.encode_many(hashes, sums)


# pledged collateral committed in the leaf -----------------------------------------------------
PLEDGED = AccountSet(
    (Asset("BTC", 8), Asset("ETH", 8)),
    (Account("alice", (10, 4), (0, 3), (6, 0, 1, 2)), Account("bob", (5, 0), (1, 0), (0, 0, 5, 0)), Account("carol", (0, 9), (0, 0), (0, 0, 0, 0))),
    pledges=("loan", "margin"),
)


@pytest.fixture(scope="module")
def pledged_tree(tmp_path_factory):
    db = tmp_path_factory.mktemp("pledged") / "p.db"
    build_tree(PLEDGED, db, secret=SECRET)
    with TreeStore(db) as store:
        return db, published_root(store)


def test_the_leaf_commits_the_pledged_amounts(pledged_tree):
    db, root = pledged_tree
    assert root.pledges == ("loan", "margin") and root_from_dict(root_to_dict(root)).pledges == root.pledges
    with TreeStore(db) as store:
        proof = make_inclusion_proof(store, "alice")
        assert store.node(0, proof.leaf_index)[0] == leaf_hash(proof.commitment, (10, 4), (0, 3), (6, 0, 1, 2), ("loan", "margin"))
        assert store.node(0, proof.leaf_index)[1] == (10, 4, 0, 3)  # pledges are committed, not summed
    assert proof.pledged == (6, 0, 1, 2)
    decoded = proof_from_dict(json.loads(json.dumps(proof_to_dict(proof))))
    assert decoded == proof and proof_to_dict(proof)["pledged"] == {"loan": ["6", "0"], "margin": ["1", "2"]}
    assert verify_inclusion(decoded, root)
    lied = dataclasses.replace(proof, pledged=(6, 0, 2, 2))
    assert inclusion_failure(lied, root) == "the path does not hash to the published root"
    assert "pledge classes" in inclusion_failure(dataclasses.replace(proof, pledges=(), pledged=()), root)
    assert "pledge classes" in inclusion_failure(proof, dataclasses.replace(root, pledges=()))
    # the leaves hash the classes' names: a root and proof relabelled alike do not verify
    swapped = ("margin", "loan")
    assert inclusion_failure(dataclasses.replace(proof, pledges=swapped), dataclasses.replace(root, pledges=swapped)) == \
        "the path does not hash to the published root"


def test_pledges_without_a_column_hash_like_no_pledges(tmp_path):
    """A tree without pledge classes keeps the leaf of layout 2: the pledge list is empty, not zeros."""
    plain = AccountSet(PLEDGED.assets, tuple(dataclasses.replace(a, collateral=()) for a in PLEDGED.accounts))
    build_tree(plain, tmp_path / "plain.db", secret=SECRET)
    with TreeStore(tmp_path / "plain.db") as store:
        proof = make_inclusion_proof(store, "alice")
        assert store.pledges == () and proof.pledged == ()
        assert store.node(0, proof.leaf_index)[0] == leaf_hash(proof.commitment, (10, 4), (0, 3))


@pytest.mark.parametrize("collateral,message", [
    ((11, 0, 0, 0), "asset 0 has 11 base units pledged, more than its equity 10"),
    ((6, 0, 5, 0), "asset 0 has 11 base units pledged"),  # each class fits, together they do not
    ((0, 0, 0, 5), "asset 1 has 5 base units pledged, more than its equity 4"),
    ((1, 0, 0), "expected 4 pledged amounts"),
    ((), "expected 4 pledged amounts"),
    ((1 << 64, 0, 0, 0), "not in"),
])
def test_bad_pledges_are_refused_before_anything_is_written(tmp_path, collateral, message):
    bad = AccountSet(PLEDGED.assets, (dataclasses.replace(PLEDGED.accounts[0], collateral=collateral), *PLEDGED.accounts[1:]),
                     pledges=PLEDGED.pledges)
    with pytest.raises(TreeError, match=message):
        build_tree(bad, tmp_path / "bad.db", secret=SECRET)
    assert not (tmp_path / "bad.db").exists()


def test_audit_catches_an_edited_pledge(pledged_tree, tmp_path):
    db, root = pledged_tree
    assert audit_tree(db, root).verdict == "consistent"
    report = audit_tree(_tampered_copy(db, tmp_path, "UPDATE accounts SET collateral = '[5, 0, 1, 2]' WHERE id = 'alice'"), root)
    assert report.verdict == "inconsistent" and not {c.name: c.ok for c in report.checks}["recompute"]
    relabelled = audit_tree(db, dataclasses.replace(root, pledges=("margin", "loan")))
    assert relabelled.verdict == "inconsistent" and not {c.name: c.ok for c in relabelled.checks}["root file"]


def test_fixed_height_tree_commits_pledges(tmp_path):
    build_tree(PLEDGED, tmp_path / "f.db", secret=SECRET, height=6)
    with TreeStore(tmp_path / "f.db") as store:
        proof, root = make_inclusion_proof(store, "bob"), published_root(store)
    assert proof.pledged == (0, 0, 5, 0) and verify_inclusion(proof, root)
    assert not verify_inclusion(dataclasses.replace(proof, pledged=(0, 0, 4, 0)), root)
    assert audit_tree(tmp_path / "f.db", root).verdict == "consistent"


@pytest.mark.parametrize("pledges,message", [(None, "missing field 'pledges'"), (["loan", "loan"], "distinct"), ([""], "1 to 32 ASCII"),
                                             (["lo\x1bn"], "1 to 32 ASCII"), ([f"c{i}" for i in range(17)], "at most 16"),
                                             ("loan", "must be list")])
def test_root_pledges_are_parsed_strictly(pledged_tree, pledges, message):
    doc = root_to_dict(pledged_tree[1])
    if pledges is None:
        del doc["pledges"]
    else:
        doc["pledges"] = pledges
    with pytest.raises(TreeError, match=message):
        root_from_dict(doc)


@pytest.mark.parametrize("pledged,message", [([], "must be dict"), ({"lo\nan": ["1", "0"]}, "1 to 32 ASCII"),
                                             ({"loan": ["1"]}, "list of 2"), ({"loan": [1, 0]}, "decimal")])
def test_a_proofs_pledged_field_is_parsed_strictly(pledged_tree, pledged, message):
    db, _ = pledged_tree
    with TreeStore(db) as store:
        doc = proof_to_dict(make_inclusion_proof(store, "alice"))
    doc["pledged"] = pledged
    with pytest.raises(TreeError, match=message):
        proof_from_dict(doc)
