"""Facts remembered in the user cache: circuit digests (hits skip synthesis, misses and
corrupt entries recompute, other code never reuses an entry, a relabelled key is still
refused) and generated Poseidon instances (equal to Grain's, corrupt entries ignored)."""

import dataclasses
import json

import pytest

from circuits.cubic import Cubic
from circuits.merkle_sum_inclusion import MerkleSumInclusion
from zkproofs import usercache
from zkproofs.circuit import DIGEST_CACHE, Circuit
from zkproofs.errors import CircuitMismatch
from zkproofs.groth16 import setup
from zkproofs.groth16.trust import check_key
from zkproofs.poseidon import params as params_module


@pytest.fixture(autouse=True)
def _fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path))


def _no_synthesis(monkeypatch):
    def refuse(self, inputs=None):
        raise AssertionError("synthesized although the digest was cached")

    monkeypatch.setattr(Circuit, "synthesize", refuse)


def _entries():
    folder = usercache.cache_dir() / DIGEST_CACHE
    return sorted(folder.glob("*.json")) if folder.exists() else []


def test_digest_is_the_shape_digest_and_a_second_instance_hits_the_cache(monkeypatch):
    expected = MerkleSumInclusion(depth=2, assets=1).shape.digest()
    assert MerkleSumInclusion(depth=2, assets=1).digest() == expected
    assert len(_entries()) == 1
    _no_synthesis(monkeypatch)
    assert MerkleSumInclusion(depth=2, assets=1).digest() == expected
    with pytest.raises(AssertionError, match="synthesized"):
        MerkleSumInclusion(depth=3, assets=1).digest()  # other parameters: another entry


@pytest.mark.parametrize("content", ["{not json", json.dumps({"digest": "00"}), json.dumps({"digest": 5}), json.dumps([1])])
def test_malformed_entry_is_a_miss(content):
    expected = Cubic().digest()
    (entry,) = _entries()
    entry.write_text(content)
    assert Cubic().digest() == expected
    assert json.loads(entry.read_text())["digest"] == expected


def test_other_code_never_reuses_an_entry(monkeypatch):
    Cubic().digest()
    monkeypatch.setattr(usercache, "code_fingerprint", lambda: "0" * 64)
    Cubic().digest()
    assert len(_entries()) == 2


def test_relabelled_key_is_refused_with_a_warm_cache():
    """A key made for depth 1, relabelled as depth 2 with depth 2's public inputs: the
    cached digest of depth 2 is not the key's, so the key is refused on every call."""
    target = MerkleSumInclusion(depth=2, assets=1)
    other_vk = setup(MerkleSumInclusion(depth=1, assets=1), party="test").vk
    relabelled = dataclasses.replace(other_vk, circuit=dataclasses.replace(other_vk.circuit, params=tuple(sorted(target.params.items()))))
    for _ in range(2):
        with pytest.raises(CircuitMismatch, match="digest"):
            check_key(MerkleSumInclusion(depth=2, assets=1), relabelled)
    assert len(_entries()) == 1


def _poseidon_entry(t):
    key = usercache.fact_key("poseidon", t, *params_module.ROUNDS[t])
    return usercache.cache_dir() / params_module.PARAMS_CACHE / f"{key}.json"


@pytest.mark.parametrize("t", [3, 5])
def test_poseidon_instance_from_the_cache_equals_grain(t, monkeypatch):
    params_module.poseidon_params.cache_clear()
    try:
        generated = params_module.poseidon_params(t)
        assert _poseidon_entry(t).exists()
        params_module.poseidon_params.cache_clear()
        monkeypatch.setattr(params_module, "Grain", None)  # a hit must not run Grain
        assert params_module.poseidon_params(t) == generated
    finally:
        params_module.poseidon_params.cache_clear()


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["mds"][0].__setitem__(0, params_module.R),
        lambda d: d["round_constants"].pop(),
        lambda d: d["mds"][1].append(1),
        lambda d: d["round_constants"][0].__setitem__(0, True),
        lambda d: d.pop("mds"),
    ],
)
def test_malformed_poseidon_entry_is_a_miss(edit):
    params_module.poseidon_params.cache_clear()
    try:
        generated = params_module.poseidon_params(3)
        entry = _poseidon_entry(3)
        doc = json.loads(entry.read_text())
        edit(doc)
        entry.write_text(json.dumps(doc))
        params_module.poseidon_params.cache_clear()
        assert params_module.poseidon_params(3) == generated
    finally:
        params_module.poseidon_params.cache_clear()
