"""The iden3 binary formats, so circom/snarkjs tooling can read our circuits.

``.r1cs`` (iden3 r1csfile, version 1): magic "r1cs", u32 version, u32 section
count, then sections (u32 type, u64 size, data): header (type 1: u32 n8 = 32,
the prime r in n8 bytes, u32 nWires, u32 nPubOut, u32 nPubIn, u32 nPrvIn,
u64 nLabels, u32 mConstraints), constraints (type 2: for each constraint the
linear combinations A, B, C as u32 term count then (u32 wire, n8-byte coefficient)
pairs), wire-to-label map (type 3: u64 per wire). ``.wtns`` (version 2): magic
"wtns", header section (u32 n8, prime, u32 witness count) and the witness values.
All integers little-endian; field elements in standard (not Montgomery) form.

Our public inputs are all declared as public inputs (nPubOut = 0): wire 0 is the
constant one, wires 1..l the public inputs in the key's order.
"""

from __future__ import annotations

import struct
from typing import Sequence

from zkproofs.field import R
from zkproofs.r1cs import R1CS

N8 = 32
_PRIME = R.to_bytes(N8, "little")


def _section(kind: int, data: bytes) -> bytes:
    return struct.pack("<IQ", kind, len(data)) + data


def _lc(row: dict[int, int]) -> bytes:
    out = [struct.pack("<I", len(row))]
    for var in sorted(row):
        out.append(struct.pack("<I", var) + row[var].to_bytes(N8, "little"))
    return b"".join(out)


def r1cs_to_bytes(r1cs: R1CS) -> bytes:
    """The iden3 ``.r1cs`` encoding of ``r1cs``. O(nnz)."""
    header = (
        struct.pack("<I", N8)
        + _PRIME
        + struct.pack("<IIIIQI", r1cs.num_variables, 0, r1cs.num_public, 0, r1cs.num_variables, r1cs.num_constraints)
    )
    constraints = b"".join(_lc(a) + _lc(b) + _lc(c) for a, b, c in zip(r1cs.a, r1cs.b, r1cs.c))
    labels = b"".join(struct.pack("<Q", i) for i in range(r1cs.num_variables))
    sections = _section(1, header) + _section(2, constraints) + _section(3, labels)
    return b"r1cs" + struct.pack("<II", 1, 3) + sections


def wtns_to_bytes(witness: Sequence[int]) -> bytes:
    """The iden3 ``.wtns`` encoding of a full assignment (wire 0 = 1)."""
    header = struct.pack("<I", N8) + _PRIME + struct.pack("<I", len(witness))
    values = b"".join(int(v).to_bytes(N8, "little") for v in witness)
    return b"wtns" + struct.pack("<II", 2, 2) + _section(1, header) + _section(2, values)
