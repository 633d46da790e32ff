"""Publishing a built tree: database and root file swapped in together; stale staging removed.

``zkproofs tree build`` builds into a staging database beside the target
(``.DB.staging``), then :func:`publish` makes it visible in three steps:

1. the root is written to a pending file ``.ROOT.pending`` (fsync'd);
2. the staging database is renamed onto DB (``os.replace``, atomic on POSIX),
   after the old DB was hard-linked to ``.DB.previous``;
3. the pending root is renamed onto ROOT.

An exception at any step rolls back, leaving both old files: before step 2
nothing visible has changed; if step 3 fails, ``.DB.previous`` is renamed back
onto DB. A process killed between steps 2 and 3 cannot roll back; it leaves a
pending root equal to the new database's root, and :func:`recover` (run first
by every build) completes step 3, so both files are new. A pending root that
does not match the database (killed before step 2) is deleted. Either way a
reader who looks after recovery sees both old or both new.

:func:`remove_stale` deletes what a killed build left behind for the same
target, and only that: regular files named as this tool names its staging
files for DB or ROOT (``.DB.staging``, ``.DB.previous``, ``.ROOT.pending`` and
the ``.NAME.*.tmp`` files of :func:`zkproofs.tree.store.atomic_database` and
:mod:`zkproofs.atomic`), last modified before the running build started.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from zkproofs.jsontext import loads
from zkproofs.errors import MalformedInput
from zkproofs.tree.hashing import TreeError
from zkproofs.tree.root import published_root, root_to_dict
from zkproofs.tree.store import TreeStore


def staging_path(db: Path) -> Path:
    """``.DB.staging`` beside ``db``: where a build writes before :func:`publish`."""
    return db.with_name(f".{db.name}.staging")


def _pending(root: Path) -> Path:
    return root.with_name(f".{root.name}.pending")


def _previous(db: Path) -> Path:
    return db.with_name(f".{db.name}.previous")


def _fsynced_write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def publish(staging: Path, db: Path, root_text: str, root: Path) -> None:
    """Make ``staging`` the database ``db`` and ``root_text`` the root file ``root``, together.

    Steps and rollback in the module docstring. Raises whatever a step raised,
    after rolling back. O(1) renames plus one write of the root file.
    """
    pending, previous = _pending(root), _previous(db)
    _fsynced_write(pending, root_text)
    swapped = False
    try:
        with contextlib.suppress(FileNotFoundError):
            previous.unlink()
        if db.exists():
            os.link(db, previous)
        os.replace(staging, db)
        swapped = True
        os.replace(pending, root)
    except BaseException:
        if swapped and previous.exists():
            os.replace(previous, db)
        elif swapped:  # there was no old database: none again
            db.unlink(missing_ok=True)
        pending.unlink(missing_ok=True)
        raise
    finally:
        previous.unlink(missing_ok=True)


def recover(db: Path, root: Path) -> str | None:
    """Finish or undo a :func:`publish` that a killed process left half done; what was done, or None.

    A pending root equal to the root of the database at ``db`` is renamed onto
    ``root`` (the database was already swapped in); any other pending root is
    deleted. A leftover ``.DB.previous`` link is deleted.
    """
    pending, previous = _pending(root), _previous(db)
    previous.unlink(missing_ok=True)
    if not pending.exists():
        return None
    try:
        claimed = loads(pending.read_bytes(), str(pending))
        with TreeStore(db) as store:
            current = root_to_dict(published_root(store))
    except (OSError, MalformedInput, TreeError):
        current, claimed = None, False
    if claimed == current:
        os.replace(pending, root)
        return f"completed an interrupted publication: {root} now matches {db}"
    pending.unlink(missing_ok=True)
    return f"removed {pending.name}, left by a build interrupted before its database was swapped in"


def _stale_names(db: Path, root: Path) -> re.Pattern[str]:
    names = [re.escape(db.name), re.escape(f".{db.name}.staging"), re.escape(root.name)]
    tmp = "|".join(rf"\.{name}\.[A-Za-z0-9_]+\.tmp" for name in names)
    fixed = "|".join(re.escape(p.name) for p in (staging_path(db), _previous(db), _pending(root)))
    return re.compile(f"(?:{fixed}|{tmp})")


def remove_stale(db: Path, root: Path, before: float) -> list[Path]:
    """Delete staging files a killed build left for ``db`` / ``root`` (named as in the module
    docstring, regular files, modified before the unix time ``before``); the paths deleted.

    O(files in the folder).
    """
    pattern = _stale_names(db, root)
    removed = []
    for folder in {db.parent, root.parent}:
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(folder):
                if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime < before:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
    return sorted(removed)
