"""Price epochs signed by a k-of-n quorum of oracles: the median, and every refusal by its reason code."""

import dataclasses
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkproofs.errors import MalformedInput
from zkproofs.settlement import epochs as ep
from zkproofs.settlement.epochs import EpochRefused, OracleSet, assemble_epoch, sign_quotes, verify_epoch

ASSETS = ("BTC", "ETH", "USDT")
ONE = 10**8
NOW = 1_800_000_000
BASE = {"BTC": 65_000 * ONE, "ETH": 3_000 * ONE, "USDT": ONE}


def _keys(n):
    return [ep.new_oracle_key() for _ in range(n)]


@pytest.fixture(scope="module")
def five():
    return _keys(5)


def _set(keys, k, **kw):
    return OracleSet("demo-venue", tuple(pub for _, pub in keys), k, ASSETS, kw.pop("max_move_bps", 2_000), **kw)


def _sign(keys, sequence=1, timestamp=NOW, prices=BASE, venue="demo-venue"):
    return [sign_quotes(seed, venue, sequence, timestamp, prices, ASSETS) for seed, _ in keys]


def _refused(reason, *args):
    with pytest.raises(EpochRefused) as info:
        assemble_epoch(*args)
    assert info.value.reason == reason, info.value
    return info.value


def test_an_honest_quorum_makes_the_epoch(five):
    oracles = _set(five[:3], 2)
    epoch = assemble_epoch(oracles, _sign(five[:2]), None, NOW)
    assert (epoch.sequence, epoch.timestamp, dict(epoch.prices)) == (1, NOW, BASE)
    nxt = assemble_epoch(oracles, _sign(five[:3], 2, NOW + 60, {**BASE, "BTC": 66_000 * ONE}), epoch, NOW + 60)
    assert nxt.sequence == 2 and nxt.prices["BTC"] == 66_000 * ONE


def test_one_manipulated_oracle_does_not_move_the_median(five):
    oracles = _set(five, 3)
    quotes = [
        *_sign(five[:2], prices={**BASE, "BTC": 64_990 * ONE}),
        *_sign(five[2:4], prices={**BASE, "BTC": 65_010 * ONE}),
        *_sign(five[4:], prices={**BASE, "BTC": 6_500_000 * ONE}),  # 100x
    ]
    epoch = assemble_epoch(oracles, quotes, None, NOW)
    assert epoch.prices["BTC"] == 65_010 * ONE  # the lower median of five: the third smallest
    # with an even count, the lower of the two middle quotes (always one an oracle gave)
    assert assemble_epoch(oracles, quotes[:4], None, NOW).prices["BTC"] == 64_990 * ONE


def test_a_forged_or_foreign_signature_refuses_the_epoch(five):
    oracles = _set(five[:3], 2)
    good = _sign(five[:2])
    forged = dataclasses.replace(good[1], signature=bytes([good[1].signature[0] ^ 1]) + good[1].signature[1:])
    _refused(ep.BAD_SIGNATURE, oracles, [good[0], forged], None, NOW)
    # a quote altered after signing (the price raised) no longer matches its signature
    raised = dataclasses.replace(good[1], prices={**BASE, "BTC": 70_000 * ONE})
    _refused(ep.BAD_SIGNATURE, oracles, [good[0], raised], None, NOW)
    # a signature by a key outside the venue's set, even a valid one
    _refused(ep.UNKNOWN_SIGNER, oracles, [good[0], *_sign(five[4:])], None, NOW)
    # a quote signed for another venue is not this venue's
    other = _sign(five[1:2], venue="other-venue")
    _refused(ep.WRONG_VENUE, oracles, [good[0], *other], None, NOW)


def test_one_oracle_cannot_fake_a_quorum(five):
    oracles = _set(five[:3], 2)
    one = _sign(five[:1])
    _refused(ep.DUPLICATE_SIGNER, oracles, one + one, None, NOW)
    second = sign_quotes(five[0][0], "demo-venue", 1, NOW, {**BASE, "BTC": BASE["BTC"] + 1}, ASSETS)
    _refused(ep.DUPLICATE_SIGNER, oracles, one + [second], None, NOW)
    _refused(ep.NO_QUORUM, oracles, one, None, NOW)
    _refused(ep.NO_QUORUM, _set(five, 5), _sign(five[:4]), None, NOW)


