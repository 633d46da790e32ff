"""The Grain LFSR that generates Poseidon's round constants and MDS matrix.

As in the authors' reference script ``generate_parameters_grain.sage``
(Grassi, Khovratovich, Rechberger, Roy, Schofnegger, "Poseidon: A New Hash Function
for Zero-Knowledge Proof Systems", USENIX Security 2021, appendix F): an 80-bit
state seeded with the instance parameters, taps b62 ^ b51 ^ b38 ^ b23 ^ b13 ^ b0,
the first 160 output bits discarded, then self-shrinking (read bit pairs; when the
first bit is 1 output the second, otherwise discard both).
"""

from __future__ import annotations

from collections import deque
from typing import Iterator

FIELD_PRIME = 1  # GF(p)
SBOX_POWER = 0  # x^alpha


def _bits(value: int, width: int) -> list[int]:
    return [int(b) for b in bin(value)[2:].zfill(width)]


class Grain:
    """Grain LFSR keyed by (field, S-box, n, t, R_F, R_P)."""

    def __init__(self, n: int, t: int, r_f: int, r_p: int):
        seed = (
            _bits(FIELD_PRIME, 2)
            + _bits(SBOX_POWER, 4)
            + _bits(n, 12)
            + _bits(t, 12)
            + _bits(r_f, 10)
            + _bits(r_p, 10)
            + [1] * 30
        )
        self._state = deque(seed, maxlen=80)
        for _ in range(160):
            self._step()

    def _step(self) -> int:
        s = self._state
        bit = s[62] ^ s[51] ^ s[38] ^ s[23] ^ s[13] ^ s[0]
        s.append(bit)  # maxlen drops s[0]
        return bit

    def bits(self) -> Iterator[int]:
        """The self-shrunk output bit stream."""
        while True:
            first, second = self._step(), self._step()
            if first == 1:
                yield second

    def integer(self, n: int) -> int:
        """The next n output bits as an integer, most significant bit first."""
        value = 0
        stream = self.bits()
        for _ in range(n):
            value = (value << 1) | next(stream)
        return value
