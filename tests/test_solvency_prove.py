"""The global proof end to end: native checks that name a bad leaf, proving in process and on
Dask (a killed worker, a lying worker, a resumed run), the verifier's rejections, and the CLI.

A 12-account, 2-asset tree of depth 4 with batches of 2 leaves and aggregations of 2
commitments: 8 batch proofs, 4 + 2 aggregations and the root proof, every layer kind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import sqlite3

import pytest
from click.testing import CliRunner

from cli.main import main
from zkproofs.accounts.model import Account, AccountSet, Asset
from zkproofs.errors import SolvencyError, StatementFails, UntrustedKey
from zkproofs.groth16.trust import KeyTrust
from zkproofs.solvency import prove as prove_module
from zkproofs.solvency.keys import read_plan, single_party_setup
from zkproofs.solvency.plan import make_plan
from zkproofs.solvency.policy import policy_from_dict, write_policy_text
from zkproofs.solvency.proofset import read_proof_set
from zkproofs.solvency.prove import INPROCESS, PROGRESS_FILE, prove_solvency
from zkproofs.solvency.verify import verify_solvency
from zkproofs.tree import TreeStore, build_tree, published_root
from zkproofs.tree.root import root_from_json, root_to_json

SECRET = bytes(range(32))
ASSETS = (Asset("BTC", 8), Asset("USD", 2))
POLICY_DOC = {
    "format": "zkproofs/solvency-policy", "version": 1,
    "assets": {"BTC": {"price": "50000", "decimals": 8, "tiers": [["100000", 10000], ["200000", 5000]]},
               "USD": {"price": "1", "decimals": 2, "tiers": [["1000000", 10000]]}},
}
POLICY = policy_from_dict(POLICY_DOC)
TRUST = KeyTrust(single_party=True)


def accounts(debt_of_u3=1_000_00):
    rows = [Account(f"u{i}", (i * 10**7, 100_00 * i), (0, 0)) for i in range(12)]
    rows[3] = Account("u3", (2 * 10**8, 0), (0, debt_of_u3))  # 2 BTC = 100,000 USD of collateral
    return AccountSet(ASSETS, tuple(rows))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(folder, db, root path, policy path, key folder, proof folder of an in-process run)."""
    base = tmp_path_factory.mktemp("solvency")
    db = base / "tree.db"
    build_tree(accounts(), db, secret=SECRET)
    with TreeStore(db) as store:
        root = published_root(store)
    (base / "root.json").write_text(root_to_json(root))
    (base / "policy.json").write_text(write_policy_text(POLICY))
    plan = make_plan(root.depth, 2, 3, batch_height=1, levels=1)
    single_party_setup(plan, base / "keys", party="test")
    with TreeStore(db) as store:
        prove_solvency(store, root, POLICY, plan, base / "keys", base / "proofs", scheduler=INPROCESS)
    return base


def load(world):
    return root_from_json((world / "root.json").read_text()), read_proof_set(world / "proofs")


def test_in_process_set_verifies(world):
    root, proof_set = load(world)
    assert [len(layer.proofs) for layer in proof_set.layers] == [8, 4, 2, 1]
    report = verify_solvency(root, proof_set, POLICY, world / "keys", TRUST)
    assert report.ok and report.proofs == 15, report.reason
    assert not (world / "proofs" / PROGRESS_FILE).exists()


@pytest.mark.slow
def test_pure_python_verifier_agrees(world):
    root, proof_set = load(world)
    assert verify_solvency(root, proof_set, POLICY, world / "keys", TRUST, backend="py_ecc").ok


def test_keys_must_be_trusted(world):
    root, proof_set = load(world)
    with pytest.raises(UntrustedKey):
        verify_solvency(root, proof_set, POLICY, world / "keys", KeyTrust())


def _tampered(world, tmp_path, edit):
    shutil.copytree(world / "proofs", tmp_path / "p")
    edit(tmp_path / "p")
    root = root_from_json((world / "root.json").read_text())
    return verify_solvency(root, read_proof_set(tmp_path / "p"), POLICY, world / "keys", TRUST)