def test_the_sequence_advances_by_exactly_one(five):
    oracles = _set(five[:3], 2)
    first = assemble_epoch(oracles, _sign(five[:2]), None, NOW)
    _refused(ep.SEQUENCE_GAP, oracles, _sign(five[:2], 2), None, NOW)  # the first epoch is number 1
    _refused(ep.STALE_SEQUENCE, oracles, _sign(five[:2], 1), first, NOW)  # repeated
    second = assemble_epoch(oracles, _sign(five[:2], 2), first, NOW)
    _refused(ep.STALE_SEQUENCE, oracles, _sign(five[:2], 1), second, NOW)  # going back
    _refused(ep.SEQUENCE_GAP, oracles, _sign(five[:2], 4), second, NOW)
    mixed = _sign(five[:1], 3) + _sign(five[1:2], 4)
    _refused(ep.SEQUENCE_MISMATCH, oracles, mixed, second, NOW)


def test_the_timestamp_neither_goes_back_nor_runs_ahead(five):
    oracles = _set(five[:3], 2)
    first = assemble_epoch(oracles, _sign(five[:2], 1, NOW), None, NOW)
    _refused(ep.TIMESTAMP_BACKWARDS, oracles, _sign(five[:2], 2, NOW - 1), first, NOW)
    assert assemble_epoch(oracles, _sign(five[:2], 2, NOW), first, NOW).timestamp == NOW  # equal is fine
    _refused(ep.TIMESTAMP_FUTURE, oracles, _sign(five[:2], 1, NOW + 61), None, NOW)
    assert assemble_epoch(oracles, _sign(five[:2], 1, NOW + 60), None, NOW).timestamp == NOW + 60
    # one signer's clock far ahead does not carry the epoch's timestamp with it
    skewed = _sign(five[:1], 1, NOW) + _sign(five[1:2], 1, NOW + 10**6) + _sign(five[2:3], 1, NOW + 5)
    assert assemble_epoch(oracles, skewed, None, NOW).timestamp == NOW + 5


def test_every_asset_needs_a_positive_price_from_every_signer(five):
    oracles = _set(five[:3], 2)
    partial = {"BTC": BASE["BTC"], "ETH": BASE["ETH"]}
    signed = [sign_quotes(seed, "demo-venue", 1, NOW, partial, ("BTC", "ETH")) for seed, _ in five[:2]]
    _refused(ep.MISSING_PRICE, oracles, signed, None, NOW)
    zero = _sign(five[:1]) + _sign(five[1:2], prices={**BASE, "ETH": 0})
    _refused(ep.MISSING_PRICE, oracles, zero, None, NOW)
    extra = [sign_quotes(seed, "demo-venue", 1, NOW, {**BASE, "DOGE": ONE}, ASSETS + ("DOGE",)) for seed, _ in five[:2]]
    _refused(ep.MISSING_PRICE, oracles, extra, None, NOW)


