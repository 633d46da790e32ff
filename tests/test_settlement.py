"""The settlement library: policy, prices, requests, the ledger and every rejection reason."""

from __future__ import annotations

import copy
import dataclasses
import json
import multiprocessing
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from circuits.collateral_ratio import CollateralRatio
from tests.helpers import g1_off_curve_compressed, g1_off_subgroup_compressed
from zkproofs.backends import get_backend
from zkproofs.errors import MalformedInput, UnsatisfiedConstraint
from zkproofs.field import R
from zkproofs.groth16 import setup
from zkproofs.groth16.keys import Proof
from zkproofs.settlement import (
    JsonFilePriceFeed,
    Ledger,
    LedgerEntry,
    PolicyError,
    Position,
    PriceQuote,
    PriceUnavailable,
    Reason,
    RequestError,
    SettlementVerifier,
    StaticPriceFeed,
    load_policy,
    parse_request,
    position_commitment,
    prove_position,
    settlement_context_to_field,
    terms_from_policy,
)
from zkproofs.settlement.units import format_fixed, parse_fixed
from zkproofs.settlement.verifier import BAD_REQUEST, MAX_CLOCK_SKEW_SECONDS

FIXTURES = Path(__file__).parent / "fixtures" / "settlement"
NOW = 1_700_000_010
QUOTED_AT = 1_700_000_000


class Clock:
    """A settable clock (unix seconds)."""

    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


class World:
    """Keys, policy, feed, ledger and verifier for the fixture policy; request makers."""

    def __init__(self, tmp: Path, keys=None):
        self.policy = load_policy(FIXTURES / "policy.toml")
        self.pk11, self.pk21 = keys or (
            setup(CollateralRatio(collateral=1, debt=1), party="test venue"),
            setup(CollateralRatio(collateral=2, debt=1), party="test venue"),
        )
        self.feed = StaticPriceFeed(
            {
                "BTC": PriceQuote(2_700_012_000_000, QUOTED_AT),
                "ETH": PriceQuote(180_050_000_000, QUOTED_AT),
                "USDC": PriceQuote(100_000_000, QUOTED_AT),
            }
        )
        self.clock = Clock()
        self.db = tmp / "ledger.db"
        self.ledger = Ledger(self.db)
        self.verifier = SettlementVerifier(
            self.policy, {"BTC-USDC": self.pk11.vk, "BTC-ETH-USDC": self.pk21.vk}, self.feed, self.ledger, self.clock
        )
        self.position = Position.from_dict(json.loads((FIXTURES / "position.json").read_text()))

    def terms(self, settlement_id: str, market: str = "BTC-USDC", **changes):
        terms = terms_from_policy(self.policy, market, self.feed, settlement_id, NOW + 600)
        return terms.__class__(**{**terms.__dict__, **changes})

    def request(self, settlement_id: str, market: str = "BTC-USDC", position: Position | None = None, **changes) -> dict:
        pk = self.pk11 if market == "BTC-USDC" else self.pk21
        return prove_position(pk, position or self.position, self.terms(settlement_id, market, **changes))


@pytest.fixture(scope="module")
def keys():
    return (
        setup(CollateralRatio(collateral=1, debt=1), party="test venue"),
        setup(CollateralRatio(collateral=2, debt=1), party="test venue"),
    )


@pytest.fixture
def world(tmp_path, keys):
    w = World(tmp_path, keys)
    yield w
    w.ledger.close()


@pytest.fixture(scope="module")
def good_request(keys, tmp_path_factory):
    """One valid 1x1 request (reused read-only; ids are unique per test's fresh ledger)."""
    w = World(tmp_path_factory.mktemp("req"), keys)
    req = w.request("trade-1")
    w.ledger.close()
    return req


# --- acceptance -----------------------------------------------------------------------


