"""The example escrow settlement contract (`zkproofs export escrow`): generation, and settle() on anvil.

A small venue (BTC and USDC, the fewest assets a trade needs; note tree of depth 4)
with two traders whose notes are in the tree. The legs are proven once per module
(six valid_transition proofs: a valid pair, a second pair spending the same notes
under another settlement id, a pair whose deltas do not cancel). Each chain test
runs on an anvil snapshot of the deployed contract with one root and the prices
posted, and every refusal is checked three ways: the exact custom error (eth_call),
a mined transaction with status 0, and the contract's state unchanged.
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from click.testing import CliRunner
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector as selector
from eth_utils import keccak

from circuits import get_circuit
from circuits.valid_transition import ValidTransition
from cli.main import main
from tests import evm
from zkproofs.errors import CircuitMismatch, MalformedInput
from zkproofs.export.escrow import (
    CONTRACT_NAME,
    LEG_TYPE,
    SETTLE_SIGNATURE,
    LegCall,
    escrow_source,
    input_layout,
    settle_calldata,
    settle_calldata_from_requests,
)
from zkproofs.export.solidity import PROOF_BYTES, proof_bytes
from zkproofs.export.solidity_poseidon import poseidon_solidity
from zkproofs.field import R
from zkproofs.groth16 import setup
from zkproofs.groth16.serialize import vk_to_json
from zkproofs.poseidon import permute_reference, poseidon_params
from zkproofs.settlement.note_tree import NoteTree
from zkproofs.settlement.notes import Note, OwnerKeys, nullifier
from zkproofs.settlement.transition import (
    Kind,
    build_transition,
    prove_transition,
    receipt_hash,
    receipt_secret,
    transition_context,
    transition_request,
)
from zkproofs.settlement.venue_policy import venue_policy_from_dict
from tests.test_solidity import _negated_a

ONE = 10**8
PRICES = [27_000 * ONE, ONE]
MARKET = "BTC-USDC"
POLICY_DICT = {
    "venue": {"name": "chain-venue", "assets": ["BTC", "USDC"], "initial_ratio_bps": 15_000, "maintenance_ratio_bps": 12_500,
              "haircut_bps": {"BTC": 500}, "anchor_window": 4, "tree_depth": 4, "max_epoch_age_seconds": 3600},
    "oracles": {"keys": ["ab" * 32], "quorum": 1},
    "markets": {MARKET: {"base": "BTC", "quote": "USDC"}},
}
POLICY = venue_policy_from_dict(POLICY_DICT)
EPOCH = 1
"""The price epoch every leg proves at (the operator posts it with its prices)."""
SETTLED_EVENT = keccak(text="Settled(string,string,uint256,uint256,uint256,uint256)")


@dataclasses.dataclass(frozen=True)
class Pair:
    """Two proven legs of one settlement, and what a test needs to send them."""

    settlement_id: str
    expiry: int
    a: LegCall
    b: LegCall
    bodies: tuple[dict, dict]

    def calldata(self, a: LegCall | None = None, b: LegCall | None = None, *, market: str = MARKET, expiry: int | None = None) -> bytes:
        return settle_calldata(VK[0], market, self.settlement_id, self.expiry if expiry is None else expiry, a or self.a, b or self.b)


VK: list = []  # the module's verification key, set by the `world` fixture (Pair.calldata reads it)


class Trader:
    def __init__(self, sk: int, collateral: tuple[int, ...], tree: NoteTree, policy=POLICY, prices=tuple(PRICES)):
        self.keys = OwnerKeys.from_spending_key(sk)
        self.note = Note(self.keys.pk, collateral, (0,) * len(collateral), 1000 + sk)
        self.position = tree.size
        self.policy, self.prices = policy, list(prices)
        tree.append(self.note.commitment())

    def nullifier(self) -> int:
        return nullifier(self.keys.nk, self.position, self.note.commitment())

    def leg(self, pk, tree: NoteTree, sid: str, expiry: int, delta: list[int], counterparty: int) -> tuple[LegCall, dict]:
        receipt = receipt_hash(receipt_secret(self.keys.nk, self.nullifier()))
        context = transition_context(Kind.TRADE, MARKET, sid, expiry, counterparty, "-", receipt, epoch=EPOCH)
        path = tree.path(self.position)
        t = build_transition(self.keys, (self.note, path, tree.root()), delta, [0] * len(delta), self.prices,
                             list(self.policy.haircut_bps), self.policy.initial_ratio_bps, context, depth=self.policy.tree_depth)
        proof, public = prove_transition(pk, t)
        body = transition_request(Kind.TRADE, MARKET, sid, expiry, proof, public, pk.vk, epoch=EPOCH, counterparty_nullifier=counterparty,
                                  receipt=receipt)
        return LegCall(proof, tuple(public[n] for n in pk.vk.public_names), receipt), body


@pytest.fixture(scope="module")
def world():
    """The key, the tree's root and the proven pairs (about fifteen seconds: setup and eleven proofs)."""
    pk = setup(ValidTransition(**POLICY.circuit_params), party="escrow test")
    VK[:] = [pk.vk]
    tree = NoteTree(depth=POLICY.tree_depth)
    alice, bob = Trader(11, (2 * ONE, 0), tree), Trader(12, (0, 100_000 * ONE), tree)
    carol, dave = Trader(13, (2 * ONE, 0), tree), Trader(14, (0, 100_000 * ONE), tree)  # other notes, same root
    erin = Trader(15, (2 * ONE, 100_000 * ONE), tree)  # holds both assets: can prove both sides of one trade
    expiry = int(time.time()) + 6 * 3600

    def pair(sid: str, give_a: list[int], get_b: list[int], a_trader: Trader = alice, b_trader: Trader = bob) -> Pair:
        a, body_a = a_trader.leg(pk, tree, sid, expiry, give_a, b_trader.nullifier())
        b, body_b = b_trader.leg(pk, tree, sid, expiry, get_b, a_trader.nullifier())
        return Pair(sid, expiry, a, b, (body_a, body_b))

    trade = [-ONE, 27_000 * ONE]
    # Legs whose contexts name their own note's nullifier as counterparty: they pass the context
    # check as a pair. With zero deltas (one leg sent twice) the deltas cancel but trade nothing;
    # both sides of one trade from one note cancel and trade, and only the same-note check is left.
    idle, _ = alice.leg(pk, tree, "s-5", expiry, [0, 0], alice.nullifier())
    give, _ = erin.leg(pk, tree, "s-6", expiry, trade, erin.nullifier())
    get, _ = erin.leg(pk, tree, "s-6", expiry, [-d for d in trade], erin.nullifier())
    return {
        "vk": pk.vk,
        "root": tree.root(),
        "good": pair("s-1", trade, [-d for d in trade]),
        "again": pair("s-2", trade, [-d for d in trade]),
        "uneven": pair("s-3", trade, [ONE, -26_000 * ONE]),
        "same_id_other_notes": pair("s-1", trade, [-d for d in trade], carol, dave),
        "idle": Pair("s-5", expiry, idle, idle, ({}, {})),
        "one_note": Pair("s-6", expiry, give, get, ({}, {})),
    }