def _edit_json(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("name,edit,reason", [
    ("two batches swapped", lambda d: _edit_json(d / "layer-0.json", lambda doc: doc["proofs"].reverse()), "do not verify"),
    ("a commitment replaced", lambda d: _edit_json(d / "layer-1.json", lambda doc: doc["proofs"][0].update(commitment="12345")), "do not verify"),
    ("proof points of another proof", lambda d: _edit_json(d / "layer-0.json", lambda doc: doc["proofs"][1].update(
        {k: doc["proofs"][0][k] for k in "abc"})), "layer 0 (batch) proof 1"),
    ("a point not on the curve", lambda d: _edit_json(d / "layer-2.json", lambda doc: doc["proofs"][0].update(a="8" + "0" * 95)), "layer 2"),
    ("a cheaper BTC in the policy", lambda d: _edit_json(d / "manifest.json", lambda doc: doc["policy"]["assets"]["BTC"].update(price="40000")),
     "another policy than yours"),
    ("another root", lambda d: _edit_json(d / "manifest.json", lambda doc: doc.update(root_hash="5")), "not the published root"),
    ("a policy for other assets", lambda d: _edit_json(d / "manifest.json", lambda doc: doc["policy"]["assets"].update(
        ETH={"price": "1", "decimals": 8, "tiers": []})), "another policy than yours"),
])
def test_tampered_sets_are_rejected(world, tmp_path, name, edit, reason):
    report = _tampered(world, tmp_path, edit)
    assert not report.ok and reason in report.reason, (name, report.reason)


def test_a_root_with_other_totals_is_rejected(world):
    root, proof_set = load(world)
    other = dataclasses.replace(root, equity_totals=(root.equity_totals[0] + 1, root.equity_totals[1]))
    report = verify_solvency(other, proof_set, POLICY, world / "keys", TRUST)
    assert not report.ok and "layer 3 (root)" in report.reason


def test_malformed_set_is_a_typed_error(world, tmp_path):
    shutil.copytree(world / "proofs", tmp_path / "p")
    (tmp_path / "p" / "layer-1.json").unlink()
    with pytest.raises(SolvencyError, match="layer-1.json"):
        read_proof_set(tmp_path / "p")
    _edit_json(tmp_path / "p" / "manifest.json", lambda doc: doc["plan"].update(levels=2))
    with pytest.raises(SolvencyError):
        read_proof_set(tmp_path / "p")


# the prover refuses a tree that breaks the statement, naming the leaf --------------------------
def _edited_db(world, tmp_path, sql, args):
    db = tmp_path / "edited.db"
    shutil.copy(world / "tree.db", db)
    with sqlite3.connect(db) as conn:
        conn.execute(sql, args)
    return db


@pytest.mark.parametrize("sql,args,message", [
    ("UPDATE accounts SET equities = ? WHERE id = 'u5'", ("[-1, 50000]",), r"account 'u5'\): equity BTC = -1 is not in \[0, 2\^64\)"),
    ("UPDATE accounts SET debts = ? WHERE id = 'u3'", ("[0, 10000001]",), r"account 'u3'\) is undercollateralised"),
    ("UPDATE accounts SET equities = ? WHERE id = 'u7'", ("[70000001, 70000]",), r"account 'u7'\): the accounts table does not match"),
    ("UPDATE nodes SET data = zeroblob(length(data)) WHERE height = 1 AND chunk = ?", (0,), r"node \(1, 0\): the stored tree does not match"),
])
def test_edited_leaf_is_named_before_proving(world, tmp_path, sql, args, message):
    db = _edited_db(world, tmp_path, sql, args)
    root = root_from_json((world / "root.json").read_text())
    with TreeStore(db) as store, pytest.raises(StatementFails, match=message):
        prove_solvency(store, root, POLICY, read_plan(world / "keys"), world / "keys", tmp_path / "out", scheduler=INPROCESS)
    assert not (tmp_path / "out").exists()


def test_undercollateralised_borrower_in_a_consistent_tree(tmp_path):
    """The exchange rebuilt the tree with a borrower whose debt exceeds the tiered value of 2 BTC by one cent."""
    db = tmp_path / "t.db"
    build_tree(accounts(debt_of_u3=100_000_01), db, secret=SECRET)
    with TreeStore(db) as store:
        root = published_root(store)
        plan = make_plan(root.depth, 2, 3, batch_height=1, levels=1)
        with pytest.raises(StatementFails, match=r"account 'u3'\) is undercollateralised"):
            prove_module.prepare(store, root, POLICY, plan)
    build_tree(accounts(debt_of_u3=100_000_00), db, secret=SECRET)  # exactly covered: provable
    with TreeStore(db) as store:
        prove_module.prepare(store, published_root(store), POLICY, plan)


def test_total_off_by_one_is_named(world):
    root = root_from_json((world / "root.json").read_text())
    off = dataclasses.replace(root, debt_totals=(root.debt_totals[0], root.debt_totals[1] - 1))
    with TreeStore(world / "tree.db") as store, pytest.raises(StatementFails, match="the USD debt total .* is not the sum over the leaves"):
        prove_module.prepare(store, off, POLICY, read_plan(world / "keys"), "root.json")


# a tree with pledged collateral (Binance's user file: loan, margin, portfolio) ------------------
BINANCE = "tests/fixtures/accounts/binance"


def test_binance_pledges_are_proven_and_edits_to_them_refused(tmp_path):
    """Binance's three pledge classes are committed in each leaf and valued by their own tables;
    a pledge raised in the database, or a policy with a more generous loan table, is refused."""
    from zkproofs.accounts import load_accounts
    from zkproofs.solvency.policy import policy_from_binance

    account_set = load_accounts(f"{BINANCE}/users.csv")
    assert account_set.pledges == ("loan", "margin", "portfolio")
    db = tmp_path / "b.db"
    build_tree(account_set, db, secret=SECRET, exclude_invalid=True)
    policy = policy_from_binance(f"{BINANCE}/cex_assets_info.csv")
    with TreeStore(db) as store:
        root = published_root(store)
        assert root.pledges == account_set.pledges
        plan = make_plan(root.depth, 2, policy.max_tiers() + 1, pledges=3, batch_height=1, levels=1)
        single_party_setup(plan, tmp_path / "keys", party="test")
        prove_solvency(store, root, policy, plan, tmp_path / "keys", tmp_path / "proofs", scheduler=INPROCESS)
    report = verify_solvency(root, read_proof_set(tmp_path / "proofs"), policy, tmp_path / "keys", TRUST)
    assert report.ok, report.reason
    # the root's pledge classes are part of the statement
    stripped = dataclasses.replace(root, pledges=())
    assert "0 pledge classes" in verify_solvency(stripped, read_proof_set(tmp_path / "proofs"), policy, tmp_path / "keys", TRUST).reason
    # and their names: relabelled in the root file (the root hash cannot change with them), the batches do not verify
    relabelled = dataclasses.replace(root, pledges=("margin", "loan", "portfolio"))
    report = verify_solvency(relabelled, read_proof_set(tmp_path / "proofs"), policy, tmp_path / "keys", TRUST)
    assert not report.ok and "layer 0 (batch)" in report.reason, report.reason
    # account 0 pledges 6 + 2 + 1 of its 10 BTC; pledging 2 more BTC for loans exceeds the equity
    victim = account_set.accounts[0].id
    edited = tmp_path / "edited.db"
    shutil.copy(db, edited)
    with sqlite3.connect(edited) as conn:
        conn.execute("UPDATE accounts SET collateral = json_set(collateral, '$[0]', 800000000) WHERE id = ?", (victim,))
    with TreeStore(edited) as store, pytest.raises(StatementFails, match="1100000000 base units of BTC pledged, more than its equity"):
        prove_module.prepare(store, root, policy, plan)
    # a smaller loan pledge fits the equity but is not what the leaf commits
    with sqlite3.connect(edited) as conn:
        conn.execute("UPDATE accounts SET collateral = json_set(collateral, '$[0]', 500000000) WHERE id = ?", (victim,))
    with TreeStore(edited) as store, pytest.raises(StatementFails, match="the accounts table does not match"):
        prove_module.prepare(store, root, policy, plan)
    doc = json.loads(write_policy_text(policy))
    doc["assets"]["BTC"]["pledge_tiers"]["loan"][1][1] = 10000  # 1,000-2,000 USD at 100 % instead of 50 %
    generous = policy_from_dict(doc)
    report = verify_solvency(root, read_proof_set(tmp_path / "proofs"), generous, tmp_path / "keys", TRUST)
    assert not report.ok and "another policy than yours" in report.reason


# resuming, and workers that fail or lie ------------------------------------------------------
def test_interrupted_run_resumes_without_redoing_proofs(world, tmp_path, monkeypatch):
    root = root_from_json((world / "root.json").read_text())
    plan = read_plan(world / "keys")
    proved = []
    real = prove_module.prove
    monkeypatch.setattr(prove_module, "prove", lambda *a: proved.append(1) or real(*a))

    def stop_after_three(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with TreeStore(world / "tree.db") as store:
        with pytest.raises(KeyboardInterrupt):
            prove_solvency(store, root, POLICY, plan, world / "keys", tmp_path / "out", scheduler=INPROCESS, progress=stop_after_three)
        assert len(proved) == 3 and (tmp_path / "out" / PROGRESS_FILE).exists()
        seen = []
        prove_solvency(store, root, POLICY, plan, world / "keys", tmp_path / "out", scheduler=INPROCESS,
                       progress=lambda done, total: seen.append(done))
    assert seen[0] == 3 and len(proved) == 15
    assert verify_solvency(root, read_proof_set(tmp_path / "out"), POLICY, world / "keys", TRUST).ok
    # a progress file of another statement is refused, not mixed in
    (tmp_path / "out2").mkdir()
    conn = sqlite3.connect(tmp_path / "out2" / PROGRESS_FILE)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('statement', 'other')")
    conn.commit()
    conn.close()
    with TreeStore(world / "tree.db") as store, pytest.raises(SolvencyError, match="another tree"):
        prove_solvency(store, root, POLICY, plan, world / "keys", tmp_path / "out2", scheduler=INPROCESS)


def test_a_lying_worker_gets_nothing_kept(world, tmp_path, monkeypatch):
    root = root_from_json((world / "root.json").read_text())
    real = prove_module.prove
    first = []

    def lying(pk, r1cs, witness):
        proof = real(pk, r1cs, witness)
        if not first:
            first.append(proof)
            return dataclasses.replace(proof, a=proof.c)
        return proof

    monkeypatch.setattr(prove_module, "prove", lying)
    with TreeStore(world / "tree.db") as store, pytest.raises(SolvencyError, match="layer 0 proof 0 does not verify"):
        prove_solvency(store, root, POLICY, read_plan(world / "keys"), world / "keys", tmp_path / "out", scheduler=INPROCESS)
    rows = sqlite3.connect(tmp_path / "out" / PROGRESS_FILE).execute("SELECT COUNT(*) FROM proofs").fetchone()[0]
    assert rows == 0


# Dask ----------------------------------------------------------------------------------------
def test_local_cluster_run_matches_the_in_process_run(world, tmp_path):
    root, in_process = load(world)
    with TreeStore(world / "tree.db") as store:
        prove_solvency(store, root, POLICY, read_plan(world / "keys"), world / "keys", tmp_path / "out", workers=2)
    distributed = read_proof_set(tmp_path / "out")
    assert [layer.commitments for layer in distributed.layers] == [layer.commitments for layer in in_process.layers]
    assert verify_solvency(root, distributed, POLICY, world / "keys", TRUST).ok


def test_a_killed_worker_does_not_stop_the_run(world, tmp_path):
    from distributed import LocalCluster

    root = root_from_json((world / "root.json").read_text())
    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=50) as cluster:

        def kill_one(done, total):
            if done >= 2 and not killed:
                nanny = next(iter(cluster.workers.values()))
                os.kill(nanny.process.process.pid, signal.SIGKILL)
                killed.append(done)

        with TreeStore(world / "tree.db") as store:
            prove_solvency(store, root, POLICY, read_plan(world / "keys"), world / "keys", tmp_path / "out",
                           scheduler=cluster.scheduler_address, progress=kill_one)
    assert killed
    assert verify_solvency(root, read_proof_set(tmp_path / "out"), POLICY, world / "keys", TRUST).ok


# the CLI -------------------------------------------------------------------------------------
def test_cli_setup_prove_verify_verdict(world, tmp_path):
    runner = CliRunner()
    w = str(world)
    result = runner.invoke(main, ["solvency", "setup", "--root", f"{w}/root.json", "--policy", f"{w}/policy.json", "--out",
                                  str(tmp_path / "k"), "--dry-run", "--batch-height", "1", "--levels", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["proofs"] == 15
    result = runner.invoke(main, ["solvency", "prove", "--db", f"{w}/tree.db", "--root", f"{w}/root.json", "--policy",
                                  f"{w}/policy.json", "--pk-dir", f"{w}/keys", "--out", str(tmp_path / "p"), "--in-process", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["proofs"] == 15
    verify = ["solvency", "verify", "--root", f"{w}/root.json", "--proofs", str(tmp_path / "p"), "--policy", f"{w}/policy.json",
              "--vk-dir", f"{w}/keys"]
    assert runner.invoke(main, verify).exit_code == 2  # single-party keys need the opt-in
    result = runner.invoke(main, [*verify, "--trust-single-party-key"])
    assert result.exit_code == 0 and "VERIFIED: 15 proofs" in result.output and "BTC" in result.output, result.output
    _edit_json(tmp_path / "p" / "manifest.json", lambda doc: doc["policy"]["assets"]["USD"].update(price="2"))
    result = runner.invoke(main, [*verify, "--trust-single-party-key", "--json"])
    assert result.exit_code == 1 and "another policy" in json.loads(result.output)["reason"]


def test_cli_prove_names_the_undercollateralised_account(world, tmp_path):
    db = tmp_path / "t.db"
    build_tree(accounts(debt_of_u3=100_000_01), db, secret=SECRET)
    with TreeStore(db) as store:
        (tmp_path / "root.json").write_text(root_to_json(published_root(store)))
    result = CliRunner().invoke(main, ["solvency", "prove", "--db", str(db), "--root", str(tmp_path / "root.json"), "--policy",
                                       f"{world}/policy.json", "--pk-dir", f"{world}/keys", "--out", str(tmp_path / "p"), "--in-process"])
    assert result.exit_code == 1 and "CANNOT PROVE" in result.output and "'u3'" in result.output, result.output


def test_cli_verdict_compares_proven_liabilities_with_proven_reserves(world, tmp_path):
    """Net liabilities (equity - debt totals) against the balances of addresses that signed the challenge."""
    from zkproofs.reserves import new_nonce, reserves_to_json, sign_reserves

    root = root_from_json((world / "root.json").read_text())
    keys = json.loads(open("zkproofs/data/sample_reserve_keys.json").read())
    nonce = new_nonce()
    (tmp_path / "reserves.json").write_text(reserves_to_json(sign_reserves(root.root_hash, nonce, keys)))
    net_btc = root.equity_totals[0] - root.debt_totals[0]
    net_usd = root.equity_totals[1] - root.debt_totals[1]

    def verdict(btc_units, usd_cents):
        (tmp_path / "snap.csv").write_text(
            "address,asset,balance,block_height\n"
            f"1E5v4Y9jodLqL4eacQViFpq9o7q7AzNUnb,BTC,{btc_units // 10**8}.{btc_units % 10**8:08d},870000\n"
            "bc1qtghhwj87wzzgegphmttrdds4mqapfc272urpal,BTC,0,870000\n"
            f"0xd3a601560bB65930Adfa638BA14428cFA93885F5,USD,{usd_cents // 100}.{usd_cents % 100:02d},21000000\n")
        return CliRunner().invoke(main, ["solvency", "verdict", "--root", f"{world}/root.json", "--proofs", f"{world}/proofs",
                                         "--policy", f"{world}/policy.json",
                                         "--vk-dir", f"{world}/keys", "--trust-single-party-key", "--reserves", str(tmp_path / "reserves.json"),
                                         "--nonce", nonce, "--snapshot", str(tmp_path / "snap.csv"), "--json"])

    result = verdict(net_btc, net_usd)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["verdict"] == "solvent" and doc["assets"]["BTC"]["margin"] == "0" and doc["assets"]["USD"]["covered"]
    result = verdict(net_btc, net_usd - 1)  # one cent short
    assert result.exit_code == 1 and json.loads(result.output)["assets"]["USD"]["margin"] == "-0.01", result.output


def test_incomplete_sets_are_rejected(world):
    """The library verifier checks the set's shape itself, whoever built the ProofSet."""
    root, proof_set = load(world)
    cases = {
        "no layers": dataclasses.replace(proof_set, layers=()),
        "no root proof": dataclasses.replace(proof_set, layers=proof_set.layers[:-1]),
        "one batch missing": dataclasses.replace(proof_set, layers=(
            dataclasses.replace(proof_set.layers[0], proofs=proof_set.layers[0].proofs[1:], commitments=proof_set.layers[0].commitments[1:]),
            *proof_set.layers[1:])),
        "a commitment missing": dataclasses.replace(proof_set, layers=(
            dataclasses.replace(proof_set.layers[0], commitments=proof_set.layers[0].commitments[1:]), *proof_set.layers[1:])),
    }
    for name, broken in cases.items():
        report = verify_solvency(root, broken, POLICY, world / "keys", TRUST)
        assert not report.ok, name


def test_the_tree_decimals_must_be_the_policys(world):
    root, proof_set = load(world)
    other = dataclasses.replace(root, assets=(ASSETS[0], Asset("USD", 4)))
    report = verify_solvency(other, proof_set, POLICY, world / "keys", TRUST)
    assert not report.ok and "USD has 4 decimals, the policy 2" in report.reason


def test_excluded_equity_counts_as_liability_in_the_verdict(world):
    from zkproofs.solvency.verdict import solvency_verdict
    from zkproofs.tree.excluded import Excluded

    root, _ = load(world)
    net = root.equity_totals[0] - root.debt_totals[0]
    reserves = {"BTC": net, "USD": root.equity_totals[1] - root.debt_totals[1]}
    assert solvency_verdict(root, reserves).solvent
    excluded = dataclasses.replace(root, excluded=Excluded(3, (500, 0), (9999, 0)))
    verdict = solvency_verdict(excluded, reserves)
    assert not verdict.solvent and verdict.assets[0].margin == -500  # their equity counts, their debt is not netted


def test_a_resumed_run_under_other_keys_is_refused(world, tmp_path):
    root = root_from_json((world / "root.json").read_text())
    plan = read_plan(world / "keys")
    shutil.copytree(world / "keys", tmp_path / "keys")
    with TreeStore(world / "tree.db") as store:
        with pytest.raises(KeyboardInterrupt):
            prove_solvency(store, root, POLICY, plan, tmp_path / "keys", tmp_path / "out", scheduler=INPROCESS,
                           progress=lambda done, total: (_ for _ in ()).throw(KeyboardInterrupt) if done == 2 else None)
        single_party_setup(plan, tmp_path / "keys", party="test again")
        with pytest.raises(SolvencyError, match="or keys"):
            prove_solvency(store, root, POLICY, plan, tmp_path / "keys", tmp_path / "out", scheduler=INPROCESS)


def test_the_set_replaces_a_proof_folder_and_nothing_else(world, tmp_path):
    root = root_from_json((world / "root.json").read_text())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with TreeStore(world / "tree.db") as store, pytest.raises(SolvencyError, match="not a proof set"):
        prove_solvency(store, root, POLICY, read_plan(world / "keys"), world / "keys", tmp_path / "mine", scheduler=INPROCESS)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    shutil.copytree(world / "proofs", tmp_path / "p")
    (tmp_path / "p" / "layer-9.json").write_text("{}")  # a stale layer of an older, deeper set
    with TreeStore(world / "tree.db") as store:
        prove_solvency(store, root, POLICY, read_plan(world / "keys"), world / "keys", tmp_path / "p", scheduler=INPROCESS)
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["layer-0.json", "layer-1.json", "layer-2.json", "layer-3.json", "manifest.json"]
    assert not list(tmp_path.glob(".p.*"))
