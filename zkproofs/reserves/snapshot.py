"""The auditor's balance snapshot: what each claimed address holds, read from the auditor's
own node at a block height.

CSV, UTF-8, one header line exactly ``address,asset,balance,block_height``, then one
row per (address, asset): ``balance`` a decimal amount in the asset's units with at most
the root's decimals for that asset (``"12.5"`` BTC; the auditor rounds on-chain amounts
down to that precision: reserves are never rounded up), ``block_height`` a canonical
decimal. Asset symbols must be the root's. All rows of one chain (Ethereum: ``0x``
addresses; Bitcoin: the rest) carry the same block height. Every violation raises
ReservesError naming the file, line and column; nothing is partially loaded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from zkproofs.accounts.amounts import AmountError, to_base_units
from zkproofs.errors import MalformedInput, ReservesError
from zkproofs.field import parse_decimal
from zkproofs.reserves import bitcoin, ethereum
from zkproofs.tree.root import PublishedRoot

HEADER = ["address", "asset", "balance", "block_height"]


def chain_of(address: str) -> str:
    """"ethereum" for a 0x address, else "bitcoin"."""
    return "ethereum" if address[:2] in ("0x", "0X") else "bitcoin"


def normalize_address(chain: str, address: str) -> str:
    """The canonical form of an address of ``chain`` ("ethereum" or "bitcoin"); ReservesError."""
    if chain == "ethereum":
        return ethereum.normalize_address(address)
    if chain == "bitcoin":
        return bitcoin.normalize_address(address)
    raise ReservesError(f"chain {chain!r}: expected ethereum or bitcoin")


@dataclass(frozen=True)
class Snapshot:
    """Balances in base units by (normalized address, asset symbol), and the block height per chain."""

    balances: dict[tuple[str, str], int]
    heights: dict[str, int]

    def addresses(self) -> set[str]:
        return {address for address, _ in self.balances}


def parse_snapshot(text: str, root: PublishedRoot, where: str = "snapshot") -> Snapshot:
    """A :class:`Snapshot` from CSV text (module docstring), amounts at the root's decimals. O(rows)."""
    decimals = {a.symbol: a.decimals for a in root.assets}
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header != HEADER:
            raise ReservesError(f"{where}, line 1: expected the header {','.join(HEADER)}, got {','.join(header or [])!r:.80}")
        balances: dict[tuple[str, str], int] = {}
        heights: dict[str, tuple[int, int]] = {}
        for row in reader:
            line = reader.line_num
            if len(row) != len(HEADER):
                raise ReservesError(f"{where}, line {line}: expected {len(HEADER)} fields, got {len(row)}")
            address, asset, balance, height_text = row
            chain = chain_of(address)
            try:
                address = normalize_address(chain, address)
            except ReservesError as exc:
                raise ReservesError(f"{where}, line {line}, column address: {exc}") from None
            if asset not in decimals:
                raise ReservesError(f"{where}, line {line}, column asset: {asset!r:.40} is not an asset of the root ({', '.join(decimals)})")
            try:
                amount = to_base_units(balance, decimals[asset])
            except AmountError as exc:
                raise ReservesError(f"{where}, line {line}, column balance: {exc}") from None
            try:
                height = parse_decimal(height_text, what="block_height", max_digits=12)
            except MalformedInput as exc:
                raise ReservesError(f"{where}, line {line}, column block_height: {exc}") from None
            if (address, asset) in balances:
                raise ReservesError(f"{where}, line {line}: a second row for {address} {asset}")
            if chain in heights and heights[chain][0] != height:
                raise ReservesError(f"{where}, line {line}, column block_height: {height}, but line {heights[chain][1]} "
                                    f"gives {heights[chain][0]} for {chain}: one snapshot height per chain")
            heights.setdefault(chain, (height, line))
            balances[(address, asset)] = amount
    except csv.Error as exc:
        raise ReservesError(f"{where}, line {reader.line_num}: {exc}") from None
    return Snapshot(balances, {chain: h for chain, (h, _) in heights.items()})


def read_snapshot(path: str | Path, root: PublishedRoot) -> Snapshot:
    """:func:`parse_snapshot` of a file; ReservesError for one that is not UTF-8."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReservesError(f"{path}: not UTF-8 (byte {exc.start})") from None
    return parse_snapshot(text, root, where=str(path))
