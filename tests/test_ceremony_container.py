"""The snarkjs binary container and point encodings: round trips, vectors, hostile bytes."""

import random
import struct

import pytest

from zkproofs.backends.common import Q
from zkproofs.ceremony import encoding as enc
from zkproofs.ceremony.binfile import binfile_bytes, parse_binfile, read_binfile, write_binfile
from zkproofs.errors import InvalidPoint, MalformedFile, NonCanonicalFieldElement
from zkproofs.field import R

rng = random.Random(2017)

# The G1 generator as the first point of section 2 of `snarkjs powersoftau new bls12381 3`.
SNARKJS_G1_GENERATOR_LEM = bytes.fromhex(
    "160c53fd9087b35cf5ff769967fc1778c1a13b14c7954f1547e7d0f3cd6aaef040f4db21cc6eceed75fb0b9e417701"
    "127122e70cd593acba8efd18791a63228cce250757135f59dd945140502958ac51c05900ad3f8c1c0e6aa20850fc3ebc0b"
)
# Its standard big-endian affine x (the BLS12-381 generator).
G1_GENERATOR_X = 0x17F1D3A73197D7942695638C4FA9AC0FC3688C4F9774B905A14E3A3F171BAC586C55E83FF97A1AEFFB3AF00ADB22C6BB

SECTIONS = [(1, b"header"), (2, bytes(range(200))), (7, b""), (2, b"again")]


# container -------------------------------------------------------------------------------
def test_container_round_trip(tmp_path):
    path = tmp_path / "x.ptau"
    write_binfile(path, b"ptau", 1, SECTIONS)
    parsed = read_binfile(path, b"ptau")
    assert parsed.version == 1
    assert bytes(parsed.section(1)) == b"header"
    assert bytes(parsed.section(7)) == b""
    assert [bytes(p) for _, p in parsed.sections[2]] == [bytes(range(200)), b"again"]
    assert parsed.offset(1) == 12 + 12


def test_duplicate_section_refused_where_one_is_expected():
    parsed = parse_binfile(binfile_bytes(b"ptau", 1, SECTIONS), b"ptau", where="x.ptau")
    with pytest.raises(MalformedFile, match="section 2 .*appears 2 times"):
        parsed.section(2, "tauG1")
    with pytest.raises(MalformedFile, match="section 3 is missing"):
        parsed.section(3)


@pytest.mark.parametrize("cut", [0, 3, 11, 12 + 5, 12 + 12 + 3, len(binfile_bytes(b"ptau", 1, SECTIONS)) - 1])
def test_truncated_file_refused_with_offset(cut):
    data = binfile_bytes(b"ptau", 1, SECTIONS)[:cut]
    with pytest.raises(MalformedFile) as err:
        parse_binfile(data, b"ptau", where="/tmp/t.ptau")
    assert err.value.offset is not None and err.value.offset <= cut
    assert str(err.value).startswith("t.ptau")


def test_section_size_past_end_of_file_refused():
    data = bytearray(binfile_bytes(b"ptau", 1, [(1, b"abc")]))
    struct.pack_into("<Q", data, 16, 1 << 40)
    with pytest.raises(MalformedFile, match=r"section 1, offset 24: section 1 claims 1099511627776 bytes but only 3 remain"):
        parse_binfile(bytes(data), b"ptau", where="t.ptau")


def test_wrong_magic_version_and_trailing_bytes_refused():
    good = binfile_bytes(b"ptau", 1, [(1, b"abc")])
    with pytest.raises(MalformedFile, match="not a zkey file"):
        parse_binfile(good, b"zkey", where="t")
    with pytest.raises(MalformedFile, match="unsupported ptau version 2"):
        parse_binfile(binfile_bytes(b"ptau", 2, []), b"ptau", where="t")
    with pytest.raises(MalformedFile, match="1 trailing bytes"):
        parse_binfile(good + b"\0", b"ptau", where="t")


def test_failed_write_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "x.ptau"
    write_binfile(path, b"ptau", 1, [(1, b"old")])

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr("zkproofs.atomic.os.fsync", boom)
    with pytest.raises(OSError):
        write_binfile(path, b"ptau", 1, [(1, b"new")])
    assert bytes(read_binfile(path, b"ptau").section(1)) == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.ptau"]


def test_unreadable_file_is_malformed(tmp_path):
    with pytest.raises(MalformedFile, match="missing.ptau"):
        read_binfile(tmp_path / "missing.ptau", b"ptau")


