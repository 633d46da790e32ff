"""The streaming tree build: the keyed leaf order sorted externally (LeafOrder), AccountStream input."""

import os
import sqlite3

import pytest

from zkproofs.accounts.model import Account, AccountSet, AccountStream, Asset
from zkproofs.tree import TreeError, TreeStore, build_tree, leaf_order
from zkproofs.tree import build as build_module
from zkproofs.tree import order as order_module
from zkproofs.tree.order import LeafOrder

SECRET = bytes(range(32))
ASSETS = (Asset("BTC", 8), Asset("ETH", 8))


def accounts(n: int) -> list[Account]:
    return [Account(f"user{i}", (1000 * i + 1, 3 * i), ((i * 7) % 5, 0)) for i in range(n)]


def generated(n: int):
    """Accounts from a generator: each made on demand, none held by the caller."""
    for i in range(n):
        yield Account(f"user{i}", (1000 * i + 1, 3 * i), ((i * 7) % 5, 0))


def nodes(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT height, chunk, mask, data FROM nodes ORDER BY height, chunk").fetchall()


def account_rows(db) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, leaf_index, equities, debts FROM accounts ORDER BY leaf_index").fetchall()


@pytest.mark.parametrize("n", [1, 5, 37, 64])
@pytest.mark.parametrize("run_size", [1, 3, 16, 1 << 18])
def test_spilled_runs_merge_to_the_in_memory_order(tmp_path, n, run_size):
    with LeafOrder(accounts(n), SECRET, 2) as whole:
        expected = [(key, leaf if isinstance(leaf, int) else leaf.id) for key, leaf in whole]
    with LeafOrder(generated(n), SECRET, 2, run_size=run_size, tmp_dir=tmp_path) as spilled:
        got = [(key, leaf if isinstance(leaf, int) else leaf.id) for key, leaf in spilled]
        assert (spilled.accounts, spilled.leaf_count) == (n, 1 << max(1, (n - 1).bit_length()))
        assert len(os.listdir(tmp_path)) == (0 if run_size >= spilled.leaf_count else 1)
    assert got == expected
    assert [key for key, _ in got] == sorted(key for key, _ in got)
    assert sorted(leaf for _, leaf in got if isinstance(leaf, int)) == list(range(len(got) - n))
    assert os.listdir(tmp_path) == []  # the spilled runs are gone


@pytest.mark.parametrize("n", [1, 5, 37])
@pytest.mark.parametrize("run_size", [1, 3, 16])
def test_a_held_sequence_spills_to_the_same_order(tmp_path, n, run_size):
    # a held sequence is checked and keyed in bulk, then cut into runs: the same order as one in-memory run
    with LeafOrder(accounts(n), SECRET, 2) as whole:
        expected = [(key, leaf if isinstance(leaf, int) else leaf.id) for key, leaf in whole]
    with LeafOrder(accounts(n), SECRET, 2, run_size=run_size, tmp_dir=tmp_path) as spilled:
        assert [(key, leaf if isinstance(leaf, int) else leaf.id) for key, leaf in spilled] == expected
    assert os.listdir(tmp_path) == []


def test_buckets_sort_like_one_sort():
    # keys sharing first bytes, and every first byte: the buckets read in order are the sorted run
    run = [(bytes([b, c]), f"leaf{b}-{c}") for b in (255, 0, 7, 7, 128) for c in (9, 1, 200)]
    run += [(bytes([b]), b) for b in range(255, -1, -5)]
    assert list(order_module._sorted_buckets(order_module._buckets(list(run)))) == sorted(run, key=lambda e: e[0])


BAD_ACCOUNTS = [
    (Account("neg", (-1, 0), (0, 0)), "neg"),
    (Account("big", (1 << 64, 0), (0, 0)), "big"),
    (Account("flag", (True, 0), (0, 0)), "flag"),
    (Account("real", (1.0, 0), (0, 0)), "real"),
    (Account("short", (1,), (0, 0)), "expected 2 equities"),
    (Account("pledged", (1, 0), (0, 0), (1, 0)), "pledged amounts"),
]


@pytest.mark.parametrize("bad, message", BAD_ACCOUNTS)
def test_the_bulk_check_raises_what_the_per_account_check_raises(bad, message):
    rows = accounts(5) + [bad] + accounts(3) + [Account("later", (-5, 0), (0, 0))]
    with pytest.raises(TreeError, match=message) as one:
        order_module.check_account(bad, 2)
    with pytest.raises(TreeError) as bulk:
        order_module.check_accounts(rows, 2)
    assert str(bulk.value) == str(one.value)  # the first bad account in order, the same words
    order_module.check_accounts(accounts(9), 2)


@pytest.mark.parametrize("stream", [False, True])
def test_a_build_sets_the_secret_up_once_per_task_not_per_account(tmp_path, monkeypatch, stream):
    """The secret's HMAC pads are hashed once per batch (TreeKeys): set up per account, a 2^20 stream
    spent 10 s more on it than on everything else it saves."""
    from zkproofs.tree import hashing

    made = []

    class Counted(hashing.TreeKeys):
        def __init__(self, secret):
            made.append(1)
            super().__init__(secret)

    monkeypatch.setattr(hashing, "TreeKeys", Counted)
    rows = generated(200) if stream else accounts(200)
    data = (AccountStream if stream else AccountSet)(ASSETS, rows if stream else tuple(rows))
    build_tree(data, tmp_path / "t.db", secret=SECRET, workers=1)
    assert 0 < len(made) <= 4


def test_leaf_order_does_not_depend_on_the_input_order():
    forward = leaf_order(AccountSet(ASSETS, tuple(accounts(20))), SECRET)
    backward = leaf_order(AccountSet(ASSETS, tuple(reversed(accounts(20)))), SECRET)
    ids = [a.id for a in accounts(20)]
    as_ids = lambda order, source: [label if label < 0 else source[label] for label in order]  # noqa: E731
    assert as_ids(forward[1], ids) == as_ids(backward[1], list(reversed(ids)))


@pytest.mark.parametrize("run_size", [2, 1 << 18])
def test_a_duplicate_id_is_found_in_the_merge(tmp_path, run_size):
    rows = accounts(9) + [Account("user3", (1, 1), (0, 0))]
    with LeafOrder(iter(rows), SECRET, 2, run_size=run_size, tmp_dir=tmp_path) as order:
        with pytest.raises(TreeError, match="duplicate account id 'user3'"):
            list(order)
    assert os.listdir(tmp_path) == []


def test_a_bad_account_stops_the_read_and_removes_the_runs(tmp_path):
    rows = accounts(7) + [Account("big", (1 << 64, 0), (0, 0))]
    with pytest.raises(TreeError, match="big"):
        LeafOrder(iter(rows), SECRET, 2, run_size=2, tmp_dir=tmp_path)
    assert os.listdir(tmp_path) == []
    with pytest.raises(TreeError, match="zero accounts"):
        LeafOrder(iter([]), SECRET, 2)
    with pytest.raises(TreeError, match="expected 2 equities"):
        LeafOrder(iter([Account("a", (1,), (0,))]), SECRET, 2)


def test_an_order_is_read_once():
    order = LeafOrder(accounts(3), SECRET, 2)
    list(order)
    with pytest.raises(RuntimeError, match="once"):
        list(order)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stream_builds_the_same_tree_as_a_set(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(build_module, "PARALLEL_THRESHOLD", 8)
    from_set = build_tree(AccountSet(ASSETS, tuple(accounts(45))), tmp_path / "set.db", secret=SECRET, workers=workers)
    monkeypatch.setattr(order_module, "RUN_SIZE", 4)
    spills = []
    spill_one = LeafOrder._spill
    monkeypatch.setattr(LeafOrder, "_spill", lambda self, run: (spills.append(len(run)), spill_one(self, run)))
    spill = tmp_path / "spill"
    spill.mkdir()
    from_stream = build_tree(AccountStream(ASSETS, generated(45)), tmp_path / "stream.db", secret=SECRET, workers=workers, tmp_dir=spill)
    assert from_stream.root_hash == from_set.root_hash
    assert (from_stream.account_count, from_stream.leaf_count) == (45, 64)
    assert nodes(tmp_path / "stream.db") == nodes(tmp_path / "set.db")
    assert account_rows(tmp_path / "stream.db") == account_rows(tmp_path / "set.db")
    assert spills == [4] * 16 and os.listdir(spill) == []
    with TreeStore(tmp_path / "stream.db") as store:
        assert store.count_nodes() == 2 * 64 - 1


def test_a_stream_with_a_duplicate_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(order_module, "RUN_SIZE", 4)
    db = tmp_path / "t.db"
    spill = tmp_path / "spill"
    spill.mkdir()
    with pytest.raises(TreeError, match="duplicate account id 'user0'"):
        build_tree(AccountStream(ASSETS, [*generated(30), Account("user0", (5, 5), (0, 0))]), db, secret=SECRET, tmp_dir=spill)
    assert os.listdir(tmp_path) == ["spill"] and os.listdir(spill) == []


def test_a_fixed_height_tree_from_a_stream(tmp_path):
    from_set = build_tree(AccountSet(ASSETS, tuple(accounts(12))), tmp_path / "set.db", secret=SECRET, height=10)
    from_stream = build_tree(AccountStream(ASSETS, generated(12)), tmp_path / "stream.db", secret=SECRET, height=10)
    assert from_stream.root_hash == from_set.root_hash and from_stream.account_count == 12
    assert account_rows(tmp_path / "stream.db") == account_rows(tmp_path / "set.db")
    with pytest.raises(TreeError, match="duplicate account id 'user1'"):
        build_tree(AccountStream(ASSETS, [*generated(3), Account("user1", (1, 1), (0, 0))]), tmp_path / "dup.db", secret=SECRET, height=10)
