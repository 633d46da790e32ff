"""kill -9 of a venue process during a stream of settlements: no acknowledged change is lost, no
settlement is half applied, the roots recomputed after restart match the published ones, and a
client retrying a settlement whose answer it lost learns from the venue that it was applied."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from circuits.valid_transition import ValidTransition
from tests.venue_helpers import NOW, ONE, POLICY, Wallet, make_venue, trade_legs
from zkproofs.groth16 import setup
from zkproofs.groth16.serialize import vk_to_json
from zkproofs.settlement.notes import OwnerKeys
from zkproofs.settlement.venue import Reason, audit_ledger
from zkproofs.settlement.venue_ledger import VenueLedger

PAIRS = 4
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    """A deterministic stream (transfers, deposits, then PAIRS settlements), generated against a scratch venue."""
    pk = setup(ValidTransition(**POLICY.circuit_params), backend="arkworks", party="test venue")
    folder = tmp_path_factory.mktemp("stream")
    ledger = VenueLedger(folder / "scratch.db", depth=POLICY.tree_depth, clock=lambda: NOW)
    venue = make_venue(POLICY, pk.vk, ledger)
    ops = []
    wallets = [Wallet(OwnerKeys.from_spending_key(1000 + i), pk) for i in range(2 * PAIRS)]
    for i, w in enumerate(wallets):
        asset, amount = ("BTC", 2 * ONE) if i % 2 == 0 else ("USDC", 60_000 * ONE)
        _, body = w.deposit(venue, f"tx-{i}", asset, amount)
        ops += [["transfer", f"tx-{i}", asset, amount], ["deposit", body]]
    for p in range(PAIRS):
        a, b = wallets[2 * p], wallets[2 * p + 1]
        (la, ta), (lb, tb) = trade_legs(a, b, ledger, "BTC-USDC", f"trade-{p}", ("BTC", ONE), ("USDC", 27_000 * ONE))
        decision = venue.settle(la, lb)
        assert decision.accepted
        ops.append(["settle", la, lb])
    ledger.close()
    vk_path = folder / "vk.json"
    vk_path.write_text(vk_to_json(pk.vk))
    ops_path = folder / "ops.json"
    ops_path.write_text(json.dumps(ops))
    return pk, vk_path, ops_path, ops


def test_kill_9_mid_stream_loses_nothing_acknowledged_and_applies_no_half_settlement(stream, tmp_path):
    pk, vk_path, ops_path, ops = stream
    db = tmp_path / "venue.db"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.venue_worker", str(db), str(vk_path), str(ops_path), str(NOW), "0.05"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    acked = []
    first_settlement = next(i for i, op in enumerate(ops) if op[0] == "settle")
    try:
        for line in child.stdout:
            _, index, reason = line.split()
            assert reason == "ACCEPTED", line
            acked.append(int(index))
            if int(index) >= first_settlement + 1:  # two settlements acknowledged: kill mid-stream
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        child.kill()
        child.wait(timeout=30)
    assert acked and acked[-1] < len(ops) - 1, "the stream ended before the kill"

    ledger = VenueLedger(db, depth=POLICY.tree_depth, clock=lambda: NOW)
    settled = {r[0] for r in ledger.query("SELECT settlement_id FROM settlements")}
    for i in acked:
        if ops[i][0] == "settle":
            assert ops[i][1]["reference"] in settled
    legs = ledger.query("SELECT COUNT(*) FROM transitions WHERE kind = 'trade'")[0][0]
    assert legs == 2 * len(settled)
    with ledger.read() as conn:
        assert ledger.tree(conn).root() == ledger.latest_root(conn)[1]
    assert audit_ledger(ledger, POLICY, pk.vk, backend="arkworks").ok

    # the client resumes after the last acknowledgement; a settlement it never heard about may be applied
    venue = make_venue(POLICY, pk.vk, ledger)
    for op in ops[acked[-1] + 1:]:
        if op[0] == "transfer":
            decision = venue.register_transfer(*op[1:])
            assert decision.accepted
        elif op[0] == "deposit":
            decision = venue.deposit(op[1])
            assert decision.accepted or decision.reason is Reason.TRANSFER_USED
        else:
            decision = venue.settle(op[1], op[2])
            assert decision.reason in (Reason.ACCEPTED, Reason.ALREADY_SETTLED)
    assert ledger.query("SELECT COUNT(*) FROM settlements")[0][0] == PAIRS
    assert audit_ledger(ledger, POLICY, pk.vk, backend="arkworks").ok
    ledger.close()