# generation (no EVM) ----------------------------------------------------------------
def test_layout_follows_the_keys_names(world):
    vk = world["vk"]
    layout = input_layout(vk, 2)
    names = list(vk.public_names)
    assert names[layout.scalar["context"]] == "context" and names[layout.scalar["nullifier"]] == "nullifier"
    assert [names[i] for i in layout.per_asset["price"]] == ["price[0]", "price[1]"]
    reordered = dataclasses.replace(vk, public_names=tuple(reversed(names)))
    moved = input_layout(reordered, 2)
    assert moved.scalar["anchor"] == len(names) - 1 - layout.scalar["anchor"]
    with pytest.raises(MalformedInput, match="unknown.*'counterparty'"):
        input_layout(dataclasses.replace(vk, public_names=(*names[:-1], "counterparty")), 2)
    with pytest.raises(MalformedInput, match="missing"):
        input_layout(dataclasses.replace(vk, public_names=tuple(names[:-1])), 2)


def test_export_refuses_another_circuits_key(world):
    other = setup(get_circuit("balance_threshold", {}), party="escrow test").vk
    with pytest.raises(CircuitMismatch):
        escrow_source(other, POLICY)
    four_assets = venue_policy_from_dict({**POLICY_DICT, "venue": {**POLICY_DICT["venue"], "assets": ["BTC", "USDC", "ETH", "USDT"]}})
    with pytest.raises(CircuitMismatch):
        escrow_source(world["vk"], four_assets)


