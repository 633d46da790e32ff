"""`zkproofs tree build|prove|verify` and `zkproofs audit` end to end (click's CliRunner)."""

import csv
import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main

FIXTURES = Path(__file__).parent / "fixtures" / "tree"
DATA = Path(__file__).parent.parent / "zkproofs" / "data"
ANCHORS = Path(__file__).parent.parent.parent / "shared" / "data" / "anchors"


def run(*args, code=0):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}{result.stderr if result.stderr_bytes else ''}"
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    result = run("tree", "build", FIXTURES / "accounts_6.csv", "--db", folder / "l.db", "--root-out", folder / "root.json", "--json")
    return folder, json.loads(result.output)


def test_build_summary_and_root_file(built):
    folder, summary = built
    assert summary["depth"] == 3 and summary["accounts"] == 6 and summary["leaves"] == 8
    assert summary["totals"]["BTC"]["equity_units"] == "3.75000001"
    root = json.loads((folder / "root.json").read_text())
    assert root["root_hash"] == summary["root_hash"]
    text = run("tree", "build", FIXTURES / "accounts_6.csv", "--db", folder / "again.db").output
    assert "liabilities" in text and (folder / "again.root.json").exists()


def test_reuse_secret_gives_the_same_root(tmp_path):
    first = json.loads(run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "t.db", "--json").output)
    same = json.loads(run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "t.db", "--reuse-secret", "--json").output)
    fresh = json.loads(run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "t.db", "--json").output)
    assert first["root_hash"] == same["root_hash"] != fresh["root_hash"]


@pytest.mark.parametrize(
    "fixture,message",
    [
        ("accounts_6_overflow.csv", "accounts_6_overflow.csv, line 3, column BTC"),
        ("accounts_6_negative.csv", "accounts_6_negative.csv, line 3, column BTC"),
    ],
)
def test_bad_input_exit_2_and_nothing_written(tmp_path, built, fixture, message):
    folder, _ = built
    shutil.copy(folder / "l.db", tmp_path / "l.db")
    before = (tmp_path / "l.db").read_bytes()
    result = run("tree", "build", FIXTURES / fixture, "--db", tmp_path / "l.db", "--root-out", tmp_path / "root.json", code=2)
    assert message in result.stderr
    assert (tmp_path / "l.db").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["l.db"]


def test_build_refuses_overlapping_paths(tmp_path):
    accounts = tmp_path / "a.csv"
    accounts.write_bytes((FIXTURES / "accounts_6.csv").read_bytes())
    for db, root in ((tmp_path / "x", tmp_path / "x"), (accounts, tmp_path / "r.json"), (tmp_path / "l.db", accounts)):
        assert "three different files" in run("tree", "build", accounts, "--db", db, "--root-out", root, code=2).stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]
    assert accounts.read_bytes() == (FIXTURES / "accounts_6.csv").read_bytes()


def test_root_file_failure_leaves_the_old_database(tmp_path, built):
    folder, _ = built
    shutil.copy(folder / "l.db", tmp_path / "l.db")
    before = (tmp_path / "l.db").read_bytes()
    (tmp_path / "root.json").mkdir()  # the root file cannot be written over a folder
    run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "l.db", "--root-out", tmp_path / "root.json", code=2)
    assert (tmp_path / "l.db").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["l.db", "root.json"]


def test_plain_prove_and_verify(built, tmp_path):
    folder, _ = built
    run("tree", "prove", "carol", "--db", folder / "l.db", "--out", tmp_path / "p.json")
    result = run("tree", "verify", tmp_path / "p.json", "--root", folder / "root.json")
    assert "included" in result.output and "0.5" in result.output
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["equities"][1] = str(int(doc["equities"][1]) + 1)
    (tmp_path / "forged.json").write_text(json.dumps(doc))
    result = run("tree", "verify", tmp_path / "forged.json", "--root", folder / "root.json", "--json", code=1)
    assert json.loads(result.output)["included"] is False
    doc["path"] = "nope"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    assert "field 'path'" in run("tree", "verify", tmp_path / "bad.json", "--root", folder / "root.json", code=2).stderr
    assert "mallory" in run("tree", "prove", "mallory", "--db", folder / "l.db", "--out", tmp_path / "m.json", code=2).stderr


