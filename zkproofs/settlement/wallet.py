"""The trader's wallet: spending key, note opening, pending transitions and history in one owner-only file.

A wallet holds one margin note at one venue (the model: :mod:`zkproofs.settlement.notes`)
and proves every change to it with ``valid_transition``
(:mod:`zkproofs.settlement.transition`): deposits of operator-registered transfers,
withdrawals with a payout, and trade legs settled two at a time, at a venue in this
process (:class:`LocalVenue`) or behind its HTTP service (:class:`RemoteVenue`).

File (JSON, written atomically, mode 0600; refused when group or others may read
or write it, as ssh refuses a private key)::

    {"format": "zkproofs-wallet", "version": 1,
     "venue": {"name", "assets": [...], "tree_depth"},
     "spending_key": decimal string,
     "note": null | {"collateral": [units...], "debt": [units...], "salt", "position"},
     "pending": [{"kind", "reference", "market", "expiry", "nullifier", "new_note": {...}}],
     "history": [{"kind", "reference", "market", "delta": {asset: signed units}, "position", "at"}]}

Amounts are decimal strings of 10^-8 units. The spending key is never printed:
:class:`~zkproofs.settlement.notes.OwnerKeys` hides it from ``repr`` and nothing
here formats it except :func:`wallet_to_json`.

Crash safety: the opening of a new note is written to ``pending`` *before* its
transition is submitted, so a wallet that dies after the venue accepted but
before it heard back finds the note again (:meth:`Wallet.sync` looks its
commitment up at the venue). A transition the venue refused is removed from
``pending`` and the file is as it was.

Trades take two wallets (the venue settles both legs or neither):

1. the counterparty B gives A the nullifier of its current note (``wallet show``);
2. A proposes: proves its leg naming B's nullifier and writes a leg file
   (public data only) -> :meth:`Wallet.propose_trade`;
3. B accepts: checks that the leg names its note and gives exactly what B
   expects to receive, proves the opposite leg naming A's nullifier, and submits
   both -> :meth:`Wallet.accept_trade`;
4. A's wallet adopts its new note at the next sync (it reads the settlement's
   record with its receipt, :meth:`~zkproofs.settlement.venue.Venue.settlement_status`).

A proposal is void once A's note is spent otherwise (its nullifier is then recorded).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

from zkproofs.atomic import atomic_write_text
from zkproofs.errors import MalformedInput
from zkproofs.field import decode_scalar
from zkproofs.groth16 import ProvingKey
from zkproofs.groth16.serialize import pk_from_bytes, vk_hash
from zkproofs.jsontext import loads
from zkproofs.settlement.note_tree import MembershipPath, root_from_path
from zkproofs.settlement.notes import AMOUNT_BITS, Note, OwnerKeys, liquidation_salt, nullifier
from nacl.public import PublicKey

from zkproofs.settlement.epochs import EpochRefused, PriceEpoch, check_signed
from zkproofs.settlement.material import public_key_from_hex, seal_material
from zkproofs.settlement.transition import (
    Kind,
    TransitionRefused,
    build_transition,
    check_name,
    field_to_signed,
    prove_transition,
    receipt_hash,
    receipt_secret,
    transition_context,
    transition_request,
)
from zkproofs.settlement.units import format_fixed
from zkproofs.settlement.venue import PROVING_KEY_FILE, SEALING_PUBLIC_KEY_FILE, Venue, open_venue
from zkproofs.settlement.venue_policy import VenuePolicy, load_venue_policy

WALLET_FORMAT = "zkproofs-wallet"
LEG_FORMAT = "zkproofs-trade-leg"
VERSION = 1
DEFAULT_TTL_SECONDS = 600


class WalletError(MalformedInput):
    """A wallet file that cannot be used (missing, unreadable, corrupt, too permissive, another venue's)."""


class VenueRefused(Exception):
    """The venue refused a transition: ``reason`` is its reason code; the wallet is unchanged."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"refused ({reason}): {message}")
        self.reason, self.message = reason, message


# --- the venue, as the wallet sees it -------------------------------------------------
class VenueAccess(Protocol):
    """What a wallet needs from a venue (in process: :class:`LocalVenue`; over HTTP: :class:`RemoteVenue`)."""

    policy: VenuePolicy
    proving_key: ProvingKey
    sealing_key: PublicKey | None
    """The venue's X25519 key a note's liquidation material is sealed to (None: the venue takes no loans)."""

    def epoch(self) -> PriceEpoch | None:
        """The venue's latest price epoch with its signed quotes (None before the first); the wallet
        checks the signatures against its own copy of the policy's oracle keys before using it."""
        ...

    def membership_path(self, position: int) -> tuple[MembershipPath, int]:
        """(path, anchor) of the note at ``position`` against the current root."""
        ...

    def submit(self, kind: str, body: dict, other: dict | None = None) -> dict:
        """Submit a deposit, withdrawal, borrow, repayment, health proof or (with ``other``) a two-leg settlement; the decision as a dict
        (``accepted``, ``reason``, ``message`` and the record)."""
        ...

    def settlement_status(self, settlement_id: str, receipt: int) -> dict | None:
        """The settlement's record for a party presenting its receipt, or None."""
        ...

    def note_position(self, commitment: int, after: int = -1) -> int | None:
        """Where (after position ``after``) the note with ``commitment`` was appended, or None if the
        venue never accepted it."""
        ...

    def liquidation(self, nullifier_value: int) -> dict | None:
        """The record of the liquidation that spent the note revealing ``nullifier_value`` (``position``,
        ``new_commitment``, ``seized`` and ``repaid`` per asset), or None."""
        ...

    def close(self) -> None: ...


class LocalVenue:
    """A venue in this process (``--policy``, ``--keys``, ``--db``, as ``zkproofs venue`` and ``serve`` open it).

    The proving key is ``KEYS/proving_key.bin`` and must be the venue's key
    (MalformedInput otherwise).
    """

    def __init__(self, venue: Venue, proving_key: ProvingKey):
        if vk_hash(proving_key.vk) != vk_hash(venue.vk):
            raise MalformedInput("the proving key is not the venue's key (its verification key differs)")
        self.venue, self.policy, self.proving_key = venue, venue.policy, proving_key
        self.sealing_key = None if venue.sealing_key is None else venue.sealing_key.public_key

    @classmethod
    def open(cls, policy_path: str | os.PathLike, keys_dir: str | os.PathLike, db: str | os.PathLike,
             *, backend: str | None = None) -> "LocalVenue":
        if not Path(db).is_file():
            raise MalformedInput(f"--db {db}: no such ledger")
        venue = open_venue(policy_path, keys_dir, db, backend=backend)
        path = Path(keys_dir) / PROVING_KEY_FILE
        try:
            data = path.read_bytes()
        except OSError as exc:
            venue.ledger.close()
            raise MalformedInput(f"{path}: {exc.strerror}") from None
        try:
            return cls(venue, pk_from_bytes(data, backend=backend, where=str(path)))
        except BaseException:
            venue.ledger.close()
            raise

    def epoch(self) -> PriceEpoch | None:
        return self.venue.current_epoch()

    def membership_path(self, position: int) -> tuple[MembershipPath, int]:
        return self.venue.ledger.membership_path(position)

    def submit(self, kind: str, body: dict, other: dict | None = None) -> dict:
        if kind == "trade":
            return self.venue.settle(body, other).to_dict()
        return {"deposit": self.venue.deposit, "withdraw": self.venue.withdraw, "borrow": self.venue.borrow,
                "repay": self.venue.repay, "health": self.venue.health}[kind](body).to_dict()

    def settlement_status(self, settlement_id: str, receipt: int) -> dict | None:
        return self.venue.settlement_status(settlement_id, receipt=receipt)

    def note_position(self, commitment: int, after: int = -1) -> int | None:
        rows = self.venue.ledger.query("SELECT position FROM transitions WHERE new_commitment = ? AND position > ?",
                                       (str(commitment), after))
        return rows[0][0] if rows else None

    def liquidation(self, nullifier_value: int) -> dict | None:
        return self.venue.liquidation_record(nullifier_value)

    def close(self) -> None:
        self.venue.ledger.close()


class RemoteVenue:
    """A venue behind its HTTP service (``--venue URL``), through :class:`~zkproofs.settlement.client.VenueClient`.

    The trader brings the venue's published files: its policy (assets, margin,
    markets, oracle keys) and proving key. Prices come from the venue's latest
    epoch, whose oracle signatures the wallet checks against the policy's keys.
    A note whose response was lost is found by checking, position by position from
    the wallet's last note, whether the venue's membership path of that position
    leads from the note's commitment to the venue's root (O(notes appended since) requests).
    """

    def __init__(self, client: Any, policy: VenuePolicy, proving_key: ProvingKey, sealing_key: PublicKey | None = None):
        self.client, self.policy, self.proving_key, self.sealing_key = client, policy, proving_key, sealing_key

    @classmethod
    def open(cls, url: str, policy_path: str | os.PathLike, keys_dir: str | os.PathLike,
             *, backend: str | None = None, timeout: float = 60.0) -> "RemoteVenue":
        """The venue at ``url`` with the trader's copies of its policy and proving key (``KEYS/proving_key.bin``)."""
        from zkproofs.settlement.client import VenueClient

        if not url.startswith(("http://", "https://")):
            raise MalformedInput(f"--venue {url!r}: expected an http:// or https:// URL")
        policy = load_venue_policy(policy_path)
        path = Path(keys_dir) / PROVING_KEY_FILE
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MalformedInput(f"{path}: {exc.strerror}") from None
        sealing_path = Path(keys_dir) / SEALING_PUBLIC_KEY_FILE
        sealing = public_key_from_hex(sealing_path.read_text(), str(sealing_path)) if sealing_path.is_file() else None
        return cls(VenueClient(url, timeout=timeout), policy, pk_from_bytes(data, backend=backend, where=str(path)), sealing)

    def epoch(self) -> PriceEpoch | None:
        return self.client.latest_epoch()

    def membership_path(self, position: int) -> tuple[MembershipPath, int]:
        return self.client.membership_path(position)

    def submit(self, kind: str, body: dict, other: dict | None = None) -> dict:
        if kind == "trade":
            return self.client.settle(body, other).to_dict()
        return {"deposit": self.client.deposit, "withdraw": self.client.withdraw, "borrow": self.client.borrow,
                "repay": self.client.repay, "health": self.client.health_proof}[kind](body).to_dict()

    def settlement_status(self, settlement_id: str, receipt: int) -> dict | None:
        return self.client.settlement_status(settlement_id, receipt=receipt)

    def note_position(self, commitment: int, after: int = -1) -> int | None:
        size = int(self.client.roots(1)["current"]["size"])
        for position in range(after + 1, size):
            path, root = self.client.membership_path(position)
            if root_from_path(commitment, path) == root:
                return position
        return None

    def liquidation(self, nullifier_value: int) -> dict | None:
        return self.client.liquidation(nullifier_value)

    def close(self) -> None:
        self.client.close()


# --- the file --------------------------------------------------------------------------
@dataclass
class Pending:
    """A transition proven and (about to be) submitted whose new note the wallet has not adopted yet."""

    kind: str
    reference: str
    market: str
    expiry: int
    nullifier: int
    """Of the note it spends (0 for a first deposit)."""
    new_note: Note


@dataclass
class WalletState:
    """The contents of a wallet file (layout in the module docstring)."""

    venue: str
    assets: tuple[str, ...]
    tree_depth: int
    keys: OwnerKeys
    note: Note | None = None
    position: int | None = None
    pending: list[Pending] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def current_nullifier(self) -> int:
        """The nullifier the current note will reveal when spent (0 if the wallet has no note yet)."""
        if self.note is None:
            return 0
        return nullifier(self.keys.nk, self.position, self.note.commitment())

    def balances(self) -> dict[str, int]:
        """Collateral per asset (10^-8 units)."""
        amounts = self.note.collateral if self.note else (0,) * len(self.assets)
        return dict(zip(self.assets, amounts))

    def debts(self) -> dict[str, int]:
        """Debt per asset (10^-8 units)."""
        amounts = self.note.debt if self.note else (0,) * len(self.assets)
        return dict(zip(self.assets, amounts))


def _note_to_dict(note: Note, position: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"collateral": [str(x) for x in note.collateral], "debt": [str(x) for x in note.debt],
                           "salt": str(note.salt)}
    if position is not None:
        out["position"] = position
    return out


def wallet_to_json(state: WalletState) -> str:
    """The wallet file's text (the only place the spending key is written)."""
    doc = {
        "format": WALLET_FORMAT,
        "version": VERSION,
        "venue": {"name": state.venue, "assets": list(state.assets), "tree_depth": state.tree_depth},
        "spending_key": str(state.keys.sk),
        "note": None if state.note is None else _note_to_dict(state.note, state.position),
        "pending": [{"kind": p.kind, "reference": p.reference, "market": p.market, "expiry": p.expiry,
                     "nullifier": str(p.nullifier), "new_note": _note_to_dict(p.new_note)} for p in state.pending],
        "history": state.history,
    }
    return json.dumps(doc, indent=1) + "\n"


def _obj(value: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WalletError(f"{where}: expected an object")
    if set(value) != keys:
        extra, missing = set(value) - keys, keys - set(value)
        raise WalletError(f"{where}: " + (f"unexpected field {sorted(extra)[0]!r}" if extra else f"missing field {sorted(missing)[0]!r}"))
    return value


def _int(value: Any, where: str, lo: int = 0, hi: int = 1 << 63) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value < hi:
        raise WalletError(f"{where}: expected an integer in [{lo}, {hi})")
    return value


def _scalar(value: Any, where: str) -> int:
    if not isinstance(value, str):
        raise WalletError(f"{where}: expected a decimal string")
    try:
        return decode_scalar(value, what=where)
    except MalformedInput as exc:
        raise WalletError(str(exc)) from None


def _note_from_dict(value: Any, pk: int, assets: int, where: str, *, positioned: bool) -> tuple[Note, int | None]:
    keys = {"collateral", "debt", "salt"} | ({"position"} if positioned else set())
    obj = _obj(value, keys, where)
    amounts = {}
    for side in ("collateral", "debt"):
        raw = obj[side]
        if not isinstance(raw, list) or len(raw) != assets:
            raise WalletError(f"{where}.{side}: expected {assets} amounts")
        amounts[side] = tuple(_scalar(x, f"{where}.{side}[{i}]") for i, x in enumerate(raw))
        if any(x >= 1 << AMOUNT_BITS for x in amounts[side]):
            raise WalletError(f"{where}.{side}: an amount is not in [0, 2^64)")
    note = Note(pk=pk, collateral=amounts["collateral"], debt=amounts["debt"], salt=_scalar(obj["salt"], f"{where}.salt"))
    return note, (_int(obj["position"], f"{where}.position") if positioned else None)


def wallet_from_json(data: bytes, where: str) -> WalletState:
    """Decode a wallet file strictly; WalletError naming the file and field."""
    try:
        doc = loads(data, where)
    except MalformedInput as exc:
        raise WalletError(f"{where}: corrupt wallet file ({exc})") from None
    doc = _obj(doc, {"format", "version", "venue", "spending_key", "note", "pending", "history"}, where)
    if doc["format"] != WALLET_FORMAT or doc["version"] != VERSION:
        raise WalletError(f"{where}: not a {WALLET_FORMAT} file of version {VERSION}")
    venue = _obj(doc["venue"], {"name", "assets", "tree_depth"}, f"{where}: venue")
    try:
        name = check_name(venue["name"], f"{where}: venue.name")
        if not isinstance(venue["assets"], list) or not venue["assets"]:
            raise WalletError(f"{where}: venue.assets: expected a list of asset names")
        assets = tuple(check_name(a, f"{where}: venue.assets[{i}]") for i, a in enumerate(venue["assets"]))
        keys = OwnerKeys.from_spending_key(_scalar(doc["spending_key"], f"{where}: spending_key"))
    except WalletError:
        raise
    except MalformedInput as exc:
        raise WalletError(str(exc)) from None
    state = WalletState(name, assets, _int(venue["tree_depth"], f"{where}: venue.tree_depth", 1, 65), keys)
    if doc["note"] is not None:
        state.note, state.position = _note_from_dict(doc["note"], keys.pk, len(assets), f"{where}: note", positioned=True)
    if not isinstance(doc["pending"], list) or not isinstance(doc["history"], list):
        raise WalletError(f"{where}: pending and history must be lists")
    for i, raw in enumerate(doc["pending"]):
        at = f"{where}: pending[{i}]"
        p = _obj(raw, {"kind", "reference", "market", "expiry", "nullifier", "new_note"}, at)
        if p["kind"] not in ("deposit", "withdraw", "trade", "borrow", "repay") or not isinstance(p["reference"], str) or not isinstance(p["market"], str):
            raise WalletError(f"{at}: bad kind, reference or market")
        note, _ = _note_from_dict(p["new_note"], keys.pk, len(assets), f"{at}.new_note", positioned=False)
        state.pending.append(Pending(p["kind"], p["reference"], p["market"], _int(p["expiry"], f"{at}.expiry"),
                                     _scalar(p["nullifier"], f"{at}.nullifier"), note))
    if not all(isinstance(h, dict) for h in doc["history"]):
        raise WalletError(f"{where}: history entries must be objects")
    state.history = doc["history"]
    return state


def _check_private(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise WalletError(f"{path}: no such wallet (create one with `zkproofs wallet new`)") from None
    except OSError as exc:
        raise WalletError(f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise WalletError(f"{path}: not a regular file")
    if mode & 0o077:
        raise WalletError(f"{path}: permissions {stat.S_IMODE(mode):04o} let others read or change the spending key; "
                          f"refusing to use it (chmod 600 {path})")


def load_wallet(path: str | os.PathLike) -> WalletState:
    """Read the wallet at ``path``; WalletError if missing, group/world accessible or corrupt."""
    path = Path(path)
    _check_private(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WalletError(f"{path}: {exc.strerror}") from None
    return wallet_from_json(data, str(path))


def save_wallet(path: str | os.PathLike, state: WalletState) -> None:
    """Write the wallet atomically with mode 0600 (the temporary file is created 0600, then renamed)."""
    path = Path(path)
    atomic_write_text(path, wallet_to_json(state))
    os.chmod(path, 0o600)


@contextmanager
def wallet_lock(path: str | os.PathLike) -> Iterator[None]:
    """Exclusive lock on the wallet (``WALLET.lock`` beside it, flock) for one command: two
    commands on one wallet never interleave their read-prove-submit-write."""
    lock = Path(f"{path}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def create_wallet(path: str | os.PathLike, policy: VenuePolicy) -> WalletState:
    """A new wallet for the venue of ``policy`` with a fresh spending key; WalletError if ``path`` exists."""
    path = Path(path)
    state = WalletState(policy.name, policy.assets, policy.tree_depth, OwnerKeys.generate())
    with wallet_lock(path):
        if path.exists():
            raise WalletError(f"{path}: already exists (a wallet is never overwritten)")
        save_wallet(path, state)
    return state


# --- operations -------------------------------------------------------------------------
def _signed(value: Any, where: str) -> int:
    if not isinstance(value, str):
        raise WalletError(f"{where}: expected a decimal string")
    body = value[1:] if value.startswith("-") else value
    return (-1 if value.startswith("-") else 1) * _scalar(body, where)


def delta_text(assets: Sequence[str], delta: Sequence[int]) -> str:
    """``+1.5 BTC, -27000 USDC`` (nonzero entries)."""
    return ", ".join(f"{'+' if d > 0 else '-'}{format_fixed(abs(d))} {a}" for a, d in zip(assets, delta) if d) or "nothing"


@dataclass
class Wallet:
    """One open wallet file and the venue it talks to (use :func:`open_wallet`)."""

    path: Path
    state: WalletState
    venue: VenueAccess
    clock: Any = time.time
    messages: list[str] = field(default_factory=list)
    """What :meth:`sync` found (notes adopted, proposals void), for the CLI to print."""

    def save(self) -> None:
        save_wallet(self.path, self.state)

    # helpers -------------------------------------------------------------------
    def _delta(self, changes: dict[str, int]) -> list[int]:
        delta = [0] * len(self.state.assets)
        for asset, amount in changes.items():
            if asset not in self.state.assets:
                raise MalformedInput(f"asset {asset!r} is not one of the venue's {list(self.state.assets)}")
            delta[self.state.assets.index(asset)] += amount
        return delta

    def epoch(self) -> PriceEpoch:
        """The venue's latest price epoch, its oracle signatures checked against this wallet's copy of the
        policy (a venue cannot make the wallet prove at prices the oracles did not sign). MalformedInput
        before the first epoch or for an epoch that does not check."""
        epoch = self.venue.epoch()
        if epoch is None:
            raise MalformedInput("the venue has no price epoch yet (its oracles have not published one)")
        try:
            return check_signed(self.venue.policy.oracles, epoch)
        except EpochRefused as exc:
            raise MalformedInput(f"the venue's price epoch {epoch.sequence} is not signed by the policy's oracles: {exc}") from None

    def _prove(self, kind: Kind, market: str, reference: str, delta: list[int], expiry: int, *,
               counterparty: int = 0, destination: str = "-", debt_delta: list[int] | None = None) -> tuple[dict, Pending]:
        """Build and prove a transition of the current note at the latest epoch's prices; TransitionRefused
        before any proof if the new note would leave [0, 2^64) or fall under the kind's ratio."""
        st, policy = self.state, self.venue.policy
        epoch = self.epoch()
        old = None
        if st.note is not None:
            path, anchor = self.venue.membership_path(st.position)
            old = (st.note, path, anchor)
        nf = st.current_nullifier()
        receipt = receipt_hash(receipt_secret(st.keys.nk, nf))
        ctx = transition_context(kind, market, reference, expiry, counterparty, destination, receipt, epoch=epoch.sequence)
        prices = [epoch.prices[asset] for asset in policy.assets]
        t = build_transition(st.keys, old, delta, debt_delta or [0] * len(delta), prices, list(policy.haircut_bps),
                             policy.ratio_for(kind.name.lower()), ctx, depth=policy.tree_depth, assets=policy.assets)
        carries_debt = any(t.new_note.debt) or (st.note is not None and any(st.note.debt))
        if carries_debt and self.venue.sealing_key is None:
            raise MalformedInput("the venue publishes no sealing key (KEYS/sealing_public_key): it takes no loans")
        proof, public = prove_transition(self.venue.proving_key, t)
        body = transition_request(kind, market, reference, expiry, proof, public, self.venue.proving_key.vk, epoch=epoch.sequence,
                                  counterparty_nullifier=counterparty, destination=destination, receipt=receipt)
        if carries_debt:  # the venue must be able to liquidate the new note: its opening and (ak, nk), sealed to it
            body["material"] = seal_material(self.venue.sealing_key, st.keys.ak, st.keys.nk, t.new_note)
        return body, Pending(kind.name.lower(), reference, market, expiry, nf, t.new_note)

    def _adopt(self, pending: Pending, position: int) -> None:
        st = self.state
        old = st.note or Note.empty(st.keys.pk, len(st.assets))
        delta = [n - o for n, o in zip(pending.new_note.collateral, old.collateral)]
        debt = [n - o for n, o in zip(pending.new_note.debt, old.debt)]
        st.note, st.position = pending.new_note, position
        st.pending = [p for p in st.pending if p is not pending and p.nullifier != pending.nullifier]
        entry = {"kind": pending.kind, "reference": pending.reference, "market": pending.market,
                 "delta": {a: str(d) for a, d in zip(st.assets, delta) if d}, "position": position, "at": int(self.clock())}
        if any(debt):
            entry["debt_delta"] = {a: str(d) for a, d in zip(st.assets, debt) if d}
        st.history.append(entry)

    def _submit(self, pending: Pending, body: dict, other: dict | None = None) -> dict:
        """Record ``pending``, submit, then adopt its note or forget it. VenueRefused on refusal."""
        self.state.pending.append(pending)
        self.save()
        decision = self.venue.submit(pending.kind, body, other)  # on an error the pending entry stays for the next sync
        if not decision.get("accepted"):
            self.state.pending.remove(pending)
            self.sync()
            self.save()
            raise VenueRefused(decision.get("reason", "?"), decision.get("message", ""))
        if pending.kind == "trade":
            cm = str(pending.new_note.commitment())
            position = next(leg["position"] for leg in decision["legs"] if leg["new_commitment"] == cm)
        else:
            position = decision["position"]
        self._adopt(pending, position)
        self.save()
        return decision

    # public operations ---------------------------------------------------------------
    def sync(self) -> list[str]:
        """Adopt pending notes the venue accepted (looked up by commitment, trades by the
        settlement's record) and drop the ones that can no longer apply. Returns what it did."""
        st, found = self.state, []
        for p in list(st.pending):
            if p not in st.pending:
                continue  # dropped by an adoption of this loop
            position = None
            if p.kind == "trade":
                record = self.venue.settlement_status(p.reference, receipt_secret(st.keys.nk, p.nullifier))
                cm = str(p.new_note.commitment())
                legs = [leg for leg in (record or {}).get("legs", []) if leg["new_commitment"] == cm]
                position = legs[0]["position"] if legs else None
            else:
                position = self.venue.note_position(p.new_note.commitment(), -1 if st.position is None else st.position)
            if position is not None:
                self._adopt(p, position)
                found.append(f"{p.kind} {p.reference} was applied: the wallet now holds its note (position {position})")
            elif p.nullifier != st.current_nullifier() or p.kind != "trade":
                st.pending.remove(p)  # spent otherwise (void), or a deposit/withdrawal the venue never accepted
                found.append(f"{p.kind} {p.reference} did not apply and is dropped")
        self.messages.extend(found)
        return found

    def check_liquidated(self) -> str | None:
        """If the venue liquidated the current note (it carries debt, so the venue holds its material),
        adopt the remainder it left this wallet: the collateral not seized, no debt, under the salt
        P(nk, nullifier) (checked against the venue's record). Returns what happened, or None."""
        st = self.state
        if st.note is None or not any(st.note.debt):
            return None
        nf = st.current_nullifier()
        record = self.venue.liquidation(nf)
        if record is None:
            return None
        seized = [int(record["seized"].get(a, 0)) for a in st.assets]
        left = Note(st.keys.pk, tuple(c - x for c, x in zip(st.note.collateral, seized)), (0,) * len(st.assets),
                    liquidation_salt(st.keys.nk, nf))
        if str(left.commitment()) != str(record["new_commitment"]):
            raise WalletError(f"{self.path}: the venue's liquidation record does not match this wallet's note")
        st.history.append({"kind": "liquidated", "reference": f"liq-{st.position}", "market": st.venue,
                           "delta": {a: str(-x) for a, x in zip(st.assets, seized) if x},
                           "debt_delta": {a: str(-d) for a, d in zip(st.assets, st.note.debt) if d},
                           "position": record["position"], "at": int(self.clock())})
        st.note, st.position = left, record["position"]
        message = (f"the venue liquidated the note: debt repaid with {delta_text(st.assets, [-x for x in seized])}; "
                   f"the remainder is at position {record['position']}")
        self.messages.append(message)
        return message

    def deposit(self, reference: str, asset: str, amount: int, *, ttl: int = DEFAULT_TTL_SECONDS) -> dict:
        """Credit the registered transfer ``reference`` (``amount`` units of ``asset``) to the note."""
        check_name(reference, "transfer reference")
        body, pending = self._prove(Kind.DEPOSIT, self.venue.policy.name, reference, self._delta({asset: amount}),
                                    self._expiry(ttl))
        return self._submit(pending, body)

    def withdraw(self, asset: str, amount: int, destination: str, withdrawal_id: str | None = None, *,
                 ttl: int = DEFAULT_TTL_SECONDS) -> dict:
        """Pay ``amount`` units of ``asset`` out to ``destination``; the remainder must hold the margin."""
        if self.state.note is None:
            raise TransitionRefused("INSUFFICIENT_BALANCE", "the wallet holds no note yet (deposit first)")
        reference = check_name(withdrawal_id or f"w-{secrets.token_hex(8)}", "withdrawal id")
        check_name(destination, "destination")
        body, pending = self._prove(Kind.WITHDRAW, self.venue.policy.name, reference, self._delta({asset: -amount}),
                                    self._expiry(ttl), destination=destination)
        return self._submit(pending, body)

    def borrow(self, asset: str, amount: int, destination: str, borrow_id: str | None = None, *,
               ttl: int = DEFAULT_TTL_SECONDS) -> dict:
        """Borrow ``amount`` units of ``asset``, paid out to ``destination``: the note's debt in it
        rises by ``amount`` and the note must still meet the venue's ratio (BELOW_MARGIN otherwise,
        before any proof)."""
        if self.state.note is None:
            raise TransitionRefused("INSUFFICIENT_BALANCE", "the wallet holds no note yet (deposit collateral first)")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise MalformedInput("the amount to borrow must be positive")
        reference = check_name(borrow_id or f"b-{secrets.token_hex(8)}", "borrow id")
        check_name(destination, "destination")
        body, pending = self._prove(Kind.BORROW, self.venue.policy.name, reference, [0] * len(self.state.assets),
                                    self._expiry(ttl), destination=destination, debt_delta=self._delta({asset: amount}))
        return self._submit(pending, body)

    def repay(self, reference: str, asset: str, amount: int, *, ttl: int = DEFAULT_TTL_SECONDS) -> dict:
        """Repay ``amount`` units of the note's ``asset`` debt with the registered transfer ``reference``
        (paid in to custody). REPAY_EXCEEDS_DEBT before any proof if the note owes less."""
        check_name(reference, "transfer reference")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise MalformedInput("the amount to repay must be positive")
        debt_delta = self._delta({asset: -amount})  # MalformedInput for an asset the venue does not list
        owed = self.state.debts()[asset]
        if amount > owed:
            raise TransitionRefused("REPAY_EXCEEDS_DEBT", f"the note owes {format_fixed(owed)} {asset}; "
                                                          f"a repayment of {format_fixed(amount)} would leave a negative debt")
        body, pending = self._prove(Kind.REPAY, self.venue.policy.name, reference, [0] * len(self.state.assets),
                                    self._expiry(ttl), debt_delta=debt_delta)
        return self._submit(pending, body)

    def prove_health(self, *, ttl: int = DEFAULT_TTL_SECONDS) -> dict:
        """Re-prove the note at the venue's maintenance ratio at the latest epoch's prices (a zero-delta
        transition with a fresh salt). BELOW_MARGIN before any proof if the note no longer meets it:
        repay or deposit collateral first."""
        if self.state.note is None:
            raise TransitionRefused("INSUFFICIENT_BALANCE", "the wallet holds no note yet")
        zero = [0] * len(self.state.assets)
        body, pending = self._prove(Kind.HEALTH, self.venue.policy.name, f"h-{secrets.token_hex(8)}", zero, self._expiry(ttl))
        return self._submit(pending, body)

    def propose_trade(self, market: str, give: tuple[str, int], get: tuple[str, int], counterparty_nullifier: int,
                      settlement_id: str | None = None, *, ttl: int = DEFAULT_TTL_SECONDS) -> dict:
        """Prove this wallet's leg (give ``give``, receive ``get``) naming the counterparty's nullifier;
        returns the leg file (public data only) for the counterparty to accept."""
        self._check_market(market, give, get)
        if self.state.note is None:
            raise TransitionRefused("INSUFFICIENT_BALANCE", "the wallet holds no note yet (deposit first)")
        sid = check_name(settlement_id or f"t-{secrets.token_hex(8)}", "settlement id")
        delta = self._delta({give[0]: -give[1]})
        delta[self.state.assets.index(get[0])] += get[1]
        body, pending = self._prove(Kind.TRADE, market, sid, delta, self._expiry(ttl), counterparty=counterparty_nullifier)
        self.state.pending.append(pending)
        self.save()
        return {"format": LEG_FORMAT, "version": VERSION, "leg": body}

    def accept_trade(self, leg_file: Any, give: tuple[str, int], get: tuple[str, int]) -> dict:
        """Check the proposed leg against what this wallet accepts (it gives ``give`` and receives
        ``get``: exactly the opposite of the proposer's public deltas, naming this wallet's note),
        prove the opposite leg and submit both. VenueRefused if the venue refuses."""
        leg = parse_leg_file(leg_file)
        market, sid, expiry = leg["market"], leg["reference"], leg["expiry"]
        self._check_market(market, give, get)
        if self.state.note is None:
            raise TransitionRefused("INSUFFICIENT_BALANCE", "the wallet holds no note yet (deposit first)")
        mine = self.state.current_nullifier()
        if leg["counterparty_nullifier"] != str(mine):
            raise MalformedInput("the proposed leg names another note as its counterparty: give the proposer this "
                                 "wallet's current nullifier (`zkproofs wallet show`) and ask for a new leg")
        delta = self._delta({give[0]: -give[1]})
        delta[self.state.assets.index(get[0])] += get[1]
        public = leg["proof"].get("public_inputs", {}) if isinstance(leg["proof"], dict) else {}
        try:
            theirs = [field_to_signed(decode_scalar(public[f"collateral_delta[{i}]"], what="delta"))
                      for i in range(len(delta))]
            their_nf = decode_scalar(public["nullifier"], what="nullifier")
        except (KeyError, TypeError, MalformedInput):
            raise MalformedInput("the proposed leg's proof has no readable deltas and nullifier") from None
        if theirs != [-d for d in delta]:
            raise MalformedInput(f"the proposed leg is {delta_text(self.state.assets, theirs)} for its proposer; "
                                 f"accepting it would be {delta_text(self.state.assets, [-d for d in theirs])} for "
                                 f"this wallet, not the {delta_text(self.state.assets, delta)} given")
        if expiry <= self.clock():
            raise MalformedInput(f"the proposed leg expired at {expiry}")
        body, pending = self._prove(Kind.TRADE, market, sid, delta, expiry, counterparty=their_nf)
        return self._submit(pending, leg, body)

    def _check_market(self, market: str, give: tuple[str, int], get: tuple[str, int]) -> None:
        m = self.venue.policy.markets.get(market)
        if m is None:
            raise MalformedInput(f"unknown market {market!r} (the venue's: {', '.join(self.venue.policy.markets)})")
        pair = {self.venue.policy.assets[m.base], self.venue.policy.assets[m.quote]}
        if {give[0], get[0]} != pair or give[1] <= 0 or get[1] <= 0:
            raise MalformedInput(f"a {market} trade gives a positive amount of one of {sorted(pair)} and receives the other")

    def _expiry(self, ttl: int) -> int:
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= 86_400:
            raise MalformedInput("--ttl: expected seconds in [1, 86400]")
        return int(self.clock()) + ttl


def parse_leg_file(doc: Any) -> dict:
    """The leg of a ``zkproofs-trade-leg`` file (the venue's trade request body); MalformedInput otherwise."""
    if not isinstance(doc, dict) or doc.get("format") != LEG_FORMAT or doc.get("version") != VERSION or set(doc) != {"format", "version", "leg"}:
        raise MalformedInput(f"not a {LEG_FORMAT} file of version {VERSION}")
    leg = doc["leg"]
    if not isinstance(leg, dict) or leg.get("kind") != "trade" or not {"market", "reference", "expiry", "counterparty_nullifier", "proof"} <= set(leg):
        raise MalformedInput("the leg file holds no trade leg")
    if not isinstance(leg["expiry"], int) or isinstance(leg["expiry"], bool):
        raise MalformedInput("the leg's expiry is not an integer")
    return leg


@contextmanager
def open_wallet(path: str | os.PathLike, venue: VenueAccess, *, clock=time.time) -> Iterator[Wallet]:
    """Lock and load the wallet at ``path`` for ``venue`` and sync it (pending notes adopted);
    WalletError if the wallet belongs to another venue. The lock is held until exit; the
    caller closes the venue."""
    path = Path(path)
    _check_private(path)
    with wallet_lock(path):
        state = load_wallet(path)
        policy = venue.policy
        if (state.venue, state.assets, state.tree_depth) != (policy.name, policy.assets, policy.tree_depth):
            raise WalletError(f"{path}: a wallet of venue {state.venue!r} ({', '.join(state.assets)}, depth "
                              f"{state.tree_depth}), not of {policy.name!r}")
        wallet = Wallet(path, state, venue, clock)
        if state.pending and wallet.sync():
            wallet.save()
        if wallet.check_liquidated():
            wallet.save()
        yield wallet
