"""zkproofs' own account CSV: ``id,<ASSET>,...[,<ASSET>_debt][,<ASSET>_collateral]``.

Layout (one header line, one account per record, RFC 4180 quoting)::

    id,BTC,ETH,BTC_debt,ETH_collateral
    alice,1.5,0,0,0
    bob,0.00000001,2.25,0.5,1

* ``<ASSET>`` columns hold equity (what the venue owes the customer) as
  decimal strings in whole units; they fix the asset order. A negative equity
  is refused: a customer who owes an asset has it in ``<ASSET>_debt``.
* ``<ASSET>_debt`` (optional, per asset) holds debt; missing means 0.
* ``<ASSET>_collateral`` (optional) holds the part of the equity pledged
  against debt (must not exceed the equity). If any collateral column exists,
  the set has one pledge class, ``collateral`` (:class:`~zkproofs.accounts.model.AccountSet`),
  every account a full ``collateral`` tuple (0 where the asset has none), and the
  tree's leaves commit it (the global proof then values the pledge, not the equity).
* Decimals per asset: the ``decimals`` argument, else
  :data:`~zkproofs.accounts.amounts.DEFAULT_DECIMALS` (by upper-case ticker),
  else ``default_decimals``, else an error naming the asset.

Every problem raises :class:`~zkproofs.errors.AccountsError` with the line and
column; nothing partial is returned. :func:`load_csv` reads the whole file into
an AccountSet; :func:`stream_csv` reads it lazily, for the streaming tree build.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from zkproofs.accounts.amounts import DEFAULT_DECIMALS
from zkproofs.accounts.model import MAX_DECIMALS, Account, AccountSet, AccountStream, Asset
from zkproofs.accounts.source import Cell, IdRegistry, Progress, check_id, check_width, open_csv
from zkproofs.errors import AccountsError

_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_SUFFIXES = ("_debt", "_collateral")


def resolve_decimals(
    symbol: str, decimals: Mapping[str, int] | None, default_decimals: int | None, cell: Cell
) -> int:
    """Decimals of ``symbol``: ``decimals[symbol]`` > DEFAULT_DECIMALS[upper] > ``default_decimals``.

    Raises AccountsError (at ``cell``) when none applies or the value supplied
    by the caller is not an int in [0, MAX_DECIMALS].
    """
    if decimals is not None and symbol in decimals:
        value = decimals[symbol]
    elif symbol.upper() in DEFAULT_DECIMALS:
        value = DEFAULT_DECIMALS[symbol.upper()]
    elif default_decimals is not None:
        value = default_decimals
    else:
        raise cell.error(f"unknown asset {symbol}: give its decimals")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DECIMALS:
        raise cell.error(f"decimals of {symbol} must be an integer in [0, {MAX_DECIMALS}], got {value!r}")
    return value


def stream_csv(
    path,
    *,
    decimals: Mapping[str, int] | None = None,
    default_decimals: int | None = None,
    progress: Progress | None = None,
    ids: IdRegistry | None = None,
) -> AccountStream:
    """An :class:`AccountStream` over an account CSV in zkproofs' format (see the module docstring).

    The header is read and checked now; the records are read, checked and
    converted as the stream is iterated (once), so a file of 10^7 accounts is
    never held. Amounts are converted exactly to base units (10**-decimals).
    Raises AccountsError (file, line, column), now for: an empty file, a
    header not starting with ``id``, empty/duplicate/invalid header fields, a
    debt or collateral column without its equity column, an asset with no
    known decimals; while iterating for: no record after the header, a record
    with the wrong number of fields, an empty or padded id, a malformed amount, too many decimals, a
    negative amount, an amount above 2^64 - 1, and collateral above equity.
    Duplicate ids are found here only with ``ids`` (a registry that holds
    every id); without it the tree build finds them
    (:class:`~zkproofs.tree.order.LeafOrder`). O(1) memory per record.
    """
    header_line, header, records = open_csv(path, progress)
    if header[0] != "id":
        raise AccountsError(f'the first header field must be "id", not "{header[0]}"', path=path, line=header_line, column=header[0])

    equity_col: dict[str, int] = {}
    extra_cols: list[tuple[str, str, int]] = []  # (kind, symbol, field index)
    for index, name in enumerate(header[1:], start=1):
        kind, symbol = "equity", name
        for suffix in _SUFFIXES:
            if name.endswith(suffix):
                kind, symbol = suffix[1:], name[: -len(suffix)]
        if not _SYMBOL.fullmatch(symbol):
            raise AccountsError(f'"{name}" is not an asset column (letters, digits, "._-")', path=path, line=header_line, column=name)
        if kind == "equity":
            equity_col[symbol] = index
        else:
            extra_cols.append((kind, symbol, index))
    if not equity_col:
        raise AccountsError("no asset columns after id", path=path, line=header_line)
    symbols = list(equity_col)
    position = {symbol: i for i, symbol in enumerate(symbols)}
    for kind, symbol, index in extra_cols:
        if symbol not in position:
            raise AccountsError(
                f'{kind} column "{header[index]}" has no equity column "{symbol}"', path=path, line=header_line, column=header[index]
            )
    assets = tuple(
        Asset(symbol, resolve_decimals(symbol, decimals, default_decimals, Cell(path, header_line, symbol))) for symbol in symbols
    )
    has_collateral = any(kind == "collateral" for kind, _, _ in extra_cols)
    read_id = ids.add if ids is not None else check_id

    def accounts() -> Iterator[Account]:
        count = 0
        for line, fields in records:
            count += 1
            check_width(path, line, fields, header)
            account_id = read_id(fields[0], Cell(path, line, "id"))
            equities = []
            for symbol in symbols:
                index = equity_col[symbol]
                text = fields[index]
                if text.startswith("-"):
                    raise Cell(path, line, symbol).error(
                        f'negative amount "{text}" in equity column {symbol}: a customer who owes {symbol} goes in column {symbol}_debt'
                    )
                equities.append(Cell(path, line, symbol).amount(text, assets[position[symbol]].decimals))
            debts = [0] * len(symbols)
            collateral = [0] * len(symbols)
            for kind, symbol, index in extra_cols:
                i = position[symbol]
                cell = Cell(path, line, header[index])
                value = cell.amount(fields[index], assets[i].decimals)
                if kind == "debt":
                    debts[i] = value
                else:
                    if value > equities[i]:
                        raise cell.error(f'collateral "{fields[index]}" exceeds the equity "{fields[equity_col[symbol]]}"')
                    collateral[i] = value
            yield Account(account_id, tuple(equities), tuple(debts), tuple(collateral) if has_collateral else ())
        if not count:
            raise AccountsError("no accounts after the header", path=path, line=header_line)

    return AccountStream(assets, accounts(), source=str(path), pledges=("collateral",) if has_collateral else ())


def load_csv(
    path,
    *,
    decimals: Mapping[str, int] | None = None,
    default_decimals: int | None = None,
    progress: Progress | None = None,
) -> AccountSet:
    """Read an account CSV in zkproofs' format (see the module docstring) into an AccountSet.

    Raises AccountsError as :func:`stream_csv`, and for a duplicate id (naming
    both lines). Nothing partial is returned.
    O(file size) time, O(accounts) memory.
    """
    stream = stream_csv(path, decimals=decimals, default_decimals=default_decimals, progress=progress, ids=IdRegistry())
    return AccountSet(stream.assets, tuple(stream.accounts), source=str(path), pledges=stream.pledges)
