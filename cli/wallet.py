"""``zkproofs wallet``: a trader's margin note at an escrow venue (:mod:`zkproofs.settlement.wallet`).

The wallet file (``--wallet``, or ``ZKPROOFS_WALLET``) holds the spending key,
the note's opening and the history, mode 0600; a command refuses a wallet that
group or others may read. The venue is either opened in process from the
operator's files (``--policy``, ``--keys``, ``--db``) or reached over HTTP
(``--venue URL`` with the trader's copies of the venue's ``--policy`` and
``--keys``). Every proof uses the prices of the venue's latest price epoch, whose
oracle signatures the wallet checks against the policy's keys. Nothing prints the spending key.
Exit status: 0 done, 1 refused (by the venue or by the wallet's own checks, with
the reason code), 2 malformed input or an unusable wallet file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import click

from cli.common import EXIT_INVALID, backend_option, emit_json, read_json, reports_errors
from zkproofs.atomic import atomic_write_text
from zkproofs.errors import MalformedInput
from zkproofs.field import decode_scalar
from zkproofs.settlement.transition import TransitionRefused
from zkproofs.settlement.units import format_fixed, parse_fixed
from zkproofs.settlement.venue_policy import load_venue_policy
from zkproofs.settlement.wallet import (
    DEFAULT_TTL_SECONDS,
    LocalVenue,
    RemoteVenue,
    VenueRefused,
    Wallet,
    WalletState,
    create_wallet,
    delta_text,
    load_wallet,
    open_wallet,
)

wallet_option = click.option("--wallet", "wallet_path", required=True, envvar="ZKPROOFS_WALLET",
                             type=click.Path(dir_okay=False),
                             help="The wallet file (spending key and note; mode 0600). Also read from ZKPROOFS_WALLET.")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
ttl_option = click.option("--ttl", type=click.IntRange(1, 86_400), default=DEFAULT_TTL_SECONDS, show_default=True,
                          help="Seconds until the proof's context expires (the venue refuses it afterwards).")


def venue_options(func: Callable) -> Callable:
    """The venue: --policy and --keys, then --db (in process) or --venue URL (over HTTP)."""
    options = [
        click.option("--venue", "url", default=None, envvar="ZKPROOFS_VENUE",
                     help="The venue's HTTP service (zkproofs serve), e.g. http://127.0.0.1:8080; also ZKPROOFS_VENUE. "
                     "Without it the venue is opened in this process from --db."),
        click.option("--policy", "policy_path", type=click.Path(dir_okay=False, exists=True),
                     help="The venue's policy TOML (assets, ratios, markets, oracle keys)."),
        click.option("--keys", "keys_dir", type=click.Path(file_okay=False),
                     help="The venue's keys folder (proving_key.bin, verification_key.json from `venue init`)."),
        click.option("--db", "db", type=click.Path(dir_okay=False),
                     help="The venue's SQLite ledger (in process, without --venue)."),
    ]
    for option in reversed(options):
        func = option(func)
    return backend_option(func)


def open_venue_access(url: str | None, policy_path: str | None, keys_dir: str | None, db: str | None, backend: str | None):
    """The venue the options name; MalformedInput naming what is missing or does not go together."""
    needed = {"--policy": policy_path, "--keys": keys_dir, **({} if url else {"--db": db})}
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise MalformedInput(f"the venue needs {', '.join(missing)}" + (" (with --venue)" if url else " (or --venue URL)"))
    if url and db:
        raise MalformedInput("--db is for a venue in this process; with --venue the service keeps the ledger")
    if url:
        return RemoteVenue.open(url, policy_path, keys_dir, backend=backend)
    return LocalVenue.open(policy_path, keys_dir, db, backend=backend)


def _amount(value: str, what: str) -> int:
    units = parse_fixed(value, what)
    if not 0 < units < 1 << 64:
        raise MalformedInput(f"{what}: expected a positive amount below 2^64 units of 10^-8")
    return units


def _pair(value: tuple[str, str], what: str) -> tuple[str, int]:
    amount, asset = value
    return asset, _amount(amount, what)


def _run(wallet_path: str, venue_args: tuple, as_json: bool, action: Callable[[Wallet], dict[str, Any]]) -> None:
    """Open the venue and the wallet, run ``action``; print its result or the refusal (exit 1)."""
    venue = open_venue_access(*venue_args)
    try:
        with open_wallet(wallet_path, venue) as wallet:
            try:
                result = action(wallet)
            except (VenueRefused, TransitionRefused) as exc:
                reason = exc.reason
                message = exc.message if isinstance(exc, VenueRefused) else str(exc)
                for note in wallet.messages:
                    click.echo(note, err=True)
                if as_json:
                    emit_json({"accepted": False, "reason": reason, "message": message})
                else:
                    click.echo(f"refused ({reason}): {message}")
                sys.exit(EXIT_INVALID)
            for note in wallet.messages:
                click.echo(note, err=True)
            summary = _summary(wallet.state)
    finally:
        venue.close()
    if as_json:
        emit_json({**result, "wallet": summary})
    else:
        click.echo(result["text"])
        click.echo(f"  balances: {_balances_text(summary)}")


def _summary(state: WalletState) -> dict[str, Any]:
    """What ``show`` prints: never the spending key."""
    return {
        "venue": state.venue,
        "balances": {a: format_fixed(x) for a, x in state.balances().items()},
        "debts": {a: format_fixed(x) for a, x in state.debts().items() if x},
        "position": state.position,
        "nullifier": str(state.current_nullifier()) if state.note else None,
        "pending": [{"kind": p.kind, "reference": p.reference, "market": p.market, "expiry": p.expiry} for p in state.pending],
        "history": state.history,
    }


def _balances_text(summary: dict[str, Any]) -> str:
    return ", ".join(f"{x} {a}" for a, x in summary["balances"].items())


@click.group("wallet")
def wallet() -> None:
    """A trader's wallet at an escrow venue: deposit, withdraw, borrow, repay, trade, show.

    \b
    A trade takes two wallets and settles both legs or neither:
      1. B tells A its note's nullifier:  zkproofs wallet show --wallet b.json
      2. A proposes, writing a leg file (no secrets in it):
         zkproofs wallet trade --wallet a.json ... --propose --market BTC-USDC
             --give 1 BTC --get 27000 USDC --counterparty NULLIFIER_OF_B --out leg.json
      3. B accepts, restating what it gives and gets; this submits both legs:
         zkproofs wallet trade --wallet b.json ... --accept leg.json --give 27000 USDC --get 1 BTC
      4. A's wallet picks up its new note on its next command (e.g. show with the venue options).
    """


@wallet.command("new")
@wallet_option
@click.option("--policy", "policy_path", required=True, type=click.Path(dir_okay=False, exists=True),
              help="The venue's policy TOML: the wallet is bound to its name, assets and tree depth.")
@json_option
@reports_errors
def new_cmd(wallet_path: str, policy_path: str, as_json: bool) -> None:
    """Create a wallet with a fresh spending key (mode 0600; an existing file is never overwritten)."""
    policy = load_venue_policy(policy_path)
    state = create_wallet(wallet_path, policy)
    if as_json:
        emit_json({"wallet": wallet_path, **_summary(state)})
    else:
        click.echo(f"wallet {wallet_path} created for venue {policy.name} ({', '.join(policy.assets)}); "
                   "it holds your spending key: keep it private and backed up")


@wallet.command("deposit")
@wallet_option
@venue_options
@click.option("--reference", required=True, help="The transfer reference the operator registered (`venue register-transfer`).")
@click.option("--asset", required=True, help="The asset transferred (one of the venue's).")
@click.option("--amount", required=True, help="The amount transferred, a decimal string (at most 8 decimals).")
@ttl_option
@json_option
@reports_errors
def deposit_cmd(wallet_path, url, policy_path, keys_dir, db, backend, reference, asset, amount, ttl, as_json) -> None:
    """Credit a registered custody transfer to the wallet's note (proven; consumed once)."""
    units = _amount(amount, "--amount")

    def action(w: Wallet) -> dict[str, Any]:
        decision = w.deposit(reference, asset, units, ttl=ttl)
        return {**decision, "text": f"deposit {reference} applied: +{format_fixed(units)} {asset}; "
                                    f"note at position {decision['position']}"}

    _run(wallet_path, (url, policy_path, keys_dir, db, backend), as_json, action)


