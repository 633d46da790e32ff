"""Decoding untrusted JSON: every way ``json`` can fail becomes one typed error.

Proofs, keys, published roots, settlement requests, price files and account
exports all arrive from outside. Besides syntax errors, Python's ``json`` raises
``ValueError`` for an integer of more than 4,300 digits and ``RecursionError``
(or, with a raised recursion limit such as the one py_ecc sets on import,
overflows the C stack and kills the process) for deeply nested arrays. So
nesting is measured before parsing, and no format of ours nests deeper than
:data:`MAX_DEPTH`. Python's ``json`` also lets the last of two equal keys win
silently (a request whose first ``settlement_id`` is a decoy would be read under
the second) and accepts ``NaN``/``Infinity``, which RFC 8259 does not: both are
refused by :data:`DECODER`, the one decoder every reader of ours uses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from zkproofs.errors import MalformedInput

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (our formats use at most 5)."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


class DuplicateKey(ValueError):
    """An object with the same key twice (RFC 8259 leaves the meaning open; we refuse it)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f'duplicate key "{key[:60]}" in a JSON object')
            seen.add(key)
    return out


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed (not JSON)")


DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
"""``json.JSONDecoder`` refusing duplicate keys (:class:`DuplicateKey`) and ``NaN``/``Infinity`` (ValueError)."""


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``text``, ignoring string literals.

    Unbalanced text counts every unclosed opener (that is what the parser
    would recurse into). O(len(text)), with the scan done by ``re`` and
    ``itertools`` rather than a Python loop.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def decode_text(data: str | bytes, where: str, error: Callable[[str], Exception] = MalformedInput) -> str:
    """``data`` as text (bytes in UTF-8, -16 or -32 as RFC 8259 allows), checked for depth.

    Raises ``error(message)`` naming ``where`` for bytes that are not text in
    that encoding or nesting deeper than :data:`MAX_DEPTH`.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        try:
            data = raw.decode(json.detect_encoding(raw))
        except UnicodeDecodeError as exc:
            raise error(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    depth = nesting_depth(data)
    if depth > MAX_DEPTH:
        raise error(f"{where}: JSON nested {depth} levels deep; at most {MAX_DEPTH} are accepted")
    return data


def loads(data: str | bytes, where: str, error: Callable[[str], Exception] = MalformedInput) -> Any:
    """``json.loads`` that raises ``error(message)`` naming ``where`` on any failure.

    Failures: not text, nested deeper than :data:`MAX_DEPTH`, a syntax error
    (with line and column), an object with a duplicate key, ``NaN`` or
    ``Infinity``, or a number Python refuses to convert (more than 4,300
    digits). O(len(data)).
    """
    text = decode_text(data, where, error)
    try:
        return DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: invalid JSON ({exc})") from None
    except DuplicateKey as exc:
        raise error(f"{where}: {exc}") from None
    except ValueError as exc:
        raise error(f"{where}: JSON that cannot be decoded ({str(exc).split(';')[0]})") from None


def is_exactly(value: Any, expected: Any) -> bool:
    """``value == expected`` with the same JSON type: a version ``1`` is not ``true`` or ``1.0``."""
    return type(value) is type(expected) and value == expected
