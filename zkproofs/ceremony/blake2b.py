"""BLAKE2b-512 (RFC 7693) whose intermediate state can be saved and resumed.

snarkjs stores, in each ``.ptau`` contribution, the BLAKE2b state after hashing
the contribution's points (216 bytes, the layout of @noble/hashes' internal
state as snarkjs' ``misc.toPartialHash`` writes it), so that the response hash
can be finished later from the public key alone. ``hashlib`` cannot export a
state, hence this implementation; outputs are tested against ``hashlib``.

Partial-state layout (216 bytes): the 128-byte block buffer (holding the last 1
to 128 input bytes, not yet compressed), the eight chaining words h[0..7] as
u64 little-endian, u64 bytes compressed so far, u64 bytes in the buffer, 8 zero
bytes. Cost: one 12-round compression per 128 input bytes, in pure Python
(about 1 MB/s); ceremony files hash the compressed points once per contribution.
"""

from __future__ import annotations

import struct

from zkproofs.errors import MalformedInput

_M64 = (1 << 64) - 1
_IV = (
    0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
    0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179,
)  # fmt: skip
_SIGMA = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
    (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
    (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
    (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
    (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
    (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
    (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
    (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
    (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
    (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0),
)
_ROUNDS = tuple(_SIGMA[i % 10] for i in range(12))
_WORDS = struct.Struct("<16Q")
PARTIAL_SIZE = 216
BLOCK = 128


def _compress(h: list[int], block: bytes, t: int, last: bool) -> None:
    m = _WORDS.unpack(block)
    v0, v1, v2, v3, v4, v5, v6, v7 = h
    v8, v9, v10, v11 = _IV[0], _IV[1], _IV[2], _IV[3]
    v12 = _IV[4] ^ (t & _M64)
    v13 = _IV[5] ^ (t >> 64)
    v14 = _IV[6] ^ _M64 if last else _IV[6]
    v15 = _IV[7]
    M = _M64
    for s in _ROUNDS:
        # columns
        v0 = (v0 + v4 + m[s[0]]) & M; v12 ^= v0; v12 = ((v12 >> 32) | (v12 << 32)) & M
        v8 = (v8 + v12) & M; v4 ^= v8; v4 = ((v4 >> 24) | (v4 << 40)) & M
        v0 = (v0 + v4 + m[s[1]]) & M; v12 ^= v0; v12 = ((v12 >> 16) | (v12 << 48)) & M
        v8 = (v8 + v12) & M; v4 ^= v8; v4 = ((v4 >> 63) | (v4 << 1)) & M
        v1 = (v1 + v5 + m[s[2]]) & M; v13 ^= v1; v13 = ((v13 >> 32) | (v13 << 32)) & M
        v9 = (v9 + v13) & M; v5 ^= v9; v5 = ((v5 >> 24) | (v5 << 40)) & M
        v1 = (v1 + v5 + m[s[3]]) & M; v13 ^= v1; v13 = ((v13 >> 16) | (v13 << 48)) & M
        v9 = (v9 + v13) & M; v5 ^= v9; v5 = ((v5 >> 63) | (v5 << 1)) & M
        v2 = (v2 + v6 + m[s[4]]) & M; v14 ^= v2; v14 = ((v14 >> 32) | (v14 << 32)) & M
        v10 = (v10 + v14) & M; v6 ^= v10; v6 = ((v6 >> 24) | (v6 << 40)) & M
        v2 = (v2 + v6 + m[s[5]]) & M; v14 ^= v2; v14 = ((v14 >> 16) | (v14 << 48)) & M
        v10 = (v10 + v14) & M; v6 ^= v10; v6 = ((v6 >> 63) | (v6 << 1)) & M
        v3 = (v3 + v7 + m[s[6]]) & M; v15 ^= v3; v15 = ((v15 >> 32) | (v15 << 32)) & M
        v11 = (v11 + v15) & M; v7 ^= v11; v7 = ((v7 >> 24) | (v7 << 40)) & M
        v3 = (v3 + v7 + m[s[7]]) & M; v15 ^= v3; v15 = ((v15 >> 16) | (v15 << 48)) & M
        v11 = (v11 + v15) & M; v7 ^= v11; v7 = ((v7 >> 63) | (v7 << 1)) & M
        # diagonals
        v0 = (v0 + v5 + m[s[8]]) & M; v15 ^= v0; v15 = ((v15 >> 32) | (v15 << 32)) & M
        v10 = (v10 + v15) & M; v5 ^= v10; v5 = ((v5 >> 24) | (v5 << 40)) & M
        v0 = (v0 + v5 + m[s[9]]) & M; v15 ^= v0; v15 = ((v15 >> 16) | (v15 << 48)) & M
        v10 = (v10 + v15) & M; v5 ^= v10; v5 = ((v5 >> 63) | (v5 << 1)) & M
        v1 = (v1 + v6 + m[s[10]]) & M; v12 ^= v1; v12 = ((v12 >> 32) | (v12 << 32)) & M
        v11 = (v11 + v12) & M; v6 ^= v11; v6 = ((v6 >> 24) | (v6 << 40)) & M
        v1 = (v1 + v6 + m[s[11]]) & M; v12 ^= v1; v12 = ((v12 >> 16) | (v12 << 48)) & M
        v11 = (v11 + v12) & M; v6 ^= v11; v6 = ((v6 >> 63) | (v6 << 1)) & M
        v2 = (v2 + v7 + m[s[12]]) & M; v13 ^= v2; v13 = ((v13 >> 32) | (v13 << 32)) & M
        v8 = (v8 + v13) & M; v7 ^= v8; v7 = ((v7 >> 24) | (v7 << 40)) & M
        v2 = (v2 + v7 + m[s[13]]) & M; v13 ^= v2; v13 = ((v13 >> 16) | (v13 << 48)) & M
        v8 = (v8 + v13) & M; v7 ^= v8; v7 = ((v7 >> 63) | (v7 << 1)) & M
        v3 = (v3 + v4 + m[s[14]]) & M; v14 ^= v3; v14 = ((v14 >> 32) | (v14 << 32)) & M
        v9 = (v9 + v14) & M; v4 ^= v9; v4 = ((v4 >> 24) | (v4 << 40)) & M
        v3 = (v3 + v4 + m[s[15]]) & M; v14 ^= v3; v14 = ((v14 >> 16) | (v14 << 48)) & M
        v9 = (v9 + v14) & M; v4 ^= v9; v4 = ((v4 >> 63) | (v4 << 1)) & M
    h[0] ^= v0 ^ v8
    h[1] ^= v1 ^ v9
    h[2] ^= v2 ^ v10
    h[3] ^= v3 ^ v11
    h[4] ^= v4 ^ v12
    h[5] ^= v5 ^ v13
    h[6] ^= v6 ^ v14
    h[7] ^= v7 ^ v15


class Blake2b512:
    """Unkeyed BLAKE2b with a 64-byte digest; ``update``, ``digest``, and state export/import."""

    def __init__(self) -> None:
        self._h = list(_IV)
        self._h[0] ^= 0x01010000 ^ 64
        self._t = 0  # bytes compressed
        self._buf = bytearray()

    def update(self, data: bytes | bytearray | memoryview) -> "Blake2b512":
        """Absorb ``data``. O(len(data)); the last 1..128 bytes stay buffered."""
        buf = self._buf
        buf += data
        n = len(buf)
        if n > BLOCK:
            full = (n - 1) // BLOCK * BLOCK
            h, t = self._h, self._t
            for off in range(0, full, BLOCK):
                t += BLOCK
                _compress(h, bytes(buf[off : off + BLOCK]), t, False)
            self._t = t
            del buf[:full]
        return self

    def copy(self) -> "Blake2b512":
        other = Blake2b512.__new__(Blake2b512)
        other._h, other._t, other._buf = list(self._h), self._t, bytearray(self._buf)
        return other

    def digest(self) -> bytes:
        """The 64-byte digest (the object stays usable)."""
        h = list(self._h)
        _compress(h, bytes(self._buf) + bytes(BLOCK - len(self._buf)), self._t + len(self._buf), True)
        return struct.pack("<8Q", *h)

    def partial_state(self) -> bytes:
        """The 216-byte resumable state in snarkjs' ``partialHash`` layout."""
        return (
            bytes(self._buf) + bytes(BLOCK - len(self._buf)) + struct.pack("<8Q", *self._h)
            + struct.pack("<QQ", self._t, len(self._buf)) + bytes(8)
        )  # fmt: skip

    @classmethod
    def from_partial_state(cls, data: bytes) -> "Blake2b512":
        """Resume from :meth:`partial_state` bytes (as snarkjs writes them).

        Raises MalformedInput for a wrong length, a buffered byte count above 128,
        or a counter that is not a whole number of blocks.
        """
        if len(data) != PARTIAL_SIZE:
            raise MalformedInput(f"partial hash state: expected {PARTIAL_SIZE} bytes, got {len(data)}")
        h = list(struct.unpack_from("<8Q", data, BLOCK))
        t, pos = struct.unpack_from("<QQ", data, BLOCK + 64)
        if pos > BLOCK or t % BLOCK or (t and not pos):
            raise MalformedInput(f"partial hash state: inconsistent counters (compressed {t}, buffered {pos})")
        out = cls.__new__(cls)
        out._h, out._t, out._buf = h, t, bytearray(data[:pos])
        return out
