"""Reading account files: text decoding, CSV records with line numbers, typed errors.

Shared by the per-format loaders so that every one of them reports problems the
same way: an :class:`~zkproofs.errors.AccountsError` naming the file, the
1-based line where the record starts, and the column.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from zkproofs.accounts.amounts import AmountError, to_base_units
from zkproofs.accounts.model import MAX_AMOUNT, canonical_id
from zkproofs.errors import AccountsError


def read_text(path: str | os.PathLike) -> str:
    """The file's text (UTF-8, an optional BOM dropped); AccountsError if unreadable or not UTF-8."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise AccountsError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise AccountsError(f"not UTF-8 text (byte {exc.start})", path=path, line=line) from None


Progress = Callable[[int], None]
"""progress(records read so far), called every :data:`PROGRESS_EVERY` records."""

PROGRESS_EVERY = 65536


def read_lines(path) -> Iterator[str]:
    """The file's lines (UTF-8, an optional BOM dropped, line endings kept), read as they are consumed.

    Streaming: memory holds one line, not the file. AccountsError if the file
    cannot be opened or a line is not UTF-8 (with its line and byte offset).
    O(file size).
    """
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise AccountsError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    with handle:
        offset = 0
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise AccountsError(f"not UTF-8 text (byte {offset + exc.start})", path=path, line=number) from None
            offset += len(raw)
            yield text


def csv_records(path, lines: Iterable[str], *, delimiter: str = ",", progress: Progress | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields) for each non-blank CSV record of ``lines``.

    ``lines`` is :func:`read_lines` (streaming) or any iterable of lines with
    their endings. Blank lines (a trailing newline, as Summa's ``entry_17.csv``
    has) are skipped; quoting follows RFC 4180 as Python's :mod:`csv` reads it
    (``strict`` mode: a stray quote is an error, reported with its line).
    ``progress`` is told the number of records read every
    :data:`PROGRESS_EVERY` records and at the end.
    """
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    count = 0
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise AccountsError(f"CSV syntax error: {exc}", path=path, line=reader.line_num) from None
        if fields:
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
            yield start, fields
        start = reader.line_num + 1


@dataclass(frozen=True)
class Cell:
    """Where a value sits: file, 1-based line, column name (any may be None)."""

    path: object
    line: int | None = None
    column: str | None = None

    def error(self, reason: str) -> AccountsError:
        """An AccountsError at this place."""
        return AccountsError(reason, path=self.path, line=self.line, column=self.column)

    def amount(self, text: str, decimals: int, *, signed: bool = False, maximum: int = MAX_AMOUNT) -> int:
        """:func:`~zkproofs.accounts.amounts.to_base_units` of ``text``, its errors located here."""
        try:
            return to_base_units(text, decimals, signed=signed, maximum=maximum)
        except AmountError as exc:
            raise self.error(str(exc)) from None


def location(path, line: int) -> str:
    """``"file.csv:7"``: the location string of an entry of ``AccountSet.rejected``."""
    return f"{os.path.basename(os.fspath(path))}:{line}"


def check_id(account_id: str, cell: Cell) -> str:
    """The canonical (NFC) form of ``account_id`` read at ``cell``.

    AccountsError if empty, padded or not valid Unicode (an unpaired
    surrogate, which a JSON ``\\ud800`` escape can produce)."""
    if account_id.strip() == "":
        raise cell.error("empty account id")
    try:
        account_id.encode("utf-8")
    except UnicodeEncodeError:
        raise cell.error(f"account id {account_id!r} is not valid Unicode text (unpaired surrogate)") from None
    if account_id != account_id.strip():
        raise cell.error(f"account id {account_id!r} has surrounding whitespace")
    return canonical_id(account_id)


class IdRegistry:
    """Checks account ids: not empty, valid Unicode, no surrounding whitespace, unique after
    NFC normalisation (:func:`~zkproofs.accounts.model.canonical_id`; first line remembered)."""

    def __init__(self) -> None:
        self._first_line: dict[str, int] = {}

    def add(self, account_id: str, cell: Cell) -> str:
        """Register ``account_id`` read at ``cell`` and return its canonical (NFC) form.

        AccountsError as :func:`check_id`, or if seen before in any
        canonically equivalent form."""
        canonical = check_id(account_id, cell)
        first = self._first_line.get(canonical)
        if first is not None:
            same = "" if canonical == account_id else " after Unicode NFC normalisation"
            raise cell.error(f'duplicate account id "{account_id}"{same} (first on line {first})')
        self._first_line[canonical] = cell.line if cell.line is not None else 0
        return canonical


def check_header(path, line: int, header: list[str]) -> None:
    """AccountsError for an empty or duplicated field of the header read at ``line``."""
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        if name.strip() == "":
            raise AccountsError(f"header field {index} is empty", path=path, line=line)
        if name in seen:
            raise AccountsError(f'duplicate header field "{name}"', path=path, line=line, column=name)
        seen.add(name)


def open_csv(path, progress: Progress | None = None) -> tuple[int, list[str], Iterator[tuple[int, list[str]]]]:
    """(header line, header fields, the remaining records, streamed) of the CSV file at ``path``.

    AccountsError for an unreadable file, an empty one, or a header with an
    empty or duplicated field (see :func:`check_header`); records are read
    and decoded as they are consumed, so a caller that keeps only what it
    validated holds one record of text at a time. ``progress``: see
    :func:`csv_records`.
    """
    records = csv_records(path, read_lines(path), progress=progress)
    first = next(records, None)
    if first is None:
        raise AccountsError("empty file", path=path)
    header_line, header = first
    check_header(path, header_line, header)
    return header_line, header, records


def check_width(path, line: int, fields: list[str], header: list[str]) -> None:
    """AccountsError when a record does not have one field per header column."""
    if len(fields) != len(header):
        raise AccountsError(f"{len(fields)} fields, the header has {len(header)}", path=path, line=line)