def test_fixed_height_build_prove_verify_and_audit(tmp_path):
    summary = json.loads(run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "f.db", "--height", "12", "--json").output)
    assert summary["depth"] == 12 and summary["accounts"] == 6
    root = json.loads((tmp_path / "f.root.json").read_text())
    assert root["depth"] == 12 and root["totals"]["BTC"]["equity_units"] == "3.75000001"
    run("tree", "prove", "carol", "--db", tmp_path / "f.db", "--out", tmp_path / "p.json")
    assert len(json.loads((tmp_path / "p.json").read_text())["path"]) == 12
    assert "included" in run("tree", "verify", tmp_path / "p.json", "--root", tmp_path / "f.root.json").output
    assert "verdict: consistent" in run("audit", "--db", tmp_path / "f.db", "--root", tmp_path / "f.root.json").output
    assert "fixed height 12" in run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "g.db", "--height", "12").output
    run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "h.db", "--height", "0", code=2)


def test_zk_prove_and_verify(built, tmp_path):
    folder, _ = built
    setup = run("setup", "merkle_sum_inclusion", "--party", "tests", "--param", "depth=3", "--param", "assets=2", "--out", tmp_path / "keys", "--json")
    keys = tmp_path / "keys"
    vk = keys / "verification_key.json"
    # the exchange publishes a root naming the key
    run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "l.db", "--root-out", tmp_path / "root.json", "--vk", vk)
    named = json.loads((tmp_path / "root.json").read_text())["verification_key"]
    assert named == json.loads(setup.output)["verification_key_sha256"]
    run("setup", "merkle_sum_inclusion", "--party", "tests", "--param", "depth=3", "--param", "assets=2", "--out", tmp_path / "other")
    run("tree", "prove", "alice", "--db", tmp_path / "l.db", "--out", tmp_path / "z.json", "--zk", "--pk", keys / "proving_key.bin")
    root = tmp_path / "root.json"
    result = run("tree", "verify", tmp_path / "z.json", "--root", root, "--vk", vk, "--trust-single-party-key", "--json")
    out = json.loads(result.output)
    assert out | {"root_hash": None, "key": None} == {
        "included": True, "reason": None, "kind": "zero-knowledge", "user_id": "alice", "root_hash": None, "key": None, "excluded_accounts": 0
    }
    assert out["key"]["provenance"] == {"kind": "single-party", "party": "tests"}
    assert out["key"]["verification_key_sha256"] == named and "explicitly" in out["key"]["trusted_because"]
    text = run("tree", "verify", tmp_path / "z.json", "--root", root, "--vk", vk, "--trust-single-party-key").output
    assert "key: single-party setup by tests" in text
    # by default a single-party key is refused, naming the flag
    refusal = run("tree", "verify", tmp_path / "z.json", "--root", root, "--vk", vk, code=2).stderr
    assert "single-party setup by tests" in refusal and "--trust-single-party-key" in refusal
    # another key than the one the root names: refused even with the opt-in
    other = tmp_path / "other" / "verification_key.json"
    refusal = run("tree", "verify", tmp_path / "z.json", "--root", root, "--vk", other, "--trust-single-party-key", code=2).stderr
    assert "is not the key the published root names" in refusal
    # a root naming no key admits plain proofs only
    refusal = run("tree", "verify", tmp_path / "z.json", "--root", folder / "root.json", "--vk", vk, "--trust-single-party-key", code=2).stderr
    assert "names no verification key" in refusal
    assert "--vk" in run("tree", "verify", tmp_path / "z.json", "--root", root, code=2).stderr
    assert "go together" in run("tree", "verify", tmp_path / "z.json", "--root", root, "--vk", vk, "--zkey", vk, code=2).stderr
    doc = json.loads((tmp_path / "z.json").read_text())
    doc["user_id"] = "bob"
    (tmp_path / "bob.json").write_text(json.dumps(doc))
    run("tree", "verify", tmp_path / "bob.json", "--root", root, "--vk", vk, "--trust-single-party-key", code=1)


