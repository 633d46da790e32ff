"""Gas of the exported Solidity verifier on a real EVM (anvil, Prague), per public input.

Run: ``python benchmarks/bench_solidity_gas.py`` with ``ZKPROOFS_SOLCJS`` and
``ZKPROOFS_ANVIL`` set (or ``solcjs`` / ``anvil`` on PATH; `.ci/run` shows the npm
install). For each product circuit (the ZK inclusion proof ``merkle_sum_inclusion``
at depth 4 with 1, 2 and 4 assets; the escrow venue's ``valid_transition`` with
1, 2 and 4 assets at depth 4): setup, one valid proof,
``export solidity``, solc-js compile, deploy, then one ``verifyProof`` transaction
whose gasUsed is reported (it includes the 21000 intrinsic gas and the call data).
The two precompile calls are measured the same way, as transactions sent straight
to G1MSM (0x0c) and PAIRING_CHECK (0x0f) with the contract's inputs, less the
intrinsic and call-data gas. "per input" is the least-squares slope of gasUsed over
the number of public inputs, over all rows. Gas is deterministic: one run suffices.

The settlement transition ``valid_transition`` (2 and 4 assets; tree depth 4, since
the depth changes no public input and so no gas) is measured twice: one leg's
``verifyProof`` like the rows above, and ``EscrowSettlement.settle`` of
``zkproofs export escrow`` with two legs (both verifications, three Poseidon
permutations for the contexts, the checks and four storage writes), sent after the
operator posted the root and the prices; its gas per public input is over the 2 l
inputs of the two legs.
"""

from __future__ import annotations

import dataclasses
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from circuits.merkle_sum_inclusion import MerkleSumInclusion  # noqa: E402
from circuits.valid_transition import ValidTransition  # noqa: E402
from eth_abi import encode as abi_encode  # noqa: E402
from eth_utils import function_signature_to_4byte_selector as selector  # noqa: E402
from tests import evm  # noqa: E402
from zkproofs.backends import get_backend  # noqa: E402
from zkproofs.export import escrow, solidity  # noqa: E402
from zkproofs.groth16 import prove, setup, verify  # noqa: E402
from zkproofs.tree.proof import InclusionProof, path_root  # noqa: E402
from zkproofs.proofs.inclusion import circuit_inputs  # noqa: E402
from zkproofs.settlement.note_tree import NoteTree  # noqa: E402
from zkproofs.settlement.notes import Note, OwnerKeys, nullifier  # noqa: E402
from zkproofs.settlement.transition import (  # noqa: E402
    Kind,
    build_transition,
    prove_transition,
    receipt_hash,
    receipt_secret,
    transition_context,
)
from zkproofs.settlement.venue_policy import venue_policy_from_dict  # noqa: E402

G1MSM = "0x" + "00" * 19 + "0c"
PAIRING_CHECK = "0x" + "00" * 19 + "0f"


def inclusion_inputs(depth: int, assets: int) -> dict:
    """A user's path with random siblings (as bench_tree.py builds one)."""
    rng = random.Random(depth * 100 + assets)
    siblings = tuple((rng.randrange(1 << 250), tuple(rng.randrange(1 << 40) for _ in range(2 * assets))) for _ in range(depth))
    draft = InclusionProof("user", rng.randrange(1 << 250), rng.randrange(1 << depth), tuple(f"A{i}" for i in range(assets)),
                           tuple(rng.randrange(1 << 40) for _ in range(assets)), (0,) * assets, siblings, 0, ())
    root_hash, sums = path_root(draft)
    return circuit_inputs(dataclasses.replace(draft, root_hash=root_hash, root_sums=sums))


ONE = 10**8
ASSET_PRICES = {"BTC": 27_000 * ONE, "USDC": ONE, "ETH": 1_800 * ONE, "USDT": ONE}
TRANSITION_DEPTH = 4


