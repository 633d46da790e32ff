"""A per-user cache of facts that are expensive to recompute and cheap to key.

Entries are small JSON documents under ``$ZKPROOFS_CACHE_DIR`` (default
``$XDG_CACHE_HOME/zkproofs``, else ``~/.cache/zkproofs``), one folder per package
version, so that an upgrade (which may change circuits or checks) starts empty.
A cache entry is an optimisation, never a source of truth for anything an
attacker can write: callers key entries by a hash of everything the cached fact
depends on, and a missing, unreadable or malformed entry is simply a miss.
Writes are atomic (:mod:`zkproofs.atomic`); a cache that cannot be written is
ignored (the caller recomputes next time).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from zkproofs.atomic import atomic_write_text
from zkproofs.errors import MalformedInput
from zkproofs.jsontext import loads

_KEY = re.compile(r"[0-9a-zA-Z_-][0-9a-zA-Z_.-]{0,127}")


def _package_version() -> str:
    try:
        return version("zkproofs")
    except PackageNotFoundError:
        return "unversioned"


def cache_dir() -> Path:
    """The cache folder of this package version (not created here)."""
    base = os.environ.get("ZKPROOFS_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = str(Path(xdg) / "zkproofs") if xdg else str(Path.home() / ".cache" / "zkproofs")
    return Path(base) / _package_version()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 (hex) of the relative path and bytes of every .py file of the ``zkproofs`` and
    ``circuits`` packages: what a cached circuit digest or Poseidon instance can depend on.

    Callers put it in their keys, so that edited code (an editable install keeps
    its version number) never meets an entry of other code. About 3 ms, once per process.
    """
    import circuits
    import zkproofs

    h = hashlib.sha256(b"zkproofs-code-v1")
    for package in (Path(zkproofs.__file__).parent, Path(circuits.__file__).parent):
        for path in sorted(package.rglob("*.py")):
            name = path.relative_to(package.parent).as_posix().encode()
            data = path.read_bytes()
            h.update(len(name).to_bytes(4, "little") + name + len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def fact_key(*parts: Any) -> str:
    """A cache key for a fact that depends on this code and on ``parts`` (JSON-serialisable):
    SHA-256 (hex) of [code fingerprint, *parts]."""
    return hashlib.sha256(json.dumps([code_fingerprint(), *parts], sort_keys=True).encode()).hexdigest()


def _path(namespace: str, key: str) -> Path:
    if not _KEY.fullmatch(namespace) or not _KEY.fullmatch(key):
        raise ValueError(f"cache namespace and key must match {_KEY.pattern}: {namespace!r}, {key!r}")
    return cache_dir() / namespace / f"{key}.json"


def recall(namespace: str, key: str) -> Any | None:
    """The JSON value stored under (namespace, key), or None when absent or unreadable.

    Raises ValueError for a namespace or key outside ``[0-9a-zA-Z_.-]`` (or starting with a dot).
    """
    path = _path(namespace, key)
    try:
        return loads(path.read_bytes(), str(path))
    except (OSError, MalformedInput):
        return None


def remember(namespace: str, key: str, value: Any) -> None:
    """Store a JSON-serialisable ``value`` under (namespace, key); OS errors are ignored."""
    path = _path(namespace, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(value, sort_keys=True))
    except OSError:
        pass