@wallet.command("withdraw")
@wallet_option
@venue_options
@click.option("--asset", required=True, help="The asset to pay out.")
@click.option("--amount", required=True, help="The amount to pay out, a decimal string (at most 8 decimals).")
@click.option("--destination", required=True, help="Where custody pays it (1-128 characters from A-Z a-z 0-9 . _ : -).")
@click.option("--withdrawal-id", default=None, help="An id for this withdrawal (default: a random one).")
@ttl_option
@json_option
@reports_errors
def withdraw_cmd(wallet_path, url, policy_path, keys_dir, db, backend, asset, amount, destination, withdrawal_id, ttl, as_json) -> None:
    """Pay collateral out; refused (exit 1) if the note holds less or the remainder misses the margin."""
    units = _amount(amount, "--amount")

    def action(w: Wallet) -> dict[str, Any]:
        decision = w.withdraw(asset, units, destination, withdrawal_id, ttl=ttl)
        payout = decision["payout"]
        return {**decision, "text": f"withdrawal {payout['withdrawal_id']} applied: {format_fixed(units)} {asset} "
                                    f"to {destination}; note at position {decision['position']}"}

    _run(wallet_path, (url, policy_path, keys_dir, db, backend), as_json, action)


@wallet.command("borrow")
@wallet_option
@venue_options
@click.option("--asset", required=True, help="The asset to borrow.")
@click.option("--amount", required=True, help="The amount to borrow, a decimal string (at most 8 decimals).")
@click.option("--destination", required=True, help="Where custody pays it (1-128 characters from A-Z a-z 0-9 . _ : -).")
@click.option("--borrow-id", default=None, help="An id for this borrow (default: a random one).")
@ttl_option
@json_option
@reports_errors
def borrow_cmd(wallet_path, url, policy_path, keys_dir, db, backend, asset, amount, destination, borrow_id, ttl, as_json) -> None:
    """Borrow against the note's collateral: its debt in ASSET rises and the amount is paid out.

    Refused (exit 1, BELOW_MARGIN) before any proof if the note would then miss the
    venue's ratio (collateral after haircuts against debt, at the venue's prices).
    """
    units = _amount(amount, "--amount")

    def action(w: Wallet) -> dict[str, Any]:
        decision = w.borrow(asset, units, destination, borrow_id, ttl=ttl)
        payout = decision["payout"]
        return {**decision, "text": f"borrow {payout['borrow_id']} applied: {format_fixed(units)} {asset} "
                                    f"to {destination}; note at position {decision['position']}"}

    _run(wallet_path, (url, policy_path, keys_dir, db, backend), as_json, action)


