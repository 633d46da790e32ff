"""A client of the venue's HTTP service (:mod:`zkproofs.service`), mirroring :class:`~zkproofs.settlement.venue.Venue`.

A wallet talks to a remote venue through :class:`VenueClient` as it talks to a
local one: ``deposit(body)``, ``withdraw(body)``, ``settle(leg_a, leg_b)`` and
``register_transfer(reference, asset, amount)`` return the venue's
:class:`~zkproofs.settlement.venue.Decision` (accepted or refused with its
:class:`~zkproofs.settlement.venue.Reason`); ``membership_path(position)``
returns ``(MembershipPath, root)`` as ``VenueLedger.membership_path`` does;
``settlement_status(id, receipt=...)`` returns the record or None.

Anything that is not a venue decision raises :class:`VenueError` (a subclass of
ZkProofsError) with the HTTP status and the service's reason code: the service
unreachable or timing out (status 0, ``UNREACHABLE``), 401 ``UNAUTHORIZED``, 408
``BODY_TIMEOUT``, 413 ``TOO_LARGE``, 429 ``RATE_LIMITED`` (``retry_after`` seconds),
503 ``LEDGER_UNAVAILABLE``, an answer that is not the service's JSON. The client never
retries a POST by itself: after a lost answer, post the same settlement again
(the venue answers ``ALREADY_SETTLED`` with the record) or ask
``settlement_status``. The operator token is sent only to the operator endpoints
and never appears in an error message.
"""

from __future__ import annotations

from typing import Any

import httpx

from zkproofs.errors import MalformedInput, ZkProofsError
from zkproofs.field import decode_scalar
from zkproofs.settlement.epochs import PriceEpoch, epoch_from_json
from zkproofs.settlement.note_tree import MembershipPath
from zkproofs.settlement.venue import Decision, Reason

REASONS = {r.value for r in Reason}


class VenueError(ZkProofsError):
    """The service did not decide: ``status`` (0 when unreachable), ``reason`` code, ``retry_after`` seconds if given."""

    def __init__(self, status: int, reason: str, message: str, retry_after: int | None = None):
        super().__init__(f"venue answered {status} {reason}: {message}" if status else f"venue {reason}: {message}")
        self.status, self.reason, self.message, self.retry_after = status, reason, message, retry_after