def test_valid_request_is_accepted_and_recorded(world, good_request):
    decision = world.verifier.submit(copy.deepcopy(good_request))
    assert decision.accepted and decision.reason is Reason.ACCEPTED, decision.message
    assert decision.settlement_id == "trade-1" and decision.market == "BTC-USDC" and decision.seq == 1
    [entry] = world.ledger.decisions_for("trade-1")
    assert entry.accepted and entry.reason == "ACCEPTED" and entry.received_at == NOW
    assert entry.proof_digest == decision.proof_digest and len(entry.proof_digest) == 64


def test_two_collateral_market_is_accepted(world):
    position = Position.from_dict({"collateral": {"BTC": "1", "ETH": "10"}, "debt": {"USDC": "30000"}, "salt": "9"})
    decision = world.verifier.submit(world.request("basket-1", "BTC-ETH-USDC", position))
    assert decision.accepted, decision.message


def test_conservative_prices_within_tolerance_are_accepted(world, good_request):
    # The feed moved up 0.4 % for BTC and down 0.4 % for USDC: the proof understates
    # collateral and overstates debt, by less than the 0.5 % tolerance.
    world.feed.set("BTC", PriceQuote(2_700_012_000_000 * 10_040 // 10_000, QUOTED_AT))
    world.feed.set("USDC", PriceQuote(100_000_000 * 9_960 // 10_000, QUOTED_AT))
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted


def test_stricter_haircut_and_ratio_than_policy_are_accepted(world):
    request = world.request("strict-1", haircuts_bps=(900,), min_ratio_bps=16_000)
    assert world.verifier.submit(request).accepted


def test_zero_debt_position_is_accepted(world):
    position = Position.from_dict({"collateral": {"BTC": "0.1"}, "debt": {}, "salt": "1"})
    assert world.verifier.submit(world.request("no-debt", position=position)).accepted


# --- every rejection reason ---------------------------------------------------------


def reject(world, body, reason: Reason, *words: str):
    decision = world.verifier.submit(body)
    assert not decision.accepted
    assert decision.reason is reason, decision.message
    for word in words:
        assert word in decision.message, decision.message
    return decision


def test_unknown_market(world, good_request):
    body = copy.deepcopy(good_request)
    body["market"] = "DOGE-USDC"
    reject(world, body, Reason.UNKNOWN_MARKET, "DOGE-USDC")


def test_wrong_key_other_circuit_shape(world):
    body = world.request("wrong-key", "BTC-ETH-USDC", Position.from_dict(
        {"collateral": {"BTC": "1"}, "debt": {"USDC": "1"}, "salt": "5"}))
    body["market"] = "BTC-USDC"
    reject(world, body, Reason.WRONG_KEY, "collateral_ratio")


def test_wrong_key_other_digest(world, good_request):
    body = copy.deepcopy(good_request)
    body["proof"]["circuit"]["digest"] = "00" * 32
    reject(world, body, Reason.WRONG_KEY, "digest")


@pytest.mark.parametrize("side,index,asset", [("collateral", 0, "ETH"), ("debt", 0, "USDT")])
def test_unaccepted_asset(world, good_request, side, index, asset):
    body = copy.deepcopy(good_request)
    body[side][index]["asset"] = asset
    reject(world, body, Reason.UNACCEPTED_ASSET, side)


def test_price_mismatch(world, good_request):
    world.feed.set("BTC", PriceQuote(2_700_012_000_000 * 10_060 // 10_000, QUOTED_AT))  # request 0.6 % below
    reject(world, copy.deepcopy(good_request), Reason.PRICE_MISMATCH, "collateral[0]", "27000.12")


@pytest.mark.parametrize("asset,feed_price,field,word", [
    ("BTC", 2_700_012_000_000 - 1, "collateral[0]", "above"),   # collateral valued above the feed
    ("USDC", 100_000_000 + 1, "debt[0]", "below"),              # debt valued below the feed
])
def test_optimistic_price_within_tolerance_is_a_mismatch(world, good_request, asset, feed_price, field, word):
    # One unit off, far inside the 0.5 % band, but in the prover's favour: refused, so the
    # inequality proven at the request's prices always implies it at the feed's.
    world.feed.set(asset, PriceQuote(feed_price, QUOTED_AT))
    reject(world, copy.deepcopy(good_request), Reason.PRICE_MISMATCH, field, word)


def test_debt_price_mismatch(world, good_request):
    world.feed.set("USDC", PriceQuote(99_000_000, QUOTED_AT))
    reject(world, copy.deepcopy(good_request), Reason.PRICE_MISMATCH, "debt[0]")


def test_stale_price(world, good_request):
    world.clock.now = QUOTED_AT + 61
    reject(world, copy.deepcopy(good_request), Reason.STALE_PRICE, "61 s old")
    world.clock.now = QUOTED_AT + 60
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted


def test_quote_dated_in_the_future_is_unavailable(world, good_request):
    world.feed.set("BTC", PriceQuote(2_700_012_000_000, NOW + MAX_CLOCK_SKEW_SECONDS + 1))
    reject(world, copy.deepcopy(good_request), Reason.PRICE_UNAVAILABLE, "in the future")
    world.feed.set("BTC", PriceQuote(2_700_012_000_000, NOW + MAX_CLOCK_SKEW_SECONDS))
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted


def test_proof_for_another_market_of_the_same_shape_is_refused(world, good_request):
    twin = dataclasses.replace(world.policy.markets["BTC-USDC"], name="BTC-USDC-2")
    policy = dataclasses.replace(world.policy, markets={**world.policy.markets, "BTC-USDC-2": twin})
    keys = {**world.verifier.keys, "BTC-USDC-2": world.pk11.vk}
    verifier = SettlementVerifier(policy, keys, world.feed, world.ledger, world.clock)
    body = copy.deepcopy(good_request)
    body["market"] = "BTC-USDC-2"
    decision = verifier.submit(body)
    assert decision.reason is Reason.MALFORMED and "settlement_context" in decision.message, decision.message
    assert verifier.submit(copy.deepcopy(good_request)).accepted


def test_price_unavailable(world, good_request):
    world.verifier.price_feed = StaticPriceFeed({"USDC": PriceQuote(100_000_000, QUOTED_AT)})
    reject(world, copy.deepcopy(good_request), Reason.PRICE_UNAVAILABLE, "BTC")


def test_haircut_below_policy(world):
    reject(world, world.request("cut-1", haircuts_bps=(499,)), Reason.HAIRCUT_BELOW_POLICY, "499", "500")


def test_ratio_below_policy(world):
    reject(world, world.request("ratio-1", min_ratio_bps=14_999), Reason.RATIO_BELOW_POLICY, "14999", "15000")


def test_expired(world, good_request):
    world.clock.now = good_request["expiry"]
    world.feed.set("BTC", PriceQuote(2_700_012_000_000, int(world.clock.now)))
    world.feed.set("USDC", PriceQuote(100_000_000, int(world.clock.now)))
    reject(world, copy.deepcopy(good_request), Reason.EXPIRED, "has passed")
    world.clock.now = good_request["expiry"] - 1
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted


def test_invalid_proof_altered_commitment(world, good_request):
    body = copy.deepcopy(good_request)
    body["proof"]["public_inputs"]["commitment"] = str(int(body["proof"]["public_inputs"]["commitment"]) + 1)
    reject(world, body, Reason.INVALID_PROOF)


def test_invalid_proof_points_of_another_proof(world, good_request):
    other = world.request("trade-1")  # a fresh proof of the same statement: swap one point
    body = copy.deepcopy(good_request)
    body["proof"]["proof"]["c"] = other["proof"]["proof"]["c"]
    reject(world, body, Reason.INVALID_PROOF)


def test_replay_of_the_same_request(world, good_request):
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted
    reject(world, copy.deepcopy(good_request), Reason.REPLAY, "already accepted")


def _rerandomise(body: dict) -> dict:
    """A' = rho A, B' = B / rho: another valid proof of the same statement (Groth16 is malleable)."""
    be = get_backend("arkworks")
    rho = 0x1234567890ABCDEF
    out = copy.deepcopy(body)
    a = be.g1_mul(be.g1_from_bytes(bytes.fromhex(body["proof"]["proof"]["a"])), rho)
    b = be.g2_mul(be.g2_from_bytes(bytes.fromhex(body["proof"]["proof"]["b"])), pow(rho, -1, R))
    out["proof"]["proof"]["a"] = be.g1_to_bytes(a).hex()
    out["proof"]["proof"]["b"] = be.g2_to_bytes(b).hex()
    return out


def test_rerandomised_proof_is_a_replay(world, good_request):
    mauled = _rerandomise(good_request)
    assert mauled["proof"]["proof"] != good_request["proof"]["proof"]
    # The mauled proof alone is valid: on a fresh ledger it would be accepted.
    fresh = Ledger(world.db.with_name("other.db"))
    try:
        alone = SettlementVerifier(world.policy, world.verifier.keys, world.feed, fresh, world.clock)
        assert alone.submit(copy.deepcopy(mauled)).accepted
    finally:
        fresh.close()
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted
    decision = reject(world, mauled, Reason.REPLAY)
    assert decision.proof_digest != world.ledger.decisions_for("trade-1")[0].proof_digest


def test_fresh_proof_for_the_same_id_is_a_replay(world, good_request):
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted
    reject(world, world.request("trade-1"), Reason.REPLAY)


def test_rejection_then_acceptance_then_replay_all_recorded(world, good_request):
    reject(world, world.request("trade-1", min_ratio_bps=1), Reason.RATIO_BELOW_POLICY)
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted
    reject(world, copy.deepcopy(good_request), Reason.REPLAY)
    assert [e.reason for e in world.ledger.decisions_for("trade-1")] == ["RATIO_BELOW_POLICY", "ACCEPTED", "REPLAY"]


# --- malformed input never crashes ------------------------------------------------------


def _set(path: str, value):
    def change(body):
        target = body
        keys = path.split("/")
        for key in keys[:-1]:
            target = target[int(key) if isinstance(target, list) else key]
        last = keys[-1]
        if value is DELETE:
            del target[last]
        else:
            target[int(last) if isinstance(target, list) else last] = value
        return body

    return change


DELETE = object()
MALFORMED_CASES = {
    "not an object": (lambda body: [body], "body"),
    "missing proof": (_set("proof", DELETE), "proof"),
    "extra field": (_set("note", "hi"), "note"),
    "settlement id with a slash": (_set("settlement_id", "a/b"), "settlement_id"),
    "settlement id number": (_set("settlement_id", 7), "settlement_id"),
    "expiry string": (_set("expiry", "soon"), "expiry"),
    "expiry bool": (_set("expiry", True), "expiry"),
    "float price": (_set("collateral/0/price", 27000.12), "collateral[0].price"),
    "nine decimals": (_set("collateral/0/price", "27000.123456789"), "collateral[0].price"),
    "negative price": (_set("debt/0/price", "-1"), "debt[0].price"),
    "haircut over 100 %": (_set("collateral/0/haircut_bps", 10_001), "collateral[0].haircut_bps"),
    "empty debt list": (_set("debt", []), "debt"),
    "ratio zero": (_set("min_ratio_bps", 0), "min_ratio_bps"),
    "public input >= r": (_set("proof/public_inputs/commitment", str(R)), "commitment"),
    "public input not a number": (_set("proof/public_inputs/expiry", "tomorrow"), "expiry"),
    "public input missing": (_set("proof/public_inputs/expiry", DELETE), "missing ['expiry']"),
    "public input extra": (_set("proof/public_inputs/bonus", "1"), "bonus"),
    "price differs from public input": (_set("collateral/0/price", "27000.13"), "collateral_price[0]"),
    "expiry differs from public input": (lambda b: {**b, "expiry": b["expiry"] + 1}, "public_inputs.expiry"),
    "ratio differs from public input": (_set("min_ratio_bps", 15_001), "min_ratio_bps"),
    "settlement id differs from public input": (_set("settlement_id", "trade-2"), "public_inputs.settlement_context"),
    "proof not hex": (_set("proof/proof/a", "zz"), "proof.proof.a"),
    "proof point wrong size": (_set("proof/proof/b", "00" * 48), "proof.proof.b"),
    "proof point off curve": (_set("proof/proof/a", g1_off_curve_compressed().hex()), "curve"),
    "proof point outside subgroup": (_set("proof/proof/c", g1_off_subgroup_compressed().hex()), "subgroup"),
    "proof wrong format": (_set("proof/format", "snarkjs"), "format"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_CASES))
def test_malformed_requests_are_rejected_with_the_reason(world, good_request, name):
    change, word = MALFORMED_CASES[name]
    body = change(copy.deepcopy(good_request))
    decision = reject(world, body, Reason.MALFORMED)
    assert word.lower() in decision.message.lower(), decision.message
    assert world.ledger.count() == 0 and decision.seq is None


def test_bad_requests_are_not_recorded_but_decisions_are(world, good_request):
    unknown = copy.deepcopy(good_request)
    unknown["market"] = "DOGE-USDC"
    wrong_key = copy.deepcopy(good_request)
    wrong_key["proof"]["circuit"]["digest"] = "00" * 32
    for body in (unknown, wrong_key, {"settlement_id": "trade-1"}):
        assert world.verifier.submit(body).reason in BAD_REQUEST
    assert world.ledger.count() == 0
    reject(world, world.request("trade-1", min_ratio_bps=1), Reason.RATIO_BELOW_POLICY)
    assert world.ledger.count() == 1


@pytest.mark.parametrize("body", [None, 3, "text", [], {}, {"settlement_id": "x" * 1000}])
def test_garbage_bodies_are_malformed(world, body):
    decision = reject(world, body, Reason.MALFORMED)
    assert decision.settlement_id == ""


def test_parse_request_errors_are_typed(good_request):
    body = copy.deepcopy(good_request)
    body["collateral"][0]["asset"] = ""
    with pytest.raises(RequestError) as info:
        parse_request(body)
    assert info.value.field == "collateral[0].asset"
    assert parse_request(copy.deepcopy(good_request)).settlement_id == "trade-1"


# --- ledger -------------------------------------------------------------------------


def test_ledger_survives_reopen(world, good_request):
    assert world.verifier.submit(copy.deepcopy(good_request)).accepted
    world.ledger.close()
    reopened = Ledger(world.db)
    try:
        again = SettlementVerifier(world.policy, world.verifier.keys, world.feed, reopened, world.clock)
        reject_decision = again.submit(copy.deepcopy(good_request))
        assert reject_decision.reason is Reason.REPLAY
        assert [e.reason for e in reopened.decisions_for("trade-1")] == ["ACCEPTED", "REPLAY"]
        assert sqlite3.connect(world.db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        reopened.close()


def test_concurrent_submissions_from_threads_accept_exactly_once(world, good_request):
    bodies = [copy.deepcopy(good_request)] + [_rerandomise(good_request) for _ in range(5)]
    barrier = threading.Barrier(len(bodies))
    results = []

    def run(body):
        barrier.wait()
        results.append(world.verifier.submit(body))

    threads = [threading.Thread(target=run, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(d.reason.value for d in results) == ["ACCEPTED"] + ["REPLAY"] * 5
    assert world.ledger.count(accepted=True) == 1 and world.ledger.count() == 6


def _append_accepted(db: str, settlement_id: str, barrier) -> None:
    ledger = Ledger(db)
    barrier.wait()
    ledger.append(
        LedgerEntry(settlement_id, "BTC-USDC", True, "ACCEPTED", "ok", None, 1.0),
        replay_reason="REPLAY", replay_message="already accepted",
    )
    ledger.close()


def test_concurrent_appends_from_processes_accept_exactly_once(tmp_path):
    db = str(tmp_path / "ledger.db")
    Ledger(db).close()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_append_accepted, args=(db, "shared", barrier)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    ledger = Ledger(db)
    assert sorted(e.reason for e in ledger.decisions_for("shared")) == ["ACCEPTED"] + ["REPLAY"] * 3
    ledger.close()


def test_ledger_is_append_only_and_enforces_one_acceptance(tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    ledger.append(LedgerEntry("s", None, True, "ACCEPTED", "ok", None, 1.0), replay_reason="R", replay_message="m")
    ledger.close()
    raw = sqlite3.connect(tmp_path / "l.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE decisions SET accepted = 0")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM decisions")
    with pytest.raises(sqlite3.IntegrityError):  # bypassing Ledger.append still cannot accept twice
        raw.execute("INSERT INTO decisions (settlement_id, accepted, reason, message, received_at) VALUES ('s', 1, 'A', 'm', 2)")
    raw.execute("INSERT INTO decisions (settlement_id, accepted, reason, message, received_at) VALUES ('s', 0, 'X', 'm', 2)")
    raw.close()


# --- policy, prices, units, ids ----------------------------------------------------------


def test_policy_loads(world):
    spec = world.policy.market("BTC-ETH-USDC")
    assert spec.circuit_params == {"collateral": 2, "debt": 1}
    assert spec.min_haircut_bps == (500, 1000) and spec.min_ratio_bps == 12_000
    assert world.policy.price_feed == FIXTURES / "prices.json"
    assert world.policy.max_request_bytes == 65536


@pytest.mark.parametrize(
    "text,words",
    [
        ("[settlement]\nprice_tolerance_bps = 50\nmax_price_age_seconds = 60\n", ["markets"]),
        (FIXTURES.joinpath("policy_bad_ratio.toml").read_text(), ["markets.BTC-USDC.min_ratio_bps", "not in [1,"]),
        ("[settlement]\nprice_tolerance_bps = 'x'\n[markets.A]\nmin_ratio_bps=1\ncollateral=['X']\ndebt=['Y']\n",
         ["settlement.price_tolerance_bps", "integer"]),
        ("[settlement]\nprice_tolerance_bps = 1\nmax_price_age_seconds = 1\n[markets.A]\nmin_ratio_bps=1\n"
         "collateral=['X', 'X']\ndebt=['Y']\n", ["markets.A.collateral", "twice"]),
        ("[settlement]\nprice_tolerance_bps = 1\nmax_price_age_seconds = 1\n[markets.A]\nmin_ratio_bps=1\n"
         "collateral=['X']\ndebt=['Y']\nhaircut_bps={Z=1}\n", ["markets.A.haircut_bps", "Z"]),
        ("[settlement\n", ["invalid TOML", "line 1"]),
        ("[settlment]\nprice_tolerance_bps = 1\n[markets.A]\nmin_ratio_bps=1\ncollateral=['X']\ndebt=['Y']\n",
         ["unknown top-level key(s) settlment"]),
        ("max_price_age_seconds = 5\n[markets.A]\nmin_ratio_bps=1\ncollateral=['X']\ndebt=['Y']\n",
         ["unknown top-level key(s) max_price_age_seconds"]),
        ("[markets.'A B']\nmin_ratio_bps=1\ncollateral=['X']\ndebt=['Y']\n", ["markets.A B", "market name"]),
    ],
)
def test_bad_policy_names_file_and_key(tmp_path, text, words):
    path = tmp_path / "venue.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    for word in ["venue.toml"] + words:
        assert word in str(info.value), str(info.value)


def test_missing_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="nope.toml"):
        load_policy(tmp_path / "nope.toml")


def test_verifier_refuses_a_key_of_the_wrong_shape(world):
    with pytest.raises(PolicyError, match="BTC-USDC"):
        SettlementVerifier(world.policy, {"BTC-USDC": world.pk21.vk, "BTC-ETH-USDC": world.pk21.vk}, world.feed, world.ledger)
    with pytest.raises(PolicyError, match="no verification key"):
        SettlementVerifier(world.policy, {"BTC-USDC": world.pk11.vk}, world.feed, world.ledger)


def test_json_price_feed_exact_and_reloaded(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"BTC": {"price": "27000.12345678", "updated_at": 5}}))
    feed = JsonFilePriceFeed(path)
    assert feed.quote("BTC") == PriceQuote(2_700_012_345_678, 5)
    path.write_text(json.dumps({"BTC": {"price": "0.00000001", "updated_at": 6}, "ETH": {"price": "1000", "updated_at": 7}}))
    os.utime(path, ns=(10**18, 10**18))  # a distinct mtime even on coarse clocks
    assert feed.quote("BTC") == PriceQuote(1, 6) and feed.quote("ETH").price == 100_000_000_000
    with pytest.raises(PriceUnavailable, match="DOGE"):
        feed.quote("DOGE")


@pytest.mark.parametrize(
    "content,word",
    [
        ('{"BTC": {"price": 27000.12, "updated_at": 5}}', "decimal string"),
        ('{"BTC": {"price": "1.123456789", "updated_at": 5}}', "more than 8 decimals"),
        ('{"BTC": {"price": "0", "updated_at": 5}}', "positive"),
        ('{"BTC": {"price": "1", "updated_at": "now"}}', "updated_at"),
        ('{"BTC": {"price": "1"}}', "updated_at"),
        ("[1, 2]", "object"),
        ("{", "invalid JSON"),
        ('{"BTC": {"price": "1", "updated_at": 1' + "0" * 5000 + "}}", "cannot be decoded"),
        ("[" * 100_000, "nested"),
    ],
)
def test_json_price_feed_refuses_bad_files(tmp_path, content, word):
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(PriceUnavailable, match=word):
        JsonFilePriceFeed(path).quote("BTC")


def test_json_price_feed_missing_file(tmp_path):
    with pytest.raises(PriceUnavailable, match="prices.json"):
        JsonFilePriceFeed(tmp_path / "prices.json").quote("BTC")


@pytest.mark.parametrize("text,units", [("1.5", 150_000_000), ("20000", 2_000_000_000_000), ("0", 0),
                                        ("0.00000001", 1), ("27000.12", 2_700_012_000_000)])
def test_parse_fixed_exact(text, units):
    assert parse_fixed(text, "x") == units
    assert parse_fixed(format_fixed(units), "x") == units


@pytest.mark.parametrize("value", [1.5, True, None, 7, "1.000000001", "-1", "nan", "inf", "1e100", "abc", "", " 3 "])
def test_parse_fixed_refuses(value):
    with pytest.raises(MalformedInput):
        parse_fixed(value, "x")


def test_settlement_context_hash_to_field():
    a, b = settlement_context_to_field("BTC-USDC", "trade-1"), settlement_context_to_field("BTC-USDC", "trade-2")
    c = settlement_context_to_field("ETH-USDC", "trade-1")
    assert len({a, b, c}) == 3 and all(0 <= v < 2**248 for v in (a, b, c))
    assert settlement_context_to_field("BTC-USDC", "trade-1") == a
    # The 0x00 separator keeps (market, id) pairs apart that concatenate equally.
    assert settlement_context_to_field("A", "B-1") != settlement_context_to_field("A-B", "1")
    with pytest.raises(RequestError):
        settlement_context_to_field("BTC USDC", "trade-1")


def test_position_commitment_matches_the_proof(world, good_request):
    aligned = world.position.for_market(("BTC",), ("USDC",))
    assert str(position_commitment(aligned)) == good_request["proof"]["public_inputs"]["commitment"]
    assert world.position.collateral == (("BTC", 150_000_000),) and world.position.debt == (("USDC", 2_000_000_000_000),)


def test_position_below_ratio_cannot_be_proved(world):
    below = Position.from_dict(json.loads((FIXTURES / "position_below.json").read_text()))
    with pytest.raises(UnsatisfiedConstraint, match="ratio"):
        world.request("below-1", position=below)


def test_position_with_foreign_asset_is_refused(world):
    odd = Position.from_dict({"collateral": {"SOL": "1"}, "debt": {"USDC": "1"}, "salt": "1"})
    with pytest.raises(MalformedInput, match="SOL"):
        world.request("odd-1", position=odd)


def test_proof_object_is_a_proof(good_request):
    assert isinstance(parse_request(copy.deepcopy(good_request)).proof, Proof)
