"""The user cache: per-version folder, misses on absent or corrupt entries, atomic writes."""

import pytest

from zkproofs import usercache


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path))


def test_round_trip_and_miss():
    assert usercache.recall("digests", "abc") is None
    usercache.remember("digests", "abc", {"digest": "00ff"})
    assert usercache.recall("digests", "abc") == {"digest": "00ff"}


def test_corrupt_entry_is_a_miss():
    usercache.remember("digests", "abc", [1])
    path = usercache.cache_dir() / "digests" / "abc.json"
    path.write_text("{not json")
    assert usercache.recall("digests", "abc") is None


def test_keys_cannot_escape_the_cache_folder():
    with pytest.raises(ValueError):
        usercache.remember("digests", "../../etc/passwd", 1)
    with pytest.raises(ValueError):
        usercache.recall("..", "abc")


def test_unwritable_cache_is_ignored(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(blocker))
    usercache.remember("digests", "abc", 1)
    assert usercache.recall("digests", "abc") is None