@wallet.command("repay")
@wallet_option
@venue_options
@click.option("--reference", required=True, help="The custody transfer the operator registered for this repayment.")
@click.option("--asset", required=True, help="The asset of the debt (and of the transfer).")
@click.option("--amount", required=True, help="The transfer's amount, a decimal string (at most 8 decimals).")
@ttl_option
@json_option
@reports_errors
def repay_cmd(wallet_path, url, policy_path, keys_dir, db, backend, reference, asset, amount, ttl, as_json) -> None:
    """Repay debt with a registered custody transfer: the note's debt in ASSET falls by its amount.

    Refused (exit 1) with REPAY_EXCEEDS_DEBT before any proof if the note owes less,
    and by the venue if the transfer is unknown, used, or of another amount or asset.
    """
    units = _amount(amount, "--amount")

    def action(w: Wallet) -> dict[str, Any]:
        decision = w.repay(reference, asset, units, ttl=ttl)
        return {**decision, "text": f"repayment {reference} applied: -{format_fixed(units)} {asset} of debt; "
                                    f"note at position {decision['position']}"}

    _run(wallet_path, (url, policy_path, keys_dir, db, backend), as_json, action)


@wallet.command("prove-health")
@wallet_option
@venue_options
@ttl_option
@json_option
@reports_errors
def prove_health_cmd(wallet_path, url, policy_path, keys_dir, db, backend, ttl, as_json) -> None:
    """Re-prove the note at the venue's maintenance ratio at the latest price epoch.

    A note that carries debt must do this after every price epoch, within the
    policy's grace period; the note keeps its amounts under a fresh salt. Refused
    (exit 1) with BELOW_MARGIN before any proof if the note no longer meets the
    maintenance ratio at the epoch's prices: repay debt or deposit collateral first.
    """

    def action(w: Wallet) -> dict[str, Any]:
        decision = w.prove_health(ttl=ttl)
        return {**decision, "text": f"health proven at epoch {decision['epoch']} (maintenance "
                                    f"{w.venue.policy.maintenance_ratio_bps / 100:.2f} %); note at position {decision['position']}"}

    _run(wallet_path, (url, policy_path, keys_dir, db, backend), as_json, action)


@wallet.command("trade")
@wallet_option
@venue_options
@click.option("--propose", is_flag=True, help="Prove this wallet's leg and write it to --out for the counterparty.")
@click.option("--accept", "accept_path", type=click.Path(dir_okay=False, exists=True),
              help="A leg file from the counterparty: prove the opposite leg and submit both.")
