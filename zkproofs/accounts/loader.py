"""One entry point for every account format: :func:`load_accounts` and :func:`detect_format`.

Formats: ``csv`` (zkproofs' own, :mod:`.csvfile`), ``summa`` (:mod:`.summa`),
``dapol`` (:mod:`.dapol`), ``okx`` (:mod:`.okx`), ``binance`` (:mod:`.binance`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from zkproofs.accounts.binance import load_binance
from zkproofs.accounts.csvfile import load_csv, stream_csv
from zkproofs.accounts.dapol import load_dapol
from zkproofs.accounts.model import AccountSet, AccountStream
from zkproofs.accounts.okx import load_okx
from zkproofs.accounts.source import Progress, csv_records, read_lines
from zkproofs.accounts.summa import load_summa
from zkproofs.errors import AccountsError

FORMATS = ("csv", "summa", "dapol", "okx", "binance")
"""Names accepted by ``load_accounts(format=...)``."""


def detect_format(path) -> str:
    """The format of the account file at ``path``, from its extension and first bytes.

    JSON (a ``.json`` name, or text starting with ``[`` or ``{``): ``okx`` when
    it is an array whose first element has an ``"assets"`` key. Otherwise the
    first CSV record decides: ``username,balance_...`` is ``summa``,
    ``id,liability`` is ``dapol``, ``rn,id,e_...`` is ``binance``, ``id,...``
    is ``csv``. Raises AccountsError, naming what was seen, when it cannot tell
    (Summa's ``;``-separated state snapshots, proof or benchmark files, ...).
    Reads the first 64 KiB, or the first CSV record.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        raise AccountsError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    start = head.decode("utf-8-sig", errors="replace").lstrip()
    if os.fspath(path).lower().endswith(".json") or start[:1] in ("[", "{"):
        if start.startswith("[") and start[1:].lstrip().startswith("{") and '"assets"' in start[:4096]:
            return "okx"
        raise AccountsError(f'cannot tell the format: JSON that is not an OKX array of {{"id", "assets"}} accounts (formats: {", ".join(FORMATS)})', path=path)
    records = csv_records(path, read_lines(path))
    first = next(records, None)
    records.close()
    if first is None:
        raise AccountsError("empty file", path=path)
    line, header = first
    if header[0] == "username" and len(header) > 1 and all(name.startswith("balance_") for name in header[1:]):
        return "summa"
    if header == ["id", "liability"]:
        return "dapol"
    if header[:2] == ["rn", "id"] and len(header) > 2 and header[2].startswith("e_"):
        return "binance"
    if header[0] == "id":
        return "csv"
    if header == ["username;balances"]:
        raise AccountsError(
            "a Summa state snapshot (username;balances) names no currencies, so it is not an account file", path=path, line=line
        )
    shown = ",".join(header)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise AccountsError(f'cannot tell the format from the header "{shown}" (formats: {", ".join(FORMATS)})', path=path, line=line)


def load_accounts(
    path,
    *,
    format: str | None = None,
    decimals: Mapping[str, int] | None = None,
    default_decimals: int | None = None,
    assets_info=None,
    progress: Progress | None = None,
    stream: bool = False,
) -> AccountSet | AccountStream:
    """Read the account file at ``path`` into an :class:`~zkproofs.accounts.model.AccountSet`.

    ``stream``: for the ``csv`` format, return an
    :class:`~zkproofs.accounts.model.AccountStream` instead, whose records are
    read and checked as it is iterated (:func:`~zkproofs.accounts.csvfile.stream_csv`;
    duplicate ids are then the tree build's to find); other formats return an
    AccountSet either way.

    ``format`` is one of :data:`FORMATS`, or None to :func:`detect_format`.
    ``decimals`` (symbol -> decimals) and ``default_decimals`` apply to the
    ``csv`` format only (see :func:`~zkproofs.accounts.csvfile.load_csv`);
    the other formats fix their units (summa, dapol, okx: 0, integer base
    units; binance: 8) and refuse them with ValueError. A Binance user file
    is validated against ``assets_info``, by default the
    ``cex_assets_info.csv`` beside it (MissingAssetsInfo when there is none);
    other formats refuse ``assets_info`` with ValueError.

    ``progress(records read)`` is called as a CSV file is read (every
    65,536 records; OKX's JSON is decoded whole and reports nothing). CSV
    files are streamed: only the accounts built are held, not the text.

    Raises AccountsError (file, line, column) for malformed input, ValueError
    for an unknown format name. Nothing partial is returned.
    """
    if format is None:
        format = detect_format(path)
    if format not in FORMATS:
        raise ValueError(f"unknown account format {format!r}; expected one of {', '.join(FORMATS)}")
    if format == "csv":
        read = stream_csv if stream else load_csv
        return read(path, decimals=decimals, default_decimals=default_decimals, progress=progress)
    if decimals is not None or default_decimals is not None:
        raise ValueError(f"format {format!r} fixes its decimals; decimals= and default_decimals= apply to csv only")
    if format == "binance":
        return load_binance(path, assets_info, progress=progress)
    if assets_info is not None:
        raise ValueError(f"assets_info= applies to the binance format only, not {format!r}")
    if format == "okx":
        return load_okx(path)
    return {"summa": load_summa, "dapol": load_dapol}[format](path, progress)
