"""``zkproofs wallet``: two traders deposit, settle a trade, withdraw, against a venue in process.

Refusals change nothing (the wallet file is byte for byte the same, the ledger
has no new row); the wallet file is 0600 and refused when others may read it;
no command ever prints the spending key.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from tests.venue_helpers import ORACLE_SEEDS
from zkproofs.errors import MalformedInput
from zkproofs.settlement.epochs import oracle_key_to_json
from zkproofs.settlement.units import format_fixed
from zkproofs.settlement.transition import Kind
from zkproofs.settlement.venue_ledger import VenueLedger
from zkproofs.settlement.wallet import LocalVenue, RemoteVenue, load_wallet, open_wallet

FIXTURE = Path(__file__).parent / "fixtures" / "venue" / "policy.toml"
OUTPUTS: list[str] = []
"""Everything every command of this module printed (checked for spending keys at the end)."""
WALLETS: list[Path] = []
"""Every wallet file this module created."""


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    OUTPUTS.append(result.output)
    assert result.exit_code == code, result.output
    return result


def publish_epoch(folder: Path, policy: Path, db: Path, sequence: int = 1, prices=None) -> None:
    """Two of the test oracles sign ``prices`` (default BTC 27,000, ETH 1,800, USDC 1) with `oracle sign`, and
    `venue publish-epoch` records them as epoch ``sequence``."""
    (folder / "prices.json").write_text(json.dumps(prices or {"BTC": "27000", "ETH": "1800", "USDC": "1"}))
    quotes = []
    for i in (0, 1):
        key = folder / f"oracle-{i}.key"
        if not key.exists():
            key.write_text(oracle_key_to_json(ORACLE_SEEDS[i]))
            key.chmod(0o600)
        quotes.append(folder / f"quotes-{sequence}-{i}.json")
        run("oracle", "sign", "--key", key, "--policy", policy, "--sequence", sequence, "--prices", folder / "prices.json",
            "--out", quotes[-1])
    run("venue", "publish-epoch", "--policy", policy, "--db", db, *quotes)


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wallet-venue")
    shutil.copy(FIXTURE, folder / "policy.toml")
    run("venue", "init", "--policy", folder / "policy.toml", "--keys", folder / "keys", "--party", "test venue")
    return folder / "keys"


@pytest.fixture
def venue(tmp_path, keys):
    """The venue's options for a fresh ledger, with two registered transfers."""
    shutil.copy(FIXTURE, tmp_path / "policy.toml")
    policy, db = tmp_path / "policy.toml", tmp_path / "venue.db"
    publish_epoch(tmp_path, policy, db)
    for ref, asset, amount in (("tx-a", "BTC", "2"), ("tx-b", "USDC", "60000")):
        run("venue", "register-transfer", "--policy", policy, "--db", db, "--reference", ref, "--asset", asset, "--amount", amount)
    return ["--policy", policy, "--keys", keys, "--db", db]


def ledger_rows(venue) -> list[int]:
    ledger = VenueLedger(venue[5], depth=6)
    try:
        return [ledger.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("transitions", "roots", "settlements")]
    finally:
        ledger.close()


def new_wallet(tmp_path, name, venue) -> Path:
    path = tmp_path / name
    run("wallet", "new", "--wallet", path, "--policy", venue[1])
    WALLETS.append(path)
    return path


def show(path, venue=()):
    return json.loads(run("wallet", "show", "--wallet", path, *venue, "--json").stdout)


@pytest.fixture
def funded(tmp_path, venue):
    a, b = new_wallet(tmp_path, "a.json", venue), new_wallet(tmp_path, "b.json", venue)
    run("wallet", "deposit", "--wallet", a, *venue, "--reference", "tx-a", "--asset", "BTC", "--amount", "2")
    run("wallet", "deposit", "--wallet", b, *venue, "--reference", "tx-b", "--asset", "USDC", "--amount", "60000")
    return a, b


def trade(a, b, venue, tmp_path, sid="t-1"):
    leg = tmp_path / f"{sid}.json"
    nf_b = show(b)["nullifier"]
    run("wallet", "trade", "--wallet", a, *venue, "--propose", "--market", "BTC-USDC", "--give", "1", "BTC",
        "--get", "27000", "USDC", "--counterparty", nf_b, "--settlement-id", sid, "--out", leg)
    return leg


