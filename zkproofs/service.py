"""The escrow venue's HTTP service (FastAPI, served by uvicorn): a thin JSON layer over :class:`~zkproofs.settlement.venue.Venue`.

Endpoints (every bound below is also in the OpenAPI schema, ``/openapi.json``; docs at ``/docs``):

Traders (no account: proofs authorise them)

* ``POST /deposits``, ``POST /withdrawals``, ``POST /borrows``, ``POST /repayments``,
  ``POST /health-proofs``: one transition request
  (:func:`~zkproofs.settlement.venue.parse_transition` layout, built by
  :func:`~zkproofs.settlement.transition.transition_request`), proven at the
  prices of the epoch it names, which must be the latest.
* ``POST /settlements``: ``{"legs": [leg_a, leg_b]}``, both trade legs of a
  matched trade, applied in one ledger transaction or not at all. Posting an
  applied settlement again answers 200 ``ALREADY_SETTLED`` with its record.
* ``GET /epochs/latest``, ``GET /epochs/{sequence}``: a price epoch as recorded, with the
  oracles' signed quotes (a wallet checks them against the policy's oracle keys); 404
  before the first epoch or for an unknown one.
* ``GET /liquidations/{nullifier}``: the liquidation that spent that note (remainder position
  and commitment, collateral seized, debt repaid); 404 if none.
* ``GET /roots``: the current root and a page of roots, newest first (``limit``,
  at most ``Limits.max_page``; ``before=next_before`` for the next page), with the
  anchor window K.
* ``GET /notes/{position}/path``: the membership path of the note at
  ``position`` against the current root (public data a wallet proves with).
* ``GET /settlements/{settlement_id}``: the settlement's record, for a party
  presenting its receipt (``X-Receipt`` header, the decimal
  :func:`~zkproofs.settlement.transition.receipt_secret`; a header, not the
  query string, so receipts do not land in access logs) or for the operator;
  404 otherwise, indistinguishable from an unknown id.

Oracles, or anyone relaying their signed quotes (the signatures are the authority)

* ``POST /epochs``: ``{"quotes": [signed quotes, ...]}``, the next price epoch
  (:meth:`~zkproofs.settlement.venue.Venue.publish_epoch`: quorum, sequence, bounds).

Operator (``Authorization: Bearer TOKEN``, compared with :func:`hmac.compare_digest`; 401 otherwise)

* ``POST /transfers``: register an incoming custody transfer ``{"reference",
  "asset", "amount"}`` (amount in 10^-8 units).
* ``GET /settlements/{settlement_id}``: any settlement.

``GET /health``: 200 when the latest price epoch is within the policy's
``max_epoch_age_seconds``, the ledger answers and the key is loaded and trusted; 503 naming what is not.
It also counts every outcome since start by reason code: refusals change nothing
and are counted, never stored row by row.

Limits (:mod:`zkproofs.service_guard`): submissions (deposits, withdrawals,
settlements) per client address are rate limited (429 ``RATE_LIMITED`` with
``Retry-After``); a body must arrive within ``body_timeout`` (408 ``BODY_TIMEOUT``);
a client that disconnects mid-body costs one log line (no traceback) and nothing
else; every request is logged once in the Common Log Format.

Answers are ``Decision`` objects ``{"accepted", "reason", "message", ...record}``.
Status by reason (:data:`STATUS`): 201 ACCEPTED, 200 ALREADY_SETTLED, 400
MALFORMED / WRONG_KEY (and any body the schema refuses), 409 for conflicts with
the ledger's state (DOUBLE_SPEND, TRANSFER_USED, EPOCH_NOT_CURRENT, ...), 503 NO_EPOCH
and STALE_EPOCH (with ``Retry-After``: the oracles must publish) and an unusable
ledger, 422 for every other refusal. 413 TOO_LARGE for a body over
the policy's ``max_request_bytes`` (Content-Length first, then the stream is
counted). Bodies are decoded with :func:`zkproofs.jsontext.loads` (duplicate
keys, NaN and deep nesting refused), then validated against the schema, then
checked by the venue. Client-facing messages never carry server paths
(:meth:`ServiceState.scrub`) or tracebacks. Verification and every SQLite call
run in worker threads, off the event loop; submissions at most
``limits.submission_threads`` at once (default: one per core), the others
waiting their turn in arrival order.
"""


