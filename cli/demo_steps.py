"""The demo's scenario: every role of zkproofs, in order, on the bundled sample data.

Each step is a function of the shared :class:`Scenario` that returns a table of
(label, value) rows and raises :class:`StepFailed` when the product does not
behave as described; :mod:`cli.demo` times and prints them. Files the steps
write go to ``Scenario.workdir`` (kept with ``zkproofs demo --workdir``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from circuits.liquidation import Liquidation
from circuits.valid_transition import ValidTransition
from zkproofs.accounts import format_amount, load_accounts
from zkproofs.accounts.model import AccountSet
from zkproofs.reserves import new_nonce, read_snapshot, reserves_to_json, sign_reserves, verify_reserves
from zkproofs.solvency.keys import single_party_setup
from zkproofs.solvency.plan import make_plan
from zkproofs.solvency.policy import account_values, load_policy, policy_inputs
from zkproofs.solvency.proofset import read_proof_set
from zkproofs.solvency.prove import INPROCESS, prove_solvency
from zkproofs.solvency.verdict import solvency_verdict
from zkproofs.solvency.verify import verify_solvency
from zkproofs.atomic import atomic_write_bytes, atomic_write_text
from zkproofs.errors import StatementFails, UnsatisfiedConstraint, UntrustedKey
from zkproofs.backends import get_backend
from zkproofs.ceremony import phase2
from zkproofs.ceremony.powersoftau import verify as verify_ptau
from zkproofs.ceremony.ptau import read_ptau
from zkproofs.ceremony.zkey import read_zkey
from zkproofs.groth16 import ProvingKey
from zkproofs.groth16.serialize import pk_to_bytes, vk_hash, vk_to_json
from zkproofs.gadgets.margin import ratio_reached_bps
from zkproofs.groth16.keys import SingleParty
from zkproofs.groth16.trust import KeyTrust, remember_verified
from zkproofs.jsontext import loads
from zkproofs.settlement.epochs import oracle_key_from_json, quotes_to_dict, sign_quotes
from zkproofs.settlement.transition import TransitionRefused, build_transition, signed_to_field
from zkproofs.settlement.units import SCALE, format_fixed, parse_fixed
from zkproofs.settlement.material import write_sealing_key
from zkproofs.settlement.venue import (
    LIQUIDATION_PROVING_KEY_FILE,
    LIQUIDATION_VERIFYING_KEY_FILE,
    PROVING_KEY_FILE,
    SEALING_KEY_FILE,
    SEALING_PUBLIC_KEY_FILE,
    VERIFYING_KEY_FILE,
    audit_ledger,
)
from zkproofs.settlement.venue_ledger import VenueLedger
from zkproofs.settlement.venue_policy import load_venue_policy
from zkproofs.settlement.wallet import LocalVenue, VenueRefused, Wallet, create_wallet, open_wallet
from zkproofs.tree import TreeStore, build_tree, make_inclusion_proof, published_root
from zkproofs.tree.root import root_from_json, root_to_json
from zkproofs.proofs.inclusion import inclusion_circuit, make_zk_proof, trust_inclusion_key, zk_failure, zk_to_json

Rows = list[tuple[str, str]]

ONE = SCALE
TRADE_MARKET = "BTC-USDT"
TRADE_PRICE = 65_000 * ONE
"""Alice gives 1 BTC for 65,000 USDT."""
BORROW = 60_000 * ONE
"""Alice then borrows 60,000 USDT against her 1 BTC and 65,000 USDT (haircut value about 126,800 USD, above the 90,000
that 60,000 of debt needs at the demo venue's initial ratio, 150 %)."""
BOB_BORROW = 27 * ONE
"""Bob then borrows 27 ETH (97,755 USD at 3,620.56) against 1 BTC and 85,000 USDT (146,845 of haircut value: 150.2 %)."""


class StepFailed(Exception):
    """The product did not behave as the step describes."""


def data_file(name: str) -> Path:
    """A file bundled in ``zkproofs/data`` (installed with the package)."""
    return Path(str(resources.files("zkproofs") / "data" / name))


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


@dataclass
class Scenario:
    """State shared by the steps: paths, keys, the tree's root, the venue's clock."""

    workdir: Path
    now: float
    artifacts: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        path = self.workdir / name
        self.artifacts[name] = str(path)
        return path


def build_liability_tree(sc: Scenario) -> Rows:
    """The exchange builds the Merkle-sum tree from its accounts and publishes the root."""
    accounts = load_accounts(data_file("sample_accounts.csv"))
    summary = build_tree(accounts, sc.path("liabilities.db"))
    with TreeStore(sc.path("liabilities.db")) as store:
        root = published_root(store)
    atomic_write_text(sc.path("root.json"), root_to_json(root))
    sc.state.update(accounts=accounts, root=root)
    expect(root.root_hash == summary.root_hash, "the published root differs from the built tree")
    expect(root.equity_totals == accounts.totals()[0], "root equity sums differ from the accounts' totals")
    rows = [
        ("accounts", f"{len(accounts.accounts)} from sample_accounts.csv ({len(accounts.assets)} assets)"),
        ("tree", f"depth {root.depth}: {1 << root.depth} leaves, padded with zero-balance leaves"),
        ("root hash (as in root.json)", str(root.root_hash)),
    ]
    for asset, equity, debt in zip(root.assets, root.equity_totals, root.debt_totals):
        rows.append((f"liabilities {asset.symbol}", f"{format_amount(equity, asset.decimals)} (debts {format_amount(debt, asset.decimals)})"))
    return rows


CEREMONY_PTAU = "ceremony/powers_of_tau_14.ptau"
"""Phase 1 of the demo's ceremony (bundled): 2^14 powers of tau, three contributions and a beacon."""


def ceremony_zkey(circuit) -> str:
    """The bundled phase-2 transcript (``.zkey``) of one of the demo's circuits."""
    params = "-".join(f"{k}{v}" for k, v in sorted(circuit.params.items()))
    return f"ceremony/{circuit.name}-{params}.zkey"


def _ceremony_keys(sc: Scenario, circuit, ptau, folder: str, pk_file: str = PROVING_KEY_FILE,
                   vk_file: str = VERIFYING_KEY_FILE) -> tuple[ProvingKey, Rows]:
    """Verify the bundled transcript of ``circuit`` against the circuit and phase 1, and export its keys."""
    be = get_backend()
    zkey = read_zkey(data_file(ceremony_zkey(circuit)), be)
    started = time.perf_counter()
    report = phase2.verify(zkey, circuit, ptau, be, min_contributions=4, ptau_verified=True)
    seconds = time.perf_counter() - started
    pk = phase2.proving_key(zkey, report, be)
    remember_verified(circuit, pk.vk)  # this user verified it: later checks (customer, venue) read the user cache
    atomic_write_bytes(sc.path(f"{folder}/{pk_file}"), pk_to_bytes(pk))
    atomic_write_text(sc.path(f"{folder}/{vk_file}"), vk_to_json(pk.vk))
    names = ", ".join(name for name, _ in report.contributions)
    label = f"{circuit.name} " + " ".join(f"{k}={v}" for k, v in circuit.params.items())
    return pk, [(label, f"{circuit.shape.num_constraints} constraints; contributions {names}; every point checked "
                        f"against the circuit in {seconds:.1f} s; keys in {folder}/ "
                        f"(transcript {report.transcript_hash[:16]}...)")]


def ceremony_keys(sc: Scenario) -> Rows:
    """The keys come from a multi-party ceremony (BGM17) whose transcript ships with the
    package; this user verifies it against the circuits before anyone relies on the keys."""
    (sc.workdir / "inclusion_keys").mkdir(parents=True, exist_ok=True)
    (sc.workdir / "venue_keys").mkdir(parents=True, exist_ok=True)
    root = sc.state["root"]
    policy = load_venue_policy(data_file("sample_policy.toml"))
    be = get_backend()
    ptau = read_ptau(data_file(CEREMONY_PTAU), be)
    started = time.perf_counter()
    phase1 = verify_ptau(ptau, be)
    seconds = time.perf_counter() - started
    expect(len(phase1.contributions) == 4 and phase1.contributions[-1].beacon_hash is not None,
           "the bundled phase 1 is not three contributions and a beacon")
    inclusion = inclusion_circuit(root.depth, len(root.assets), len(root.pledges))
    transition = ValidTransition(**policy.circuit_params)
    sc.state["inclusion_pk"], inclusion_rows = _ceremony_keys(sc, inclusion, ptau, "inclusion_keys")
    sc.state["venue_pk"], venue_rows = _ceremony_keys(sc, transition, ptau, "venue_keys")
    sc.state["liquidation_pk"], liquidation_rows = _ceremony_keys(sc, Liquidation(**policy.circuit_params), ptau, "venue_keys",
                                                                  LIQUIDATION_PROVING_KEY_FILE, LIQUIDATION_VERIFYING_KEY_FILE)
    sc.state["venue_policy"] = policy
    root = dataclasses.replace(root, verification_key=vk_hash(sc.state["inclusion_pk"].vk))
    atomic_write_text(sc.path("root.json"), root_to_json(root))  # the root names the key proofs must use
    sc.state["root"] = root
    contributors = ", ".join(c.name for c in phase1.contributions[:-1])
    return [
        ("transcript", f"bundled: zkproofs/data/{CEREMONY_PTAU} and one .zkey per circuit "
                       "(made by scripts/demo_ceremony.sh with `zkproofs ceremony`; zkproofs/data/README.md)"),
        (f"phase 1: 2^{ptau.power} powers of tau", f"contributions {contributors}, then a beacon; every proof of "
                                                  f"knowledge and the consistency of all powers verified in {seconds:.1f} s"),
        *inclusion_rows,
        *venue_rows,
        *liquidation_rows,
        ("who must be honest", "one contributor in each phase (here all three were the zkproofs developers on one "
                               "machine: a venue or auditor runs its own ceremony with independent parties)"),
        ("provenance in the keys", sc.state["inclusion_pk"].vk.describe_provenance()),
        ("root.json names the inclusion key", f"sha256 {root.verification_key[:16]}..."),
    ]


def prove_inclusion(sc: Scenario) -> Rows:
    """The exchange (which holds the database) proves a customer's inclusion in zero knowledge;
    the customer checks the proof against the published root with both backends."""
    customer = sc.state["accounts"].accounts[0].id
    with TreeStore(sc.workdir / "liabilities.db") as store:
        plain = make_inclusion_proof(store, customer)
    started = time.perf_counter()
    zk = make_zk_proof(sc.state["inclusion_pk"], plain)
    proved = time.perf_counter() - started
    atomic_write_text(sc.path("inclusion_proof.json"), zk_to_json(zk))
    root, vk = sc.state["root"], sc.state["inclusion_pk"].vk
    started = time.perf_counter()
    trusted = trust_inclusion_key(root, vk, KeyTrust())
    decided = time.perf_counter() - started
    single = dataclasses.replace(vk, provenance=SingleParty("the exchange"))
    try:  # the same points relabelled as the exchange's own setup, in a root that names them
        trust_inclusion_key(dataclasses.replace(root, verification_key=vk_hash(single)), single, KeyTrust())
    except UntrustedKey as exc:
        refusal = str(exc)
    else:
        raise StepFailed("a single-party key was accepted without the explicit opt-in")
    rows = [
        ("the customer's key check, by default", trusted.basis),
        ("a key from the exchange's own setup", f"refused by default: {refusal.split(':')[0]}"),
        ("customer", customer),
        ("exchange proves", f"{proved:.1f} s from liabilities.db and the ceremony's proving key; "
                            "balances public, sibling hashes and sums hidden"),
        ("customer verifies", "with root.json, the verification key and the proof only"),
        ("verification time", f"the proof check alone; the key was checked once before it ({decided:.2f} s): the root "
                              "names it, its circuit digest is the circuit's, computed from the circuit code, and its "
                              "transcript was verified in step 2"),
    ]
    for backend in ("py_ecc", "arkworks"):
        started = time.perf_counter()
        failure = zk_failure(json.loads(json.dumps(zk)), root, vk, trusted, backend=backend)
        expect(failure is None, f"verification with {backend} failed: {failure}")
        rows.append((f"customer verifies with {backend}", f"included ({time.perf_counter() - started:.3f} s)"))
    forged = dict(zk, equities=[str(int(zk["equities"][0]) + 1), *zk["equities"][1:]])
    failure = zk_failure(forged, root, vk, trusted)
    expect(failure is not None, "a proof claiming a larger balance was accepted")
    rows.append(("same proof, balance claimed +1 unit", f"rejected: {failure}"))
    return rows


SOLVENCY_ACCOUNTS = 16
"""The global proof's tree: the first 16 sample accounts (depth 4: 4 batch proofs and the root proof)."""
SOLVENCY_BATCH_HEIGHT = 2


def _refused(attempt: Callable[[], Any]) -> str:
    """The StatementFails message of a proving attempt that must fail before any proof."""
    try:
        attempt()
    except StatementFails as exc:
        return str(exc)
    raise StepFailed("proving went ahead on a tree that breaks the statement")


def global_proof(sc: Scenario) -> Rows:
    """The exchange proves every account of a small tree in range and solvent, on a local Dask
    cluster; the auditor verifies it without the database and compares proven liabilities with
    proven reserves; edited leaves and an edited total cannot be proven."""
    full = sc.state["accounts"]
    accounts = AccountSet(full.assets, full.accounts[:SOLVENCY_ACCOUNTS], pledges=full.pledges)
    db, root_path, keys, proofs = sc.path("solvency.db"), sc.path("solvency_root.json"), sc.path("solvency_keys"), sc.path("solvency_proofs")
    build_tree(accounts, db)
    with TreeStore(db) as store:
        root = published_root(store)
    atomic_write_text(root_path, root_to_json(root))
    policy = load_policy(data_file("sample_solvency_policy.json"))
    plan = make_plan(root.depth, len(root.assets), policy.max_tiers() + 1, pledges=len(root.pledges), batch_height=SOLVENCY_BATCH_HEIGHT)
    t0 = time.perf_counter()
    single_party_setup(plan, keys, party="demo exchange")
    t_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    with TreeStore(db) as store:
        prove_solvency(store, root, policy, plan, keys, proofs, workers=2)
    t_prove = time.perf_counter() - t0
    # the auditor: the root file, the proof folder and the verification keys; no database
    t0 = time.perf_counter()
    report = verify_solvency(root_from_json(root_path.read_text()), read_proof_set(proofs), load_policy(data_file("sample_solvency_policy.json")),
                             keys, KeyTrust(single_party=True))
    t_verify = time.perf_counter() - t0
    expect(report.ok, f"the global proof was rejected: {report.reason}")
    rows = [
        ("tree", f"the first {SOLVENCY_ACCOUNTS} sample accounts, depth {root.depth} (solvency_root.json)"),
        ("keys", f"single-party setup of {len(plan.circuits())} circuits by the demo exchange in {t_setup:.1f} s "
                 "(the auditor opts in; a deployment runs a ceremony per circuit)"),
        ("exchange proves (2 Dask workers)", f"{report.proofs} proofs ({plan.layers[0].count} batches of {1 << plan.batch_height} "
                                             f"leaves, then the root) in {t_prove:.1f} s"),
        ("auditor verifies, without the database", f"VERIFIED in {t_verify:.2f} s: every leaf in range and solvent under "
                                                   f"sample_solvency_policy.json, totals exact"),
    ]
    # an exchange that edits its books cannot prove them
    edited = sc.workdir / "solvency_edited.db"
    shutil.copy(db, edited)
    victim = accounts.accounts[5].id
    with sqlite3.connect(edited) as conn:
        conn.execute("UPDATE accounts SET equities = json_set(equities, '$[0]', -1) WHERE id = ?", (victim,))
    with TreeStore(edited) as store:
        rows.append(("a negative balance written into the database", "cannot prove: " + _refused(
            lambda: prove_solvency(store, root, policy, plan, keys, sc.workdir / "unused", scheduler=INPROCESS))))
    borrower = next(a for a in accounts.accounts if any(a.debts))
    slots = policy_inputs(policy, root.assets, plan.tiers, root.pledges)
    usdt = max(range(len(root.assets)), key=lambda i: slots[i].debt_unit)
    value, debt = account_values(slots, borrower.collateral if root.pledges else borrower.equities, borrower.debts)
    extra = (value - debt) // slots[usdt].debt_unit + 1
    raised = tuple(d + extra if i == usdt else d for i, d in enumerate(borrower.debts))
    under = AccountSet(accounts.assets, tuple(dataclasses.replace(a, debts=raised) if a.id == borrower.id else a for a in accounts.accounts),
                       pledges=accounts.pledges)
    build_tree(under, sc.workdir / "solvency_under.db")
    with TreeStore(sc.workdir / "solvency_under.db") as store:
        under_root = published_root(store)
        rows.append((f"a borrower's {root.assets[usdt].symbol} debt raised just past cover, tree rebuilt", "cannot prove: " + _refused(
            lambda: prove_solvency(store, under_root, policy, plan, keys, sc.workdir / "unused", scheduler=INPROCESS))))
    off = dataclasses.replace(root, equity_totals=(root.equity_totals[0] - 1, *root.equity_totals[1:]))
    with TreeStore(db) as store:
        rows.append(("the published BTC total lowered by one unit", "cannot prove: " + _refused(
            lambda: prove_solvency(store, off, policy, plan, keys, sc.workdir / "unused", scheduler=INPROCESS, root_where="root.json"))))
    # reserves: the sample keys sign the auditor's challenge; balances from the auditor's snapshot
    nonce = new_nonce()
    reserves_proof = sign_reserves(root.root_hash, nonce, loads(data_file("sample_reserve_keys.json").read_bytes(), "sample_reserve_keys.json"))
    atomic_write_text(sc.path("reserves.json"), reserves_to_json(reserves_proof))
    snapshot = read_snapshot(data_file("sample_reserves_snapshot.csv"), root)
    verdict = solvency_verdict(root, verify_reserves(reserves_proof, root, nonce, snapshot).reserves)
    expect(verdict.solvent, "the sample reserves do not cover the proven liabilities")
    btc = verdict.assets[0]
    rows.append(("verdict, sample reserves", f"SOLVENT: {btc.symbol} net liabilities {btc.to_dict()['net_liabilities']}, "
                                             f"reserves {btc.to_dict()['reserves']}, margin {btc.to_dict()['margin']}"))
    short = dict(verify_reserves(reserves_proof, root, nonce, snapshot).reserves)
    short[btc.symbol] = btc.liabilities - 1
    insolvent = solvency_verdict(root, short)
    expect(not insolvent.solvent, "reserves one unit short still gave a solvent verdict")
    rows.append((f"verdict, {btc.symbol} reserves one unit short", f"INSOLVENT: {btc.symbol} margin {insolvent.assets[0].to_dict()['margin']}"))
    return rows


def _venue_files(sc: Scenario) -> Path:
    """The operator's files: the bundled policy without its single-party opt-in (the demo venue's
    key comes from the ceremony)."""
    folder = sc.workdir / "venue"
    folder.mkdir(parents=True, exist_ok=True)
    policy = re.sub(r"^trust_single_party_keys = true.*\n(?:[ \t]+#.*\n)*", "", data_file("sample_policy.toml").read_text(), flags=re.M)
    atomic_write_text(sc.path("venue/policy.toml"), policy)
    if not (sc.workdir / "venue_keys" / SEALING_KEY_FILE).exists():  # borrowers seal their notes' material to it
        write_sealing_key(sc.workdir / "venue_keys", SEALING_KEY_FILE, SEALING_PUBLIC_KEY_FILE)
    return folder / "policy.toml"


def _publish_epoch(venue: LocalVenue, sequence: int, prices: dict[str, int], signers: tuple[str, ...],
                   timestamp: int | None = None) -> dict:
    """Two of the bundled demo oracles sign ``prices`` for epoch ``sequence``; the venue assembles and records it."""
    quotes = []
    stamp = int(time.time()) if timestamp is None else timestamp
    for name in signers:
        seed = oracle_key_from_json(data_file(f"demo_oracles/{name}.key").read_bytes(), f"demo_oracles/{name}.key")
        quotes.append(quotes_to_dict(sign_quotes(seed, venue.policy.name, sequence, stamp, prices, venue.policy.assets)))
    decision = venue.venue.publish_epoch({"quotes": quotes})
    expect(decision.accepted, f"price epoch {sequence} was refused: {decision.message}")
    return decision.record


def settle(sc: Scenario) -> Rows:
    """Two traders deposit escrowed collateral and settle a trade with their wallets; the venue
    refuses a note spent twice and an overdrawn withdrawal; one trader borrows against her note,
    then cannot withdraw collateral the debt needs; the ledger audit re-verifies everything."""
    policy_path = _venue_files(sc)
    db = sc.path("venue/venue.db")
    VenueLedger(db, depth=sc.state["venue_policy"].tree_depth).close()
    venue = LocalVenue.open(policy_path, sc.workdir / "venue_keys", db)
    if venue.policy.trust_single_party_keys:
        venue.close()
        raise StepFailed("the demo venue's policy still opts in to single-party keys")
    try:
        return _settle(sc, venue)
    finally:
        venue.close()


def _settle(sc: Scenario, venue: LocalVenue) -> Rows:
    policy, ledger = venue.policy, venue.venue.ledger
    alice_path, bob_path = sc.path("alice_wallet.json"), sc.path("bob_wallet.json")
    for path in (alice_path, bob_path):
        create_wallet(path, policy)
    sample = load_policy(data_file("sample_solvency_policy.json"))  # the sample's prices (Binance's, at 8 decimals)
    prices = {asset: sample.assets[asset].price * ONE // 10**8 for asset in policy.assets if asset != "USDT"} | {"USDT": ONE}
    epoch = _publish_epoch(venue, 1, prices, ("oracle-a", "oracle-b"))
    rows: Rows = [("venue", f"{policy.name}: {', '.join(policy.assets)}; note tree depth {policy.tree_depth}; "
                            f"initial margin {policy.initial_ratio_bps / 100:.0f} %, maintenance "
                            f"{policy.maintenance_ratio_bps / 100:.0f} %"),
                  ("venue's key", venue.venue.key_report.basis),
                  ("price epoch 1", f"signed by oracle-a and oracle-b (quorum {policy.oracles.quorum} of "
                                    f"{len(policy.oracles.keys)}; each price their lower median): "
                                    + ", ".join(f"{a} {p}" for a, p in epoch["prices"].items()))]
    for path, who, ref, asset, amount in ((alice_path, "alice", "tx-alice-1", "BTC", "2"),
                                          (bob_path, "bob", "tx-bob-1", "USDT", "150000")):
        registered = venue.venue.register_transfer(ref, asset, parse_fixed(amount, ref))
        expect(registered.accepted, f"registering {ref} failed: {registered.message}")
        with open_wallet(path, venue) as w:
            started = time.perf_counter()
            d = w.deposit(ref, asset, parse_fixed(amount, ref))
        rows.append((f"{who} deposits {amount} {asset} (transfer {ref})",
                     f"{d['reason']}: note {str(d['new_commitment'])[:12]}... at position {d['position']} "
                     f"(proved in {time.perf_counter() - started:.1f} s)"))
    shutil.copy(alice_path, sc.path("alice_wallet_backup.json"))  # alice's backup, made before the trade
    with open_wallet(bob_path, venue) as bob:
        bob_nf = bob.state.current_nullifier()
    with open_wallet(alice_path, venue) as alice:
        leg = alice.propose_trade(TRADE_MARKET, ("BTC", ONE), ("USDT", TRADE_PRICE), bob_nf, "demo-trade-1")
    atomic_write_text(sc.path("trade_leg.json"), json.dumps(leg, indent=1) + "\n")
    with open_wallet(bob_path, venue) as bob:
        settled = bob.accept_trade(json.loads(json.dumps(leg)), ("USDT", TRADE_PRICE), ("BTC", ONE))
        bob_balances = bob.state.balances()
    expect(settled["reason"] == "ACCEPTED", f"the matched trade was not settled: {settled}")
    with open_wallet(alice_path, venue) as alice:
        alice_balances = alice.state.balances()
        expect(not alice.state.pending and alice.state.history[-1]["kind"] == "trade",
               "alice's wallet did not pick up its note from the settlement")
    rows += [
        (f"trade {TRADE_MARKET}: alice gives 1 BTC for {format_fixed(TRADE_PRICE)} USDT",
         "alice proves her leg naming bob's nullifier (trade_leg.json); bob proves the opposite leg and submits both"),
        ("settlement demo-trade-1", f"{settled['reason']}: both nullifiers recorded, both new notes appended, in one "
                                    "ledger transaction"),
        ("balances after (alice | bob)", f"{_balances(alice_balances)} | {_balances(bob_balances)}"),
    ]

    before = _ledger_counts(ledger)
    backup = sc.workdir / "alice_wallet_backup.json"
    with open_wallet(backup, venue) as stale:
        try:
            stale.withdraw("BTC", ONE, "alice-cold-wallet", "demo-w-1")
        except VenueRefused as exc:
            double = exc.reason
        else:
            raise StepFailed("a note spent in the trade was spent again")
    expect(double == "DOUBLE_SPEND", f"spending the traded note again got {double}")
    expect(_ledger_counts(ledger) == before, "a refused spend changed the ledger")
    rows.append(("alice's backup (from before the trade) spends the old note again", f"rejected: {double}, ledger unchanged"))

    with open_wallet(alice_path, venue) as alice:
        held = alice.state.balances()["BTC"]
        try:
            alice.withdraw("BTC", held + ONE // 2, "alice-cold-wallet", "demo-w-2")
        except TransitionRefused as exc:
            refused = exc.reason
        else:
            raise StepFailed("a withdrawal of more than the note holds was accepted")
        label = _unprovable_withdrawal(alice, held + ONE // 2)
    expect(_ledger_counts(ledger) == before, "a refused withdrawal changed the ledger")
    rows.append((f"alice withdraws {format_fixed(held + ONE // 2)} BTC, holding {format_fixed(held)}",
                 f"refused by her wallet: {refused}; a prover skipping that check cannot prove it (constraint {label!r} fails)"))

    with open_wallet(alice_path, venue) as alice:
        borrowed = alice.borrow("USDT", BORROW, "alice-bank", "demo-b-1")
        expect(borrowed["reason"] == "ACCEPTED", f"alice's borrow was not accepted: {borrowed}")
        rows.append((f"alice borrows {format_fixed(BORROW)} USDT against her note",
                     f"{borrowed['reason']}: paid out to alice-bank (for custody); her note now owes "
                     f"{format_fixed(alice.state.debts()['USDT'])} USDT and still meets {policy.initial_ratio_bps / 100:.0f} %"))
        before = _ledger_counts(ledger)
        try:
            alice.withdraw("BTC", ONE, "alice-cold-wallet", "demo-w-3")
        except TransitionRefused as exc:
            refused = exc.reason
        else:
            raise StepFailed("a withdrawal leaving the note under margin was accepted")
        label = _unprovable_withdrawal(alice, ONE)
        note = alice.state.note
        left = [c - (ONE if a == "BTC" else 0) for a, c in zip(policy.assets, note.collateral)]
        reached = ratio_reached_bps(left, note.debt, [prices[a] for a in policy.assets], list(policy.haircut_bps))
    expect(refused == "BELOW_MARGIN", f"the withdrawal under margin was refused as {refused}")
    expect(label.startswith("margin/"), f"the withdrawal under margin failed constraint {label!r}, not the margin's")
    expect(_ledger_counts(ledger) == before, "a refused withdrawal changed the ledger")
    rows.append((f"alice withdraws her 1 BTC, owing {format_fixed(BORROW)} USDT",
                 f"refused by her wallet: BELOW_MARGIN (the note would reach {reached / 100:.2f} % at epoch 1's prices, "
                 f"under the initial {policy.initial_ratio_bps / 100:.0f} %); a prover skipping that check cannot prove it "
                 f"(constraint {label!r} fails)"))

    return rows


def lending(sc: Scenario) -> Rows:
    """Bob borrows ETH; a price epoch moves the market (BTC -10 %, ETH +20 %); alice proves her note healthy at
    the maintenance ratio, bob cannot; after the grace period the venue liquidates bob's note with the material
    he sealed to it, his wallet finds the remainder, and the audit re-verifies everything."""
    venue = LocalVenue.open(sc.path("venue/policy.toml"), sc.workdir / "venue_keys", sc.path("venue/venue.db"))
    try:
        return _lending(sc, venue)
    finally:
        venue.close()


def _lending(sc: Scenario, venue: LocalVenue) -> Rows:
    policy, ledger = venue.policy, venue.venue.ledger
    alice_path, bob_path = sc.path("alice_wallet.json"), sc.path("bob_wallet.json")
    with open_wallet(bob_path, venue) as bob:
        borrowed = bob.borrow("ETH", BOB_BORROW, "bob-bank", "demo-b-2")
    expect(borrowed["reason"] == "ACCEPTED", f"bob's borrow was not accepted: {borrowed}")
    [risk] = [n for n in venue.venue.at_risk() if n["position"] == borrowed["position"]]
    rows: Rows = [(f"bob borrows {format_fixed(BOB_BORROW)} ETH against 1 BTC and 85000 USDT",
                   f"{borrowed['reason']}: {risk['ratio_bps'] / 100:.2f} % (initial {policy.initial_ratio_bps / 100:.0f} %); "
                   "his wallet sealed the new note's opening and nullifier key to the venue (its liquidation material)")]
    epoch1 = venue.venue.current_epoch().prices
    moved = {a: p for a, p in epoch1.items()} | {"BTC": epoch1["BTC"] * 9 // 10, "ETH": epoch1["ETH"] * 12 // 10}
    epoch = _publish_epoch(venue, 2, moved, ("oracle-a", "oracle-c"))
    rows.append(("price epoch 2 (BTC -10 %, ETH +20 %)", "signed by oracle-a and oracle-c: "
                 + ", ".join(f"{a} {p}" for a, p in epoch["prices"].items())))
    due = {n["position"]: n for n in venue.venue.at_risk()}
    rows.append(("venue at-risk", "; ".join(f"position {p}: {n['status']}, {n['ratio_bps'] / 100:.2f} %" for p, n in due.items())))
    with open_wallet(alice_path, venue) as alice:
        healthy = alice.prove_health()
    expect(healthy["reason"] == "ACCEPTED", f"alice's health proof was refused: {healthy}")
    rows.append(("alice proves health at epoch 2", f"{healthy['reason']}: her note meets the maintenance ratio "
                                                   f"({policy.maintenance_ratio_bps / 100:.0f} %), re-randomised at position {healthy['position']}"))
    with open_wallet(bob_path, venue) as bob:
        try:
            bob.prove_health()
        except TransitionRefused as exc:
            refused = exc
        else:
            raise StepFailed("bob's note under maintenance proved health")
        bob_position = bob.state.position
        reached = ratio_reached_bps(bob.state.note.collateral, bob.state.note.debt, [moved[a] for a in policy.assets],
                                    list(policy.haircut_bps))
    expect(refused.reason == "BELOW_MARGIN", f"bob's health proof was refused as {refused.reason}")
    rows.append(("bob tries to prove health", f"refused by his wallet: BELOW_MARGIN ({reached / 100:.2f} % at epoch 2's prices)"))
    early = venue.venue.liquidate(bob_position, sc.state["liquidation_pk"])
    expect(early.reason.value == "NOTE_IN_GRACE", f"a liquidation inside the grace period got {early.reason.value}")
    rows.append(("the venue liquidates bob at once", f"refused: NOTE_IN_GRACE ({policy.grace_period_seconds} s after epoch 2)"))
    # an hour later (the venue's clock is moved on: the demo does not wait), the oracles publish again
    later = time.time() + policy.grace_period_seconds + 1
    venue.venue.clock = lambda: later
    _publish_epoch(venue, 3, moved, ("oracle-b", "oracle-c"), timestamp=int(later))
    [overdue] = [n for n in venue.venue.at_risk() if n["position"] == bob_position]
    expect(overdue["status"] == "overdue" and overdue["liquidatable"], f"bob's note is {overdue}")
    started = time.perf_counter()
    done = venue.venue.liquidate(bob_position, sc.state["liquidation_pk"])
    expect(done.accepted, f"the liquidation was refused: {done.message}")
    taken = ", ".join(f"{format_fixed(v)} {a}" for a, v in done.record["seized"].items())
    rows.append(("an hour later (epoch 3, same prices): the venue liquidates bob",
                 f"{done.reason.value}: proven in {time.perf_counter() - started:.1f} s with his sealed material (no spending key); "
                 f"{format_fixed(done.record['repaid']['ETH'])} ETH of debt repaid with {taken} "
                 f"(debt + {policy.liquidation_penalty_bps / 100:.0f} % penalty at epoch 3's prices)"))
    with open_wallet(bob_path, venue) as bob:
        found = bob.messages[-1] if bob.messages else ""
        left = bob.state.balances()
        expect(not any(bob.state.note.debt) and "liquidated" in found, "bob's wallet did not adopt the remainder")
    rows.append(("bob's wallet, next command", f"finds the remainder (salt P(nk, nullifier)): {_balances(left)}, no debt"))
    report = audit_ledger(ledger, policy, venue.venue.vk, liquidation_vk=venue.venue.liquidation_vk)
    expect(report.ok, f"the ledger audit found problems: {report.problems}")
    expect(report.lent == {"USDT": BORROW, "ETH": BOB_BORROW}, f"the lending book reads {report.lent}")
    rows.append(("venue audit-ledger", f"{report.epochs} price epochs, {report.transitions} transitions, {report.settlements} settlement, "
                                       f"{report.roots} roots: every signature, proof and root re-checked; lending book "
                                       f"{format_fixed(BORROW)} USDT and {format_fixed(BOB_BORROW)} ETH lent, "
                                       f"{format_fixed(report.repaid['ETH'])} ETH repaid by liquidation"))
    return rows


def _unprovable_withdrawal(wallet: Wallet, amount: int) -> str:
    """The constraint that fails when a withdrawal of ``amount`` BTC the wallet refuses (more than the
    note holds, or leaving it under margin) is proven anyway."""
    st, policy = wallet.state, wallet.venue.policy
    path, anchor = wallet.venue.membership_path(st.position)
    epoch = wallet.epoch()
    honest = build_transition(st.keys, (st.note, path, anchor), [0] * len(policy.assets), [0] * len(policy.assets),
                              [epoch.prices[a] for a in policy.assets], list(policy.haircut_bps), policy.initial_ratio_bps, 0,
                              depth=policy.tree_depth, assets=policy.assets)
    btc = policy.assets.index("BTC")
    inputs = {**honest.inputs, f"collateral_delta[{btc}]": signed_to_field(-amount)}
    r1cs, witness = honest.circuit.synthesize(inputs)
    try:
        r1cs.check(witness)
    except UnsatisfiedConstraint as exc:
        return exc.label
    raise StepFailed("an overdrawn note satisfied the transition circuit")


def _ledger_counts(ledger: VenueLedger) -> list[int]:
    return [ledger.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("transitions", "roots", "settlements")]


def _balances(balances: dict[str, int]) -> str:
    return ", ".join(f"{format_fixed(v)} {a}" for a, v in balances.items() if v) or "nothing"


STEPS: list[tuple[str, Callable[[Scenario], Rows]]] = [
    ("1. exchange: build the liability tree and publish the root", build_liability_tree),
    ("2. keys from a three-party ceremony plus a beacon: the bundled transcript verified against the circuits", ceremony_keys),
    ("3. exchange proves a customer's inclusion in zero knowledge; the customer verifies it", prove_inclusion),
    ("4. global proof: every account of a 16-account tree proven in range and solvent on Dask; the auditor verifies it "
     "without the database and compares it with proven reserves; edited books cannot be proven", global_proof),
    ("5. settlement venue: traders deposit, settle a trade atomically, borrow; a double spend, an overdraw and a "
     "withdrawal under margin are refused", settle),
    ("6. lending: a price epoch moves the market; one borrower proves health, the other is liquidated after the "
     "grace period", lending),
]