def test_two_wallets_deposit_trade_withdraw_and_the_ledger_audits(tmp_path, venue, funded):
    a, b = funded
    assert show(a)["balances"] == {"BTC": "2", "ETH": "0", "USDC": "0"}
    leg = trade(a, b, venue, tmp_path)
    assert [p["reference"] for p in show(a)["pending"]] == ["t-1"]
    accepted = run("wallet", "trade", "--wallet", b, *venue, "--accept", leg, "--give", "27000", "USDC", "--get", "1", "BTC", "--json")
    record = json.loads(accepted.stdout)
    assert record["reason"] == "ACCEPTED" and record["wallet"]["balances"] == {"BTC": "1", "ETH": "0", "USDC": "33000"}
    # A's wallet picks its new note up from the settlement's record (its receipt) on the next command
    synced = run("wallet", "show", "--wallet", a, *venue, "--json")
    assert "t-1 was applied" in synced.stderr
    state = json.loads(synced.stdout)
    assert state["balances"] == {"BTC": "1", "ETH": "0", "USDC": "27000"} and state["pending"] == []
    assert [h["kind"] for h in state["history"]] == ["deposit", "trade"]
    out = run("wallet", "withdraw", "--wallet", a, *venue, "--asset", "BTC", "--amount", "0.25", "--destination", "bc1-a",
              "--withdrawal-id", "w-1", "--json")
    payout = json.loads(out.stdout)["payout"]
    assert payout == {"asset": "BTC", "amount": 25_000_000, "destination": "bc1-a", "withdrawal_id": "w-1"}
    assert show(a)["balances"]["BTC"] == "0.75"
    audit = run("venue", "audit-ledger", "--policy", venue[1], "--db", venue[5], "--keys", venue[3], "--json")
    assert json.loads(audit.stdout) == {"ok": True, "epochs": 1, "transitions": 5, "settlements": 1, "roots": 5, "problems": [],
                                        "lent": {}, "repaid": {}, "seized": {}}
    for path in (a, b):
        assert os.stat(path).st_mode & 0o777 == 0o600


def test_a_note_spent_again_from_an_old_backup_is_a_double_spend_and_changes_nothing(tmp_path, venue, funded):
    a, b = funded
    backup = tmp_path / "a-backup.json"
    shutil.copy(a, backup)
    os.chmod(backup, 0o600)
    leg = trade(a, b, venue, tmp_path)
    run("wallet", "trade", "--wallet", b, *venue, "--accept", leg, "--give", "27000", "USDC", "--get", "1", "BTC")
    before, rows = backup.read_bytes(), ledger_rows(venue)
    out = run("wallet", "withdraw", "--wallet", backup, *venue, "--asset", "BTC", "--amount", "1", "--destination", "x", code=1)
    assert "refused (DOUBLE_SPEND)" in out.output
    assert backup.read_bytes() == before and ledger_rows(venue) == rows
    # the leg cannot be accepted twice: B's note has changed, the leg names the old one
    again = run("wallet", "trade", "--wallet", b, *venue, "--accept", leg, "--give", "27000", "USDC", "--get", "1", "BTC", code=2)
    assert "names another note" in again.output and ledger_rows(venue) == rows


def test_accepting_other_terms_than_the_leg_gives_is_refused_before_anything_is_submitted(tmp_path, venue, funded):
    a, b = funded
    leg = trade(a, b, venue, tmp_path)
    before, rows = b.read_bytes(), ledger_rows(venue)
    out = run("wallet", "trade", "--wallet", b, *venue, "--accept", leg, "--give", "26000", "USDC", "--get", "1", "BTC", code=2)
    assert "not the +1 BTC, -26000 USDC given" in out.output
    assert b.read_bytes() == before and ledger_rows(venue) == rows
    c = new_wallet(tmp_path, "c.json", venue)
    out = run("wallet", "trade", "--wallet", c, *venue, "--accept", leg, "--give", "27000", "USDC", "--get", "1", "BTC", code=1)
    assert "INSUFFICIENT_BALANCE" in out.output  # C has no note to trade with