@click.option("--market", help="The market (with --propose), e.g. BTC-USDC.")
@click.option("--give", nargs=2, type=(str, str), metavar="AMOUNT ASSET", help="What this wallet gives, e.g. --give 1 BTC.")
@click.option("--get", "get_", nargs=2, type=(str, str), metavar="AMOUNT ASSET",
              help="What this wallet receives, e.g. --get 27000 USDC.")
@click.option("--counterparty", help="The counterparty's note nullifier from its `wallet show` (with --propose).")
@click.option("--settlement-id", default=None, help="The settlement id (with --propose; default: a random one).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="The leg file to write (with --propose).")
@ttl_option
@json_option
@reports_errors
def trade_cmd(wallet_path, url, policy_path, keys_dir, db, backend, propose, accept_path, market, give, get_, counterparty,
              settlement_id, out_path, ttl, as_json) -> None:
    """Settle a matched trade with another wallet: --propose, then the counterparty --accept (see `wallet --help`)."""
    if propose == bool(accept_path):
        raise MalformedInput("give exactly one of --propose and --accept LEGFILE")
    if not give or not get_:
        raise MalformedInput("--give AMOUNT ASSET and --get AMOUNT ASSET are required (the accepter restates its side)")
    give_pair, get_pair = _pair(give, "--give"), _pair(get_, "--get")
    if propose:
        missing = [name for name, value in (("--market", market), ("--counterparty", counterparty), ("--out", out_path)) if not value]
        if missing:
            raise MalformedInput(f"--propose needs {', '.join(missing)}")
        nf = decode_scalar(counterparty, what="--counterparty")

        def action(w: Wallet) -> dict[str, Any]:
            leg = w.propose_trade(market, give_pair, get_pair, nf, settlement_id, ttl=ttl)
            atomic_write_text(out_path, _json(leg))
            sid = leg["leg"]["reference"]
            return {"settlement_id": sid, "leg_file": out_path, "status": "PROPOSED",
                    "text": f"leg of settlement {sid} written to {out_path}: give it to the counterparty "
                            f"to accept (expires at {leg['leg']['expiry']})"}
    else:
        leg_doc = read_json(accept_path)

        def action(w: Wallet) -> dict[str, Any]:
            decision = w.accept_trade(leg_doc, give_pair, get_pair)
            delta = {give_pair[0]: -give_pair[1], get_pair[0]: get_pair[1]}
            return {**decision, "text": f"settlement {decision['settlement_id']} applied ({decision['reason']}): "
                                        f"{delta_text(list(delta), list(delta.values()))} for this wallet"}

    _run(wallet_path, (url, policy_path, keys_dir, db, backend), as_json, action)


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=1) + "\n"


@wallet.command("show")
@wallet_option
@venue_options
@json_option
@reports_errors
def show_cmd(wallet_path, url, policy_path, keys_dir, db, backend, as_json) -> None:
    """Balances, the note's nullifier (for a counterparty), pending transitions and history.

    With the venue options it first picks up notes the venue has accepted since
    (e.g. a trade the counterparty settled); without, it shows the file as it is.
    """
    if any((url, policy_path, keys_dir, db)):
        venue = open_venue_access(url, policy_path, keys_dir, db, backend)
        try:
            with open_wallet(wallet_path, venue) as w:
                state, messages = w.state, w.messages
        finally:
            venue.close()
    else:
        state, messages = load_wallet(wallet_path), []
    for note in messages:
        click.echo(note, err=True)
    summary = _summary(state)
    if as_json:
        emit_json(summary)
        return
    click.echo(f"wallet {Path(wallet_path)} at venue {state.venue}")
    click.echo(f"  balances:  {_balances_text(summary)}")
    if summary["debts"]:
        click.echo(f"  debts:     {', '.join(f'{x} {a}' for a, x in summary['debts'].items())}")
    if state.note is not None:
        click.echo(f"  note:      position {state.position}; nullifier {summary['nullifier']} (a counterparty needs it to propose a trade)")
    for p in summary["pending"]:
        click.echo(f"  pending:   {p['kind']} {p['reference']} ({p['market']}, expires {p['expiry']})")
    click.echo(f"  history:   {len(state.history)} transition(s)")
    for h in state.history:
        click.echo(f"    {h['kind']} {h['reference']}: {delta_text(list(h['delta']), [int(v) for v in h['delta'].values()])}")
