"""DAPOL+'s entity CSV: ``id,liability``, one unsigned 64-bit liability per entity.

Source: silversixpence-crypto/dapol, ``examples/entities_example.csv`` (MIT);
DAPOL+ (Ji, Chalkias 2021, ePrint 2021/1350) commits to one liability per
entity, a u64. The single asset is named ``LIABILITY`` with decimals 0 (the
file carries no unit). O(file size).
"""

from __future__ import annotations

from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.accounts.source import Cell, IdRegistry, Progress, check_width, open_csv
from zkproofs.errors import AccountsError

ASSET = Asset("LIABILITY", 0)
"""The one asset of a DAPOL entity file."""


def load_dapol(path, progress: Progress | None = None) -> AccountSet:
    """Read a DAPOL entity CSV into an AccountSet with the one asset ``LIABILITY``.

    Raises AccountsError (with line and column) for an empty file, a header
    other than ``id,liability``, a record of the wrong width, an empty or
    duplicate id, and a liability that is not an unsigned integer <= 2^64 - 1.
    """
    header_line, header, records = open_csv(path, progress)
    if header != ["id", "liability"]:
        raise AccountsError(f'the header must be "id,liability", not "{",".join(header)}"', path=path, line=header_line)
    ids = IdRegistry()
    accounts = []
    for line, fields in records:
        check_width(path, line, fields, header)
        account_id = ids.add(fields[0], Cell(path, line, "id"))
        accounts.append(Account(account_id, (Cell(path, line, "liability").amount(fields[1], 0),), (0,)))
    if not accounts:
        raise AccountsError("no accounts after the header", path=path, line=header_line)
    return AccountSet((ASSET,), tuple(accounts), source=str(path))
