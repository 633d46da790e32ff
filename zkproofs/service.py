"""The settlement HTTP service (FastAPI, served by uvicorn).

Endpoints:

* ``POST /settlements``: body = a settlement request
  (:mod:`zkproofs.settlement.request`). Status by decision reason:
  201 ACCEPTED; 400 MALFORMED (bad JSON, missing or mistyped field,
  non-canonical field element, point off the curve or outside the subgroup) and
  WRONG_KEY; 409 REPLAY; 413 body over ``max_body_bytes``; 422 for every policy
  rejection, UNKNOWN_MARKET included (the request is well-formed, the venue does
  not settle that market). Every response body is a decision object
  ``{"accepted", "reason", "message", "settlement_id", ...}``. Bodies that are not
  JSON or too large are refused before the verifier and recorded nowhere; every
  other decision is appended to the ledger. Verification runs in the threadpool
  (:func:`starlette.concurrency.run_in_threadpool`), off the event loop, so a
  slow request does not block others.
* ``GET /settlements/{settlement_id}``: every decision for that id, oldest first
  (404 if none).
* ``GET /health``: ``{"status": "ok", "markets": [...], "decisions": N, "keys": {market:
  the key relied on, its provenance and why it is trusted}}``.
* OpenAPI: ``/openapi.json``, interactive docs at ``/docs``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from zkproofs.errors import MalformedInput
from zkproofs.jsontext import loads
from zkproofs.settlement.request import FIELDS
from zkproofs.settlement.verifier import Reason, SettlementVerifier

STATUS = {
    Reason.ACCEPTED: 201,
    Reason.MALFORMED: 400,
    Reason.WRONG_KEY: 400,
    Reason.REPLAY: 409,
}
"""HTTP status by reason; every other reason (policy rejections) is 422."""

_REQUEST_SCHEMA = {
    "type": "object",
    "required": list(FIELDS),
    "properties": {
        "market": {"type": "string", "example": "BTC-USDC"},
        "settlement_id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
        "expiry": {"type": "integer", "description": "unix seconds"},
        "collateral": {"type": "array", "items": {"type": "object", "properties": {
            "asset": {"type": "string"}, "price": {"type": "string", "description": "USD per unit, <= 8 decimals"},
            "haircut_bps": {"type": "integer"}}}},
        "debt": {"type": "array", "items": {"type": "object", "properties": {
            "asset": {"type": "string"}, "price": {"type": "string"}}}},
        "min_ratio_bps": {"type": "integer"},
        "proof": {"type": "object", "description": "zkproofs proof file (format zkproofs/proof), public inputs included"},
    },
}


def _refusal(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"accepted": False, "reason": reason, "message": message, "settlement_id": None}, status_code=status)


def create_app(verifier: SettlementVerifier, max_body_bytes: int) -> FastAPI:
    """The ASGI app serving ``verifier`` (layout and status codes in the module docstring).

    ``max_body_bytes`` bounds a POST body; larger bodies get 413 without being
    read to the end (Content-Length is checked first, then the stream is counted).
    """
    app = FastAPI(
        title="zkproofs settlement service",
        description="Settles positions proven (Groth16, collateral_ratio circuit) to be above the venue's minimum ratio.",
        version="1",
    )

    @app.post(
        "/settlements",
        status_code=201,
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
        responses={400: {"description": "malformed request or wrong key"}, 409: {"description": "replay"},
                   413: {"description": "body too large"}, 422: {"description": "rejected by policy"}},
    )
    async def post_settlement(request: Request) -> JSONResponse:
        """Verify a settlement request and record the decision."""
        declared = request.headers.get("content-length")
        if declared is not None and (not (declared.isascii() and declared.isdigit()) or int(declared) > max_body_bytes):
            return _refusal(413, "TOO_LARGE", f"body of {declared} bytes exceeds the limit of {max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                return _refusal(413, "TOO_LARGE", f"body exceeds the limit of {max_body_bytes} bytes")
        try:
            obj: Any = loads(body, "body")
        except MalformedInput as exc:
            return _refusal(400, Reason.MALFORMED.value, str(exc))
        decision = await run_in_threadpool(verifier.submit, obj)
        return JSONResponse(decision.to_dict(), status_code=STATUS.get(decision.reason, 422))

    @app.get("/settlements/{settlement_id}", responses={404: {"description": "no decision for this id"}})
    async def get_settlement(settlement_id: str) -> JSONResponse:
        """Every decision recorded for ``settlement_id``, oldest first."""
        entries = await run_in_threadpool(verifier.ledger.decisions_for, settlement_id)
        if not entries:
            return JSONResponse({"detail": f"no decision for settlement {settlement_id}"}, status_code=404)
        return JSONResponse({"settlement_id": settlement_id, "accepted": any(e.accepted for e in entries),
                             "decisions": [e.to_dict() for e in entries]})

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness and a summary: configured markets, the number of recorded decisions, and each market's key."""
        count = await run_in_threadpool(verifier.ledger.count)
        keys = {market: report.to_dict() for market, report in sorted(verifier.key_reports.items())}
        return {"status": "ok", "markets": sorted(verifier.policy.markets), "decisions": count, "keys": keys}

    return app