import asyncio
import hmac
import logging
import math
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal

import anyio
import anyio.to_thread
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, create_model
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.exceptions import HTTPException as StarletteHTTPException

from zkproofs.errors import MalformedInput
from zkproofs.field import R, decode_scalar
from zkproofs.groth16.keys import CURVE, G1_BYTES, G2_BYTES, PROTOCOL
from zkproofs.groth16.serialize import PROOF_FORMAT, PROOF_VERSION
from zkproofs.jsontext import loads
from zkproofs.settlement.epochs import QUOTES_FORMAT, VERSION as EPOCH_VERSION, epoch_to_dict
from zkproofs.settlement.material import MAX_SEALED_HEX
from zkproofs.service_guard import QUIET, AccessLog, Limits, RateLimiter
from zkproofs.settlement.venue import MAX_TRANSFER_UNITS, Decision, Reason, Venue

log = logging.getLogger("zkproofs.service")

EXPIRY_MAX = (1 << 63) - 1

STATUS = {
    Reason.ACCEPTED: 201,
    Reason.ALREADY_SETTLED: 200,
    Reason.MALFORMED: 400,
    Reason.WRONG_KEY: 400,
    Reason.DOUBLE_SPEND: 409,
    Reason.TRANSFER_USED: 409,
    Reason.TRANSFER_CONFLICT: 409,
    Reason.REFERENCE_USED: 409,
    Reason.SETTLEMENT_ID_TAKEN: 409,
    Reason.EPOCH_NOT_CURRENT: 409,
    Reason.STALE_SEQUENCE: 409,
    Reason.NO_EPOCH: 503,
    Reason.STALE_EPOCH: 503,
}
"""HTTP status by reason code; every other refusal is 422."""

NAME_RE = r"^[A-Za-z0-9._:\-]{1,128}$"
FIELD_RE = r"^(0|[1-9][0-9]{0,76})$"
Name = Annotated[str, StringConstraints(pattern=NAME_RE, max_length=128),
                 Field(description="1-128 characters from A-Z a-z 0-9 . _ : -")]
FieldElement = Annotated[str, StringConstraints(pattern=FIELD_RE, max_length=77),
                         Field(description=f"a BLS12-381 scalar as a canonical decimal string, < r = {R}")]
Expiry = Annotated[int, Field(ge=0, le=EXPIRY_MAX, strict=True, description="unix seconds")]
EpochNumber = Annotated[int, Field(ge=1, le=EXPIRY_MAX, strict=True, description="a price epoch's sequence number")]
Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]*$")]
SealedMaterial = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]+$", max_length=MAX_SEALED_HEX),
                           Field(description="the new note's liquidation material sealed to the venue's key, hex (required "
                                             "for a borrow and when the spent note carries debt)")]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ProofPoints(Strict):
    a: Annotated[str, StringConstraints(pattern=rf"^(0x)?[0-9a-fA-F]{{{2 * G1_BYTES}}}$"), Field(description="G1, compressed, hex")]
    b: Annotated[str, StringConstraints(pattern=rf"^(0x)?[0-9a-fA-F]{{{2 * G2_BYTES}}}$"), Field(description="G2, compressed, hex")]
    c: Annotated[str, StringConstraints(pattern=rf"^(0x)?[0-9a-fA-F]{{{2 * G1_BYTES}}}$"), Field(description="G1, compressed, hex")]


class CircuitId(Strict):
    name: Name
    params: Annotated[dict[Name, Annotated[int, Field(ge=0, le=1 << 32, strict=True)]], Field(max_length=16)]
    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$"), Field(description="the circuit digest (SHA-256, hex)")]


