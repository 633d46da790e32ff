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
    for name in ("liabilities.db", "root.json", "inclusion_proof.json", "ledger.db", "audit.json"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "inclusion_keys" / "verification_key.json").is_file()
