"""Gas of the exported Solidity verifier on a real EVM (anvil, Prague), per public input.

Run: ``python benchmarks/bench_solidity_gas.py`` with ``ZKPROOFS_SOLCJS`` and
``ZKPROOFS_ANVIL`` set (or ``solcjs`` / ``anvil`` on PATH; `.ci/run` shows the npm
install). For each product circuit (the ZK inclusion proof ``merkle_sum_inclusion``
at depth 4 with 1, 2 and 4 assets; the collateral / settlement circuit
``collateral_ratio`` with 1x1, 2x1 and 4x4 baskets): setup, one valid proof,
``export solidity``, solc-js compile, deploy, then one ``verifyProof`` transaction
whose gasUsed is reported (it includes the 21000 intrinsic gas and the call data).
The two precompile calls are measured the same way, as transactions sent straight
to G1MSM (0x0c) and PAIRING_CHECK (0x0f) with the contract's inputs, less the
intrinsic and call-data gas. "per input" is the least-squares slope of gasUsed over
the number of public inputs, over all rows. Gas is deterministic: one run suffices.
"""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from circuits.collateral_ratio import CollateralRatio  # noqa: E402
from circuits.merkle_sum_inclusion import MerkleSumInclusion  # noqa: E402
from tests import evm  # noqa: E402
from zkproofs.backends import get_backend  # noqa: E402
from zkproofs.export import solidity  # noqa: E402
from zkproofs.groth16 import prove, setup, verify  # noqa: E402
from zkproofs.tree.proof import InclusionProof, path_root  # noqa: E402
from zkproofs.proofs.inclusion import circuit_inputs  # noqa: E402

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


def basket_inputs(c: int, d: int) -> dict:
    """A solvent position (as bench_settlement.py builds one)."""
    return {
        "collateral": [10**8 * (i + 1) for i in range(c)],
        "collateral_price": [2_700_000_000_000] * c,
        "haircut_bps": [500] * c,
        "debt": [10**8] * d,
        "debt_price": [100_000_000] * d,
        "min_ratio_bps": 15_000,
        "salt": 42,
        "settlement_context": 1,
        "expiry": 2_000_000_000,
    }


def calldata_gas(data: bytes) -> int:
    """Intrinsic gas of a transaction's data (EIP-2028: 16 per non-zero byte, 4 per zero byte)."""
    return sum(16 if b else 4 for b in data)


def precompile_gas(node: evm.Anvil, address: str, data: bytes) -> int:
    return node.transact_gas(address, data) - 21000 - calldata_gas(data)


def measure(node: evm.Anvil, solcjs: str, label: str, circuit, inputs: dict) -> dict:
    pk = setup(circuit, party="bench")
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
        ("collateral_ratio 1x1", CollateralRatio(collateral=1, debt=1), basket_inputs(1, 1)),
        ("collateral_ratio 2x1", CollateralRatio(collateral=2, debt=1), basket_inputs(2, 1)),
        ("collateral_ratio 4x4", CollateralRatio(collateral=4, debt=4), basket_inputs(4, 4)),
    ]
    with evm.Anvil(anvil) as node:
        rows = [measure(node, solcjs, *case) for case in cases]
    print("| circuit | public inputs | call data (bytes) | verifyProof tx gas | G1MSM gas | PAIRING_CHECK gas (4 pairs) | rest | tx gas / input |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        rest = r["tx_gas"] - r["msm_gas"] - r["pairing_gas"]
        print(f"| {r['circuit']} | {r['public']} | {r['calldata_bytes']} | {r['tx_gas']} | {r['msm_gas']} | {r['pairing_gas']} | "
              f"{rest} | {r['tx_gas'] / r['public']:.0f} |")
    print(f"\nmarginal gas per public input (least-squares slope over the rows): {slope(rows):.0f}")


if __name__ == "__main__":
    main()
