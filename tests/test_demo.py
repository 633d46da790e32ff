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
    assert "REPLAY" in json.dumps(settle) and "STALE_PRICE" in json.dumps(settle)
    # Who does what, the root as the CLI's root file writes it, what verification time includes.
    title, details = summary["steps"][2]["step"], summary["steps"][2]["details"]
    assert "exchange proves" in title and "customer verifies" in title
    assert "liabilities.db" in details["exchange proves"] and "root.json" in details["customer verifies"]
    assert "circuit digest" in details["verification time"] and "included" in details["customer verifies with py_ecc"]
    root_file = json.loads((tmp_path / "root.json").read_text())
    assert summary["steps"][0]["details"]["root hash (as in root.json)"] == root_file["root_hash"]
    for name in ("liabilities.db", "root.json", "inclusion_proof.json", "ledger.db", "audit.json"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "inclusion_keys" / "verification_key.json").is_file()