def test_overdrawing_withdrawal_and_unknown_or_reused_transfers_are_refused_and_change_nothing(venue, funded):
    a, _ = funded
    before, rows = a.read_bytes(), ledger_rows(venue)
    out = run("wallet", "withdraw", "--wallet", a, *venue, "--asset", "BTC", "--amount", "2.00000001", "--destination", "x", code=1)
    assert "refused (INSUFFICIENT_BALANCE)" in out.output
    out = run("wallet", "deposit", "--wallet", a, *venue, "--reference", "tx-a", "--asset", "BTC", "--amount", "2", code=1)
    assert "refused (TRANSFER_USED)" in out.output
    out = run("wallet", "deposit", "--wallet", a, *venue, "--reference", "tx-none", "--asset", "BTC", "--amount", "2", "--json", code=1)
    assert json.loads(out.stdout)["reason"] == "UNKNOWN_TRANSFER"
    run("venue", "register-transfer", "--policy", venue[1], "--db", venue[5], "--reference", "tx-c", "--asset", "USDC", "--amount", "5")
    out = run("wallet", "deposit", "--wallet", a, *venue, "--reference", "tx-c", "--asset", "USDC", "--amount", "6", code=1)
    assert "refused (DEPOSIT_MISMATCH)" in out.output
    out = run("wallet", "repay", "--wallet", a, *venue, "--reference", "tx-c", "--asset", "DOGE", "--amount", "5", code=2)
    assert "not one of the venue's" in out.output  # an unknown asset is named as such, not as a debt exceeded
    out = run("wallet", "repay", "--wallet", a, *venue, "--reference", "tx-c", "--asset", "USDC", "--amount", "5", code=1)
    assert "refused (REPAY_EXCEEDS_DEBT)" in out.output
    assert a.read_bytes() == before and ledger_rows(venue) == rows


def test_wallet_file_permissions(tmp_path, venue):
    path = new_wallet(tmp_path, "w.json", venue)
    assert os.stat(path).st_mode & 0o777 == 0o600
    out = run("wallet", "new", "--wallet", path, "--policy", venue[1], code=2)
    assert "already exists" in out.output
    for mode in (0o644, 0o640, 0o602):
        os.chmod(path, mode)
        out = run("wallet", "show", "--wallet", path, code=2)
        assert f"permissions {mode:04o}" in out.output and "chmod 600" in out.output
        run("wallet", "deposit", "--wallet", path, *venue, "--reference", "tx-a", "--asset", "BTC", "--amount", "2", code=2)
    os.chmod(path, 0o600)
    assert ledger_rows(venue)[0] == 0
    out = run("wallet", "show", "--wallet", tmp_path / "none.json", code=2)
    assert "no such wallet" in out.output