class Transfer(Strict):
    """An incoming custody transfer the operator registers (one deposit may then credit it)."""

    reference: Name
    asset: Name
    amount: Annotated[int, Field(ge=1, le=MAX_TRANSFER_UNITS, strict=True, description="10^-8 units of the asset")]


class SignedQuotesModel(Strict):
    """One oracle's signed quotes (:func:`~zkproofs.settlement.epochs.quotes_to_dict`)."""

    format: Literal[QUOTES_FORMAT]  # type: ignore[valid-type]
    version: Literal[EPOCH_VERSION]  # type: ignore[valid-type]
    venue: Name
    sequence: Annotated[int, Field(ge=0, le=(1 << 64) - 1, strict=True)]
    timestamp: Annotated[int, Field(ge=0, le=(1 << 64) - 1, strict=True)]
    prices: Annotated[dict[Name, Annotated[str, StringConstraints(max_length=64)]], Field(max_length=2048,
                      description="asset -> decimal price, USD per whole unit, at most 8 decimals")]
    signer: Annotated[Hex, StringConstraints(min_length=64, max_length=64), Field(description="Ed25519 public key, hex")]
    signature: Annotated[Hex, StringConstraints(min_length=128, max_length=128), Field(description="Ed25519 signature, hex")]


class EpochQuotes(Strict):
    """The next price epoch: the oracles' signed quotes (at least the policy's quorum)."""

    quotes: Annotated[list[SignedQuotesModel], Field(min_length=1, max_length=256)]


class DecisionModel(BaseModel):
    """The venue's answer; an accepted change adds its record (positions, commitments, root, payout...)."""

    model_config = ConfigDict(extra="allow")
    accepted: bool
    reason: str = Field(description="a reason code: " + ", ".join(r.value for r in Reason) + ", TOO_LARGE, UNAUTHORIZED")
    message: str


def request_models(venue: Venue) -> dict[str, type[BaseModel]]:
    """The request bodies of ``venue``: the proof file's public inputs are exactly its key's names."""
    names = list(venue.vk.public_names)
    publics = create_model(
        "PublicInputs", __base__=Strict,
        **{f"p{i}": (FieldElement, Field(alias=n)) for i, n in enumerate(names)},
    )  # fmt: skip
    proof_file = create_model(
        "ProofFile", __base__=Strict,
        format=(Literal[PROOF_FORMAT], ...), version=(Literal[PROOF_VERSION], ...),  # type: ignore[valid-type]
        protocol=(Literal[PROTOCOL], ...), curve=(Literal[CURVE], ...),  # type: ignore[valid-type]
        circuit=(CircuitId, ...), public_inputs=(publics, ...), proof=(ProofPoints, ...),
    )  # fmt: skip
    common = dict(market=(Name, ...), reference=(Name, ...), epoch=(EpochNumber, ...), expiry=(Expiry, ...),
                  receipt_hash=(FieldElement, ...), proof=(proof_file, ...), material=(SealedMaterial | None, None))
    deposit = create_model("Deposit", __base__=Strict, kind=(Literal["deposit"], ...), **common)
    withdrawal = create_model("Withdrawal", __base__=Strict, kind=(Literal["withdraw"], ...), destination=(Name, ...), **common)
    borrow = create_model("Borrow", __base__=Strict, kind=(Literal["borrow"], ...), destination=(Name, ...), **common)
    repayment = create_model("Repayment", __base__=Strict, kind=(Literal["repay"], ...), **common)
    health = create_model("HealthProof", __base__=Strict, kind=(Literal["health"], ...), **common)
    leg = create_model("TradeLeg", __base__=Strict, kind=(Literal["trade"], ...), counterparty_nullifier=(FieldElement, ...), **common)
    settlement = create_model("Settlement", __base__=Strict,
                              legs=(Annotated[list[leg], Field(min_length=2, max_length=2)], ...))  # type: ignore[valid-type]
    return {"Deposit": deposit, "Withdrawal": withdrawal, "Borrow": borrow, "Repayment": repayment, "HealthProof": health,
            "Settlement": settlement, "Transfer": Transfer, "EpochQuotes": EpochQuotes}


