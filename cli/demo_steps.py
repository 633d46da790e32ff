"""The demo's scenario: every role of zkproofs, in order, on the bundled sample data.

Each step is a function of the shared :class:`Scenario` that returns a table of
(label, value) rows and raises :class:`StepFailed` when the product does not
behave as described; :mod:`cli.demo` times and prints them. Files the steps
write go to ``Scenario.workdir`` (kept with ``zkproofs demo --workdir``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from circuits.collateral_ratio import CollateralRatio
from circuits.merkle_sum_inclusion import MerkleSumInclusion
from zkproofs.accounts import format_amount, load_accounts
from zkproofs.atomic import atomic_write_bytes, atomic_write_text
from zkproofs.errors import UnsatisfiedConstraint, UntrustedKey
from zkproofs.groth16 import ProvingKey, setup
from zkproofs.groth16.serialize import pk_to_bytes, vk_hash, vk_to_json
from zkproofs.groth16.trust import KeyTrust
from zkproofs.jsontext import loads
from zkproofs.settlement import (
    Ledger,
    Position,
    PriceQuote,
    SettlementVerifier,
    StaticPriceFeed,
    load_policy,
    prove_position,
    terms_from_policy,
)
from zkproofs.settlement.units import parse_fixed
from zkproofs.tree import TreeStore, build_tree, make_inclusion_proof, published_root
from zkproofs.tree.audit import audit_tree, load_prices, load_reserves
from zkproofs.tree.root import root_to_json
from zkproofs.proofs.inclusion import make_zk_proof, trust_inclusion_key, zk_failure, zk_to_json

Rows = list[tuple[str, str]]

MARKET = "BTC-ETH-USDT"
SOLVENT_POSITION = {"collateral": {"BTC": "1.5", "ETH": "10"}, "debt": {"USDT": "60000"}}
UNDERCOLLATERALISED_POSITION = {"collateral": {"BTC": "1"}, "debt": {"USDT": "60000"}}
RESERVE_SHORTFALL_BPS = 1_000  # the insolvent audit declares 10 % less BTC than owed


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


def _setup_keys(sc: Scenario, circuit, folder: str) -> tuple[ProvingKey, str]:
    pk = setup(circuit, party="demo auditor / settlement operator")
    atomic_write_bytes(sc.path(f"{folder}/proving_key.bin"), pk_to_bytes(pk))
    atomic_write_text(sc.path(f"{folder}/verification_key.json"), vk_to_json(pk.vk))
    return pk, f"{circuit.shape.num_constraints} constraints, keys in {folder}/"


def generate_keys(sc: Scenario) -> Rows:
    """The verifying side runs Groth16 setup and hands the proving keys to the provers."""
    (sc.workdir / "inclusion_keys").mkdir(parents=True, exist_ok=True)
    (sc.workdir / "position_keys").mkdir(parents=True, exist_ok=True)
    root = sc.state["root"]
    policy = load_policy(data_file("sample_policy.toml"))
    market = policy.market(MARKET)
    inclusion = MerkleSumInclusion(depth=root.depth, assets=len(root.assets))
    ratio = CollateralRatio(**market.circuit_params)
    sc.state["inclusion_pk"], inclusion_info = _setup_keys(sc, inclusion, "inclusion_keys")
    sc.state["ratio_pk"], ratio_info = _setup_keys(sc, ratio, "position_keys")
    sc.state["policy"] = policy
    root = dataclasses.replace(root, verification_key=vk_hash(sc.state["inclusion_pk"].vk))
    atomic_write_text(sc.path("root.json"), root_to_json(root))  # the root names the key proofs must use
    sc.state["root"] = root
    return [
        ("who runs setup", "the verifier side (auditor, settlement operator): it never sees a trapdoor again"),
        ("provenance", f"{sc.state['inclusion_pk'].vk.describe_provenance()}: verifiers accept these keys only "
                       "because they trust that party explicitly (--trust-single-party-key, policy)"),
        ("root.json names the inclusion key", f"sha256 {root.verification_key[:16]}..."),
        (f"merkle_sum_inclusion depth={root.depth} assets={len(root.assets)}", inclusion_info),
        (f"collateral_ratio {market.circuit_params['collateral']}x{market.circuit_params['debt']}", ratio_info),
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
    try:
        trust_inclusion_key(root, vk, KeyTrust())
    except UntrustedKey as exc:
        refusal = str(exc)
    else:
        raise StepFailed("a single-party key was accepted without the explicit opt-in")
    started = time.perf_counter()
    trusted = trust_inclusion_key(root, vk, KeyTrust(single_party=True))
    decided = time.perf_counter() - started
    rows = [
        ("the auditor's single-party key, by default", f"refused: {refusal.split(':')[0]}"),
        ("with the customer's explicit opt-in", trusted.basis),
        ("customer", customer),
        ("exchange proves", f"{proved:.1f} s from liabilities.db and the auditor's proving key; "
                            "balances public, sibling hashes and sums hidden"),
        ("customer verifies", "with root.json, the verification key and the proof only"),
        ("verification time", f"the proof check alone; the key was checked once before it ({decided:.2f} s): the root "
                              "names it and its circuit digest matches the circuit's, computed from the circuit code"),
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


def audit(sc: Scenario) -> Rows:
    """The auditor recomputes the tree and compares liabilities with declared reserves."""
    root = sc.state["root"]
    db = sc.workdir / "liabilities.db"
    reserves = load_reserves(data_file("sample_reserves.json"), root.assets)
    prices = load_prices(data_file("sample_prices.json"))
    solvent = audit_tree(db, root, reserves=reserves, prices=prices)
    expect(solvent.verdict == "solvent", f"expected a solvent verdict, got {solvent.verdict}: {list(solvent.reasons)}")
    short_reserves = dict(reserves)
    btc = next(i for i, a in enumerate(root.assets) if a.symbol == "BTC")
    short_reserves["BTC"] = root.equity_totals[btc] * (10_000 - RESERVE_SHORTFALL_BPS) // 10_000
    insolvent = audit_tree(db, root, reserves=short_reserves, prices=prices)
    expect(insolvent.verdict == "insolvent", f"lowered reserves gave the verdict {insolvent.verdict}")
    atomic_write_text(sc.path("audit.json"), json.dumps(solvent.to_dict(), indent=2) + "\n")
    passed = sum(c.ok for c in solvent.checks)
    return [
        ("checks (tree recomputed, ranges, root, excluded, reserves)", f"{passed}/{len(solvent.checks)} passed"),
        ("accounts whose debt is not covered", str(len(solvent.uncovered))),
        ("verdict with sample_reserves.json", solvent.verdict),
        ("verdict with BTC reserves 10 % below liabilities", f"{insolvent.verdict}: {insolvent.reasons[0]}"),
    ]


def _feed(now: float) -> StaticPriceFeed:
    quotes = loads(data_file("sample_prices.json").read_bytes(), "sample_prices.json")
    feed = StaticPriceFeed({asset: PriceQuote(parse_fixed(q["price"], f"sample_prices.json {asset}"), int(now)) for asset, q in quotes.items()})
    feed.set("USDT", PriceQuote(parse_fixed("1", "USDT"), int(now)))
    return feed


def settle(sc: Scenario) -> Rows:
    """A trader proves a hidden position; the venue's verifier settles only proven-solvent ones."""
    clock = [sc.now]
    policy, pk = sc.state["policy"], sc.state["ratio_pk"]
    feed = _feed(sc.now)
    ledger = Ledger(sc.path("ledger.db"))
    try:
        verifier = SettlementVerifier(policy, {MARKET: pk.vk}, feed, ledger, clock=lambda: clock[0])
        expiry = int(sc.now) + 3600

        def request(position: dict, settlement_id: str) -> dict:
            terms = terms_from_policy(policy, MARKET, feed, settlement_id, expiry)
            return prove_position(pk, Position.from_dict(position, salt=0x5A17), terms)

        body = request(SOLVENT_POSITION, "demo-0001")
        atomic_write_text(sc.path("settlement_request.json"), json.dumps(body, indent=2) + "\n")
        first = verifier.submit(body)
        expect(first.accepted, f"a solvent position was rejected: {first.reason.value} {first.message}")
        rows = [("1.5 BTC + 10 ETH against 60000 USDT", f"accepted ({first.message})")]

        try:
            request(UNDERCOLLATERALISED_POSITION, "demo-0002")
        except UnsatisfiedConstraint as exc:
            rows.append(("1 BTC against 60000 USDT (below 150 %)", f"cannot be proven: constraint {exc.label!r} fails"))
        else:
            raise StepFailed("a position below the minimum ratio was proven")

        replay = verifier.submit(body)
        expect(replay.reason.value == "REPLAY", f"the replayed proof got {replay.reason.value}")
        rows.append(("the accepted request sent again", f"rejected: {replay.reason.value}"))

        stale_body = request(SOLVENT_POSITION, "demo-0003")
        clock[0] += policy.max_price_age_seconds + 60  # the oracle stops updating
        stale = verifier.submit(stale_body)
        expect(stale.reason.value == "STALE_PRICE", f"the proof against stale prices got {stale.reason.value}")
        rows.append((f"a proof submitted after the feed went {policy.max_price_age_seconds + 60} s without a price", f"rejected: {stale.reason.value}"))
        rows.append(("ledger (SQLite, append-only)", f"{ledger.count()} decisions, {ledger.count(accepted=True)} accepted"))
        return rows
    finally:
        ledger.close()


STEPS: list[tuple[str, Callable[[Scenario], Rows]]] = [
    ("1. exchange: build the liability tree and publish the root", build_liability_tree),
    ("2. auditor: generate the Groth16 keys (the verifier runs setup)", generate_keys),
    ("3. exchange proves a customer's inclusion in zero knowledge; the customer verifies it", prove_inclusion),
    ("4. auditor: audit the whole tree against declared reserves", audit),
    ("5. settlement venue: prove positions and settle only solvent ones", settle),
]
