"""Files and interruptions (issue 16): the database and root file of `tree build` change
together or not at all, and what a killed build leaves behind is cleaned up next time."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import zkproofs.tree.publish as publish_module
from cli.main import main
from zkproofs.accounts import load_accounts
from zkproofs.tree import TreeStore, build_tree, published_root
from zkproofs.tree.publish import publish, recover, remove_stale, staging_path
from zkproofs.tree.root import root_to_json

TREE = Path(__file__).parent / "fixtures" / "tree"
SQLITE = b"SQLite format 3\x00"


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}"
    return result


@pytest.fixture
def published(tmp_path):
    """An existing tree (db, root) and a new one built into staging, not yet published."""
    db, root = tmp_path / "t.db", tmp_path / "t.root.json"
    run("tree", "build", TREE / "accounts_6.csv", "--db", db, "--root-out", root)
    staging = staging_path(db)
    build_tree(load_accounts(TREE / "accounts_6.csv"), staging)
    with TreeStore(staging) as store:
        text = root_to_json(published_root(store))
    return db, root, staging, text, (db.read_bytes(), root.read_bytes())


def failing_replace(fail_on: int):
    """os.replace that raises on its ``fail_on``-th call (1-based) and works otherwise."""
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append((src, dst))
        if len(calls) == fail_on:
            raise OSError(28, "No space left on device (injected)")
        return real(src, dst)

    return replace


@pytest.mark.parametrize("step", [1, 2], ids=["database swap fails", "root rename fails"])
def test_a_failure_between_steps_leaves_both_old(published, monkeypatch, step):
    db, root, staging, text, before = published
    monkeypatch.setattr(publish_module.os, "replace", failing_replace(step))
    with pytest.raises(OSError, match="injected"):
        publish(staging, db, text, root)
    monkeypatch.undo()
    assert (db.read_bytes(), root.read_bytes()) == before
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(".") and p != staging) == []


def test_success_leaves_both_new(published):
    db, root, staging, text, before = published
    publish(staging, db, text, root)
    assert root.read_text() == text and db.read_bytes() != before[0] and not staging.exists()
    with TreeStore(db) as store:
        assert root_to_json(published_root(store)) == text
    assert [p.name for p in db.parent.iterdir() if p.name.startswith(".")] == []


def test_killed_after_the_swap_is_completed_by_the_next_run(published):
    db, root, staging, text, before = published
    # What a process killed between steps 2 and 3 leaves: new database, old root, pending root.
    (db.parent / f".{root.name}.pending").write_text(text)
    os.link(db, db.parent / f".{db.name}.previous")
    os.replace(staging, db)
    assert root.read_bytes() == before[1]
    assert "completed an interrupted publication" in recover(db, root)
    assert root.read_text() == text and [p.name for p in db.parent.iterdir() if p.name.startswith(".")] == []


def test_killed_before_the_swap_is_undone_by_the_next_run(published):
    db, root, staging, text, before = published
    (db.parent / f".{root.name}.pending").write_text(text)
    assert "interrupted before its database was swapped in" in recover(db, root)
    assert (db.read_bytes(), root.read_bytes()) == before and not (db.parent / f".{root.name}.pending").exists()


def test_stale_staging_of_the_same_target_is_removed_and_nothing_else(tmp_path):
    old = time.time() - 3600
    stale = [".t.db.staging", "..t.db.staging.k2j3_x9.tmp", ".t.db.a8b7c6.tmp", ".t.root.json.zz1.tmp", ".t.root.json.pending", ".t.db.previous"]
    kept = [".other.db.staging", ".t.db.notes", "t.db.staging", ".t.db.staging.bak", "..t.db.staging.x.tmp.keep"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(SQLITE)
        os.utime(tmp_path / name, (old, old))
    (tmp_path / ".t.db.fresh1.tmp").write_bytes(SQLITE)  # a concurrent build's file: newer than this build
    (tmp_path / ".t.db.dir.tmp").mkdir()
    os.utime(tmp_path / ".t.db.dir.tmp", (old, old))
    removed = remove_stale(tmp_path / "t.db", tmp_path / "t.root.json", before=time.time() - 60)
    assert sorted(p.name for p in removed) == sorted(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + [".t.db.fresh1.tmp", ".t.db.dir.tmp"])


def test_tree_build_cleans_what_a_killed_build_left(tmp_path):
    old = time.time() - 3600
    leftovers = [tmp_path / ".t.db.staging", tmp_path / "..t.db.staging.abc123.tmp"]
    for path in leftovers:
        path.write_bytes(SQLITE)
        os.utime(path, (old, old))
    run("tree", "build", TREE / "accounts_6.csv", "--db", tmp_path / "t.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.db", "t.root.json"]
