"""``zkproofs venue init | register-transfer | audit-ledger``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from zkproofs.settlement.venue_policy import load_venue_policy

POLICY = str(Path(__file__).parent / "fixtures" / "venue" / "policy.toml")


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_policy_fixture_loads():
    assert load_venue_policy(POLICY).circuit_params == {"assets": 3, "depth": 6}


def test_init_register_and_audit(tmp_path):
    keys, db = str(tmp_path / "keys"), str(tmp_path / "venue.db")
    result = run("venue", "init", "--policy", POLICY, "--keys", keys, "--party", "test venue", "--json", "--backend", "arkworks")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["params"] == {"assets": 3, "depth": 6} and set(summary["circuits"]) == {"valid_transition", "liquidation"}
    assert {p.name for p in Path(keys).iterdir()} == {"proving_key.bin", "verification_key.json", "liquidation_proving_key.bin",
                                                      "liquidation_verification_key.json", "sealing_key.json", "sealing_public_key"}
    assert (Path(keys) / "sealing_key.json").stat().st_mode & 0o777 == 0o600
    result = run("venue", "register-transfer", "--policy", POLICY, "--db", db, "--reference", "tx-1", "--asset", "BTC", "--amount", "1.5")
    assert result.exit_code == 0 and "1.5 BTC registered" in result.output
    again = run("venue", "register-transfer", "--policy", POLICY, "--db", db, "--reference", "tx-1", "--asset", "BTC", "--amount", "2")
    assert again.exit_code == 1 and "TRANSFER_CONFLICT" in again.output
    bad = run("venue", "register-transfer", "--policy", POLICY, "--db", db, "--reference", "tx-2", "--asset", "BTC", "--amount", "1.000000001")
    assert bad.exit_code == 2 and "--amount" in bad.output
    result = run("venue", "audit-ledger", "--policy", POLICY, "--db", db, "--keys", keys, "--json", "--backend", "arkworks")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"ok": True, "epochs": 0, "transitions": 0, "settlements": 0, "roots": 1, "problems": [],
                                         "lent": {}, "repaid": {}, "seized": {}}
    missing = run("venue", "audit-ledger", "--policy", POLICY, "--db", str(tmp_path / "none.db"), "--keys", keys)
    assert missing.exit_code == 2 and "no such ledger" in missing.output


def test_oracles_sign_and_the_operator_publishes_an_epoch(tmp_path):
    """`oracle keygen` and `oracle sign` make signed quotes; `venue publish-epoch` needs the policy's quorum of its oracles."""
    from tests.venue_helpers import ORACLE_SEEDS
    from zkproofs.settlement.epochs import oracle_key_to_json
    db = str(tmp_path / "venue.db")
    made = run("oracle", "keygen", "--out", str(tmp_path / "new.key"), "--json")
    assert made.exit_code == 0 and len(json.loads(made.output)["public_key"]) == 64
    assert (tmp_path / "new.key").stat().st_mode & 0o777 == 0o600
    again = run("oracle", "keygen", "--out", str(tmp_path / "new.key"))
    assert again.exit_code == 2 and "never overwritten" in again.output
    prices = tmp_path / "prices.json"
    prices.write_text('{"BTC": "27000", "ETH": "1800", "USDC": "1"}')
    quotes = []
    for i in range(3):
        key = tmp_path / f"oracle-{i}.key"
        key.write_text(oracle_key_to_json(ORACLE_SEEDS[i]))
        key.chmod(0o600)
        quotes.append(str(tmp_path / f"q{i}.json"))
        signed = run("oracle", "sign", "--key", str(key), "--policy", POLICY, "--sequence", "1", "--prices", str(prices), "--out", quotes[-1])
        assert signed.exit_code == 0, signed.output
    stranger = run("oracle", "sign", "--key", str(tmp_path / "new.key"), "--policy", POLICY, "--sequence", "1", "--prices", str(prices),
                   "--out", str(tmp_path / "qx.json"))
    assert stranger.exit_code == 0  # anyone can sign; the venue counts only its policy's oracles
    key = tmp_path / "oracle-0.key"
    key.chmod(0o644)
    loose = run("oracle", "sign", "--key", str(key), "--policy", POLICY, "--sequence", "1", "--prices", str(prices), "--out", quotes[0])
    assert loose.exit_code == 2 and "chmod 600" in loose.output
    key.chmod(0o600)
    for text, message in (('{"BTC": "27000", "ETH": "1800"}', "no price for USDC"),
                          ('{"BTC": "27000", "ETH": "1800", "USDC": "1", "DOGE": "1"}', "DOGE is not one of"),
                          ('{"BTC": 27000, "ETH": "1800", "USDC": "1"}', "expected a decimal string"),
                          ('{"BTC": "27000.000000001", "ETH": "1800", "USDC": "1"}', "more than 8 decimals")):
        prices.write_text(text)
        bad = run("oracle", "sign", "--key", str(key), "--policy", POLICY, "--sequence", "1", "--prices", str(prices), "--out", quotes[0])
        assert bad.exit_code == 2 and message in bad.output, (text, bad.output)
    few = run("venue", "publish-epoch", "--policy", POLICY, "--db", db, quotes[0], str(tmp_path / "qx.json"))
    assert few.exit_code == 1 and "refused (UNKNOWN_SIGNER)" in few.output
    few = run("venue", "publish-epoch", "--policy", POLICY, "--db", db, quotes[0], "--json")
    assert few.exit_code == 1 and json.loads(few.output)["reason"] == "NO_QUORUM"
    done = run("venue", "publish-epoch", "--policy", POLICY, "--db", db, *quotes)
    assert done.exit_code == 0 and "price epoch 1 published: BTC 27000, ETH 1800, USDC 1" in done.output
    stale = run("venue", "publish-epoch", "--policy", POLICY, "--db", db, *quotes[:2])
    assert stale.exit_code == 1 and "STALE_SEQUENCE" in stale.output
    neither = run("venue", "publish-epoch", "--policy", POLICY, *quotes[:2])
    assert neither.exit_code == 2 and "--db" in neither.output
