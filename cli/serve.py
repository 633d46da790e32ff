"""``zkproofs serve``: the settlement HTTP service (:mod:`zkproofs.service`) under uvicorn.

Keys folder layout: one folder per market, named as in the policy, holding that
market's verification key as written by ``zkproofs setup``::

    KEYS/BTC-USDC/verification_key.json          (collateral_ratio, collateral=1, debt=1)
    KEYS/BTC-ETH-USDC/verification_key.json      (collateral_ratio, collateral=2, debt=1)

Every market of the policy needs its key and the key must be for the market's
circuit shape; otherwise the command exits 2 before listening. The price feed
is the policy's ``settlement.price_feed`` file; the ledger is ``--db``.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import backend_option, reports_errors, read_json
from zkproofs.errors import MalformedInput
from zkproofs.groth16.serialize import vk_from_dict
from zkproofs.settlement.ledger import Ledger
from zkproofs.settlement.policy import load_policy
from zkproofs.settlement.prices import JsonFilePriceFeed
from zkproofs.settlement.verifier import SettlementVerifier


def build_verifier(db: str, keys_dir: str, policy_path: str, backend: str | None = None) -> SettlementVerifier:
    """The verifier ``serve`` runs: policy, keys (layout in the module docstring), JSON price feed, ledger.

    Raises PolicyError / MalformedInput naming the file for a bad policy or key.
    """
    policy = load_policy(policy_path)
    if policy.price_feed is None:
        raise MalformedInput(f"{policy_path}: settlement.price_feed is not set (the service needs a price feed)")
    keys = {}
    for market in policy.markets:
        path = Path(keys_dir) / market / "verification_key.json"
        keys[market] = vk_from_dict(read_json(str(path)), str(path))
    return SettlementVerifier(policy, keys, JsonFilePriceFeed(policy.price_feed), Ledger(db), backend=backend)


@click.command("serve")
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False), help="SQLite ledger (created if missing).")
@click.option("--keys", "keys_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="Folder with KEYS/<market>/verification_key.json.")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False), help="Venue policy TOML.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@backend_option
@reports_errors
def serve(db: str, keys_dir: str, policy_path: str, host: str, port: int, backend: str | None) -> None:
    """Run the settlement service: POST /settlements, GET /settlements/{id}, GET /health, docs at /docs."""
    import uvicorn

    from zkproofs.service import create_app

    verifier = build_verifier(db, keys_dir, policy_path, backend)
    app = create_app(verifier, verifier.policy.max_request_bytes)
    click.echo(f"settling {', '.join(sorted(verifier.policy.markets))} on http://{host}:{port} (ledger {db})")
    uvicorn.run(app, host=host, port=port, log_level="warning")