class VenueClient:
    """The venue at ``base_url`` (e.g. ``http://127.0.0.1:8080``).

    ``operator_token``: the bearer token for ``register_transfer`` and for reading
    any settlement. ``timeout``: seconds per request. ``http``: an
    :class:`httpx.Client` to use instead of a new one (tests pass FastAPI's
    TestClient). Use as a context manager or call :meth:`close`.
    """

    def __init__(self, base_url: str = "", *, operator_token: str | bytes | None = None, timeout: float = 30.0,
                 http: httpx.Client | None = None):
        self._http = http if http is not None else httpx.Client(base_url=base_url, timeout=timeout)
        self._own = http is None
        token = operator_token.decode("ascii") if isinstance(operator_token, bytes) else operator_token
        self._operator = {"Authorization": f"Bearer {token}"} if token else {}

    def __enter__(self) -> "VenueClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self._http.close()

    # requests ------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise VenueError(0, "UNREACHABLE", f"{type(exc).__name__} on {method} {path}") from None

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise VenueError(response.status_code, "NOT_JSON", "the answer is not JSON") from None

    def _error(self, response: httpx.Response) -> VenueError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        retry = response.headers.get("retry-after")
        return VenueError(response.status_code, str(body.get("reason", "HTTP_ERROR")),
                          str(body.get("message", response.reason_phrase)),
                          int(retry) if retry is not None and retry.isdigit() else None)

    def _decision(self, response: httpx.Response) -> Decision:
        body = self._json(response)
        if not isinstance(body, dict) or body.get("reason") not in REASONS or not isinstance(body.get("accepted"), bool):
            raise self._error(response)
        record = {k: v for k, v in body.items() if k not in ("accepted", "reason", "message")}
        return Decision(body["accepted"], Reason(body["reason"]), str(body.get("message", "")), record)

    # traders -------------------------------------------------------------------
    def deposit(self, body: dict) -> Decision:
        """POST /deposits."""
        return self._decision(self._send("POST", "/deposits", json=body))

    def withdraw(self, body: dict) -> Decision:
        """POST /withdrawals."""
        return self._decision(self._send("POST", "/withdrawals", json=body))

    def borrow(self, body: dict) -> Decision:
        """POST /borrows."""
        return self._decision(self._send("POST", "/borrows", json=body))

    def repay(self, body: dict) -> Decision:
        """POST /repayments."""
        return self._decision(self._send("POST", "/repayments", json=body))

    def health_proof(self, body: dict) -> Decision:
        """POST /health-proofs."""
        return self._decision(self._send("POST", "/health-proofs", json=body))

    def publish_epoch(self, quotes: list[dict]) -> Decision:
        """POST /epochs with oracles' signed quotes (anyone may relay them: the signatures are the authority)."""
        return self._decision(self._send("POST", "/epochs", json={"quotes": quotes}))

    def liquidation(self, nullifier_value: int) -> dict | None:
        """GET /liquidations/{nullifier}: the record of the liquidation that spent that note, or None (404)."""
        response = self._send("GET", f"/liquidations/{int(nullifier_value)}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response)
        return self._json(response)

    def latest_epoch(self) -> PriceEpoch | None:
        """GET /epochs/latest: the epoch file with its signed quotes (check it with
        :func:`~zkproofs.settlement.epochs.check_signed` before using its prices); None before the first epoch."""
        response = self._send("GET", "/epochs/latest")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response)
        try:
            return epoch_from_json(response.content, "GET /epochs/latest")
        except MalformedInput as exc:
            raise VenueError(200, "NOT_JSON", f"the epoch answer does not have the epoch file's layout ({exc})") from None

    def settle(self, leg_a: dict, leg_b: dict) -> Decision:
        """POST /settlements with both legs."""
        return self._decision(self._send("POST", "/settlements", json={"legs": [leg_a, leg_b]}))

    def roots(self, limit: int = 10, before: int | None = None) -> dict[str, Any]:
        """GET /roots: {"current", "anchor_window", "recent", "next_before"} (roots as decimal strings, newest
        first; pass ``next_before`` as ``before`` for the next page)."""
        params = {"limit": limit, **({"before": before} if before is not None else {})}
        response = self._send("GET", "/roots", params=params)
        if response.status_code != 200:
            raise self._error(response)
        return self._json(response)

    def membership_path(self, position: int) -> tuple[MembershipPath, int]:
        """GET /notes/{position}/path: (path, the current root it leads to)."""
        response = self._send("GET", f"/notes/{int(position)}/path")
        if response.status_code != 200:
            raise self._error(response)
        body = self._json(response)
        try:
            levels = body["siblings"]
            if not isinstance(levels, list) or any(not isinstance(level, list) or len(level) != 3 for level in levels):
                raise ValueError("three siblings per level")
            siblings = tuple(tuple(decode_scalar(x, what="sibling") for x in level) for level in levels)
            return MembershipPath(int(body["position"]), siblings), decode_scalar(body["root"], what="root")
        except (KeyError, TypeError, ValueError, MalformedInput):
            raise VenueError(200, "NOT_JSON", "the path answer does not have the service's layout") from None

    def settlement_status(self, settlement_id: str, *, receipt: int | None = None) -> dict | None:
        """GET /settlements/{id} with the party's receipt (or, with an operator token, any); None for 404."""
        headers = dict(self._operator)
        if receipt is not None:
            headers["X-Receipt"] = str(receipt)
        response = self._send("GET", f"/settlements/{settlement_id}", headers=headers)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response)
        return self._json(response)

    def health(self) -> dict[str, Any]:
        """GET /health: the body (``status`` "ok" or "unavailable", and the checks)."""
        response = self._send("GET", "/health")
        if response.status_code not in (200, 503):
            raise self._error(response)
        return self._json(response)

    # operator ------------------------------------------------------------------
    def register_transfer(self, reference: str, asset: str, amount: int) -> Decision:
        """POST /transfers (operator token required): amount in 10^-8 units."""
        body = {"reference": reference, "asset": asset, "amount": amount}
        return self._decision(self._send("POST", "/transfers", json=body, headers=self._operator))