class Refusal(Exception):
    """A refusal the service answers itself (before or around the venue): status, reason code, message."""

    def __init__(self, status: int, reason: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.reason, self.message, self.headers = status, reason, message, headers


@dataclass
class ServiceState:
    """What the app holds: the venue, the operator token (None: operator endpoints refuse everyone), limits."""

    venue: Venue
    operator_token: bytes | None
    max_body_bytes: int
    limits: Limits
    secrets: list[str] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    """Decisions and refusals since start, by reason code: counted here, never stored row by row."""

    def scrub(self, message: str) -> str:
        """``message`` without any server path the service knows (ledger, feed, policy and key folders)."""
        for secret in self.secrets:
            message = message.replace(secret, "<server file>")
        return message


def _server_paths(venue: Venue, extra: list[str]) -> list[str]:
    paths = {str(venue.ledger.path.resolve()), *(str(os.path.abspath(p)) for p in extra)}
    for p in list(paths):
        paths.add(os.path.dirname(p))
    paths |= {str(venue.ledger.path), *extra}
    # longest first, so a file is replaced before its folder; only strings that look like paths
    return sorted((p for p in paths if len(p) > 1 and (os.sep in p or "." in p)), key=len, reverse=True)


def _refused(status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"accepted": False, "reason": reason, "message": message}, status_code=status, headers=headers)


