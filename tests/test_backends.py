"""The two curve backends agree on every operation and encoding, and refuse bad points."""

import random

import pytest

from tests.helpers import g1_off_curve_compressed, g1_off_subgroup_compressed, g2_off_subgroup_compressed
from zkproofs.backends import get_backend, use_backend
from zkproofs.backends.common import Q
from zkproofs.errors import BackendUnavailable, InvalidPoint
from zkproofs.field import R

rng = random.Random(381)

# G1 generator, compressed (ZCash format; the standard BLS12-381 test vector).
G1_GENERATOR_COMPRESSED = bytes.fromhex(
    "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
)


def test_generator_encoding_matches_the_standard_vector(backend):
    assert backend.g1_to_bytes(backend.g1_generator()) == G1_GENERATOR_COMPRESSED
    assert backend.g1_eq(backend.g1_from_bytes(G1_GENERATOR_COMPRESSED), backend.g1_generator())


def test_encodings_identical_across_backends():
    ark, ref = get_backend("arkworks"), get_backend("py_ecc")
    for _ in range(3):
        k = rng.randrange(1, R)
        for group in ("g1", "g2"):
            pa = getattr(ark, f"{group}_mul")(getattr(ark, f"{group}_generator")(), k)
            pr = getattr(ref, f"{group}_mul")(getattr(ref, f"{group}_generator")(), k)
            for codec in ("to_bytes", "to_uncompressed"):
                assert getattr(ark, f"{group}_{codec}")(pa) == getattr(ref, f"{group}_{codec}")(pr)
            # and each decodes the other's bytes to the same point
            data = getattr(ark, f"{group}_to_bytes")(pa)
            assert getattr(ref, f"{group}_eq")(getattr(ref, f"{group}_from_bytes")(data), pr)
            raw = getattr(ref, f"{group}_to_uncompressed")(pr)
            assert getattr(ark, f"{group}_eq")(getattr(ark, f"{group}_from_uncompressed")(raw), pa)


def test_identity_round_trips(backend):
    for group in ("g1", "g2"):
        identity = getattr(backend, f"{group}_identity")()
        data = getattr(backend, f"{group}_to_bytes")(identity)
        assert data[0] == 0xC0 and not any(data[1:])
        assert getattr(backend, f"{group}_is_identity")(getattr(backend, f"{group}_from_bytes")(data))
        raw = getattr(backend, f"{group}_to_uncompressed")(identity)
        assert not any(raw)
        assert getattr(backend, f"{group}_is_identity")(getattr(backend, f"{group}_from_uncompressed")(raw))


def test_msm_and_batch_mul_match_scalar_multiplication(backend):
    g1, g2 = backend.g1_generator(), backend.g2_generator()
    scalars = [0, 1, R - 1] + [rng.randrange(R) for _ in range(5)]
    total = sum(k * (i + 2) for i, k in enumerate(scalars)) % R
    g1_points = [backend.g1_mul(g1, i + 2) for i in range(len(scalars))]
    g2_points = [backend.g2_mul(g2, i + 2) for i in range(len(scalars))]
    assert backend.g1_eq(backend.g1_msm(g1_points, scalars), backend.g1_mul(g1, total))
    assert backend.g2_eq(backend.g2_msm(g2_points, scalars), backend.g2_mul(g2, total))
    batch = backend.g1_batch_mul(g1, scalars)
    assert all(backend.g1_eq(p, backend.g1_mul(g1, k)) for p, k in zip(batch, scalars))
    batch2 = backend.g2_batch_mul(g2, scalars[:3])
    assert all(backend.g2_eq(p, backend.g2_mul(g2, k)) for p, k in zip(batch2, scalars[:3]))
    assert backend.g1_is_identity(backend.g1_msm([], []))