# field elements -----------------------------------------------------------------------------
def test_field_montgomery_round_trips_and_canonical_check():
    for _ in range(20):
        x, k = rng.randrange(Q), rng.randrange(R)
        assert enc.fq_from_mont(enc.fq_to_mont(x)) == x
        assert enc.fr_from_mont(enc.fr_to_mont(k)) == k
    assert enc.fq_to_mont(1) == ((1 << 384) % Q).to_bytes(48, "little")
    assert enc.fr_to_mont(1) == ((1 << 256) % R).to_bytes(32, "little")
    with pytest.raises(InvalidPoint):
        enc.fq_from_mont(Q.to_bytes(48, "little"))
    with pytest.raises(NonCanonicalFieldElement):
        enc.fr_from_mont(R.to_bytes(32, "little"))


# points ------------------------------------------------------------------------------------
def test_generator_matches_snarkjs_vector(backend):
    g = backend.g1_generator()
    assert enc.g1_to_lem(backend, g) == SNARKJS_G1_GENERATOR_LEM
    assert backend.g1_eq(enc.g1_from_lem(backend, SNARKJS_G1_GENERATOR_LEM), g)
    u = enc.g1_to_u(backend, g)
    assert int.from_bytes(u[:48], "big") == G1_GENERATOR_X
    c = enc.g1_to_c(backend, g)
    assert c == u[:48]  # the generator's y is "positive": no flag
    assert enc.lem_to_u("G1", SNARKJS_G1_GENERATOR_LEM) == u


def test_point_round_trips_both_groups(backend):
    for group, gen, mul, eq in (
        ("G1", backend.g1_generator(), backend.g1_mul, backend.g1_eq),
        ("G2", backend.g2_generator(), backend.g2_mul, backend.g2_eq),
    ):
        points = [mul(gen, rng.randrange(1, R)) for _ in range(3)] + [mul(gen, 0)]
        data = enc.points_to_lem(backend, group, points)
        back = enc.points_from_lem(backend, group, data, len(points), where="t", section=2)
        assert all(eq(a, b) for a, b in zip(points, back))
        assert data[-(96 if group == "G1" else 192) :] == bytes(96 if group == "G1" else 192)  # infinity: zeros
        assert enc.lem_to_c(group, data[-(96 if group == "G1" else 192) :])[0] == 0x40


def test_compressed_flag_follows_the_sign_of_y(backend):
    p = backend.g2_mul(backend.g2_generator(), 12345)
    neg = backend.g2_neg(p)
    cp, cn = enc.g2_to_c(backend, p), enc.g2_to_c(backend, neg)
    assert cp[1:] == cn[1:] and (cp[0] ^ cn[0]) == 0x80
    assert enc.g2_to_u(backend, p)[:96] == enc.g2_to_u(backend, neg)[:96]


def _off_subgroup_g1_lem() -> bytes:
    x = 1
    while True:
        rhs = (x**3 + 4) % Q
        y = pow(rhs, (Q + 1) // 4, Q)
        if y * y % Q == rhs:
            return enc.fq_to_mont(x) + enc.fq_to_mont(y)
        x += 1


def test_off_curve_and_off_subgroup_points_refused(backend):
    g = enc.g1_to_lem(backend, backend.g1_generator())
    off_curve = g[:48] + enc.fq_to_mont((enc.fq_from_mont(g[48:]) + 1) % Q)
    off_subgroup = _off_subgroup_g1_lem()  # x = small, y on the curve: cofactor part nonzero
    big = Q.to_bytes(48, "little") + g[48:]
    for bad in (off_curve, off_subgroup, big):
        with pytest.raises(InvalidPoint):
            enc.g1_from_lem(backend, bad)
    data = g + g + off_subgroup
    with pytest.raises(MalformedFile, match=r"t.ptau, section 2, offset 292: G1 point #2"):
        enc.points_from_lem(backend, "G1", data, 3, where="t.ptau", section=2, offset=100)
    with pytest.raises(MalformedFile, match="expected 4 G1 points"):
        enc.points_from_lem(backend, "G1", data, 4, where="t.ptau", section=2)


def test_an_unreadable_ptau_or_zkey_is_malformed_file_naming_it(tmp_path):
    """Every ceremony reader goes through binfile.read_file: a missing file or a folder is MalformedFile, not OSError."""
    from zkproofs.backends import get_backend
    from zkproofs.ceremony.ptau import read_ptau
    from zkproofs.ceremony.zkey import read_zkey

    be = get_backend("arkworks")
    for reader in (lambda p: read_ptau(p, be), lambda p: read_zkey(p, be), lambda p: read_binfile(p, b"zkey")):
        for path in (tmp_path / "missing.bin", tmp_path):
            with pytest.raises(MalformedFile, match=str(path.name)):
                reader(path)