def _validation_message(exc: ValidationError | RequestValidationError, where: str) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body",))
        parts.append(f"{where}{'.' + loc if loc else ''}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def create_app(venue: Venue, *, operator_token: bytes | None = None, server_paths: list[str] | None = None,
               limits: Limits = Limits(), clock=None) -> FastAPI:
    """The ASGI app serving ``venue`` (endpoints, status codes and bounds in the module docstring).

    ``operator_token``: the operator's bearer token as bytes (None disables the
    operator endpoints: 401 for everyone). ``server_paths``: further paths to keep
    out of client-facing messages (the policy file, the keys folder). ``limits``:
    submission rate per client, body timeout, page size (:class:`~zkproofs.service_guard.Limits`;
    the connection-level ones apply where uvicorn is configured,
    :func:`~zkproofs.service_guard.uvicorn_config`). ``clock``: monotonic seconds for the rate limiter.
    """
    state = ServiceState(venue, operator_token, venue.policy.max_request_bytes, limits,
                         _server_paths(venue, list(server_paths or [])))
    submissions = anyio.CapacityLimiter(limits.submission_threads)
    limiter = RateLimiter(limits.submissions_per_second, limits.submission_burst, **({"clock": clock} if clock else {}))
    max_page = limits.max_page
    models = request_models(venue)
    depth = venue.policy.tree_depth
    app = FastAPI(
        title="zkproofs escrow venue",
        description="Deposits, withdrawals and two-party atomic settlements of margin notes, each proven with "
                    "the valid_transition circuit (Groth16 over BLS12-381). Bodies over "
                    f"{state.max_body_bytes} bytes are refused (413).",
        version="2",
    )
    app.state.service = state
    app.add_middleware(AccessLog)

    @app.exception_handler(Refusal)
    async def _on_refusal(request: Request, exc: Refusal) -> JSONResponse:
        state.outcomes[exc.reason] += 1
        return _refused(exc.status, exc.reason, state.scrub(exc.message), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        state.outcomes[Reason.MALFORMED.value] += 1
        return _refused(400, Reason.MALFORMED.value, state.scrub(_validation_message(exc, "request")))

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _refused(exc.status_code, "NOT_FOUND" if exc.status_code == 404 else "HTTP_ERROR", str(exc.detail))

    def rate_limit(request: Request) -> None:
        wait = limiter.take(request.client.host if request.client else "-")
        if wait:
            raise Refusal(429, "RATE_LIMITED", f"more than {limits.submissions_per_second:g} submissions per second "
                                               f"(burst {limits.submission_burst}) from this address",
                          headers={"Retry-After": str(max(1, math.ceil(wait)))})

    async def read_body(request: Request, model: type[BaseModel]) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        limit = state.max_body_bytes
        if declared is not None and (not (declared.isascii() and declared.isdigit()) or int(declared) > limit):
            raise Refusal(413, "TOO_LARGE", f"the body exceeds the limit of {limit} bytes")
        body = bytearray()
        try:
            async with asyncio.timeout(limits.body_timeout):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > limit:
                        raise Refusal(413, "TOO_LARGE", f"the body exceeds the limit of {limit} bytes")
        except TimeoutError:
            raise Refusal(408, "BODY_TIMEOUT", f"the body was not complete within {limits.body_timeout:g} s",
                          headers={"Connection": "close"}) from None
        except ClientDisconnect:
            request.scope[QUIET] = True
            log.info("%s: disconnected after %d bytes of a %s %s body; nothing done",
                     request.client.host if request.client else "-", len(body), request.method, request.url.path)
            raise Refusal(400, "DISCONNECTED", "the client disconnected before its body was complete") from None
        try:
            obj = loads(bytes(body), "body")
            model.model_validate(obj)
        except MalformedInput as exc:
            raise Refusal(400, Reason.MALFORMED.value, str(exc)) from None
        except ValidationError as exc:
            raise Refusal(400, Reason.MALFORMED.value, _validation_message(exc, "body")) from None
        return obj

    def operator(request: Request) -> bool:
        """True for a valid operator bearer token; False without an Authorization header; 401 for a wrong one."""
        header = request.headers.get("authorization")
        if header is None:
            return False
        scheme, _, presented = header.partition(" ")
        # compare_digest even when no token is configured, so timing does not tell the two apart
        expected = state.operator_token if state.operator_token is not None else os.urandom(32)
        matches = hmac.compare_digest(presented.strip().encode("utf-8", "surrogateescape"), expected)
        if not (matches and state.operator_token is not None and scheme.lower() == "bearer"):
            raise unauthorized()
        return True

    def unauthorized() -> Refusal:
        return Refusal(401, "UNAUTHORIZED", "a valid operator bearer token is required",
                       headers={"WWW-Authenticate": 'Bearer realm="zkproofs-venue"'})

    async def decide(call: Callable[..., Decision], *args: Any) -> JSONResponse:
        try:
            decision = await anyio.to_thread.run_sync(call, *args, limiter=submissions)
        except sqlite3.Error as exc:
            log.error("ledger error: %s", exc)
            raise Refusal(503, "LEDGER_UNAVAILABLE", "the venue's ledger cannot be written now; try again later",
                          headers={"Retry-After": "5"}) from None
        state.outcomes[decision.reason.value] += 1
        body = decision.to_dict()
        status = STATUS.get(decision.reason, 422)
        headers = None
        if decision.reason in (Reason.NO_EPOCH, Reason.STALE_EPOCH):
            log.warning("price epochs: %s", decision.message)
            headers = {"Retry-After": "5"}
        body["message"] = state.scrub(body["message"])
        return JSONResponse(body, status_code=status, headers=headers)

    refusals: dict[int | str, dict[str, Any]] = {
        400: {"model": DecisionModel, "description": "MALFORMED (the schema or the venue refused the body) or WRONG_KEY"},
        409: {"model": DecisionModel, "description": "conflict with the ledger: DOUBLE_SPEND, TRANSFER_USED, REFERENCE_USED, ..."},
        408: {"model": DecisionModel, "description": "BODY_TIMEOUT: the body was not complete in time"},
        413: {"model": DecisionModel, "description": "TOO_LARGE: the body is over the policy's max_request_bytes"},
        422: {"model": DecisionModel, "description": "refused by the venue (EXPIRED, INVALID_PROOF, UNKNOWN_ANCHOR, ...)"},
        429: {"model": DecisionModel, "description": "RATE_LIMITED: too many submissions from this address (Retry-After)"},
        503: {"model": DecisionModel, "description": "NO_EPOCH, STALE_EPOCH or LEDGER_UNAVAILABLE (Retry-After)"},
    }

    def body_doc(name: str) -> dict[str, Any]:
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}}

    @app.post("/deposits", status_code=201, response_model=DecisionModel, responses=refusals, openapi_extra=body_doc("Deposit"))
    async def post_deposit(request: Request) -> JSONResponse:
        """Credit a registered custody transfer to a note (a first deposit creates the note)."""
        rate_limit(request)
        return await decide(venue.deposit, await read_body(request, models["Deposit"]))

    @app.post("/withdrawals", status_code=201, response_model=DecisionModel, responses=refusals, openapi_extra=body_doc("Withdrawal"))
    async def post_withdrawal(request: Request) -> JSONResponse:
        """Spend a note with a public payout of one asset; the record's ``payout`` is for the custody system."""
        rate_limit(request)
        return await decide(venue.withdraw, await read_body(request, models["Withdrawal"]))

    @app.post("/borrows", status_code=201, response_model=DecisionModel, responses=refusals, openapi_extra=body_doc("Borrow"))
    async def post_borrow(request: Request) -> JSONResponse:
        """Raise a note's debt in one asset, paid out (the record's ``payout``, for the custody system); the new note meets the venue's ratio."""
        rate_limit(request)
        return await decide(venue.borrow, await read_body(request, models["Borrow"]))

    @app.post("/repayments", status_code=201, response_model=DecisionModel, responses=refusals, openapi_extra=body_doc("Repayment"))
    async def post_repayment(request: Request) -> JSONResponse:
        """Lower a note's debt in one asset by a registered custody transfer of that asset (``reference``), once."""
        rate_limit(request)
        return await decide(venue.repay, await read_body(request, models["Repayment"]))

    @app.post("/health-proofs", status_code=201, response_model=DecisionModel, responses=refusals, openapi_extra=body_doc("HealthProof"))
    async def post_health_proof(request: Request) -> JSONResponse:
        """Re-prove a note at the maintenance ratio at the latest epoch's prices (a zero-delta transition)."""
        rate_limit(request)
        return await decide(venue.health, await read_body(request, models["HealthProof"]))

    @app.post("/epochs", status_code=201, response_model=DecisionModel, responses=refusals, openapi_extra=body_doc("EpochQuotes"))
    async def post_epoch(request: Request) -> JSONResponse:
        """Publish the next price epoch from a quorum of the policy's oracles' signed quotes (anyone may relay them)."""
        rate_limit(request)
        return await decide(venue.publish_epoch, await read_body(request, EpochQuotes))

    @app.get("/epochs/latest", responses={404: {"model": DecisionModel}})
    async def get_latest_epoch() -> dict[str, Any]:
        """The latest price epoch with its signed quotes (the epoch file); 404 before the first."""
        epoch = await run_in_threadpool(venue.current_epoch)
        if epoch is None:
            raise Refusal(404, "NOT_FOUND", "no price epoch has been published yet")
        return epoch_to_dict(epoch)

    @app.get("/liquidations/{nullifier}", responses={400: {"model": DecisionModel}, 404: {"model": DecisionModel}})
    async def get_liquidation(request: Request, nullifier: Annotated[str, Path(pattern=FIELD_RE, max_length=77)]) -> dict[str, Any]:
        """The liquidation that spent the note revealing ``nullifier`` (the remainder's position and commitment, the
        collateral seized and the debt repaid): how its owner's wallet finds what was left to it; 404 if none."""
        try:
            value = decode_scalar(nullifier, what="nullifier")
        except MalformedInput:
            raise Refusal(400, Reason.MALFORMED.value, "nullifier: expected a canonical decimal < r") from None
        record = await run_in_threadpool(venue.liquidation_record, value)
        if record is None:
            raise Refusal(404, "NOT_FOUND", "no liquidation revealed this nullifier")
        return record

    @app.get("/epochs/{sequence}", responses={400: {"model": DecisionModel}, 404: {"model": DecisionModel}})
    async def get_epoch(request: Request, sequence: Annotated[int, Path(ge=1, le=EXPIRY_MAX)]) -> dict[str, Any]:
        """Price epoch ``sequence`` with its signed quotes; 404 if there is none."""
        canonical_ints(request, "sequence")
        epoch = await run_in_threadpool(venue.epoch, sequence)
        if epoch is None:
            raise Refusal(404, "NOT_FOUND", f"no price epoch {sequence}")
        return epoch_to_dict(epoch)

    @app.post("/settlements", status_code=201, response_model=DecisionModel,
              responses={200: {"model": DecisionModel, "description": "ALREADY_SETTLED: applied before, with its record"}, **refusals},
              openapi_extra=body_doc("Settlement"))
    async def post_settlement(request: Request) -> JSONResponse:
        """Settle a matched trade: both legs, in one ledger transaction, or nothing."""
        rate_limit(request)
        obj = await read_body(request, models["Settlement"])
        return await decide(venue.settle, obj["legs"][0], obj["legs"][1])

    @app.post("/transfers", status_code=201, response_model=DecisionModel,
              responses={401: {"model": DecisionModel, "description": "no or wrong operator token"}, **refusals},
              openapi_extra={**body_doc("Transfer"), "security": [{"operator": []}]})
    async def post_transfer(request: Request) -> JSONResponse:
        """Operator: register an incoming custody transfer (the same registration twice is idempotent)."""
        if not operator(request):
            raise unauthorized()
        obj = await read_body(request, Transfer)
        return await decide(venue.register_transfer, obj["reference"], obj["asset"], obj["amount"])

    @app.get("/roots", responses={400: {"model": DecisionModel}})
    async def get_roots(request: Request, limit: Annotated[int, Query(ge=1, le=max_page)] = 10,
                        before: Annotated[int | None, Query(ge=1, le=EXPIRY_MAX)] = None) -> dict[str, Any]:
        """The current root (an anchor) and a page of roots, newest first: the newest ``limit``, or those numbered
        below ``before`` (pass the previous page's ``next_before``); anchors are the last ``anchor_window``."""
        canonical_ints(request, "limit", "before")

        def page() -> tuple[dict, list[dict]]:
            rows = venue.ledger.query("SELECT seq, root, size, created_at FROM roots WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                                      (EXPIRY_MAX if before is None else before, limit))
            return venue.ledger.recent_roots(1)[0], [{"seq": r[0], "root": r[1], "size": r[2], "created_at": r[3]} for r in rows]

        current, roots = await run_in_threadpool(page)
        more = len(roots) == limit and roots[-1]["seq"] > 0
        return {"current": current, "anchor_window": venue.policy.anchor_window, "recent": roots,
                "next_before": roots[-1]["seq"] if more else None}

    @app.get("/notes/{position}/path", responses={400: {"model": DecisionModel}, 404: {"model": DecisionModel}})
    async def get_path(request: Request, position: Annotated[int, Path(ge=0, le=(1 << depth) - 1)]) -> dict[str, Any]:
        """The membership path of the note at ``position`` against the current root: per level of the 4-ary
        tree, leaf level first, its three siblings (:class:`~zkproofs.settlement.note_tree.MembershipPath`)."""
        canonical_ints(request, "position")
        try:
            path, root = await run_in_threadpool(venue.ledger.membership_path, position)
        except MalformedInput:
            raise Refusal(404, "NOT_FOUND", f"no note at position {position}") from None
        return {"position": path.position, "siblings": [[str(s) for s in level] for level in path.siblings], "root": str(root)}

    @app.get("/settlements/{settlement_id}",
             responses={400: {"model": DecisionModel}, 401: {"model": DecisionModel}, 404: {"model": DecisionModel}},
             openapi_extra={"security": [{}, {"operator": []}],
                            "parameters": [{"name": "X-Receipt", "in": "header", "required": False,
                                            "schema": {"type": "string", "pattern": FIELD_RE, "maxLength": 77},
                                            "description": "a party's receipt (decimal, < r)"}]})
    async def get_settlement(request: Request, settlement_id: Annotated[str, Path(pattern=NAME_RE, max_length=128)]) -> dict[str, Any]:
        """A settlement's record, for one of its parties (``X-Receipt``) or the operator; 404 for anyone else."""
        is_operator = operator(request)
        receipt = request.headers.get("x-receipt")
        if receipt is not None:
            try:
                receipt_value = decode_scalar(receipt, what="X-Receipt") if len(receipt) <= 77 and receipt.isdigit() else None
            except MalformedInput:
                receipt_value = None
            if receipt_value is None:
                raise Refusal(400, Reason.MALFORMED.value, "X-Receipt: expected a canonical decimal < r")
        else:
            receipt_value = None
        record = await run_in_threadpool(
            lambda: venue.settlement_status(settlement_id, receipt=receipt_value, operator=is_operator))
        if record is None:
            raise Refusal(404, "NOT_FOUND", "no such settlement visible to this caller")
        return record

    @app.get("/health", responses={503: {"description": "the venue cannot settle now; the body names what is not usable"}})
    async def health() -> JSONResponse:
        """200 when the latest price epoch is within the policy's age, the ledger answers and the key is trusted; 503 otherwise."""
        checks = await run_in_threadpool(health_checks, venue)
        ok = all(c["ok"] for c in checks.values())
        body = {"status": "ok" if ok else "unavailable", "checks": checks,
                "failing": [name for name, c in checks.items() if not c["ok"]], "outcomes_since_start": dict(state.outcomes)}
        return JSONResponse(body, status_code=200 if ok else 503)

    def canonical_ints(request: Request, *names: str) -> None:
        for name in names:
            raw = request.path_params.get(name, request.query_params.get(name))
            if raw is not None and not (raw.isascii() and raw.isdigit() and (raw == "0" or raw[0] != "0")):
                raise Refusal(400, Reason.MALFORMED.value, f"{name}: expected a canonical decimal integer")

    schema_builder = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = schema_builder()
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for name, model in models.items():
                doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(doc.pop("$defs", {}))
                schemas[name] = doc
            components.setdefault("securitySchemes", {})["operator"] = {"type": "http", "scheme": "bearer"}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def health_checks(venue: Venue) -> dict[str, dict[str, Any]]:
    """Whether the price epochs, the ledger and the key are usable: {name: {"ok", "detail"}} (no server paths)."""
    checks: dict[str, dict[str, Any]] = {}
    try:
        epoch = venue.current_epoch()
        limit = venue.policy.max_epoch_age_seconds
        if epoch is None:
            checks["epoch"] = {"ok": False, "detail": "no price epoch yet: the oracles must publish one (POST /epochs)"}
        else:
            age = int(venue.clock()) - epoch.timestamp
            checks["epoch"] = {"ok": age <= limit, "sequence": epoch.sequence,
                               "detail": f"epoch {epoch.sequence}, {age} s old (limit {limit} s)"}
    except (sqlite3.Error, MalformedInput) as exc:
        log.warning("health: epochs: %s", exc)
        checks["epoch"] = {"ok": False, "detail": "the price epochs cannot be read"}
    try:
        latest = venue.ledger.recent_roots(1)[0]
        checks["ledger"] = {"ok": True, "detail": f"{latest['size']} notes, root {latest['seq']}"}
    except (sqlite3.Error, IndexError) as exc:
        log.warning("health: ledger: %s", exc)
        checks["ledger"] = {"ok": False, "detail": "the ledger cannot be read"}
    report = venue.key_report
    checks["key"] = {"ok": True, "detail": report.provenance.describe(), "trusted_because": report.basis,
                     "verification_key_sha256": report.vk_sha256}
    return checks
