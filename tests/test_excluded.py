"""Liabilities never shrink silently (issue 16): rejected input accounts stop `tree build`
unless excluded explicitly, and then the root file, the database, the audit and every
CLI run say how many were left out and what they held.

Fixture: tests/fixtures/accounts/binance/users.csv (six accounts; lines 3, 4 and 6 are
invalid by Binance's rules: pledged collateral above equity, debt above tiered
collateral, a negative amount).
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from zkproofs.accounts import load_accounts
from zkproofs.tree import TreeStore, build_tree, published_root
from zkproofs.tree.audit import audit_tree
from zkproofs.tree.hashing import TreeError
from zkproofs.tree.root import root_from_dict

BINANCE = Path(__file__).parent / "fixtures" / "accounts" / "binance"
INVALID_LINES = (3, 4, 6)


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}"
    return result


def independent_excluded() -> dict[str, tuple[int, int]]:
    """(equity, debt) base units per asset of the invalid rows, with csv and Decimal only."""
    with (BINANCE / "users.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    out: dict[str, list[int]] = {"BTC": [0, 0], "SHIB": [0, 0]}
    for line in INVALID_LINES:
        row = rows[line - 2]
        for asset in out:
            out[asset][0] += int(Decimal(row[f"e_{asset.lower()}"]) * 10**8)
            out[asset][1] += int(Decimal(row[f"d_{asset.lower()}"]) * 10**8)
    return {asset: (e, d) for asset, (e, d) in out.items()}


@pytest.fixture
def users(tmp_path) -> Path:
    for name in ("users.csv", "cex_assets_info.csv"):
        shutil.copy(BINANCE / name, tmp_path / name)
    return tmp_path / "users.csv"


def test_build_refuses_rejected_rows_and_writes_nothing(users, tmp_path):
    result = run("tree", "build", users, "--db", tmp_path / "t.db", code=1)
    listed = [line for line in result.output.splitlines() if line.startswith("rejected: ")]
    assert [line.split(":")[2].strip() for line in listed] == [str(n) for n in INVALID_LINES]
    assert all(len(line.split(": ", 3)[3]) > 10 for line in listed)  # each with its reason
    assert "3 input account(s) excluded" in result.output and "--exclude-invalid" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cex_assets_info.csv", "users.csv"]


def test_refusal_keeps_an_existing_tree(users, tmp_path):
    run("tree", "build", BINANCE.parent.parent / "tree" / "accounts_6.csv", "--db", tmp_path / "t.db")
    before = (tmp_path / "t.db").read_bytes(), (tmp_path / "t.root.json").read_bytes()
    run("tree", "build", users, "--db", tmp_path / "t.db", code=1)
    assert ((tmp_path / "t.db").read_bytes(), (tmp_path / "t.root.json").read_bytes()) == before


def test_exclude_invalid_records_count_and_balances(users, tmp_path):
    result = run("tree", "build", users, "--db", tmp_path / "t.db", "--exclude-invalid")
    assert "warning: 3 input account(s) excluded from the liabilities" in result.output
    root = json.loads((tmp_path / "t.root.json").read_text())
    got = {a: (int(t["equity"]), int(t["debt"])) for a, t in root["excluded"]["totals"].items()}
    assert root["excluded"]["accounts"] == 3 and got == independent_excluded()
    assert root["excluded"]["totals"]["SHIB"]["debt_units"] == "-1"  # as written: a negative debt is why row 6 is invalid
    meta = dict(sqlite3.connect(tmp_path / "t.db").execute("SELECT key, value FROM meta").fetchall())
    stored = json.loads(meta["excluded"])
    assert stored["accounts"] == 3 and [int(v) for v in stored["equity"]] == [got["BTC"][0], got["SHIB"][0]]
    summary = json.loads(run("tree", "build", users, "--db", tmp_path / "j.db", "--exclude-invalid", "--json").stdout)
    assert summary["excluded"]["accounts"] == 3 and len(summary["rejected"]) == 3


def test_audit_fails_excluded_unless_accepted(users, tmp_path):
    run("tree", "build", users, "--db", tmp_path / "t.db", "--exclude-invalid")
    failed = run("audit", "--db", tmp_path / "t.db", "--root", tmp_path / "t.root.json", code=1)
    assert "[FAIL] excluded: 3 input account(s) excluded" in failed.output
    passed = run("audit", "--db", tmp_path / "t.db", "--root", tmp_path / "t.root.json", "--accept-excluded")
    assert "[ok] excluded: 3 input account(s) excluded" in passed.output and "accepted by the auditor" in passed.output
    clean = tmp_path / "clean.db"
    run("tree", "build", BINANCE.parent.parent / "tree" / "accounts_6.csv", "--db", clean)
    assert "[ok] excluded: no input account" in run("audit", "--db", clean, "--root", tmp_path / "clean.root.json").output


def test_root_hiding_the_exclusion_fails_the_audit(users, tmp_path):
    run("tree", "build", users, "--db", tmp_path / "t.db", "--exclude-invalid")
    doc = json.loads((tmp_path / "t.root.json").read_text())
    doc["excluded"]["accounts"] = 0
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    result = run("audit", "--db", tmp_path / "t.db", "--root", tmp_path / "forged.json", "--accept-excluded", code=1)
    assert "[FAIL] root file" in result.output
    del doc["excluded"]
    (tmp_path / "stripped.json").write_text(json.dumps(doc))
    assert "missing field 'excluded'" in run("audit", "--db", tmp_path / "t.db", "--root", tmp_path / "stripped.json", code=2).output
    doc = json.loads((tmp_path / "t.root.json").read_text())
    doc["excluded"]["totals"]["BTC"]["equity_units"] = "0"
    with pytest.raises(TreeError, match="equity_units: does not match equity"):
        root_from_dict(doc, "root")


def test_customer_verify_says_the_root_excludes_accounts(users, tmp_path):
    run("tree", "build", users, "--db", tmp_path / "t.db", "--exclude-invalid")
    run("tree", "prove", "0" * 64, "--db", tmp_path / "t.db", "--out", tmp_path / "p.json")
    result = run("tree", "verify", tmp_path / "p.json", "--root", tmp_path / "t.root.json")
    assert "note: this root's totals leave out accounts: 3 input account(s) excluded" in result.output


def test_library_build_refuses_unless_told(users, tmp_path):
    accounts = load_accounts(users)
    with pytest.raises(TreeError, match="3 input account\\(s\\) were rejected"):
        build_tree(accounts, tmp_path / "t.db")
    assert not (tmp_path / "t.db").exists()
    build_tree(accounts, tmp_path / "t.db", exclude_invalid=True)
    with TreeStore(tmp_path / "t.db") as store:
        root = published_root(store)
    assert root.excluded.accounts == 3
    report = audit_tree(tmp_path / "t.db", root)
    assert [c.ok for c in report.checks if c.name == "excluded"] == [False] and report.verdict == "inconsistent"
    assert [c.ok for c in audit_tree(tmp_path / "t.db", root, accept_excluded=True).checks if c.name == "excluded"] == [True]