def test_pairing_is_bilinear_and_multi_pairing_multiplies(backend):
    g1, g2 = backend.g1_generator(), backend.g2_generator()
    a, b = rng.randrange(1, 1 << 32), rng.randrange(1, 1 << 32)
    assert backend.gt_eq(backend.pairing(backend.g1_mul(g1, a), backend.g2_mul(g2, b)), backend.pairing(backend.g1_mul(g1, a * b), g2))
    product = backend.multi_pairing([(backend.g1_mul(g1, a), g2), (g1, backend.g2_mul(g2, b))])
    assert backend.gt_eq(product, backend.pairing(backend.g1_mul(g1, a + b), g2))
    assert not backend.gt_eq(product, backend.pairing(backend.g1_mul(g1, a + b + 1), g2))
    # e(P, Q) e(-P, Q) = 1 = e(O, Q)
    neutral = backend.multi_pairing([(g1, g2), (backend.g1_neg(g1), g2)])
    assert backend.gt_eq(neutral, backend.pairing(backend.g1_identity(), g2))


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda d: d[:47], "expected 48"),
        (lambda d: d + b"\0", "expected 48"),
        (lambda d: bytes([d[0] & 0x7F]) + d[1:], "compression flag"),
        (lambda d: bytes([0xC0]) + bytes(46) + b"\1", "identity"),
        (lambda d: bytes([0x80 | 0x1A]) + bytes.fromhex("0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"), "modulus"),
    ],
)
def test_malformed_g1_encodings_rejected(backend, mutate, reason):
    with pytest.raises(InvalidPoint, match=reason):
        backend.g1_from_bytes(mutate(G1_GENERATOR_COMPRESSED))


def test_points_off_curve_or_outside_subgroup_rejected(backend):
    with pytest.raises(InvalidPoint, match="curve"):
        backend.g1_from_bytes(g1_off_curve_compressed())
    with pytest.raises(InvalidPoint, match="subgroup"):
        backend.g1_from_bytes(g1_off_subgroup_compressed())
    with pytest.raises(InvalidPoint, match="subgroup"):
        backend.g2_from_bytes(g2_off_subgroup_compressed())


def test_uncompressed_off_curve_and_out_of_range_rejected(backend):
    raw = bytearray(backend.g1_to_uncompressed(backend.g1_generator()))
    raw[50] ^= 1  # change y: no longer on the curve
    with pytest.raises(InvalidPoint):
        backend.g1_from_uncompressed(bytes(raw))
    with pytest.raises(InvalidPoint, match="modulus"):
        backend.g1_from_uncompressed(Q.to_bytes(48, "little") + bytes(48))


def test_backend_selection(monkeypatch):
    monkeypatch.setenv("ZKPROOFS_BACKEND", "py_ecc")
    assert get_backend().name == "py_ecc"
    assert get_backend("arkworks").name == "arkworks"  # explicit beats the environment
    monkeypatch.setenv("ZKPROOFS_BACKEND", "nope")
    with pytest.raises(BackendUnavailable, match="unknown backend"):
        get_backend()
    monkeypatch.delenv("ZKPROOFS_BACKEND")
    with pytest.raises(BackendUnavailable):
        use_backend("nope")
    assert get_backend().name == "arkworks"


@pytest.mark.parametrize("window", [4, 7, 13])
def test_windowed_batch_mul_at_every_window_width(monkeypatch, window):
    """Digits at window boundaries (2^w - 1, 2^w), the top window and zero, for several widths."""
    from zkproofs.backends import common

    be = get_backend("arkworks")
    monkeypatch.setattr(common, "window_bits", lambda n: window)
    g1 = be.g1_generator()
    scalars = [0, 1, (1 << window) - 1, 1 << window, (1 << (2 * window)) + 1, R - 1, 1 << 254]
    batch = common.windowed_batch_mul(g1, scalars, be.g1_add, be.g1_identity())
    assert all(be.g1_eq(p, be.g1_mul(g1, k)) for p, k in zip(batch, scalars))


def test_window_width_grows_with_the_batch():
    from zkproofs.backends.common import window_bits

    assert window_bits(1) == 4 and window_bits(300) == 6 and window_bits(65_536) == window_bits(330_000) == 13
