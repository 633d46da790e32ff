"""Lending at the venue: debt-carrying notes disclose their opening to the venue (sealed), the venue tracks
them across price epochs (at-risk, grace period), and liquidates an overdue note under maintenance; every
refusal has its reason code and changes nothing."""

from __future__ import annotations

import pytest
from nacl.public import PrivateKey

from circuits.liquidation import Liquidation
from circuits.valid_transition import ValidTransition
from tests.venue_helpers import NOW, ONE, POLICY, PRICES, SEALING_KEY, Wallet, epoch_body, make_venue
from zkproofs.groth16 import setup
from zkproofs.settlement.liquidation import build_liquidation
from zkproofs.settlement.material import seal_material
from zkproofs.settlement.notes import Note, OwnerKeys, liquidation_salt
from zkproofs.settlement.transition import Kind, prove_transition, transition_context, transition_request
from zkproofs.settlement.venue import Reason, audit_ledger
from zkproofs.settlement.venue_ledger import VenueLedger

DEBT = 30_000 * ONE
EDGE = -(-POLICY.maintenance_ratio_bps * DEBT * ONE // (2 * ONE * 9_500))
"""The lowest BTC price at which 2 BTC (5 % haircut) cover 30,000 USDC of debt at 125 %."""


@pytest.fixture(scope="module")
def keys():
    pk = setup(ValidTransition(**POLICY.circuit_params), backend="arkworks", party="test venue")
    liquidation = setup(Liquidation(**POLICY.circuit_params), backend="arkworks", party="test venue")
    return pk, liquidation


@pytest.fixture
def venue(tmp_path, keys):
    clock = [NOW]
    ledger = VenueLedger(tmp_path / "venue.db", depth=POLICY.tree_depth, clock=lambda: clock[0])
    v = make_venue(POLICY, keys[0].vk, ledger, clock=lambda: clock[0], liquidation_vk=keys[1].vk)
    v.test_clock = clock
    yield v
    ledger.close()


def state(venue):
    return [venue.ledger.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("transitions", "roots", "debt_notes", "epochs")]


@pytest.fixture
def borrower(venue, keys):
    """Alice: 2 BTC, then 30,000 USDC borrowed at epoch 1 (51,300 of haircut value against 45,000 needed)."""
    alice = Wallet(OwnerKeys.from_spending_key(101), keys[0])
    alice.deposit(venue, "tx-alice-1", "BTC", 2 * ONE)
    body, t = alice.prove(Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-1", destination="bank", debt=[0, 0, DEBT])
    d = venue.borrow(body)
    assert d.accepted, d
    alice.accept(t, d.record["position"])
    return alice


def test_a_borrow_must_disclose_the_new_note_to_the_venue_and_nothing_else_does(venue, keys):
    alice, bob = Wallet(OwnerKeys.from_spending_key(101), keys[0]), Wallet(OwnerKeys.from_spending_key(202), keys[0])
    alice.deposit(venue, "tx-alice-1", "BTC", 2 * ONE)
    bob.deposit(venue, "tx-bob-1", "USDC", 60_000 * ONE)
    assert venue.at_risk() == [] and state(venue)[2] == 0  # notes without debt: the venue learns nothing
    before = state(venue)
    args = (Kind.BORROW, venue.ledger, [0, 0, 0], POLICY.name, "b-1")
    body, t = alice.prove(*args, destination="bank", debt=[0, 0, DEBT], material=False)
    assert venue.borrow(body).reason is Reason.MATERIAL_REQUIRED
    stranger = PrivateKey.generate().public_key  # sealed to another key: the venue cannot open it
    assert venue.borrow(dict(body, material=seal_material(stranger, alice.keys.ak, alice.keys.nk, t.new_note))).reason is Reason.MATERIAL_MISMATCH
    old = seal_material(SEALING_KEY.public_key, alice.keys.ak, alice.keys.nk, alice.note)  # the old note's opening
    d = venue.borrow(dict(body, material=old))
    assert d.reason is Reason.MATERIAL_MISMATCH and "new note commitment" in d.message
    other = OwnerKeys.from_spending_key(303)  # someone else's nk: not the note's owner
    forged = seal_material(SEALING_KEY.public_key, other.ak, other.nk, Note(other.pk, t.new_note.collateral, t.new_note.debt, t.new_note.salt))
    assert venue.borrow(dict(body, material=forged)).reason is Reason.MATERIAL_MISMATCH
    assert venue.borrow(dict(body, material="zz")).reason is Reason.MATERIAL_MISMATCH
    assert state(venue) == before
    body, t = alice.prove(*args, destination="bank", debt=[0, 0, DEBT])
    d = venue.borrow(body)
    assert d.accepted
    alice.accept(t, d.record["position"])
    [entry] = venue.at_risk()
    assert entry["position"] == alice.position and entry["status"] == "proven" and entry["debt"] == {"USDC": "30000"}
    # spending the debt note: the new note's material is required again (the venue recognises the nullifier)
    before = state(venue)
    body, t = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE // 10, 0, 0], POLICY.name, "w-1", destination="x", material=False)
    assert venue.withdraw(body).reason is Reason.MATERIAL_REQUIRED and state(venue) == before
    body, t = alice.prove(Kind.WITHDRAW, venue.ledger, [-ONE // 10, 0, 0], POLICY.name, "w-1", destination="x")
    d = venue.withdraw(body)
    assert d.accepted
    alice.accept(t, d.record["position"])
    assert [e["position"] for e in venue.at_risk()] == [alice.position]  # the spent debt note left the list
    # repaid in full: the last material shows no debt and the venue stops following the owner's notes
    venue.register_transfer("tx-r", "USDC", DEBT)
    body, t = alice.prove(Kind.REPAY, venue.ledger, [0, 0, 0], POLICY.name, "tx-r", debt=[0, 0, -DEBT])
    d = venue.repay(body)
    assert d.accepted and venue.at_risk() == []
    # bob's notes never carry debt: a trade with bob needs no material from him
    report = audit_ledger(venue.ledger, POLICY, venue.vk, liquidation_vk=keys[1].vk)
    assert report.ok, report.problems


def test_after_an_epoch_a_note_is_due_then_overdue_and_only_then_liquidated_if_under_maintenance(venue, keys, borrower):
    alice = borrower
    # epoch 2 puts BTC one unit under the maintenance edge
    assert venue.publish_epoch(epoch_body(2, {**PRICES, "BTC": EDGE - 1})).accepted
    published = venue.ledger.query("SELECT published_at FROM epochs WHERE sequence = 2")[0][0]
    [entry] = venue.at_risk()
    assert entry["status"] == "due" and entry["deadline"] == published + POLICY.grace_period_seconds
    assert entry["ratio_bps"] == 12_499 and entry["liquidatable"] is False
    before = state(venue)
    d = venue.liquidate(alice.position, keys[1])
    assert d.reason is Reason.NOTE_IN_GRACE and state(venue) == before
    venue.test_clock[0] = NOW + POLICY.grace_period_seconds + 1
    assert venue.publish_epoch(epoch_body(3, {**PRICES, "BTC": EDGE - 1}, timestamp=NOW + POLICY.grace_period_seconds)).accepted
    [entry] = venue.at_risk()
    assert entry["status"] == "overdue" and entry["liquidatable"] is True  # the grace ran from epoch 2, the first missed
    assert venue.liquidate(alice.position + 1, keys[1]).reason is Reason.NOT_A_DEBT_NOTE
    # a liquidation proof with a penalty above the policy's is refused
    material_note, path_anchor = alice.note, venue.ledger.membership_path(alice.position)
    expiry = int(venue.test_clock[0]) + 600
    context = transition_context(Kind.LIQUIDATE, POLICY.name, "liq-x", expiry, epoch=3)
    greedy = build_liquidation(alice.keys.ak, alice.keys.nk, material_note, *path_anchor, [EDGE - 1, PRICES["ETH"], ONE],
                               list(POLICY.haircut_bps), POLICY.maintenance_ratio_bps, 2_000, context, depth=POLICY.tree_depth)
    proof, public = prove_transition(keys[1], greedy)
    body = transition_request(Kind.LIQUIDATE, POLICY.name, "liq-x", expiry, proof, public, keys[1].vk, epoch=3)
    assert venue.apply_liquidation(body).reason is Reason.PENALTY_ABOVE_POLICY
    assert venue.apply_liquidation(dict(body, epoch=2)).reason is Reason.CONTEXT_MISMATCH
    assert state(venue)[:3] == before[:3]
    d = venue.liquidate(alice.position, keys[1])
    assert d.accepted, d
    # 31,500 USD (debt + 5 %) of BTC at 19,736.84210526: 1.59600000 BTC taken, the debt repaid, 0.404 BTC left
    seized = d.record["seized"]["BTC"]
    assert d.record["repaid"] == {"USDC": DEBT} and seized == 31_500 * ONE * ONE // (EDGE - 1)
    assert venue.at_risk() == []
    # the owner finds the remainder from the public record, with nk: P(nk, nullifier) is its salt
    nf = alice.nullifier_now(venue.ledger)
    record = venue.liquidation_record(nf)
    left = Note(alice.keys.pk, (2 * ONE - seized, 0, 0), (0, 0, 0), liquidation_salt(alice.keys.nk, nf))
    assert record["new_commitment"] == str(left.commitment()) and record["position"] == d.record["position"]
    report = audit_ledger(venue.ledger, POLICY, venue.vk, liquidation_vk=keys[1].vk)
    assert report.ok, report.problems
    assert report.seized == {"BTC": seized} and report.repaid == {"USDC": DEBT} and report.lent == {"USDC": DEBT}
    blind = audit_ledger(venue.ledger, POLICY, venue.vk)
    assert any("no liquidation key" in p for p in blind.problems)


def test_a_healthy_overdue_note_is_not_liquidated(venue, keys, borrower):
    alice = borrower
    assert venue.publish_epoch(epoch_body(2, {**PRICES, "BTC": EDGE})).accepted  # exactly at maintenance
    venue.test_clock[0] = NOW + POLICY.grace_period_seconds + 1
    [entry] = venue.at_risk()
    assert entry["status"] == "overdue" and entry["liquidatable"] is False and entry["ratio_bps"] == 12_500
    before = state(venue)
    d = venue.liquidate(alice.position, keys[1])
    assert d.reason is Reason.NOT_LIQUIDATABLE and "125.00 %" in d.message and state(venue) == before
    # proving health at the latest epoch clears it
    body, t = alice.prove(Kind.HEALTH, venue.ledger, [0, 0, 0], POLICY.name, "h-1", expiry=NOW + 7200)
    d = venue.health(body)
    assert d.accepted
    [entry] = venue.at_risk()
    assert entry["status"] == "proven" and entry["proven_epoch"] == 2