@pytest.mark.parametrize("move_bps,accepted", [(2_000, True), (-2_000, True), (2_001, False), (-2_001, False)])
def test_prices_move_at_most_the_bound_against_the_previous_epoch(five, move_bps, accepted):
    oracles = _set(five[:3], 2, max_move_bps=2_000)
    first = assemble_epoch(oracles, _sign(five[:2]), None, NOW)
    moved = {**BASE, "ETH": BASE["ETH"] * (10_000 + move_bps) // 10_000}
    quotes = _sign(five[:2], 2, NOW + 60, moved)
    if accepted:
        assert assemble_epoch(oracles, quotes, first, NOW + 60).prices["ETH"] == moved["ETH"]
    else:
        assert "ETH moves from 3000 to" in _refused(ep.PRICE_OUT_OF_BOUNDS, oracles, quotes, first, NOW + 60).detail


def test_an_asset_new_to_the_set_has_no_previous_price_to_bound_it(five):
    first = assemble_epoch(_set(five[:3], 2), _sign(five[:2]), None, NOW)
    listed = OracleSet("demo-venue", tuple(pub for _, pub in five[:3]), 2, ASSETS + ("DOGE",), 2_000)
    quotes = [sign_quotes(seed, "demo-venue", 2, NOW, {**BASE, "DOGE": ONE // 10}, listed.assets) for seed, _ in five[:2]]
    assert assemble_epoch(listed, quotes, first, NOW).prices["DOGE"] == ONE // 10
    # the assets the previous epoch priced stay bounded
    moved = [sign_quotes(seed, "demo-venue", 2, NOW, {**BASE, "BTC": 2 * BASE["BTC"], "DOGE": ONE}, listed.assets) for seed, _ in five[:2]]
    _refused(ep.PRICE_OUT_OF_BOUNDS, listed, moved, first, NOW)


def test_the_oracle_set_is_validated(five):
    keys = tuple(pub for _, pub in five[:3])
    for bad in (
        dict(keys=keys, quorum=0), dict(keys=keys, quorum=4), dict(keys=keys + keys[:1], quorum=2),
        dict(keys=(), quorum=1), dict(keys=("AB" * 32,), quorum=1), dict(keys=keys, quorum=True),
        dict(keys=keys, quorum=2, max_move_bps=0), dict(keys=keys, quorum=2, assets=("BTC", "BTC")),
    ):
        args = {"venue": "v", "assets": ASSETS, "max_move_bps": 100} | bad
        with pytest.raises(MalformedInput):
            OracleSet(**args)


def test_json_round_trip_and_strict_reading(five, tmp_path):
    oracles = _set(five[:3], 2)
    epoch = assemble_epoch(oracles, _sign(five[:3]), None, NOW)
    text = ep.epoch_to_json(epoch)
    again = ep.epoch_from_json(text, "epoch.json")
    assert again == epoch
    assert verify_epoch(oracles, again, None, NOW) == epoch
    obj = json.loads(text)
    # a recorded price that is not the median of the signed quotes
    tampered = json.dumps({**obj, "prices": {**obj["prices"], "BTC": "70000"}})
    with pytest.raises(EpochRefused) as info:
        verify_epoch(oracles, ep.epoch_from_json(tampered, "epoch.json"), None, NOW)
    assert info.value.reason == ep.MISMATCH
    with pytest.raises(MalformedInput, match="duplicate key"):
        ep.epoch_from_json(text.replace('"sequence": 1,', '"sequence": 1, "sequence": 2,', 1), "epoch.json")
    for change, field in (({"extra": 1}, "extra"), ({"sequence": True}, "sequence"), ({"timestamp": -1}, "timestamp")):
        with pytest.raises(MalformedInput, match=field):
            ep.epoch_from_json(json.dumps({**obj, **change}), "epoch.json")
    bad_price = {**obj, "prices": {**obj["prices"], "BTC": 65000}}
    with pytest.raises(MalformedInput, match=r"prices\.BTC"):
        ep.epoch_from_json(json.dumps(bad_price), "epoch.json")
    q = ep.quotes_to_json(epoch.quotes[0])
    assert ep.quotes_from_json(q, "q.json") == epoch.quotes[0]
    with pytest.raises(MalformedInput, match="signature"):
        ep.quotes_from_json(json.dumps({**json.loads(q), "signature": "00"}), "q.json")
    with pytest.raises(MalformedInput, match="extra"):
        ep.quotes_from_json(json.dumps({**json.loads(q), "extra": 1}), "q.json")
    with pytest.raises(MalformedInput, match="duplicate key"):
        ep.quotes_from_json(q.replace('"sequence": 1,', '"sequence": 1, "sequence": 1,', 1), "q.json")


def test_verify_epoch_recomputes_a_decoded_epoch_from_its_signed_quotes(five):
    oracles = _set(five[:3], 2)
    obj = json.loads(ep.epoch_to_json(assemble_epoch(oracles, _sign(five[:3]), None, NOW)))

    def verify(o):
        with pytest.raises(EpochRefused) as info:
            verify_epoch(oracles, ep.epoch_from_json(json.dumps(o), "epoch.json"), None, NOW)
        return info.value.reason

    # a quote's price raised inside the file no longer matches its signature
    quotes = [dict(q) for q in obj["quotes"]]
    quotes[2]["prices"] = {**quotes[2]["prices"], "BTC": "650000"}
    assert verify({**obj, "quotes": quotes}) == ep.BAD_SIGNATURE
    # recorded values the quotes do not give: another timestamp, another venue
    assert verify({**obj, "timestamp": NOW + 1}) == ep.MISMATCH
    assert verify({**obj, "venue": "other-venue"}) == ep.MISMATCH
    # dropping quotes below the quorum
    assert verify({**obj, "quotes": obj["quotes"][:1]}) == ep.NO_QUORUM


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**20), min_size=1, max_size=9))
def test_the_lower_median_is_one_of_the_quotes_between_min_and_max(values):
    m = ep.lower_median(values)
    assert m in values and min(values) <= m <= max(values)
    assert sum(v < m for v in values) <= (len(values) - 1) // 2 <= sum(v <= m for v in values) - 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**20), min_size=3, max_size=5))
def test_an_epoch_price_is_one_signers_quote_between_min_and_max(five, quotes):
    oracles = _set(five, 3)
    signed = [sign_quotes(seed, "demo-venue", 1, NOW, {**BASE, "ETH": q}, ASSETS) for (seed, _), q in zip(five, quotes)]
    price = assemble_epoch(oracles, signed, None, NOW).prices["ETH"]
    assert price in quotes and min(quotes) <= price <= max(quotes)
    # whichever (len - 1) // 2 signers lie (a minority), the price stays within the others' quotes
    for liars in itertools.combinations(range(len(quotes)), (len(quotes) - 1) // 2):
        honest = [q for i, q in enumerate(quotes) if i not in liars]
        assert min(honest) <= price <= max(honest)