def test_build_refuses_a_key_of_another_shape(tmp_path):
    run("setup", "merkle_sum_inclusion", "--party", "tests", "--param", "depth=2", "--param", "assets=2", "--out", tmp_path / "k")
    stderr = run("tree", "build", FIXTURES / "accounts_6.csv", "--db", tmp_path / "l.db", "--vk", tmp_path / "k" / "verification_key.json", code=2).stderr
    assert "depth" in stderr and not (tmp_path / "l.db").exists() and not (tmp_path / "l.root.json").exists()
    assert "--pk" in run("tree", "prove", "alice", "--db", tmp_path / "l.db", "--out", tmp_path / "x.json", "--zk", code=2).stderr


def test_audit_verdicts(built, tmp_path):
    folder, _ = built
    db, root = folder / "l.db", folder / "root.json"
    assert "verdict: consistent" in run("audit", "--db", db, "--root", root).output
    other = json.loads(root.read_text())
    other["totals"]["BTC"]["equity"] = "1"
    (tmp_path / "other.json").write_text(json.dumps(other))
    report = json.loads(run("audit", "--db", db, "--root", tmp_path / "other.json", "--json", code=1).output)
    assert report["verdict"] == "inconsistent" and report["reasons"] == ["the published root differs from the stored tree"]
    assert "invalid JSON" in run("audit", "--db", db, "--root", FIXTURES / "accounts_6.csv", code=2).stderr


def test_bundled_sample_end_to_end(tmp_path):
    run("tree", "build", DATA / "sample_accounts.csv", "--db", tmp_path / "s.db", "--root-out", tmp_path / "r.json")
    user = (DATA / "sample_accounts.csv").read_text().splitlines()[1].split(",")[0]
    run("tree", "prove", user, "--db", tmp_path / "s.db", "--out", tmp_path / "p.json")
    run("tree", "verify", tmp_path / "p.json", "--root", tmp_path / "r.json")
    result = run("audit", "--db", tmp_path / "s.db", "--root", tmp_path / "r.json")
    assert "verdict: consistent" in result.output


def _independent_totals(sample: str, invalid: bool = False) -> dict[str, tuple[int, int]]:
    """Per-asset (equity, debt) base-unit totals of an anchor file, computed with csv/json and Decimal only
    (of its invalid rows with ``invalid``: Binance's first 10)."""
    path = ANCHORS / sample
    totals: dict[str, list[int]] = {}

    def add(asset: str, equity: int, debt: int) -> None:
        entry = totals.setdefault(asset, [0, 0])
        entry[0] += equity
        entry[1] += debt

    if sample.startswith("okx/"):
        for account in json.loads(path.read_text()):
            for token, value in account["assets"].items():
                add(token, max(int(value), 0), max(-int(value), 0))
    else:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if sample.startswith("summa/"):
            for row in rows:
                for column, value in row.items():
                    if column.startswith("balance_"):
                        add(column[len("balance_"):], int(value), 0)
        elif sample.startswith("dapol/"):
            for row in rows:
                add("LIABILITY", int(row["liability"]), 0)
        else:  # Binance: 8 decimals per token; the first 10 rows of sample_users0.csv are invalid by construction
            for row in (rows[:10] if invalid else rows[10:]):
                for column, value in row.items():
                    if column.startswith("e_"):
                        debt = row["d_" + column[2:]]
                        add(column[2:].upper(), int(Decimal(value or "0") * 10**8), int(Decimal(debt or "0") * 10**8))
    return {asset: (e, d) for asset, (e, d) in totals.items()}


