"""The escrow venue: deposits, withdrawals and two-party atomic settlement; every refusal has its
reason code and changes nothing; 50 concurrent spends of one note: exactly one accepted; the audit
replays the ledger."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading

import pytest

from circuits.valid_transition import ValidTransition
from tests.venue_helpers import NOW, ONE, POLICY, PRICES, Wallet, epoch_body, make_venue, trade_legs
from zkproofs.errors import UntrustedKey
from zkproofs.groth16 import setup
from zkproofs.settlement.notes import OwnerKeys
from zkproofs.settlement.transition import Kind, TransitionRefused
from zkproofs.settlement.venue import Reason, Venue, audit_ledger
from zkproofs.settlement.venue_ledger import VenueLedger


@pytest.fixture(scope="module")
def pk():
    return setup(ValidTransition(**POLICY.circuit_params), backend="arkworks", party="test venue")


@pytest.fixture
def venue(tmp_path, pk):
    clock = [NOW]
    ledger = VenueLedger(tmp_path / "venue.db", depth=POLICY.tree_depth, clock=lambda: clock[0])
    v = make_venue(POLICY, pk.vk, ledger, clock=lambda: clock[0])
    v.test_clock = clock
    yield v
    ledger.close()


def state(venue):
    """Everything a refusal must leave unchanged."""
    return [venue.ledger.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("transitions", "tree_nodes", "roots", "settlements", "transfers")]


@pytest.fixture
def funded(venue, pk):
    alice, bob = Wallet(OwnerKeys.from_spending_key(101), pk), Wallet(OwnerKeys.from_spending_key(202), pk)
    alice.deposit(venue, "tx-alice-1", "BTC", 2 * ONE)
    bob.deposit(venue, "tx-bob-1", "USDC", 60_000 * ONE)
    return alice, bob


def test_deposits_credit_registered_transfers_exactly_once(venue, funded):
    alice, _ = funded
    assert alice.note.collateral == (2 * ONE, 0, 0) and alice.position == 0
    before = state(venue)
    venue.register_transfer("tx-alice-2", "ETH", 5 * ONE)
    body, _ = alice.prove(Kind.DEPOSIT, venue.ledger, [0, 5 * ONE, 0], POLICY.name, "tx-alice-1")  # reuses tx-alice-1
    d = venue.deposit(body)
    assert (d.accepted, d.reason) == (False, Reason.TRANSFER_USED)
    body, _ = alice.prove(Kind.DEPOSIT, venue.ledger, [0, 5 * ONE, 0], POLICY.name, "tx-never")
    assert venue.deposit(body).reason is Reason.UNKNOWN_TRANSFER
    body, _ = alice.prove(Kind.DEPOSIT, venue.ledger, [0, 6 * ONE, 0], POLICY.name, "tx-alice-2")  # claims more
    assert venue.deposit(body).reason is Reason.DEPOSIT_MISMATCH
    assert venue.register_transfer("tx-alice-2", "ETH", 7 * ONE).reason is Reason.TRANSFER_CONFLICT
    assert state(venue)[:4] == before[:4]
    alice.deposit(venue, "tx-alice-2", "ETH", 5 * ONE)  # a second deposit spends and re-creates the note
    assert alice.note.collateral == (2 * ONE, 5 * ONE, 0)


def test_trade_settles_both_legs_atomically_and_the_old_note_is_then_a_double_spend(venue, funded):
    alice, bob = funded
    (leg_a, ta), (leg_b, tb) = trade_legs(alice, bob, venue.ledger, "BTC-USDC", "trade-1", ("BTC", ONE), ("USDC", 27_000 * ONE))
    receipt_a, receipt_b = alice.receipt(venue.ledger), bob.receipt(venue.ledger)
    size_before = venue.ledger.tree(venue.ledger._conn()).size
    d = venue.settle(leg_a, leg_b)
    assert d.accepted and d.reason is Reason.ACCEPTED
    assert [leg["position"] for leg in d.record["legs"]] == [size_before, size_before + 1]
    # a client that lost the response retries: the status says it was applied
    again = venue.settle(leg_a, leg_b)
    assert (again.accepted, again.reason) == (True, Reason.ALREADY_SETTLED)
    # the record is shown to the operator and to each party with its receipt, not to whoever knows the id
    assert venue.settlement_status("trade-1", operator=True)["status"] == "SETTLED"
    assert venue.settlement_status("trade-1", receipt=receipt_a) == venue.settlement_status("trade-1", receipt=receipt_b)
    assert venue.settlement_status("trade-1", receipt=receipt_a)["legs"][0]["nullifier"] == str(alice.nullifier_now(venue.ledger))
    assert venue.settlement_status("trade-1") is None
    assert venue.settlement_status("trade-1", receipt=receipt_a + 1) is None
    # Alice's old note spent again (a withdrawal proven against it) is refused
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE, 0, 0], POLICY.name, "w-1", destination="addr-1")
    assert venue.withdraw(body).reason is Reason.DOUBLE_SPEND
    alice.accept(ta, d.record["legs"][0]["position"])
    bob.accept(tb, d.record["legs"][1]["position"])
    assert alice.note.collateral == (ONE, 0, 27_000 * ONE) and bob.note.collateral == (ONE, 0, 33_000 * ONE)
    # the settlement id reused with other nullifiers
    (la, _), (lb, _) = trade_legs(alice, bob, venue.ledger, "BTC-USDC", "trade-1", ("BTC", ONE), ("USDC", 1))
    assert venue.settle(la, lb).reason is Reason.SETTLEMENT_ID_TAKEN
    assert audit_ledger(venue.ledger, POLICY, venue.vk, backend="arkworks").ok


def test_half_a_settlement_is_never_applied(venue, funded, pk):
    alice, bob = funded
    (leg_a, _), (leg_b, _) = trade_legs(alice, bob, venue.ledger, "BTC-USDC", "trade-2", ("BTC", ONE), ("USDC", 27_000 * ONE))
    # Bob spends his note elsewhere first: leg B is now a double spend, so leg A must not apply either
    body, _ = bob.prove(Kind.WITHDRAW, venue.ledger, [0, 0, -ONE], POLICY.name, "w-bob", destination="addr-bob")
    assert venue.withdraw(body).accepted
    before = state(venue)
    assert venue.settle(leg_a, leg_b).reason is Reason.DOUBLE_SPEND
    assert state(venue) == before
    assert not venue.ledger.nullifier_seen(venue.ledger._conn(), alice.nullifier_now(venue.ledger))


def test_pair_refusals(venue, funded):
    alice, bob = funded
    before = state(venue)
    nf_a, nf_b = alice.nullifier_now(venue.ledger), bob.nullifier_now(venue.ledger)
    # deltas that do not cancel: Bob pays less than Alice receives
    la, _ = alice.prove(Kind.TRADE, venue.ledger, [-ONE, 0, 27_000 * ONE], "BTC-USDC", "t3", counterparty=nf_b)
    lb, _ = bob.prove(Kind.TRADE, venue.ledger, [ONE, 0, -26_000 * ONE], "BTC-USDC", "t3", counterparty=nf_a)
    assert venue.settle(la, lb).reason is Reason.DELTAS_DO_NOT_CANCEL
    # a leg naming another counterparty (or none)
    lb2, _ = bob.prove(Kind.TRADE, venue.ledger, [ONE, 0, -27_000 * ONE], "BTC-USDC", "t3", counterparty=12345)
    assert venue.settle(la, lb2).reason is Reason.COUNTERPARTY_MISMATCH
    # a proof for another market, submitted under this one
    le, _ = alice.prove(Kind.TRADE, venue.ledger, [-ONE, 0, 27_000 * ONE], "ETH-USDC", "t3", counterparty=nf_b)
    le["market"] = "BTC-USDC"
    lb3, _ = bob.prove(Kind.TRADE, venue.ledger, [ONE, 0, -27_000 * ONE], "BTC-USDC", "t3", counterparty=nf_a)
    assert venue.settle(le, lb3).reason is Reason.WRONG_MARKET
    # a request whose settlement id was changed after proving (squatting someone else's id)
    squat = dict(la, reference="t4")
    assert venue.settle(squat, dict(lb3, reference="t4")).reason is Reason.CONTEXT_MISMATCH
    # both legs from one note
    assert venue.settle(la, la).reason is Reason.DOUBLE_SPEND
    assert state(venue) == before


def test_both_sides_of_a_trade_from_one_note_are_refused(venue, pk):
    # Each leg names its own note's nullifier as counterparty and the deltas cancel, so only the
    # same-note check stands between this pair and two new notes minted from one (4 BTC from 2).
    erin = Wallet(OwnerKeys.from_spending_key(303), pk)
    erin.deposit(venue, "tx-erin-1", "BTC", 2 * ONE)
    erin.deposit(venue, "tx-erin-2", "USDC", 60_000 * ONE)
    before = state(venue)
    nf = erin.nullifier_now(venue.ledger)
    give, _ = erin.prove(Kind.TRADE, venue.ledger, [-ONE, 0, 27_000 * ONE], "BTC-USDC", "t9", counterparty=nf)
    get, _ = erin.prove(Kind.TRADE, venue.ledger, [ONE, 0, -27_000 * ONE], "BTC-USDC", "t9", counterparty=nf)
    decision = venue.settle(give, get)
    assert decision.reason is Reason.DOUBLE_SPEND and "same note" in decision.message
    assert state(venue) == before


def test_a_bad_leg_in_the_batch_is_named_and_swapped_proofs_are_refused(venue, funded):
    alice, bob = funded
    (leg_a, _), (leg_b, _) = trade_legs(alice, bob, venue.ledger, "BTC-USDC", "t-batch", ("BTC", ONE), ("USDC", 27_000 * ONE))
    before = state(venue)

    def with_points(leg, points):
        return dict(leg, proof=dict(leg["proof"], proof=points))

    # leg B carries leg A's C point: every other check passes, the batch fails, the venue names leg B
    bad_b = with_points(leg_b, dict(leg_b["proof"]["proof"], c=leg_a["proof"]["proof"]["c"]))
    d = venue.settle(leg_a, bad_b)
    assert d.reason is Reason.INVALID_PROOF and d.message.startswith("legs[1]")
    d = venue.settle(with_points(leg_a, leg_b["proof"]["proof"]), leg_b)
    assert d.reason is Reason.INVALID_PROOF and d.message.startswith("legs[0]")
    # each leg's proof moved to the other leg (public inputs stay): both are bad, the first is named
    swapped = venue.settle(with_points(leg_a, leg_b["proof"]["proof"]), with_points(leg_b, leg_a["proof"]["proof"]))
    assert swapped.reason is Reason.INVALID_PROOF and swapped.message.startswith("legs[0]")
    assert state(venue) == before
    assert venue.settle(leg_a, leg_b).accepted


def test_expired_unknown_anchor_and_policy_refusals(venue, funded):
    alice, bob = funded
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE, 0, 0], POLICY.name, "w-2", destination="addr", expiry=NOW + 5)
    venue.test_clock[0] = NOW + 10
    assert venue.withdraw(body).reason is Reason.EXPIRED
    venue.test_clock[0] = NOW
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE, 0, 0], POLICY.name, "w-3", destination="addr", haircuts=[0, 1000, 0])
    assert venue.withdraw(body).reason is Reason.POLICY_MISMATCH
    # an anchor older than the window (4 roots): other traders move the tree on
    stale, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE, 0, 0], POLICY.name, "w-5", destination="addr")
    for i in range(4):
        bob.deposit(venue, f"tx-bob-more-{i}", "USDC", ONE)
    before = state(venue)
    assert venue.withdraw(stale).reason is Reason.UNKNOWN_ANCHOR
    assert state(venue) == before


def test_withdrawal_pays_out_and_overdraw_or_under_margin_is_refused_by_the_prover(venue, funded):
    alice, _ = funded
    body, t = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE // 2, 0, 0], POLICY.name, "w-6", destination="bc1-alice")
    d = venue.withdraw(body)
    assert d.accepted and d.record["payout"] == {"asset": "BTC", "amount": ONE // 2, "destination": "bc1-alice", "withdrawal_id": "w-6"}
    alice.accept(t, d.record["position"])
    with pytest.raises(TransitionRefused) as info:
        alice.prove(Kind.WITHDRAW, venue.ledger, [-2 * ONE, 0, 0], POLICY.name, "w-7", destination="bc1-alice")
    assert info.value.reason == "INSUFFICIENT_BALANCE"
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE // 4, 0, 0], POLICY.name, "w-6", destination="bc1-alice")
    assert venue.withdraw(body).reason is Reason.REFERENCE_USED
    # a trade leg or withdrawal cannot create a note from nothing
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [0, 0, 0], POLICY.name, "w-8", destination="x", spend=False)
    assert venue.withdraw(body).reason in (Reason.SPEND_REQUIRED, Reason.BAD_DELTA)


def _forced(wallet, ledger, delta, debt):
    """The constraint that fails when a transition the prover refuses is synthesized anyway
    (an honest zero-delta transition with the deltas replaced)."""
    from zkproofs.errors import UnsatisfiedConstraint
    from zkproofs.settlement.transition import build_transition, signed_to_field
    from tests.venue_helpers import prices
    honest = build_transition(wallet.keys, wallet.spent(ledger), [0] * 3, [0] * 3, prices(), list(POLICY.haircut_bps),
                              POLICY.initial_ratio_bps, 0, depth=POLICY.tree_depth, assets=POLICY.assets)
    inputs = dict(honest.inputs)
    for i in range(3):
        inputs[f"collateral_delta[{i}]"] = signed_to_field(delta[i])
        inputs[f"debt_delta[{i}]"] = signed_to_field(debt[i])
    r1cs, witness = honest.circuit.synthesize(inputs)
    with pytest.raises(UnsatisfiedConstraint) as info:
        r1cs.check(witness)
    return info.value.label


def test_borrow_pays_out_raises_the_debt_and_the_note_must_keep_its_margin(venue, funded):
    alice, _ = funded  # 2 BTC at 27,000 with a 5 % haircut: 51,300 of collateral value; the initial ratio is 150 %
    usdc = [0, 0, 30_000 * ONE]
    body, t = alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-1", destination="bank-alice", debt=usdc)
    d = venue.borrow(body)
    assert d.accepted and d.record["payout"] == {"asset": "USDC", "amount": 30_000 * ONE, "destination": "bank-alice",
                                                 "borrow_id": "b-1"}
    alice.accept(t, d.record["position"])
    assert alice.note.debt == (0, 0, 30_000 * ONE)
    before = state(venue)
    body, _ = alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-1", destination="bank-alice", debt=[0, 0, ONE])
    assert venue.borrow(body).reason is Reason.REFERENCE_USED
    # another 5,000 (debt 35,000 needs 52,500 > 51,300), or half a BTC out (38,475 < 45,000): the prover refuses,
    # and forced through, the margin constraint fails
    for delta, debt in (([0, 0, 0], [0, 0, 5_000 * ONE]), ([-ONE // 2, 0, 0], [0, 0, 0])):
        with pytest.raises(TransitionRefused) as info:
            alice.prove(Kind.BORROW if any(debt) else Kind.WITHDRAW, venue.ledger, delta, POLICY.name, "x",
                        destination="bank-alice", debt=debt)
        assert info.value.reason == "BELOW_MARGIN"
        assert _forced(alice, venue.ledger, delta, debt).startswith("margin/")
    # exactly at the initial ratio (150 %: 34,200 USDC of debt in all) is accepted, one unit more is not
    most = 2 * ONE * 27_000 * ONE * 9_500 // (POLICY.initial_ratio_bps * ONE)  # USDC units of debt in all
    assert most == 34_200 * ONE
    alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-2", destination="bank-alice", debt=[0, 0, most - 30_000 * ONE])
    with pytest.raises(TransitionRefused):
        alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-2", destination="bank-alice", debt=[0, 0, most - 30_000 * ONE + 1])
    assert _forced(alice, venue.ledger, [0, 0, 0], [0, 0, most - 30_000 * ONE + 1]).startswith("margin/")
    # the shapes a borrow may not take, and debts changed by other kinds
    for kind, delta, debt, call in (
        (Kind.BORROW, [ONE // 10, 0, 0], [0, 0, ONE], venue.borrow),  # collateral changed too
        (Kind.BORROW, [0, 0, 0], [0, 0, -ONE], venue.borrow),  # a repayment
        (Kind.BORROW, [0, 0, 0], [0, ONE, ONE], venue.borrow),  # two assets
        (Kind.WITHDRAW, [-ONE // 10, 0, 0], [0, 0, ONE], venue.withdraw),  # a withdrawal that borrows
    ):
        body, _ = alice.prove(kind, venue.ledger, delta, POLICY.name, "b-9", destination="bank-alice", debt=debt)
        assert call(body).reason is Reason.BAD_DELTA
    assert state(venue) == before
    report = audit_ledger(venue.ledger, POLICY, venue.vk)
    assert report.ok and report.lent == {"USDC": 30_000 * ONE}


def test_repayment_lowers_the_debt_with_a_registered_transfer_once_and_may_cure_in_part(venue, funded):
    alice, _ = funded
    body, t = alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-1", destination="bank-alice", debt=[0, 0, 30_000 * ONE])
    assert venue.borrow(body).accepted
    alice.accept(t, venue.ledger.query("SELECT MAX(position) FROM transitions")[0][0])
    assert venue.register_transfer("tx-r1", "USDC", 10_000 * ONE).accepted
    body, t = alice.prove(Kind.REPAY, venue.ledger, [0, 0, 0], POLICY.name, "tx-r1", debt=[0, 0, -10_000 * ONE])
    assert alice.spent(venue.ledger) and t.inputs["min_ratio_bps"] == 1  # a repayment proves no margin
    d = venue.repay(body)
    assert d.accepted and "payout" not in d.record
    alice.accept(t, d.record["position"])
    assert alice.note.debt == (0, 0, 20_000 * ONE)
    assert venue.register_transfer("tx-r2", "USDC", 5_000 * ONE).accepted
    before = state(venue)
    cases = [
        ("tx-r1", [0, 0, -ONE], None, Reason.TRANSFER_USED),  # credited once already
        ("tx-alice-1", [0, 0, -ONE], None, Reason.TRANSFER_USED),  # a deposit's transfer
        ("tx-none", [0, 0, -ONE], None, Reason.UNKNOWN_TRANSFER),
        ("tx-r2", [0, 0, -4_000 * ONE], None, Reason.DEPOSIT_MISMATCH),  # not the transfer's amount
        ("tx-r2", [0, -ONE, 0], None, Reason.DEPOSIT_MISMATCH),  # ... nor its asset (an ETH debt: none)
        ("tx-r2", [0, 0, -5_000 * ONE], POLICY.initial_ratio_bps, Reason.POLICY_MISMATCH),  # a repayment proves ratio 1
    ]
    for ref, debt, ratio, reason in cases:
        try:
            body, _ = alice.prove(Kind.REPAY, venue.ledger, [0, 0, 0], POLICY.name, ref, debt=debt, ratio=ratio)
        except TransitionRefused as exc:  # the ETH case: the note owes no ETH
            assert exc.reason == "INSUFFICIENT_BALANCE" and debt[1]
            continue
        assert venue.repay(body).reason is reason, (ref, debt)
    body, _ = alice.prove(Kind.REPAY, venue.ledger, [0, 0, 0], POLICY.name, "tx-r2", debt=[0, 0, 5_000 * ONE])
    assert venue.repay(body).reason is Reason.BAD_DELTA  # a "repayment" that raises the debt
    # more than the debt: the prover refuses, and forced through, the new debt's range check fails
    with pytest.raises(TransitionRefused) as info:
        alice.prove(Kind.REPAY, venue.ledger, [0, 0, 0], POLICY.name, "tx-r2", debt=[0, 0, -20_000 * ONE - 1])
    assert info.value.reason == "INSUFFICIENT_BALANCE"
    assert _forced(alice, venue.ledger, [0, 0, 0], [0, 0, -20_000 * ONE - 1]).startswith("new amounts/debt[2]")
    assert state(venue) == before
    # BTC falls to 11,000 (epoch 2): 2 BTC are 20,900 of haircut value against 20,000 of debt (150 % needs 30,000);
    # repaying 5,000 still leaves it under (15,000 needs 22,500): this partial cure is accepted, a borrow is not
    assert venue.publish_epoch(epoch_body(2, {**PRICES, "BTC": 11_000 * ONE})).accepted
    low = [11_000 * ONE, 1_800 * ONE, ONE]
    from zkproofs.gadgets.margin import margin_holds
    assert not margin_holds((2 * ONE, 0, 0), (0, 0, 15_000 * ONE), low, list(POLICY.haircut_bps), POLICY.initial_ratio_bps)
    with pytest.raises(TransitionRefused):
        alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-2", destination="x", debt=[0, 0, ONE], price_list=low)
    body, t = alice.prove(Kind.REPAY, venue.ledger, [0, 0, 0], POLICY.name, "tx-r2", debt=[0, 0, -5_000 * ONE], price_list=low)
    d = venue.repay(body)
    assert d.accepted
    report = audit_ledger(venue.ledger, POLICY, venue.vk)
    assert report.ok and report.lent == {"USDC": 30_000 * ONE} and report.repaid == {"USDC": 15_000 * ONE}


def test_the_policy_takes_two_ratios_and_a_quorum_of_oracles():
    from zkproofs.settlement.venue_policy import PolicyError, venue_policy_from_dict
    from tests.venue_helpers import POLICY_DICT
    venue, oracles = POLICY_DICT["venue"], POLICY_DICT["oracles"]
    assert (POLICY.ratio_for("withdraw"), POLICY.ratio_for("trade"), POLICY.ratio_for("borrow")) == (15_000,) * 3
    assert (POLICY.ratio_for("health"), POLICY.ratio_for("deposit"), POLICY.ratio_for("repay")) == (12_500, 1, 1)
    for change, match in (
        ({"maintenance_ratio_bps": 15_000}, "must be below initial_ratio_bps"),
        ({"maintenance_ratio_bps": 10_000}, r"maintenance_ratio_bps: 10000 is not in \[10001"),
        ({"initial_ratio_bps": 1 << 25}, "initial_ratio_bps"),
        ({"min_ratio_bps": 15_000}, "unknown key.*min_ratio_bps"),
        ({"price_feed": "prices.json"}, "unknown key.*price_feed"),
    ):
        with pytest.raises(PolicyError, match=match):
            venue_policy_from_dict({**POLICY_DICT, "venue": {**venue, **change}})
    without = {k: v for k, v in POLICY_DICT.items() if k != "oracles"}
    with pytest.raises(PolicyError, match=r"\[oracles\] table"):
        venue_policy_from_dict(without)
    for change, match in (({"quorum": 4}, "quorum"), ({"keys": ["ab" * 32, "ab" * 32]}, "listed twice"),
                          ({"keys": ["xyz", "ab" * 32]}, "64 lowercase hex"), ({"signers": 2}, "unknown key")):
        with pytest.raises(PolicyError, match=match):
            venue_policy_from_dict({**POLICY_DICT, "oracles": {**oracles, **change}})


def test_prices_come_only_from_the_latest_signed_epoch(venue, funded):
    """A proof names its epoch (bound in its context) and must use exactly that epoch's prices; only the latest
    epoch is accepted, and a withdrawal, trade or borrow needs it fresh; a deposit or repayment does not."""
    alice, bob = funded
    before = state(venue)
    wrong = [PRICES["BTC"], 1_900 * ONE, ONE]  # ETH at 1,900: not epoch 1's 1,800
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE, 0, 0], POLICY.name, "w-p1", destination="addr", price_list=wrong)
    d = venue.withdraw(body)
    assert d.reason is Reason.PRICE_MISMATCH and "epoch 1" in d.message and "ETH" in d.message
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE, 0, 0], POLICY.name, "w-p2", destination="addr")
    assert venue.withdraw(dict(body, epoch=2)).reason is Reason.CONTEXT_MISMATCH  # the context binds the epoch
    unknown, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE, 0, 0], POLICY.name, "w-p3", destination="addr", epoch=7)
    assert venue.withdraw(unknown).reason is Reason.UNKNOWN_EPOCH
    assert state(venue) == before
    # epoch 2 (ETH at 1,900) makes epoch 1's proofs stale: EPOCH_NOT_CURRENT, nothing changes; proven again, accepted
    assert venue.publish_epoch(epoch_body(2, {**PRICES, "ETH": 1_900 * ONE})).accepted
    before = state(venue)
    assert venue.withdraw(body).reason is Reason.EPOCH_NOT_CURRENT
    assert state(venue) == before
    again, t = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE // 2, 0, 0], POLICY.name, "w-p2", destination="addr")
    d = venue.withdraw(again)
    assert d.accepted and d.record["epoch"] == 2
    alice.accept(t, d.record["position"])
    # an hour without a new epoch: a withdrawal is refused (STALE_EPOCH, the oracles must publish); a deposit is not
    venue.test_clock[0] = NOW + POLICY.max_epoch_age_seconds + 1
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE // 4, 0, 0], POLICY.name, "w-p4", destination="addr", expiry=NOW + 7200)
    assert venue.withdraw(body).reason is Reason.STALE_EPOCH
    venue.register_transfer("tx-late", "BTC", ONE)
    body, _ = alice.prove(Kind.DEPOSIT, venue.ledger, [ONE, 0, 0], POLICY.name, "tx-late", expiry=NOW + 7200)
    assert venue.deposit(body).accepted
    report = audit_ledger(venue.ledger, POLICY, venue.vk)
    assert report.ok and report.epochs == 2


def test_epochs_are_refused_with_their_reason_and_change_nothing(venue):
    from tests.venue_helpers import ORACLE_SEEDS
    from zkproofs.settlement.epochs import quotes_to_dict, sign_quotes
    def count():
        return venue.ledger.query("SELECT COUNT(*) FROM epochs")[0][0]
    good = epoch_body(2)
    bad_sig = {"quotes": [dict(good["quotes"][0], signature="00" * 64), good["quotes"][1]]}
    stranger = quotes_to_dict(sign_quotes(b"\x07" * 32, POLICY.name, 2, NOW, PRICES, POLICY.assets))
    cases = [
        (bad_sig, Reason.BAD_SIGNATURE),
        ({"quotes": [good["quotes"][0]]}, Reason.NO_QUORUM),
        ({"quotes": [good["quotes"][0], stranger]}, Reason.UNKNOWN_SIGNER),
        ({"quotes": [good["quotes"][0], good["quotes"][0]]}, Reason.DUPLICATE_SIGNER),
        (epoch_body(1), Reason.STALE_SEQUENCE),  # a sequence number going back
        (epoch_body(3), Reason.SEQUENCE_GAP),
        (epoch_body(2, timestamp=NOW - 1), Reason.TIMESTAMP_BACKWARDS),
        (epoch_body(2, timestamp=NOW + 3600), Reason.TIMESTAMP_FUTURE),
        (epoch_body(2, {**PRICES, "BTC": 2_000 * ONE}), Reason.PRICE_OUT_OF_BOUNDS),  # -93 %, above max_move_bps
        ({"quotes": [quotes_to_dict(sign_quotes(ORACLE_SEEDS[i], "other-venue", 2, NOW, PRICES, POLICY.assets)) for i in (0, 1)]},
         Reason.WRONG_VENUE),
        ({"quotes": "all"}, Reason.MALFORMED),
    ]
    for body, reason in cases:
        d = venue.publish_epoch(body)
        assert (d.accepted, d.reason) == (False, reason), (reason, d)
        assert count() == 1
    d = venue.publish_epoch(good)
    assert d.accepted and d.record == {"sequence": 2, "timestamp": NOW, "prices": {"BTC": "27000", "ETH": "1800", "USDC": "1"}}
    assert venue.current_epoch().sequence == 2


def test_a_first_epoch_has_no_move_bound_but_keeps_the_circuits_price_domain(tmp_path, pk):
    ledger = VenueLedger(tmp_path / "fresh.db", depth=POLICY.tree_depth)
    venue = Venue(POLICY, pk.vk, ledger, clock=lambda: NOW)
    assert venue.current_epoch() is None
    d = venue.publish_epoch(epoch_body(1, {**PRICES, "BTC": (1 << 64) + 1}))
    assert d.reason is Reason.PRICE_OUT_OF_BOUNDS and "2^64" in d.message
    assert venue.publish_epoch(epoch_body(1, {**PRICES, "BTC": 1 << 64})).accepted
    ledger.close()


def test_health_proofs_re_prove_at_maintenance_at_the_latest_epoch(venue, funded):
    """Zero-delta transitions at the maintenance ratio (125 %) at the latest epoch's prices: exactly at it is
    accepted; one unit of price below, the prover refuses and the margin constraint fails when forced."""
    alice, _ = funded  # 2 BTC; borrows 30,000 USDC (needs 45,000 of haircut value at 150 %: 51,300)
    body, t = alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-h", destination="bank", debt=[0, 0, 30_000 * ONE])
    d = venue.borrow(body)
    assert d.accepted
    alice.accept(t, d.record["position"])
    # the lowest BTC price at which 2 BTC (5 % haircut) still cover 30,000 at 125 %: 19,736.84210527
    edge = -(-POLICY.maintenance_ratio_bps * 30_000 * ONE * ONE // (2 * ONE * 9_500))
    assert venue.publish_epoch(epoch_body(2, {**PRICES, "BTC": edge})).accepted
    with pytest.raises(TransitionRefused) as info:  # under the initial ratio now: no further borrow
        alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-h2", destination="bank", debt=[0, 0, ONE])
    assert info.value.reason == "BELOW_MARGIN"
    before = state(venue)
    for kind_body, reason in (
        (alice.prove(Kind.HEALTH, venue.ledger, [0, 0, 0], POLICY.name, "h-1", epoch=1, price_list=prices_of(PRICES))[0],
         Reason.EPOCH_NOT_CURRENT),  # a health proof at another epoch's prices
        (alice.prove(Kind.HEALTH, venue.ledger, [0, 0, 0], POLICY.name, "h-1", price_list=prices_of(PRICES))[0],
         Reason.PRICE_MISMATCH),  # epoch 2 named, epoch 1's prices used
        (alice.prove(Kind.HEALTH, venue.ledger, [0, 0, 0], POLICY.name, "h-1", ratio=1)[0], Reason.POLICY_MISMATCH),
        (alice.prove(Kind.HEALTH, venue.ledger, [0, 0, 0], POLICY.name, "h-1", spend=False)[0], Reason.SPEND_REQUIRED),
        (alice.prove(Kind.HEALTH, venue.ledger, [1, 0, 0], POLICY.name, "h-1")[0], Reason.BAD_DELTA),
    ):
        assert venue.health(kind_body).reason is reason
    assert state(venue) == before
    body, t = alice.prove(Kind.HEALTH, venue.ledger, [0, 0, 0], POLICY.name, "h-1")
    assert t.inputs["min_ratio_bps"] == 12_500
    d = venue.health(body)
    assert d.accepted and d.record["epoch"] == 2 and "payout" not in d.record
    old_commitment = alice.note.commitment()
    alice.accept(t, d.record["position"])
    assert alice.note.debt == (0, 0, 30_000 * ONE) and alice.note.collateral == (2 * ONE, 0, 0)
    assert alice.note.commitment() != old_commitment  # re-randomised: a fresh salt
    # one unit of price lower (epoch 3): the note no longer meets maintenance; forced, the margin constraint fails
    assert venue.publish_epoch(epoch_body(3, {**PRICES, "BTC": edge - 1})).accepted
    with pytest.raises(TransitionRefused) as info:
        alice.prove(Kind.HEALTH, venue.ledger, [0, 0, 0], POLICY.name, "h-2")
    assert info.value.reason == "BELOW_MARGIN"
    from zkproofs.errors import UnsatisfiedConstraint
    from zkproofs.settlement.transition import build_transition
    at_edge = build_transition(alice.keys, alice.spent(venue.ledger), [0] * 3, [0] * 3, prices_of({**PRICES, "BTC": edge}),
                               list(POLICY.haircut_bps), 12_500, 0, depth=POLICY.tree_depth, assets=POLICY.assets)
    at_edge.circuit.synthesize(at_edge.inputs)[0].check(at_edge.circuit.synthesize(at_edge.inputs)[1])
    below = dict(at_edge.inputs, **{"price[0]": edge - 1})
    r1cs, witness = at_edge.circuit.synthesize(below)
    with pytest.raises(UnsatisfiedConstraint) as info:
        r1cs.check(witness)
    assert info.value.label.startswith("margin/")
    report = audit_ledger(venue.ledger, POLICY, venue.vk)
    assert report.ok and report.epochs == 3


def prices_of(price_map):
    return [price_map[a] for a in POLICY.assets]


def test_malformed_requests_are_refused_with_the_field(venue, funded):
    alice, _ = funded
    body, _ = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE, 0, 0], POLICY.name, "w-9", destination="addr")
    for bad, field in ((dict(body, expiry="soon"), "expiry"), (dict(body, extra=1), "extra"),
                       ({k: v for k, v in body.items() if k != "destination"}, "destination"), ([], "object")):
        d = venue.withdraw(bad)
        assert d.reason is Reason.MALFORMED and field in d.message
    forged = dict(body, proof=dict(body["proof"], public_inputs=dict(body["proof"]["public_inputs"], nullifier="1")))
    assert venue.withdraw(forged).reason is Reason.INVALID_PROOF
    # the circuit leaves the prices' domain to its verifier: a price outside [1, 2^64] is refused before the proof
    for price in (0, 2**64 + 1):
        out = dict(body, proof=dict(body["proof"], public_inputs=dict(body["proof"]["public_inputs"], **{"price[0]": str(price)})))
        d = venue.withdraw(out)
        assert d.reason is Reason.PRICE_MISMATCH and "[1, 2^64]" in d.message


def test_fifty_concurrent_spends_of_one_note_exactly_one_accepted(venue, funded):
    alice, _ = funded
    bodies = [alice.prove(Kind.WITHDRAW, venue.ledger, [-(i + 1), 0, 0], POLICY.name, f"race-{i}", destination="addr")[0]
              for i in range(5)]
    barrier = threading.Barrier(50)
    results = []

    def spend(i):
        barrier.wait(timeout=30)
        results.append(venue.withdraw(bodies[i % 5]))

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 50
    assert sum(d.accepted for d in results) == 1
    assert {d.reason for d in results if not d.accepted} <= {Reason.DOUBLE_SPEND}


def test_audit_replays_and_detects_a_tampered_ledger(venue, funded, tmp_path):
    alice, bob = funded
    (la, _), (lb, _) = trade_legs(alice, bob, venue.ledger, "BTC-USDC", "trade-9", ("BTC", ONE), ("USDC", 27_000 * ONE))
    assert venue.settle(la, lb).accepted
    report = audit_ledger(venue.ledger, POLICY, venue.vk, backend="arkworks")
    assert report.ok and (report.transitions, report.settlements, report.roots) == (4, 1, 4)
    venue.ledger.close()
    # reopened after a restart, the recomputed root is the published one
    reopened = VenueLedger(venue.ledger.path, depth=POLICY.tree_depth)
    with reopened.read() as conn:
        assert reopened.tree(conn).root() == reopened.latest_root(conn)[1]
    conn = sqlite3.connect(venue.ledger.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE roots SET root = '1' WHERE seq = 2")
    conn.execute("DROP TRIGGER roots_no_update")
    conn.execute("UPDATE roots SET root = '1' WHERE seq = 2")
    conn.commit()
    conn.close()
    report = audit_ledger(reopened, POLICY, venue.vk, backend="arkworks")
    assert not report.ok and any("root 2" in p for p in report.problems)
    reopened.close()
    with pytest.raises(ValueError, match="depth"):
        VenueLedger(venue.ledger.path, depth=POLICY.tree_depth + 2)
    # a ledger of the binary tree (no format row) or another format is refused, not read as this tree
    conn = sqlite3.connect(venue.ledger.path)
    conn.execute("UPDATE meta SET value = 'poseidon-t3-binary' WHERE key = 'note_tree'")
    conn.commit()
    with pytest.raises(ValueError, match="poseidon-t3-binary"):
        VenueLedger(venue.ledger.path, depth=POLICY.tree_depth)
    conn.execute("DELETE FROM meta WHERE key = 'note_tree'")
    conn.commit()
    conn.close()
    with pytest.raises(ValueError, match="binary"):
        VenueLedger(venue.ledger.path, depth=POLICY.tree_depth)


def test_the_venue_takes_a_single_party_key_only_with_the_policy_opt_in(tmp_path, pk):
    assert "trust_single_party_keys" in Venue(POLICY, pk.vk, VenueLedger(tmp_path / "a.db", depth=POLICY.tree_depth)).key_report.basis
    strict = dataclasses.replace(POLICY, trust_single_party_keys=False)
    with pytest.raises(UntrustedKey, match="single-party setup by test venue.*trust_single_party_keys"):
        Venue(strict, pk.vk, VenueLedger(tmp_path / "b.db", depth=POLICY.tree_depth))