def venue_policy(assets: list[str]):
    return venue_policy_from_dict({
        "venue": {"name": "gas-bench", "assets": assets, "initial_ratio_bps": 15_000, "maintenance_ratio_bps": 12_500,
                  "haircut_bps": {"BTC": 500}, "anchor_window": 4, "tree_depth": TRANSITION_DEPTH, "max_epoch_age_seconds": 3600},
        "oracles": {"keys": ["ab" * 32], "quorum": 1},
        "markets": {"BTC-USDC": {"base": "BTC", "quote": "USDC"}},
    })


def trade_legs(policy, pk) -> tuple[int, list[int], escrow.LegCall, escrow.LegCall, int]:
    """Two notes in a fresh tree and the two proven legs of a 1 BTC / 27,000 USDC trade:
    (root, prices, leg A, leg B, expiry); leg A's circuit inputs are the one-leg row's."""
    a = len(policy.assets)
    prices = [ASSET_PRICES[x] for x in policy.assets]
    btc, usdc = policy.assets.index("BTC"), policy.assets.index("USDC")
    tree = NoteTree(depth=TRANSITION_DEPTH)
    owners = []
    for sk, asset, amount in ((21, btc, 2 * ONE), (22, usdc, 100_000 * ONE)):
        keys = OwnerKeys.from_spending_key(sk)
        note = Note(keys.pk, tuple(amount if i == asset else 0 for i in range(a)), (0,) * a, sk)
        owners.append((keys, note, tree.size))
        tree.append(note.commitment())
    nfs = [nullifier(keys.nk, pos, note.commitment()) for keys, note, pos in owners]
    delta = [0] * a
    delta[btc], delta[usdc] = -ONE, 27_000 * ONE
    expiry = int(time.time()) + 3600
    legs = []
    for (keys, note, pos), d, counterparty in zip(owners, (delta, [-x for x in delta]), reversed(nfs)):
        receipt = receipt_hash(receipt_secret(keys.nk, nullifier(keys.nk, pos, note.commitment())))
        context = transition_context(Kind.TRADE, "BTC-USDC", "gas-1", expiry, counterparty, "-", receipt, epoch=1)
        t = build_transition(keys, (note, tree.path(pos), tree.root()), d, [0] * a, prices, list(policy.haircut_bps),
                             policy.initial_ratio_bps, context, depth=TRANSITION_DEPTH)
        proof, public = prove_transition(pk, t)
        legs.append((escrow.LegCall(proof, tuple(public[n] for n in pk.vk.public_names), receipt), t.inputs))
    return tree.root(), prices, legs[0], legs[1], expiry


def measure_settle(node: evm.Anvil, solcjs: str, assets: list[str]) -> tuple[dict, dict]:
    """(the one-leg verifyProof row, the two-leg settle row) for valid_transition over ``assets``."""
    policy = venue_policy(assets)
    circuit = ValidTransition(**policy.circuit_params)
    pk = setup(circuit, party="bench")
    root, prices, (leg_a, inputs_a), (leg_b, _), expiry = trade_legs(policy, pk)
    label = f"valid_transition assets={len(assets)} depth={TRANSITION_DEPTH}"
    one_leg = measure(node, solcjs, f"{label} (one leg)", circuit, inputs_a, pk=pk)
    compiled = evm.compile_contract(solcjs, escrow.escrow_source(pk.vk, policy), escrow.CONTRACT_NAME)
    address = node.deploy(compiled.bytecode + abi_encode(["address"], [node.account]))
    node.transact_gas(address, selector("postRoot(uint256)") + abi_encode(["uint256"], [root]))
    node.transact_gas(address, selector(f"postPrices(uint64,uint256[{len(assets)}])")
                      + abi_encode(["uint64", f"uint256[{len(assets)}]"], [1, prices]))
    data = escrow.settle_calldata(pk.vk, "BTC-USDC", "gas-1", expiry, leg_a, leg_b)
    settle = {"circuit": f"{label}: settle (two legs)", "public": 2 * len(pk.vk.public_names),
              "calldata_bytes": len(data), "tx_gas": node.transact_gas(address, data)}
    return one_leg, settle


def calldata_gas(data: bytes) -> int:
    """Intrinsic gas of a transaction's data (EIP-2028: 16 per non-zero byte, 4 per zero byte)."""
    return sum(16 if b else 4 for b in data)


