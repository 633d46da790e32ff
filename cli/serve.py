"""``zkproofs serve``: the settlement HTTP service (:mod:`zkproofs.service`) under uvicorn.

Keys folder layout: one folder per market, named as in the policy, holding that
market's verification key as written by ``zkproofs setup``::

    KEYS/BTC-USDC/verification_key.json          (collateral_ratio, collateral=1, debt=1)
    KEYS/BTC-ETH-USDC/verification_key.json      (collateral_ratio, collateral=2, debt=1)

Every market of the policy needs its key, for the market's circuit shape, and a
key the venue trusts: a single-party key only if the policy sets
``settlement.trust_single_party_keys = true``; a ceremony key only if its
transcript verifies against the circuit (``KEYS/<market>/transcript.zkey`` with
``--ptau``), or did before for this user (remembered; ``--reverify`` repeats it).
Otherwise the command exits 2 before listening, naming the market and the reason. The price feed
is the policy's ``settlement.price_feed`` file; the ledger is ``--db``.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.common import backend_option, reports_errors, read_json
from zkproofs.errors import MalformedInput
from zkproofs.groth16.serialize import vk_from_dict
from zkproofs.groth16.trust import Transcript
from zkproofs.settlement.ledger import Ledger
from zkproofs.settlement.policy import load_policy
from zkproofs.settlement.prices import JsonFilePriceFeed
from zkproofs.settlement.verifier import SettlementVerifier


def build_verifier(db: str, keys_dir: str, policy_path: str, backend: str | None = None, *,
                   ptau: str | None = None, reverify: bool = False) -> SettlementVerifier:
    """The verifier ``serve`` runs: policy, keys (layout in the module docstring), JSON price feed, ledger.

    Raises PolicyError / MalformedInput naming the file for a bad policy or a key
    that is malformed, of another circuit, or not trusted.
    """
    policy = load_policy(policy_path)
    if policy.price_feed is None:
        raise MalformedInput(f"{policy_path}: settlement.price_feed is not set (the service needs a price feed)")
    keys, transcripts = {}, {}
    for market in policy.markets:
        path = Path(keys_dir) / market / "verification_key.json"
        keys[market] = vk_from_dict(read_json(str(path)), str(path))
        zkey = Path(keys_dir) / market / "transcript.zkey"
        if zkey.exists() and ptau:
            transcripts[market] = Transcript(zkey, Path(ptau))
    return SettlementVerifier(policy, keys, JsonFilePriceFeed(policy.price_feed), Ledger(db), backend=backend,
                              transcripts=transcripts, reverify=reverify)


@click.command("serve")
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False), help="SQLite ledger (created if missing).")
@click.option("--keys", "keys_dir", required=True, type=click.Path(file_okay=False, exists=True),
              help="Folder with KEYS/<market>/verification_key.json.")
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False), help="Venue policy TOML.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port to listen on.")
@click.option("--ptau", "ptau", type=click.Path(dir_okay=False),
              help="Phase-1 transcript (.ptau) to verify ceremony keys with (KEYS/<market>/transcript.zkey).")
@click.option("--reverify", is_flag=True, help="Verify ceremony transcripts again even if verified before.")
@backend_option
@reports_errors
def serve(db: str, keys_dir: str, policy_path: str, host: str, port: int, ptau: str | None, reverify: bool, backend: str | None) -> None:
    """Run the settlement service: POST /settlements, GET /settlements/{id}, GET /health, docs at /docs."""
    import uvicorn

    from zkproofs.service import create_app

    verifier = build_verifier(db, keys_dir, policy_path, backend, ptau=ptau, reverify=reverify)
    app = create_app(verifier, verifier.policy.max_request_bytes)
    click.echo(f"settling {', '.join(sorted(verifier.policy.markets))} on http://{host}:{port} (ledger {db})")
    for market, report in sorted(verifier.key_reports.items()):
        click.echo(f"  {market}: {report.provenance.describe()}; {report.basis}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
