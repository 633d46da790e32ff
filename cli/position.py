"""``zkproofs position``: commit to a hidden position, prove it for a settlement, verify a request.

Position JSON: ``{"collateral": {"BTC": "1.5"}, "debt": {"USDC": "20000"}, "salt": "<decimal>"}``
(whole-unit decimal strings, converted exactly to 10^-8 units; see
:mod:`zkproofs.settlement.position`). ``prove`` writes the settlement request,
exactly the body ``POST /settlements`` takes.
"""

from __future__ import annotations

import json
import time

import click

from circuits.collateral_ratio import CollateralRatio
from cli.common import EXIT_INVALID, backend_option, emit_json, key_trust, read_bytes, read_json, reports_errors, trust_options
from zkproofs.atomic import atomic_write_text
from zkproofs.errors import MalformedInput
from zkproofs.field import parse_decimal
from zkproofs.groth16 import verify
from zkproofs.groth16.serialize import pk_from_bytes, vk_from_dict
from zkproofs.groth16.trust import require_trusted
from zkproofs.settlement.policy import load_policy
from zkproofs.settlement.position import Position, SettlementTerms, new_salt, position_commitment, prove_position, terms_from_policy
from zkproofs.settlement.prices import JsonFilePriceFeed
from zkproofs.settlement.request import parse_request
from zkproofs.settlement.units import parse_fixed
from zkproofs.settlement.verifier import SettlementVerifier


@click.group("position")
def position() -> None:
    """Hidden positions: commitments and collateral-ratio proofs for settlement."""


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise MalformedInput(f"{option} {item!r}: expected ASSET=VALUE")
        out[name.strip()] = value.strip()
    return out