def precompile_gas(node: evm.Anvil, address: str, data: bytes) -> int:
    return node.transact_gas(address, data) - 21000 - calldata_gas(data)


def measure(node: evm.Anvil, solcjs: str, label: str, circuit, inputs: dict, pk=None) -> dict:
    pk = pk or setup(circuit, party="bench")
    r1cs, witness = circuit.synthesize(inputs)
    proof = prove(pk, r1cs, witness)
    public = list(witness[1 : r1cs.num_public + 1])
    if not verify(pk.vk, public, proof):
        raise SystemExit(f"{label}: the proof did not verify")
    compiled = evm.compile_contract(solcjs, solidity.verifier_source(pk.vk), solidity.CONTRACT_NAME)
    address = node.deploy(compiled.bytecode)
    data = solidity.calldata(pk.vk, proof, public)
    if node.call(address, data)[-1] != 1:
        raise SystemExit(f"{label}: the contract did not accept the proof")
    be = get_backend()
    ic = [solidity.g1_bytes(be, be.g1_from_bytes(p)) for p in pk.vk.ic]
    msm_input = b"".join(p + x.to_bytes(32, "big") for p, x in zip(ic[1:], public))
    proof_enc = solidity.proof_bytes(proof)
    # Four pairs of the same sizes as the contract's (the gas depends on the count only).
    pairing_input = (proof_enc[:384] + ic[0] + proof_enc[128:384]) * 2
    return {
        "circuit": label,
        "public": len(public),
        "calldata_bytes": len(data),
        "tx_gas": node.transact_gas(address, data),
        "msm_gas": precompile_gas(node, G1MSM, msm_input),
        "pairing_gas": precompile_gas(node, PAIRING_CHECK, pairing_input),
        "deploy_bytes": len(compiled.bytecode),
    }


def slope(rows: list[dict]) -> float:
    xs, ys = [r["public"] for r in rows], [r["tx_gas"] for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    solcjs, anvil, reason = evm.tools()
    if reason:
        raise SystemExit(reason)
    cases = [
        ("merkle_sum_inclusion depth=4 assets=1", MerkleSumInclusion(depth=4, assets=1), inclusion_inputs(4, 1)),
        ("merkle_sum_inclusion depth=4 assets=2", MerkleSumInclusion(depth=4, assets=2), inclusion_inputs(4, 2)),
        ("merkle_sum_inclusion depth=4 assets=4", MerkleSumInclusion(depth=4, assets=4), inclusion_inputs(4, 4)),
    ]
    with evm.Anvil(anvil) as node:
        rows = [measure(node, solcjs, *case) for case in cases]
        settles = []
        for assets in (["BTC", "USDC"], ["BTC", "ETH", "USDC", "USDT"]):
            one_leg, settle = measure_settle(node, solcjs, assets)
            rows.append(one_leg)
            settles.append((one_leg, settle))
    print("| circuit | public inputs | call data (bytes) | verifyProof tx gas | G1MSM gas | PAIRING_CHECK gas (4 pairs) | rest | tx gas / input |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        rest = r["tx_gas"] - r["msm_gas"] - r["pairing_gas"]
        print(f"| {r['circuit']} | {r['public']} | {r['calldata_bytes']} | {r['tx_gas']} | {r['msm_gas']} | {r['pairing_gas']} | "
              f"{rest} | {r['tx_gas'] / r['public']:.0f} |")
    print(f"\nmarginal gas per public input (least-squares slope over the rows): {slope(rows):.0f}")
    print("\n| settlement | public inputs (both legs) | call data (bytes) | settle tx gas | 2 x one-leg verifyProof tx gas | rest | tx gas / input |")
    print("|---|---|---|---|---|---|---|")
    for one_leg, r in settles:
        print(f"| {r['circuit']} | {r['public']} | {r['calldata_bytes']} | {r['tx_gas']} | {2 * one_leg['tx_gas']} | "
              f"{r['tx_gas'] - 2 * one_leg['tx_gas']} | {r['tx_gas'] / r['public']:.0f} |")


if __name__ == "__main__":
    main()
