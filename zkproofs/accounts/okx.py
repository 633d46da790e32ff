"""OKX's proof-of-reserves batch JSON: ``[{"id": ..., "assets": {TOKEN: "<signed int>"}}, ...]``.

Source: okx/proof-of-reserves-v2, ``test-data/batch0.json`` (MIT). Each value
is a signed integer string already in the token's base units (the file says
nothing of decimals, so every asset has decimals 0 and amounts are kept as
given). A negative value is a debt: ``"-5"`` becomes equity 0, debt 5.
Assets are ordered by first appearance; a token missing from an account is 0.

The top-level array is decoded element by element so that errors carry the
line where the account starts; duplicate keys (which :mod:`json` would
silently overwrite), ``NaN``/``Infinity`` and unknown keys are refused.
O(file size).
"""

from __future__ import annotations

import json

from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.accounts.source import Cell, IdRegistry, read_text
from zkproofs.errors import AccountsError
from zkproofs.jsontext import DECODER, MAX_DEPTH, nesting_depth


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _elements(path, text: str):
    """(line, element) for each element of the top-level JSON array of ``text``."""
    n = len(text)

    def skip(i: int) -> int:
        while i < n and text[i] in " \t\r\n":
            i += 1
        return i

    i = skip(0)
    if i >= n:
        raise AccountsError("empty file", path=path)
    if text[i] != "[":
        raise AccountsError("the top level must be a JSON array of accounts", path=path, line=_line_of(text, i))
    i = skip(i + 1)
    if i < n and text[i] == "]":
        i = skip(i + 1)
    else:
        while True:
            try:
                element, end = DECODER.raw_decode(text, i)
            except json.JSONDecodeError as exc:
                raise AccountsError(f"JSON syntax error: {exc.msg}", path=path, line=exc.lineno) from None
            except ValueError as exc:
                raise AccountsError(f"JSON error: {exc}", path=path, line=_line_of(text, i)) from None
            yield _line_of(text, i), element
            i = skip(end)
            if i < n and text[i] == ",":
                i = skip(i + 1)
                continue
            if i < n and text[i] == "]":
                i = skip(i + 1)
                break
            raise AccountsError('JSON syntax error: expected "," or "]"', path=path, line=_line_of(text, min(i, n)))
    if i != n:
        raise AccountsError("extra data after the JSON array", path=path, line=_line_of(text, i))


def load_okx(path) -> AccountSet:
    """Read an OKX batch JSON into an AccountSet (decimals 0, negative values as debt).

    Raises AccountsError (with the account's line and the token as column) for
    a file that is not a JSON array of ``{"id": str, "assets": {str: str}}``
    objects, an empty or duplicate id, a value that is not a signed integer
    string, a magnitude above 2^64 - 1, and an empty array.
    """
    text = read_text(path)
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise AccountsError(f"JSON nested {depth} levels deep; at most {MAX_DEPTH} are accepted", path=path)
    ids = IdRegistry()
    symbols: list[str] = []
    position: dict[str, int] = {}
    rows: list[tuple[str, dict[int, int]]] = []
    for line, element in _elements(path, text):
        if not isinstance(element, dict):
            raise AccountsError("an account must be a JSON object", path=path, line=line)
        unknown = sorted(set(element) - {"id", "assets"})
        if unknown:
            raise AccountsError(f'unknown key "{unknown[0]}" (an account has "id" and "assets")', path=path, line=line, column=unknown[0])
        for key in ("id", "assets"):
            if key not in element:
                raise AccountsError(f'missing key "{key}"', path=path, line=line, column=key)
        if not isinstance(element["id"], str):
            raise AccountsError('"id" must be a string', path=path, line=line, column="id")
        account_id = ids.add(element["id"], Cell(path, line, "id"))
        if not isinstance(element["assets"], dict):
            raise AccountsError('"assets" must be an object', path=path, line=line, column="assets")
        values: dict[int, int] = {}
        for token, text_value in element["assets"].items():
            cell = Cell(path, line, token)
            if token.strip() == "" or token != token.strip():
                raise cell.error(f"invalid token name {token!r}")
            if not isinstance(text_value, str):
                raise cell.error(f"value must be a string of a signed integer, not {json.dumps(text_value)}")
            if token not in position:
                position[token] = len(symbols)
                symbols.append(token)
            values[position[token]] = cell.amount(text_value, 0, signed=True)
        rows.append((account_id, values))
    if not rows:
        raise AccountsError("no accounts in the array", path=path)
    accounts = []
    for account_id, values in rows:
        signed = [values.get(i, 0) for i in range(len(symbols))]
        accounts.append(Account(account_id, tuple(max(v, 0) for v in signed), tuple(max(-v, 0) for v in signed)))
    return AccountSet(tuple(Asset(symbol, 0) for symbol in symbols), tuple(accounts), source=str(path))
