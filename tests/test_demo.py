"""`zkproofs demo` runs the whole product on the bundled data and reports every step."""

import json

from click.testing import CliRunner

from cli.main import main


def test_demo_runs_end_to_end_and_keeps_artifacts(tmp_path):
    result = CliRunner().invoke(main, ["demo", "--json", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["ok"] is True
    assert [s["ok"] for s in summary["steps"]] == [True] * 6
    settle = summary["steps"][4]["details"]
    assert settle["settlement demo-trade-1"].startswith("ACCEPTED")
    assert settle["alice's backup (from before the trade) spends the old note again"].startswith("rejected: DOUBLE_SPEND")
    assert "INSUFFICIENT_BALANCE" in settle["alice withdraws 1.5 BTC, holding 1"]
    assert settle["alice borrows 60000 USDT against her note"].startswith("ACCEPTED")
    under = settle["alice withdraws her 1 BTC, owing 60000 USDT"]
    assert under.startswith("refused by her wallet: BELOW_MARGIN") and "constraint 'margin/" in under
    assert settle["balances after (alice | bob)"] == "1 BTC, 65000 USDT | 1 BTC, 85000 USDT"
    assert settle["price epoch 1"].startswith("signed by oracle-a and oracle-b (quorum 2 of 3")
    # Lending: a price move, a health proof, a refusal inside the grace period, a liquidation, the remainder returned.
    lending = summary["steps"][5]["details"]
    assert lending["bob borrows 27 ETH against 1 BTC and 85000 USDT"].startswith("ACCEPTED: 150.")
    assert lending["alice proves health at epoch 2"].startswith("ACCEPTED")
    assert lending["bob tries to prove health"].startswith("refused by his wallet: BELOW_MARGIN (119.")
    assert lending["the venue liquidates bob at once"].startswith("refused: NOTE_IN_GRACE")
    liquidated = lending["an hour later (epoch 3, same prices): the venue liquidates bob"]
    assert liquidated.startswith("ACCEPTED") and "27 ETH of debt repaid with 1 BTC, " in liquidated
    assert lending["bob's wallet, next command"].endswith("USDT, no debt")
    audit = lending["venue audit-ledger"]
    assert "every signature, proof and root re-checked" in audit and "60000 USDT and 27 ETH lent" in audit
    assert "3 price epochs" in audit and "27 ETH repaid by liquidation" in audit
    # The keys: the bundled ceremony transcript, verified against both circuits, trusted by default.
    keys = summary["steps"][1]["details"]
    assert "ceremony" in summary["steps"][1]["step"]
    assert keys["phase 1: 2^14 powers of tau"].startswith("contributions alice, bob, carol, then a beacon")
    circuits = [k for k in keys if k.startswith(("merkle_sum_inclusion", "valid_transition", "liquidation"))]
    assert len(circuits) == 3 and all("contributions alice, bob, carol, beacon" in keys[k] for k in circuits)
    assert keys["provenance in the keys"].startswith("ceremony") and "4 contributions" in keys["provenance in the keys"]
    vk = json.loads((tmp_path / "inclusion_keys" / "verification_key.json").read_text())
    assert vk["provenance"]["kind"] == "ceremony" and vk["provenance"]["contributions"] == 4
    trust = summary["steps"][2]["details"]
    assert "verified against the circuit before" in trust["the customer's key check, by default"]
    assert trust["a key from the exchange's own setup"].startswith("refused by default")
    assert "verified against the circuit before" in settle["venue's key"]
    # Who does what, the root as the CLI's root file writes it, what verification time includes.
    title, details = summary["steps"][2]["step"], summary["steps"][2]["details"]
    assert "exchange proves" in title and "customer verifies" in title
    assert "liabilities.db" in details["exchange proves"] and "root.json" in details["customer verifies"]
    assert "circuit digest" in details["verification time"] and "included" in details["customer verifies with py_ecc"]
    root_file = json.loads((tmp_path / "root.json").read_text())
    assert summary["steps"][0]["details"]["root hash (as in root.json)"] == root_file["root_hash"]
    # The global proof: proven on Dask, verified without the database, edited books refused, the verdict.
    solvency = summary["steps"][3]["details"]
    assert solvency["exchange proves (2 Dask workers)"].startswith("5 proofs")
    assert solvency["auditor verifies, without the database"].startswith("VERIFIED")
    assert "equity BTC = -1 is not in [0, 2^64)" in solvency["a negative balance written into the database"]
    assert "is undercollateralised" in next(v for k, v in solvency.items() if k.startswith("a borrower's"))
    assert "is not the sum over the leaves" in solvency["the published BTC total lowered by one unit"]
    assert solvency["verdict, sample reserves"].startswith("SOLVENT")
    assert solvency["verdict, BTC reserves one unit short"] == "INSOLVENT: BTC margin -0.00000001"
    assert (tmp_path / "solvency_proofs" / "manifest.json").is_file() and (tmp_path / "reserves.json").is_file()
    for name in ("liabilities.db", "root.json", "inclusion_proof.json", "solvency_root.json", "venue/venue.db", "trade_leg.json"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "inclusion_keys" / "verification_key.json").is_file()
    for name in ("proving_key.bin", "liquidation_proving_key.bin", "sealing_public_key"):
        assert (tmp_path / "venue_keys" / name).is_file(), name
    assert (tmp_path / "venue_keys" / "sealing_key.json").stat().st_mode & 0o777 == 0o600
    for wallet in ("alice_wallet.json", "bob_wallet.json"):
        assert (tmp_path / wallet).stat().st_mode & 0o777 == 0o600
