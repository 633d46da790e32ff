"""Summa's entry CSV: ``username,balance_<COIN>_<CHAIN>,...`` with integer base units.

Source: summa-dev/summa-solvency, ``csv/entry_16.csv`` and siblings (MIT OR
Apache-2.0); Summa's parser reads each balance as an unsigned big integer and
its circuit range-checks every balance to 8 bytes, so ``entry_16_bigints.csv``
(2^64) and ``entry_16_overflow.csv`` (2^112) must fail.

Asset symbols keep the full ``<COIN>_<CHAIN>`` suffix (``ETH_ETH``,
``USDT_ETH``): the same coin on two chains is two liabilities backed by
different reserves, so it is never merged even when only one chain appears.
Decimals are 0: the file holds base units and does not say what they are.
Balances are equity only (Summa has no debt column). O(file size).
"""

from __future__ import annotations

import re

from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.accounts.source import Cell, IdRegistry, Progress, check_width, open_csv
from zkproofs.errors import AccountsError

_BALANCE = re.compile(r"balance_([A-Za-z0-9]+_[A-Za-z0-9]+)", re.ASCII)


def load_summa(path, progress: Progress | None = None) -> AccountSet:
    """Read a Summa entry CSV into an AccountSet (assets ``<COIN>_<CHAIN>``, decimals 0).

    Raises AccountsError (with line and column) for an empty file, a header
    other than ``username,balance_<COIN>_<CHAIN>,...``, a record of the wrong
    width, an empty or duplicate username, a balance that is not an unsigned
    integer, and a balance above 2^64 - 1.
    """
    header_line, header, records = open_csv(path, progress)
    if header[0] != "username":
        raise AccountsError(f'the first header field must be "username", not "{header[0]}"', path=path, line=header_line, column=header[0])
    symbols = []
    for name in header[1:]:
        match = _BALANCE.fullmatch(name)
        if match is None:
            raise AccountsError(f'"{name}" is not a balance_<COIN>_<CHAIN> column', path=path, line=header_line, column=name)
        symbols.append(match.group(1))
    if not symbols:
        raise AccountsError("no balance columns after username", path=path, line=header_line)

    ids = IdRegistry()
    accounts = []
    for line, fields in records:
        check_width(path, line, fields, header)
        account_id = ids.add(fields[0], Cell(path, line, "username"))
        balances = tuple(Cell(path, line, name).amount(text, 0) for name, text in zip(header[1:], fields[1:]))
        accounts.append(Account(account_id, balances, (0,) * len(symbols)))
    if not accounts:
        raise AccountsError("no accounts after the header", path=path, line=header_line)
    return AccountSet(tuple(Asset(symbol, 0) for symbol in symbols), tuple(accounts), source=str(path))