@pytest.mark.parametrize(("edit", "message"), [
    (lambda text: text[: len(text) // 2], "corrupt wallet file"),
    (lambda text: text.replace('"spending_key"', '"spending_key_"'), "unexpected field 'spending_key_'"),
    (lambda text: json.dumps(dict(json.loads(text), spending_key="0")), "spending key"),
    (lambda text: json.dumps(dict(json.loads(text), version=2)), "version 1"),
    (lambda text: json.dumps(dict(json.loads(text), note={"collateral": ["1"], "debt": ["0"], "salt": "1", "position": 0})), "note.collateral"),
    (lambda text: json.dumps(dict(json.loads(text), note={"collateral": ["18446744073709551616", "0", "0"], "debt": ["0"] * 3,
                                                              "salt": "1", "position": 0})), "not in [0, 2^64)"),
])
def test_a_corrupt_wallet_file_is_refused_with_the_field_and_left_alone(tmp_path, venue, edit, message):
    path = new_wallet(tmp_path, "w.json", venue)
    path.write_text(edit(path.read_text()))
    before = path.read_bytes()
    out = run("wallet", "deposit", "--wallet", path, *venue, "--reference", "tx-a", "--asset", "BTC", "--amount", "2", code=2)
    assert message in out.output
    assert path.read_bytes() == before and ledger_rows(venue)[0] == 0


def test_a_wallet_of_another_venue_is_refused(tmp_path, venue):
    path = new_wallet(tmp_path, "w.json", venue)
    doc = json.loads(path.read_text())
    doc["venue"]["name"] = "other-venue"
    path.write_text(json.dumps(doc))
    out = run("wallet", "deposit", "--wallet", path, *venue, "--reference", "tx-a", "--asset", "BTC", "--amount", "2", code=2)
    assert "a wallet of venue 'other-venue'" in out.output


def test_a_note_accepted_while_the_wallet_was_not_listening_is_recovered(tmp_path, venue, funded):
    """The new note's opening is saved before submission: if the response is lost, the next command finds it."""
    a, _ = funded
    local = LocalVenue.open(venue[1], venue[3], venue[5])
    with open_wallet(a, local) as w:
        body, pending = w._prove(Kind.WITHDRAW, local.policy.name, "w-lost", [-1, 0, 0], int(time.time()) + 600, destination="x")
        w.state.pending.append(pending)
        w.save()
        assert local.submit("withdraw", body)["accepted"]  # ... and the wallet dies before it hears back
    local.close()
    out = run("wallet", "show", "--wallet", a, *venue, "--json")
    assert "w-lost was applied" in out.stderr
    assert json.loads(out.stdout)["balances"]["BTC"] == "1.99999999"
    assert load_wallet(a).pending == []


def test_trade_help_explains_propose_and_accept():
    out = run("wallet", "--help").output
    assert "--propose" in out and "--accept" in out and "nullifier" in out


def test_wallets_over_http_deposit_trade_and_recover_a_lost_response(tmp_path, venue, monkeypatch):
    """The same flow against ``zkproofs serve``'s app (--venue URL), with the trader's copies of the
    policy and proving key; prices from the venue's epoch, whose signatures the wallet checks."""
    from fastapi.testclient import TestClient

    from zkproofs.service import create_app
    from zkproofs.settlement import client as client_module
    from zkproofs.settlement.venue import open_venue

    served = open_venue(venue[1], venue[3], venue[5])
    original = client_module.VenueClient
    with TestClient(create_app(served)) as http:
        monkeypatch.setattr(client_module, "VenueClient", lambda url, timeout: original(http=http))
        remote = ["--venue", "http://testserver", "--policy", venue[1], "--keys", venue[3]]
        a, b = new_wallet(tmp_path, "a.json", venue), new_wallet(tmp_path, "b.json", venue)
        run("wallet", "deposit", "--wallet", a, *remote, "--reference", "tx-a", "--asset", "BTC", "--amount", "2")
        run("wallet", "deposit", "--wallet", b, *remote, "--reference", "tx-b", "--asset", "USDC", "--amount", "60000")
        leg = trade(a, b, remote, tmp_path)
        run("wallet", "trade", "--wallet", b, *remote, "--accept", leg, "--give", "27000", "USDC", "--get", "1", "BTC")
        synced = run("wallet", "show", "--wallet", a, *remote, "--json")
        assert "t-1 was applied" in synced.stderr
        assert json.loads(synced.stdout)["balances"] == {"BTC": "1", "ETH": "0", "USDC": "27000"}
        out = run("wallet", "deposit", "--wallet", a, *remote, "--reference", "tx-a", "--asset", "BTC", "--amount", "2", code=1)
        assert "refused (TRANSFER_USED)" in out.output
        # borrowing over HTTP (POST /borrows): 1 BTC and 27,000 USDC are 52,650 of haircut value; 25,000 of debt
        # needs 37,500 at 150 %, 36,000 would need 54,000, and without the BTC 27,000 is short: the wallet refuses
        # those before proving and nothing is sent
        out = run("wallet", "borrow", "--wallet", a, *remote, "--asset", "USDC", "--amount", "25000", "--destination",
                  "bank-a", "--borrow-id", "b-1", "--json")
        assert json.loads(out.stdout)["payout"] == {"asset": "USDC", "amount": 25_000 * 10**8, "destination": "bank-a", "borrow_id": "b-1"}
        assert show(a)["debts"] == {"USDC": "25000"} and show(a)["balances"]["USDC"] == "27000"
        before, rows = a.read_bytes(), ledger_rows(venue)
        out = run("wallet", "borrow", "--wallet", a, *remote, "--asset", "USDC", "--amount", "11000", "--destination", "bank-a", code=1)
        assert "refused (BELOW_MARGIN)" in out.output
        out = run("wallet", "withdraw", "--wallet", a, *remote, "--asset", "BTC", "--amount", "1", "--destination", "bank-a", code=1)
        assert "refused (BELOW_MARGIN)" in out.output and a.read_bytes() == before and ledger_rows(venue) == rows
        # repaying over HTTP (POST /repayments) with a transfer the operator registered; more than the debt is refused
        run("venue", "register-transfer", "--policy", venue[1], "--db", venue[5], "--reference", "tx-r", "--asset", "USDC", "--amount", "5000")
        out = run("wallet", "repay", "--wallet", a, *remote, "--reference", "tx-r", "--asset", "USDC", "--amount", "30000", code=1)
        assert "refused (REPAY_EXCEEDS_DEBT)" in out.output
        run("wallet", "repay", "--wallet", a, *remote, "--reference", "tx-r", "--asset", "USDC", "--amount", "5000")
        assert show(a)["debts"] == {"USDC": "20000"}
        out = run("wallet", "repay", "--wallet", a, *remote, "--reference", "tx-r", "--asset", "USDC", "--amount", "5000", code=1)
        assert "refused (TRANSFER_USED)" in out.output
        # a response lost over HTTP: the next command finds the note by its membership path
        access = RemoteVenue.open("http://testserver", venue[1], venue[3])
        with open_wallet(a, access) as w:
            body, pending = w._prove(Kind.WITHDRAW, served.policy.name, "w-lost", [-1, 0, 0], int(time.time()) + 600, destination="x")
            w.state.pending.append(pending)
            w.save()
            assert access.submit("withdraw", body)["accepted"]
        out = run("wallet", "show", "--wallet", a, *remote, "--json")
        assert "w-lost was applied" in out.stderr and json.loads(out.stdout)["balances"]["BTC"] == "0.99999999"
    served.ledger.close()
    bad = run("wallet", "show", "--wallet", a, "--venue", "http://testserver", "--policy", venue[1], code=2)
    assert "needs --keys" in bad.output
    bad = run("wallet", "show", "--wallet", a, *venue, "--venue", "http://testserver", code=2)
    assert "--db is for a venue in this process" in bad.output


def test_a_borrower_who_falls_under_maintenance_is_liquidated_and_the_wallet_finds_the_remainder(tmp_path, keys):
    """Epochs move BTC down; the borrower does not re-prove; once the grace period (0 s here) has passed the
    operator liquidates the note, and the borrower's wallet adopts what is left on its next command."""
    policy, db = tmp_path / "policy.toml", tmp_path / "venue.db"
    policy.write_text(FIXTURE.read_text().replace("[venue]\n", "[venue]\ngrace_period_seconds = 0\n"))
    publish_epoch(tmp_path, policy, db)
    venue = ["--policy", policy, "--keys", keys, "--db", db]
    run("venue", "register-transfer", "--policy", policy, "--db", db, "--reference", "tx-a", "--asset", "BTC", "--amount", "2")
    a = new_wallet(tmp_path, "a.json", venue)
    run("wallet", "deposit", "--wallet", a, *venue, "--reference", "tx-a", "--asset", "BTC", "--amount", "2")
    run("wallet", "borrow", "--wallet", a, *venue, "--asset", "USDC", "--amount", "30000", "--destination", "bank-a")
    risk = json.loads(run("venue", "at-risk", *venue, "--json").stdout)["notes"]
    assert [(n["status"], n["debt"]) for n in risk] == [("proven", {"USDC": "30000"})]
    publish_epoch(tmp_path, policy, db, 2, {"BTC": "22000", "ETH": "1800", "USDC": "1"})
    publish_epoch(tmp_path, policy, db, 3, {"BTC": "19000", "ETH": "1800", "USDC": "1"})  # 2 x 19,000 x 95 % < 125 % of 30,000
    out = run("venue", "at-risk", *venue).stdout
    assert "overdue" in out and "LIQUIDATABLE" in out and "120.33 %" in out
    out = run("wallet", "prove-health", "--wallet", a, *venue, code=1)
    assert "refused (BELOW_MARGIN)" in out.output  # too late to re-prove: the note is under maintenance
    position = risk[0]["position"]
    done = json.loads(run("venue", "liquidate", *venue, "--position", position, "--json").stdout)
    assert done["reason"] == "ACCEPTED" and done["repaid"] == {"USDC": 30_000 * 10**8}
    seized = done["seized"]["BTC"]  # 31,500 USD of BTC at 19,000: 1.65789473 BTC
    assert seized == 31_500 * 10**16 // (19_000 * 10**8)
    again = run("venue", "liquidate", *venue, "--position", position, code=1)
    assert "NOT_A_DEBT_NOTE" in again.output
    shown = run("wallet", "show", "--wallet", a, *venue, "--json")
    assert "the venue liquidated the note" in shown.stderr
    state = json.loads(shown.stdout)
    assert state["debts"] == {} and state["balances"]["BTC"] == format_fixed(2 * 10**8 - seized)
    assert state["history"][-1]["kind"] == "liquidated"
    run("wallet", "withdraw", "--wallet", a, *venue, "--asset", "BTC", "--amount", "0.1", "--destination", "x")  # it is hers to spend
    audit = json.loads(run("venue", "audit-ledger", "--policy", policy, "--db", db, "--keys", keys, "--json").stdout)
    assert audit["ok"] and audit["seized"] == {"BTC": format_fixed(seized)} and audit["repaid"] == {"USDC": "30000"}


def test_no_command_printed_a_spending_key():
    """Runs last in this module: every output above, against every wallet this module created."""
    assert OUTPUTS
    keys = set()
    for path in WALLETS:
        try:
            keys.add(str(load_wallet(path).keys.sk))
        except MalformedInput:
            continue  # a test corrupted it
    assert len(keys) > 10
    for key in keys:
        for output in OUTPUTS:
            assert key not in output and hex(int(key))[2:] not in output