def test_settle_calldata_refuses_what_the_contract_would(world):
    good = world["good"]
    with pytest.raises(MalformedInput, match="settlement id"):
        settle_calldata(world["vk"], MARKET, "bad id", good.expiry, good.a, good.b)
    with pytest.raises(MalformedInput, match="field element"):
        settle_calldata(world["vk"], MARKET, "s-1", good.expiry, dataclasses.replace(good.a, receipt_hash=R), good.b)
    with pytest.raises(MalformedInput, match="public inputs"):
        settle_calldata(world["vk"], MARKET, "s-1", good.expiry, dataclasses.replace(good.a, public=good.a.public[:-1]), good.b)
    body_a, body_b = good.bodies
    assert settle_calldata_from_requests(world["vk"], body_a, body_b) == good.calldata()
    with pytest.raises(MalformedInput, match="same market, settlement id, expiry and price epoch"):
        settle_calldata_from_requests(world["vk"], body_a, world["again"].bodies[1])
    with pytest.raises(MalformedInput, match="same market, settlement id, expiry and price epoch"):
        settle_calldata_from_requests(world["vk"], body_a, dict(body_b, epoch=2))


def test_cli_exports_escrow_and_settle_calldata(world, tmp_path):
    vk_path, policy_path = tmp_path / "vk.json", tmp_path / "policy.toml"
    vk_path.write_text(vk_to_json(world["vk"]))
    policy_path.write_text(_toml(POLICY_DICT))
    out = tmp_path / "Escrow.sol"
    result = CliRunner().invoke(main, ["export", "escrow", "--vk", str(vk_path), "--policy", str(policy_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == escrow_source(world["vk"], POLICY)
    legs = []
    for i, body in enumerate(world["good"].bodies):
        legs += ["--leg", str(tmp_path / f"leg{i}.json")]
        (tmp_path / f"leg{i}.json").write_text(json.dumps(body))
    result = CliRunner().invoke(main, ["export", "settle-calldata", "--vk", str(vk_path), *legs])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0x" + world["good"].calldata().hex()
    result = CliRunner().invoke(main, ["export", "settle-calldata", "--vk", str(vk_path), "--leg", legs[1]])
    assert result.exit_code == 2 and "two" in result.output


def _toml(policy: dict) -> str:
    venue = policy["venue"]
    lines = ["[venue]"]
    for key, value in venue.items():
        if isinstance(value, dict):
            lines.append(f"{key} = {{ " + ", ".join(f"{k} = {v}" for k, v in value.items()) + " }")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    lines.append("[oracles]")
    lines += [f"{key} = {json.dumps(value)}" for key, value in policy["oracles"].items()]
    for name, market in policy["markets"].items():
        lines += [f"[markets.{name}]", f'base = "{market["base"]}"', f'quote = "{market["quote"]}"']
    return "\n".join(lines) + "\n"


# on anvil ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def deployed(world):
    """The escrow compiled by solc-js and deployed on anvil, the tree's root and the prices posted."""
    solcjs, anvil_path, reason = evm.tools()
    if reason:
        pytest.skip(reason)
    compiled = evm.compile_contract(solcjs, escrow_source(world["vk"], POLICY), CONTRACT_NAME)
    assert compiled.method_ids[SETTLE_SIGNATURE] == selector(SETTLE_SIGNATURE).hex()
    with evm.Anvil(anvil_path) as node:
        address = node.deploy(compiled.bytecode + abi_encode(["address"], [node.account]))
        _ok(node.send(address, _post_root(world["root"])))
        _ok(node.send(address, _post_prices(PRICES)))
        yield node, address


@pytest.fixture
def chain(deployed):
    """The deployed escrow, returned to its starting state after the test."""
    node, address = deployed
    snapshot = node.snapshot()
    yield node, address
    node.revert_to(snapshot)


def _post_root(root: int) -> bytes:
    return selector("postRoot(uint256)") + abi_encode(["uint256"], [root])


def _post_prices(prices: list[int], epoch: int = EPOCH) -> bytes:
    return selector("postPrices(uint64,uint256[2])") + abi_encode(["uint64", "uint256[2]"], [epoch, prices])


def _ok(receipt: dict) -> dict:
    assert receipt["status"] == "0x1", receipt
    return receipt


def _view(node, address, signature: str, types: list[str], args: list) -> int:
    return int.from_bytes(node.call(address, selector(signature) + abi_encode(types, args)), "big")


def _state(node, address, world) -> tuple:
    """Everything settle() or postRoot() could change: nullifiers, settlement ids, roots."""
    nfs = [p.a.public[_nf_at(world)] for p in (world["good"], world["again"], world["uneven"])]
    nfs += [p.b.public[_nf_at(world)] for p in (world["good"], world["again"], world["uneven"])]
    spent = tuple(_view(node, address, "spent(uint256)", ["uint256"], [nf]) for nf in nfs)
    settled = tuple(_view(node, address, "settled(bytes32)", ["bytes32"], [keccak(text=s)]) for s in ("s-1", "s-2", "s-3"))
    roots = _view(node, address, "rootCount()", [], [])
    return spent, settled, roots, _view(node, address, "rootSeq(uint256)", ["uint256"], [world["root"]])


def _nf_at(world) -> int:
    return list(world["vk"].public_names).index("nullifier")


def _refused(chain, world, data: bytes, signature: str, *args: int, sender: str | None = None, more: bool = False) -> None:
    """eth_call reverts with exactly this custom error (``more``: these first arguments); the
    same transaction, mined, fails and changes nothing."""
    node, address = chain
    before = _state(node, address, world)
    expected = selector(signature) + b"".join(a.to_bytes(32, "big") for a in args)
    with pytest.raises(evm.Reverted) as info:
        node.call_from(sender or node.account, address, data)
    got = info.value.data[: len(expected)] if more else info.value.data
    assert got == expected, f"reverted with {info.value.data.hex()}, expected {signature}{args}"
    assert node.send(address, data, sender)["status"] == "0x0"
    assert _state(node, address, world) == before


def test_permutation_matches_the_reference(deployed):
    node, _ = deployed
    solcjs, _, _ = evm.tools()
    source = ("pragma solidity >=0.8.24;\ncontract P {\n" + poseidon_solidity(5)
              + "    function permute(uint256[5] memory s) external pure returns (uint256[5] memory) { _poseidonPermute(s); return s; }\n}\n")
    address = node.deploy(evm.compile_contract(solcjs, source, "P").bytecode)
    for state in ([0, 0, 0, 0, 0], [1, 2, 3, 4, 5], [R - 1, R - 2, 6 << 64, 7, 1 << 254]):
        out = node.call(address, selector("permute(uint256[5])") + abi_encode(["uint256[5]"], [state]))
        assert list(abi_decode(["uint256[5]"], out)[0]) == permute_reference(state, poseidon_params(5))


def test_context_is_the_venues(chain, world):
    node, address = chain
    good = world["good"]
    call = selector("contextOf(string,string,uint64,uint64,uint256,uint256)")
    for market, sid, epoch, expiry, nf, receipt in ((MARKET, "s-1", 1, good.expiry, 5, 7), ("ETH-USDC", "x:y.z_9", (1 << 63) - 1, 0, R - 1, 0)):
        out = node.call(address, call + abi_encode(["string", "string", "uint64", "uint64", "uint256", "uint256"],
                                                   [market, sid, epoch, expiry, nf, receipt]))
        assert int.from_bytes(out, "big") == transition_context(Kind.TRADE, market, sid, expiry, nf, "-", receipt, epoch=epoch)


def test_valid_settlement_is_accepted_and_recorded(chain, world):
    node, address = chain
    good = world["good"]
    receipt = _ok(node.send(address, good.calldata()))
    nf = _nf_at(world)
    assert _view(node, address, "spent(uint256)", ["uint256"], [good.a.public[nf]]) == 1
    assert _view(node, address, "spent(uint256)", ["uint256"], [good.b.public[nf]]) == 1
    assert _view(node, address, "settled(bytes32)", ["bytes32"], [keccak(text="s-1")]) == 1
    (log,) = [entry for entry in receipt["logs"] if bytes.fromhex(entry["topics"][0][2:]) == SETTLED_EVENT]
    cm = list(world["vk"].public_names).index("new_commitment")
    sid, market, nf_a, nf_b, cm_a, cm_b = abi_decode(["string", "string", "uint256", "uint256", "uint256", "uint256"],
                                                     bytes.fromhex(log["data"][2:]))
    assert (sid, market, nf_a, nf_b, cm_a, cm_b) == ("s-1", MARKET, good.a.public[nf], good.b.public[nf], good.a.public[cm], good.b.public[cm])


def test_legs_in_either_order_are_the_same_settlement(chain, world):
    node, address = chain
    good = world["good"]
    _ok(node.send(address, good.calldata(good.b, good.a)))
    _refused(chain, world, good.calldata(), "DoubleSpend(uint256)", 0)


def test_replayed_nullifier_is_a_double_spend(chain, world):
    node, address = chain
    _ok(node.send(address, world["good"].calldata()))
    _refused(chain, world, world["good"].calldata(), "DoubleSpend(uint256)", 0)
    _refused(chain, world, world["again"].calldata(), "DoubleSpend(uint256)", 0)


def test_anchor_outside_the_window_is_unknown(chain, world):
    node, address = chain
    for extra in range(1, POLICY.anchor_window):
        _ok(node.send(address, _post_root(extra)))
    assert node.call(address, world["good"].calldata()) == b""  # anchor K - 1 roots old: still accepted
    _ok(node.send(address, _post_root(POLICY.anchor_window)))
    _refused(chain, world, world["good"].calldata(), "UnknownAnchor(uint256)", 0)


def test_deltas_that_do_not_cancel_are_refused(chain, world):
    # Both proofs are valid: only the pair is wrong (1 BTC for 27,000 USDC against 26,000).
    _refused(chain, world, world["uneven"].calldata(), "DeltasDoNotCancel(uint256)", 1)


def test_one_tampered_proof_is_refused(chain, world):
    good = world["good"]
    _refused(chain, world, good.calldata(b=dataclasses.replace(good.b, proof=_negated_a(good.b.proof))), "InvalidProof(uint256)", 1)


def test_swapped_legs_are_refused(chain, world):
    good = world["good"]
    crossed_a = dataclasses.replace(good.a, proof=good.b.proof)
    crossed_b = dataclasses.replace(good.b, proof=good.a.proof)
    _refused(chain, world, good.calldata(crossed_a, crossed_b), "InvalidProof(uint256)", 0)
    swapped_receipts = (dataclasses.replace(good.a, receipt_hash=good.b.receipt_hash), dataclasses.replace(good.b, receipt_hash=good.a.receipt_hash))
    _refused(chain, world, good.calldata(*swapped_receipts), "ContextMismatch(uint256)", 0)
    # A leg of another settlement (bound to its id and to the same counterparty) does not fit this one.
    _refused(chain, world, good.calldata(b=world["again"].b), "ContextMismatch(uint256)", 1)


def test_context_binds_market_expiry_and_id(chain, world):
    node, _ = chain
    good = world["good"]
    _refused(chain, world, good.calldata(expiry=good.expiry + 1), "ContextMismatch(uint256)", 0)
    _refused(chain, world, good.calldata(market="ETH-USDC"), "UnknownMarket()")
    node.increase_time(good.expiry - int(time.time()) + 10)
    _ok(node.send(chain[1], _post_prices(PRICES, EPOCH + 1)))
    _refused(chain, world, good.calldata(), "Expired(uint256,uint256)", good.expiry, more=True)


def test_prices_must_be_the_posted_epochs(chain, world):
    node, address = chain
    _refused(chain, world, _post_prices(PRICES, EPOCH), "StaleEpoch(uint64,uint64)", EPOCH, EPOCH)  # epochs only go forward
    _ok(node.send(address, _post_prices([PRICES[0] * 2, PRICES[1]], EPOCH + 1)))
    _refused(chain, world, world["good"].calldata(), "PriceMismatch(uint256,uint256)", 0, 0)
    # the same prices again as epoch 3: legs proven at epoch 1 name it in their context, so they are still refused
    _ok(node.send(address, _post_prices(PRICES, EPOCH + 2)))
    _refused(chain, world, world["good"].calldata(), "ContextMismatch(uint256)", 0)
    # Outside the circuit's price range [1, 2^64]: refused by name (no arithmetic overflow).
    good, at = world["good"], list(world["vk"].public_names).index("price[1]")
    for price in (0, (1 << 64) + 1, R - 1):
        huge = dataclasses.replace(good.b, public=tuple(price if i == at else x for i, x in enumerate(good.b.public)))
        _refused(chain, world, _raw_settle("s-1", good.expiry, (good.a, huge)), "PriceMismatch(uint256,uint256)", 1, 1)


def test_only_the_operator_posts_roots_and_prices(chain, world):
    node, _ = chain
    stranger = "0x000000000000000000000000000000000000dEaD"
    node.impersonate(stranger)
    _refused(chain, world, _post_root(12345), "NotOperator()", sender=stranger)
    _refused(chain, world, _post_prices(PRICES), "NotOperator()", sender=stranger)


def _raw_settle(sid: str, expiry: int, legs) -> bytes:
    """settle() call data without settle_calldata's checks: what a hostile caller can send."""
    encoded = [(proof_bytes(leg.proof), list(leg.public), leg.receipt_hash) for leg in legs]
    return selector(SETTLE_SIGNATURE) + abi_encode(["string", "string", "uint64", LEG_TYPE, LEG_TYPE], [MARKET, sid, expiry, *encoded])


def test_malformed_legs_are_refused(chain, world):
    good = world["good"]
    assert _raw_settle("s-1", good.expiry, (good.a, good.b)) == good.calldata()
    _refused(chain, world, _raw_settle("s 1", good.expiry, (good.a, good.b)), "InvalidSettlementId()")
    short = dataclasses.replace(good.a, public=good.a.public[:-1])
    _refused(chain, world, _raw_settle("s-1", good.expiry, (short, good.b)), "WrongInputCount(uint256)", 0)
    big_receipt = dataclasses.replace(good.b, receipt_hash=good.b.receipt_hash + R)
    _refused(chain, world, _raw_settle("s-1", good.expiry, (good.a, big_receipt)), "NotAFieldElement()")
    # A nullifier + r is the same scalar to the verifier's MSM: the verifier refuses it as non-canonical.
    nf = _nf_at(world)
    shifted = dataclasses.replace(good.b, public=tuple(x + R if i == nf else x for i, x in enumerate(good.b.public)))
    _refused(chain, world, _raw_settle("s-1", good.expiry, (good.a, shifted)), "NonCanonicalPublicInput(uint256)", nf)


def _with_input(leg: LegCall, world, name: str, value: int) -> LegCall:
    at = list(world["vk"].public_names).index(name)
    return dataclasses.replace(leg, public=tuple(value if i == at else x for i, x in enumerate(leg.public)))


def test_a_settlement_id_is_used_once_even_with_other_notes(chain, world):
    node, address = chain
    _ok(node.send(address, world["good"].calldata()))
    _refused(chain, world, world["same_id_other_notes"].calldata(), "SettlementIdTaken()")


def test_both_legs_spending_one_note_are_refused(chain, world):
    _refused(chain, world, world["one_note"].calldata(), "SameNote()")


def test_legs_that_exchange_nothing_are_not_a_trade(chain, world):
    _refused(chain, world, world["idle"].calldata(), "NotATrade()")


def test_a_leg_must_spend_and_follow_the_policy(chain, world):
    good, names = world["good"], list(world["vk"].public_names)
    _refused(chain, world, good.calldata(a=_with_input(good.a, world, "spend", 0)), "SpendRequired(uint256)", 0)
    ratio = _with_input(good.b, world, "min_ratio_bps", POLICY.initial_ratio_bps - 1)
    _refused(chain, world, good.calldata(b=ratio), "PolicyMismatch(uint256,uint256)", 1, names.index("min_ratio_bps"))
    haircut = _with_input(good.a, world, "haircut_bps[0]", POLICY.haircut_bps[0] + 1)
    _refused(chain, world, good.calldata(a=haircut), "PolicyMismatch(uint256,uint256)", 0, names.index("haircut_bps[0]"))


def test_debt_deltas_must_be_zero(chain, world):
    # Context and collateral cancellation still hold: only the debt columns differ.
    good = world["good"]
    a = _with_input(good.a, world, "debt_delta[1]", 5)
    b = _with_input(good.b, world, "debt_delta[1]", R - 5)
    _refused(chain, world, good.calldata(a, b), "DebtDeltaNotZero(uint256,uint256)", 0, 1)


def test_stale_or_bad_prices_are_refused(chain, world):
    node, address = chain
    _refused(chain, world, _post_prices([0, PRICES[1]], EPOCH + 1), "BadPrice(uint256)", 0)
    _refused(chain, world, _post_prices([PRICES[0], (1 << 64) + 1], EPOCH + 1), "BadPrice(uint256)", 1)
    node.increase_time(POLICY.max_epoch_age_seconds + 10)
    _ok(node.send(address, _post_root(world["root"] + 1)))  # mine a block at the new time
    _refused(chain, world, world["good"].calldata(), "PricesUnavailable()")


@pytest.mark.slow
def test_four_asset_settlement(world):
    """The venue's asset count (4): a settlement is accepted, a tampered leg refused (about 20 s)."""
    solcjs, anvil_path, reason = evm.tools()
    if reason:
        pytest.skip(reason)
    policy = venue_policy_from_dict({**POLICY_DICT, "venue": {**POLICY_DICT["venue"], "assets": ["BTC", "ETH", "USDC", "USDT"],
                                                              "haircut_bps": {"BTC": 500, "ETH": 1000}}})
    prices = [27_000 * ONE, 1_800 * ONE, ONE, ONE]
    pk = setup(ValidTransition(**policy.circuit_params), party="escrow test")
    tree = NoteTree(depth=policy.tree_depth)
    alice = Trader(31, (2 * ONE, 0, 0, 0), tree, policy, prices)
    bob = Trader(32, (0, 0, 100_000 * ONE, 0), tree, policy, prices)
    expiry = int(time.time()) + 6 * 3600
    trade = [-ONE, 0, 27_000 * ONE, 0]
    a, _ = alice.leg(pk, tree, "s4-1", expiry, trade, bob.nullifier())
    b, _ = bob.leg(pk, tree, "s4-1", expiry, [-d for d in trade], alice.nullifier())
    compiled = evm.compile_contract(solcjs, escrow_source(pk.vk, policy), CONTRACT_NAME)
    with evm.Anvil(anvil_path) as node:
        address = node.deploy(compiled.bytecode + abi_encode(["address"], [node.account]))
        _ok(node.send(address, _post_root(tree.root())))
        _ok(node.send(address, selector("postPrices(uint64,uint256[4])") + abi_encode(["uint64", "uint256[4]"], [EPOCH, prices])))
        tampered = settle_calldata(pk.vk, MARKET, "s4-1", expiry, a, dataclasses.replace(b, proof=_negated_a(b.proof)))
        with pytest.raises(evm.Reverted) as info:
            node.call(address, tampered)
        assert info.value.data == selector("InvalidProof(uint256)") + (1).to_bytes(32, "big")
        _ok(node.send(address, settle_calldata(pk.vk, MARKET, "s4-1", expiry, a, b)))
        nf = list(pk.vk.public_names).index("nullifier")
        assert _view(node, address, "spent(uint256)", ["uint256"], [a.public[nf]]) == 1
