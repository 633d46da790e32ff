"""`zkproofs demo` runs the whole product on the bundled data and reports every step."""

import json

from click.testing import CliRunner

from cli.main import main


def test_demo_runs_end_to_end_and_keeps_artifacts(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--json", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["ok"] is True
    assert [s["ok"] for s in summary["steps"]] == [True] * 5
    settle = summary["steps"][4]["details"]
    assert settle["settlement demo-trade-1"].startswith("ACCEPTED")
    assert settle["alice's backup (from before the trade) spends the old note again"].startswith("rejected: DOUBLE_SPEND")
    assert "INSUFFICIENT_BALANCE" in settle["alice withdraws 1.5 BTC, holding 1"]
    assert "every proof re-verified" in settle["venue audit-ledger"]
    assert settle["balances after (alice | bob)"] == "1 BTC, 65000 USDT | 1 BTC, 85000 USDT"
    # Who does what, the root as the CLI's root file writes it, what verification time includes.
    title, details = summary["steps"][2]["step"], summary["steps"][2]["details"]
    assert "exchange proves" in title and "customer verifies" in title
    assert "liabilities.db" in details["exchange proves"] and "root.json" in details["customer verifies"]
    assert "circuit digest" in details["verification time"] and "included" in details["customer verifies with py_ecc"]
    root_file = json.loads((tmp_path / "root.json").read_text())
    assert summary["steps"][0]["details"]["root hash (as in root.json)"] == root_file["root_hash"]
    for name in ("liabilities.db", "root.json", "inclusion_proof.json", "audit.json", "venue/venue.db", "trade_leg.json"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "inclusion_keys" / "verification_key.json").is_file()
    assert (tmp_path / "venue_keys" / "proving_key.bin").is_file()
    for wallet in ("alice_wallet.json", "bob_wallet.json"):
        assert (tmp_path / wallet).stat().st_mode & 0o777 == 0o600
