"""The iden3/snarkjs binary container used by ``.ptau`` and ``.zkey`` files.

Layout (iden3 ``binfileutils``, all integers little-endian)::

    magic (4 ASCII bytes: b"ptau", b"zkey") | u32 version | u32 section count
    then, per section: u32 type | u64 payload size | payload

Sections may come in any order; snarkjs refuses a section type that appears
twice where it expects one, and so does :meth:`BinFile.section`. Reading is
strict: every size is checked against the bytes that are actually there, and
the error names the file, the section and the byte offset. Writing goes
through :func:`zkproofs.atomic.atomic_write_bytes`, so a failed write leaves
the old file untouched.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from zkproofs.atomic import atomic_write_bytes
from zkproofs.errors import MalformedFile

_HEADER = struct.Struct("<4sII")
_SECTION = struct.Struct("<IQ")


@dataclass(frozen=True)
class BinFile:
    """A parsed container: ``sections[type]`` lists (offset, payload) in file order.

    ``where`` names the file in error messages. Payloads are read-only
    ``memoryview`` slices of the file's bytes (no copies).
    """

    magic: bytes
    version: int
    where: str
    sections: dict[int, list[tuple[int, memoryview]]] = field(default_factory=dict)

    def has(self, kind: int) -> bool:
        return kind in self.sections

    def section(self, kind: int, name: str = "") -> memoryview:
        """The payload of the one section of type ``kind``.

        Raises MalformedFile if it is missing or appears more than once.
        """
        label = f"section {kind}{f' ({name})' if name else ''}"
        found = self.sections.get(kind)
        if not found:
            raise MalformedFile(self.where, f"{label} is missing")
        if len(found) > 1:
            raise MalformedFile(self.where, f"{label} appears {len(found)} times", offset=found[1][0])
        return found[0][1]

    def offset(self, kind: int) -> int:
        """File offset of the payload of section ``kind`` (for error messages)."""
        return self.sections[kind][0][0]


def parse_binfile(data: bytes | bytearray | memoryview, magic: bytes, *, where: str, max_version: int = 1) -> BinFile:
    """Parse a container held in memory. O(number of sections); payloads are not copied.

    Raises MalformedFile for a wrong magic, an unsupported version, a truncated
    header or section header, or a section whose size runs past the end of the file.
    """
    view = memoryview(data).toreadonly()
    if len(view) < _HEADER.size:
        raise MalformedFile(where, f"{len(view)} bytes is too short for a {magic.decode()} header", offset=0)
    found_magic, version, count = _HEADER.unpack_from(view, 0)
    if found_magic != magic:
        raise MalformedFile(where, f"not a {magic.decode()} file (magic {found_magic!r})", offset=0)
    if not 1 <= version <= max_version:
        raise MalformedFile(where, f"unsupported {magic.decode()} version {version}", offset=4)
    sections: dict[int, list[tuple[int, memoryview]]] = {}
    pos = _HEADER.size
    for index in range(count):
        if pos + _SECTION.size > len(view):
            raise MalformedFile(where, f"file ends inside the header of section #{index + 1} of {count}", offset=pos)
        kind, size = _SECTION.unpack_from(view, pos)
        start = pos + _SECTION.size
        if size > len(view) - start:
            raise MalformedFile(
                where, f"section {kind} claims {size} bytes but only {len(view) - start} remain", section=kind, offset=start
            )
        sections.setdefault(kind, []).append((start, view[start : start + size]))
        pos = start + size
    if pos != len(view):
        raise MalformedFile(where, f"{len(view) - pos} trailing bytes after the last section", offset=pos)
    return BinFile(magic, version, where, sections)


def read_file(path: str | os.PathLike) -> bytes:
    """The bytes of ``path``; MalformedFile naming it if it cannot be read (missing, a folder, no permission)."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise MalformedFile(os.fspath(path), exc.strerror or str(exc)) from None


def read_binfile(path: str | os.PathLike, magic: bytes, *, max_version: int = 1) -> BinFile:
    """Read and parse ``path`` (see :func:`parse_binfile`); an unreadable file is MalformedFile too."""
    return parse_binfile(read_file(path), magic, where=os.fspath(path), max_version=max_version)


def binfile_bytes(magic: bytes, version: int, sections: Iterable[tuple[int, bytes]]) -> bytes:
    """Serialise a container: ``sections`` as (type, payload) pairs, written in the given order."""
    if len(magic) != 4:
        raise ValueError("magic must be 4 bytes")
    items = list(sections)
    parts = [_HEADER.pack(magic, version, len(items))]
    for kind, payload in items:
        parts.append(_SECTION.pack(kind, len(payload)))
        parts.append(bytes(payload))
    return b"".join(parts)


def write_binfile(path: str | os.PathLike, magic: bytes, version: int, sections: Iterable[tuple[int, bytes]]) -> None:
    """Write a container atomically (the old file stays whole if anything fails)."""
    atomic_write_bytes(path, binfile_bytes(magic, version, sections))