@position.command("commit")
@click.argument("position_path", type=click.Path(dir_okay=False))
@click.option("--collateral-order", default=None, help="Comma-separated collateral assets (a market's order).")
@click.option("--debt-order", default=None, help="Comma-separated debt assets (a market's order).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@reports_errors
def commit_cmd(position_path: str, collateral_order: str | None, debt_order: str | None, as_json: bool) -> None:
    """Print the commitment Poseidon(collateral amounts, debt amounts, salt) of POSITION_PATH.

    Assets are taken in the file's order unless --collateral-order/--debt-order give
    a market's order (the order proofs use). Without a salt in the file, a random
    one is generated and printed: keep it, it is needed to prove.
    """
    obj = read_json(position_path)
    generated = isinstance(obj, dict) and "salt" not in obj
    pos = Position.from_dict(obj, position_path, salt=new_salt() if generated else None)
    if collateral_order is not None or debt_order is not None:
        pos = pos.for_market(
            tuple(a for a in (collateral_order or "").split(",") if a) or tuple(a for a, _ in pos.collateral),
            tuple(a for a in (debt_order or "").split(",") if a) or tuple(a for a, _ in pos.debt),
        )
    commitment = position_commitment(pos)
    if as_json:
        emit_json({"commitment": str(commitment), "salt": str(pos.salt), "salt_generated": generated,
                   "collateral": [a for a, _ in pos.collateral], "debt": [a for a, _ in pos.debt]})
        return
    click.echo(f"commitment {commitment}")
    if generated:
        click.echo(f"salt {pos.salt} (generated: add it to the position file)")


@position.command("prove")
@click.argument("position_path", type=click.Path(dir_okay=False))
@click.option("--pk", "pk_path", required=True, type=click.Path(dir_okay=False), help="proving_key.bin of the market's circuit.")
@click.option("--market", required=True, help="Market name, e.g. BTC-USDC.")
@click.option("--policy", "policy_path", type=click.Path(dir_okay=False),
              help="Venue policy TOML: assets, minimum haircuts and ratio, and its price feed.")
@click.option("--collateral", "collateral", multiple=True, metavar="ASSET=PRICE",
              help="Without --policy: a collateral asset and its price (USD, <= 8 decimals), in market order.")
@click.option("--debt", "debt", multiple=True, metavar="ASSET=PRICE", help="Without --policy: a debt asset and its price.")
@click.option("--haircut", "haircuts", multiple=True, metavar="ASSET=BPS", help="Haircut in bps (default: policy's, else 0).")
@click.option("--min-ratio", "min_ratio", type=int, default=None, help="Minimum ratio in bps (default: the policy's).")
@click.option("--settlement-id", required=True, help="The settlement this proof is for.")
@click.option("--expiry", type=int, default=None, help="Expiry in unix seconds.")
@click.option("--ttl", type=int, default=None, help="Expiry as seconds from now (instead of --expiry).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Settlement request JSON to write.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable summary.")
@backend_option
@reports_errors
def prove_cmd(position_path, pk_path, market, policy_path, collateral, debt, haircuts, min_ratio, settlement_id,
              expiry, ttl, out_path, as_json, backend) -> None:
    """Prove POSITION_PATH is above the market's ratio; write the settlement request (the POST body).

    Prices, haircuts and ratio come from --policy (its price feed) or from
    --collateral/--debt/--haircut/--min-ratio. Exit 2 if the position is below the
    ratio (no proof of a false statement is made).
    """
    if (expiry is None) == (ttl is None):
        raise MalformedInput("give exactly one of --expiry and --ttl")
    deadline = expiry if expiry is not None else int(time.time()) + ttl
    pos = Position.from_dict(read_json(position_path), position_path)
    cuts = {a: _bps(a, v) for a, v in _pairs(haircuts, "--haircut").items()}
    if policy_path is not None:
        if collateral or debt:
            raise MalformedInput("--collateral/--debt are taken from --policy; give one or the other")
        policy = load_policy(policy_path)
        if policy.price_feed is None:
            raise MalformedInput(f"{policy_path}: settlement.price_feed is not set")
        terms = terms_from_policy(policy, market, JsonFilePriceFeed(policy.price_feed), settlement_id, deadline)
    else:
        if not collateral or not debt or min_ratio is None:
            raise MalformedInput("without --policy give --collateral, --debt and --min-ratio")
        col = _pairs(collateral, "--collateral")
        deb = _pairs(debt, "--debt")
        terms = SettlementTerms(
            market=market,
            settlement_id=settlement_id,
            expiry=deadline,
            collateral_assets=tuple(col),
            collateral_prices=tuple(parse_fixed(p, f"--collateral {a}") for a, p in col.items()),
            haircuts_bps=tuple(0 for _ in col),
            debt_assets=tuple(deb),
            debt_prices=tuple(parse_fixed(p, f"--debt {a}") for a, p in deb.items()),
            min_ratio_bps=min_ratio,
        )
    stray = set(cuts) - set(terms.collateral_assets)
    if stray:
        raise MalformedInput(f"--haircut {sorted(stray)[0]}: not a collateral asset of {market}")
    terms = SettlementTerms(**{
        **terms.__dict__,
        "haircuts_bps": tuple(cuts.get(a, h) for a, h in zip(terms.collateral_assets, terms.haircuts_bps)),
        "min_ratio_bps": terms.min_ratio_bps if min_ratio is None else min_ratio,
    })
    pk = pk_from_bytes(read_bytes(pk_path), backend=backend, where=pk_path)
    started = time.perf_counter()
    request = prove_position(pk, pos, terms)
    elapsed = time.perf_counter() - started
    atomic_write_text(out_path, json.dumps(request, indent=2) + "\n")
    if as_json:
        emit_json({"request": out_path, "market": market, "settlement_id": settlement_id, "expiry": deadline,
                   "commitment": request["proof"]["public_inputs"]["commitment"], "seconds": round(elapsed, 3)})
    else:
        click.echo(f"settlement request written to {out_path} ({elapsed:.2f} s)")


def _bps(asset: str, value: str) -> int:
    bps = parse_decimal(value, what=f"--haircut {asset}={value} (basis points in [0, 10000])", max_digits=5)
    if bps > 10_000:
        raise MalformedInput(f"--haircut {asset}={value}: expected an integer number of basis points in [0, 10000]")
    return bps


@position.command("verify")
@click.argument("request_path", type=click.Path(dir_okay=False))
@click.option("--vk", "vk_path", required=True, type=click.Path(dir_okay=False), help="verification_key.json of the market.")
@trust_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@backend_option
@reports_errors
def verify_cmd(request_path: str, vk_path: str, trust_single_party: bool, zkey_path: str | None, ptau_path: str | None,
               reverify: bool, as_json: bool, backend: str | None) -> None:
    """Check a settlement request's proof against its own fields. Exit 0 valid, 1 invalid, 2 malformed.

    Checks that --vk is a key of the collateral-ratio circuit of the request's
    shape (digest recomputed from the circuit) and one you trust (a verified
    ceremony key, or a single-party key with --trust-single-party-key), that the proof is for it, that its
    public inputs equal the request's prices, haircuts, ratio, market, settlement
    id and expiry, and that it verifies. Policy, prices and replay are the
    service's job (zkproofs serve).
    """
    vk = vk_from_dict(read_json(vk_path), vk_path)
    request = parse_request(read_json(request_path))
    trust, transcript = key_trust(trust_single_party, zkey_path, ptau_path, reverify)
    circuit = CollateralRatio(collateral=len(request.collateral), debt=len(request.debt))
    key_report = require_trusted(circuit, vk, trust, transcript=transcript, what=vk_path)
    if request.proof.circuit_digest != vk.circuit.digest:
        raise MalformedInput(f"{request_path}: the proof is for another circuit than {vk_path} ({vk.circuit.name} {vk.circuit.params_dict})")
    SettlementVerifier.check_public_inputs(request, vk)
    ok = verify(vk, [request.public_inputs[n] for n in vk.public_names], request.proof, backend=backend)
    if as_json:
        emit_json({"valid": ok, "market": request.market, "settlement_id": request.settlement_id, "expiry": request.expiry,
                   "key": key_report.to_dict()})
    else:
        click.echo(f"{'valid' if ok else 'INVALID'} settlement proof for {request.market} / {request.settlement_id}")
        click.echo(f"  key: {key_report.provenance.describe()}; {key_report.basis}")
    if not ok:
        raise SystemExit(EXIT_INVALID)
