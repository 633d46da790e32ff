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
    assert json.loads(result.output)["params"] == {"assets": 3, "depth": 6}
    assert {p.name for p in Path(keys).iterdir()} == {"proving_key.bin", "verification_key.json"}
    result = run("venue", "register-transfer", "--policy", POLICY, "--db", db, "--reference", "tx-1", "--asset", "BTC", "--amount", "1.5")
    assert result.exit_code == 0 and "1.5 BTC registered" in result.output
    again = run("venue", "register-transfer", "--policy", POLICY, "--db", db, "--reference", "tx-1", "--asset", "BTC", "--amount", "2")
    assert again.exit_code == 1 and "TRANSFER_CONFLICT" in again.output
    bad = run("venue", "register-transfer", "--policy", POLICY, "--db", db, "--reference", "tx-2", "--asset", "BTC", "--amount", "1.000000001")
    assert bad.exit_code == 2 and "--amount" in bad.output
    result = run("venue", "audit-ledger", "--policy", POLICY, "--db", db, "--keys", keys, "--json", "--backend", "arkworks")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"ok": True, "transitions": 0, "settlements": 0, "roots": 1, "problems": [], "lent": {}, "repaid": {}}
    missing = run("venue", "audit-ledger", "--policy", POLICY, "--db", str(tmp_path / "none.db"), "--keys", keys)
    assert missing.exit_code == 2 and "no such ledger" in missing.output