@pytest.mark.skipif(not ANCHORS.is_dir(), reason=f"anchor samples not present at {ANCHORS}")
@pytest.mark.parametrize("sample", ["summa/entry_16.csv", "okx/batch0.json", "dapol/entities_example.csv", "binance/sample_users0.csv"])
def test_anchor_samples_build_and_audit(tmp_path, sample):
    binance = sample.startswith("binance/")
    exclude = ("--exclude-invalid",) if binance else ()
    if binance:  # 10 invalid accounts: refused unless excluded explicitly, then recorded
        refused = run("tree", "build", ANCHORS / sample, "--db", tmp_path / "a.db", "--root-out", tmp_path / "a.json", code=1)
        assert refused.stderr.count("rejected: ") == 10 and not (tmp_path / "a.db").exists() and not (tmp_path / "a.json").exists()
    run("tree", "build", ANCHORS / sample, "--db", tmp_path / "a.db", "--root-out", tmp_path / "a.json", *exclude)
    root = json.loads((tmp_path / "a.json").read_text())
    got = {asset: (int(t["equity"]), int(t["debt"])) for asset, t in root["totals"].items()}
    assert got == _independent_totals(sample)
    excluded = {asset: (int(t["equity"]), int(t["debt"])) for asset, t in root["excluded"]["totals"].items()}
    if binance:
        assert root["excluded"]["accounts"] == 10 and excluded == _independent_totals(sample, invalid=True)
        assert "10 input account(s) excluded" in run("audit", "--db", tmp_path / "a.db", "--root", tmp_path / "a.json", code=1).output
        run("audit", "--db", tmp_path / "a.db", "--root", tmp_path / "a.json", "--accept-excluded")
    else:
        assert root["excluded"]["accounts"] == 0 and set(excluded.values()) == {(0, 0)}
        run("audit", "--db", tmp_path / "a.db", "--root", tmp_path / "a.json")

def test_a_binance_tree_commits_pledges_and_keys_must_cover_them(tmp_path):
    """A Binance user file makes a tree with three pledge classes: the customer's proof shows
    their pledges, the inclusion key must be for them, and the global proof's batches shrink to 16."""
    users = Path(__file__).parent / "fixtures" / "accounts" / "binance" / "users.csv"
    run("setup", "merkle_sum_inclusion", "--party", "tests", "--param", "depth=2", "--param", "assets=2", "--out", tmp_path / "plain")
    refused = run("tree", "build", users, "--db", tmp_path / "b.db", "--exclude-invalid", "--vk", tmp_path / "plain" / "verification_key.json",
                  code=2)
    assert "pledges" in refused.output and not (tmp_path / "b.db").exists()
    run("setup", "merkle_sum_inclusion", "--party", "tests", "--param", "depth=2", "--param", "assets=2", "--param", "pledges=3",
        "--out", tmp_path / "keys")
    run("tree", "build", users, "--db", tmp_path / "b.db", "--root-out", tmp_path / "root.json", "--exclude-invalid",
        "--vk", tmp_path / "keys" / "verification_key.json")
    assert json.loads((tmp_path / "root.json").read_text())["pledges"] == ["loan", "margin", "portfolio"]
    user = f"{0:064x}"
    for zk in ((), ("--zk", "--pk", tmp_path / "keys" / "proving_key.bin")):
        run("tree", "prove", user, "--db", tmp_path / "b.db", "--out", tmp_path / "p.json", *zk)
        shown = run("tree", "verify", tmp_path / "p.json", "--root", tmp_path / "root.json", "--vk", tmp_path / "keys" / "verification_key.json",
                    "--trust-single-party-key").output
        assert "included" in shown and "pledged:   loan 6   margin 2   portfolio 1" in shown, shown
    policy = tmp_path / "policy.json"
    run("solvency", "policy", "--binance", users.parent / "cex_assets_info.csv", "--out", policy)
    plan = json.loads(run("solvency", "setup", "--root", tmp_path / "root.json", "--policy", policy, "--out", tmp_path / "s", "--dry-run",
                          "--json").output)
    assert plan["plan"]["pledges"] == 3 and plan["plan"]["batch_height"] == 1  # min(3, depth - 1)
