"""What keeps the venue's HTTP service (:mod:`zkproofs.service`) usable under hostile clients.

* :class:`Limits`: every limit in one place (``zkproofs serve`` options set them).
* :func:`cores`: the CPUs this process may run on, the default number of
  submission threads (``Limits.submission_threads``).
* :class:`RateLimiter`: a token bucket per client address for submissions (the
  service answers 429 with ``Retry-After``); O(1) per request, at most
  ``max_clients`` buckets (the least recently seen is dropped first).
* :class:`AccessLog`: one line per request in the Common Log Format (Apache
  ``common``: ``host - - [day/Mon/year:HH:MM:SS +0000] "METHOD path HTTP/v" status
  bytes``) on the ``zkproofs.access`` logger; a request that already logged its own
  line (a client that disconnected mid-body) is not logged twice. Headers, and with
  them the operator token and receipts, are never logged.
* :func:`uvicorn_config`: uvicorn with h11, a keep-alive timeout, a cap on the
  header block (h11's ``max_incomplete_event_size``), ``limit_concurrency``
  (connections and tasks above it get 503), and :class:`DeadlineH11Protocol`,
  which disconnects a client whose request line and headers are not complete
  within ``header_timeout`` seconds of its connecting or of its previous response
  (uvicorn has no such timeout: a client sending one header byte every few seconds
  would hold its connection for ever). Body reads have their own deadline in the
  service (``body_timeout``, 408).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("zkproofs.service")
access_log = logging.getLogger("zkproofs.access")

QUIET = "zkproofs.logged"
"""Scope key: set when the request already wrote its one log line."""


def cores() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Limits:
    """The service's limits; seconds, counts and bytes."""

    submissions_per_second: float = 20.0
    """Per client address, for POST /deposits, /withdrawals, /settlements (tokens refill at this rate)."""
    submission_burst: int = 40
    """Bucket size: submissions a client may make at once."""
    body_timeout: float = 30.0
    """Whole body read within this many seconds of the handler's start, else 408."""
    header_timeout: float = 10.0
    """Request line and headers complete within this many seconds, else the connection is closed."""
    timeout_keep_alive: float = 5.0
    """Idle keep-alive connections are closed after this many seconds."""
    limit_concurrency: int = 512
    """Connections plus tasks; above it uvicorn answers 503 at once."""
    max_header_bytes: int = 16 * 1024
    """Largest request line + header block (h11 answers 400 above it)."""
    max_page: int = 1000
    """Most roots one GET /roots returns."""
    submission_threads: int = field(default_factory=cores)
    """Submissions checked at once (threads); the rest wait their turn in arrival order. A
    check's pairings run without the GIL, but decoding its proof points, the venue's checks
    and the SQLite transaction hold it, and so does the event loop that parses every request:
    threads beyond the cores only take the GIL from each other and from the event loop
    (measured, 8 clients on 2 cores: 94-95 matched trades/s with 40 threads, 115-127 with 2;
    BENCHMARKS.md)."""


class RateLimiter:
    """Token buckets keyed by client address: ``rate`` tokens per second, at most ``burst``.

    :meth:`take` returns 0 when a submission may proceed (a token is taken) or the
    seconds until the next token. Thread-safe; ``clock`` gives monotonic seconds.
    """

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic, max_clients: int = 65536):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst, self.clock, self.max_clients = rate, burst, clock, max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        with self._lock:
            now = self.clock()
            tokens, stamp = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


def _printable(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" and ch not in '"\\' else f"\\x{ord(ch):02x}" for ch in text)


class AccessLog:
    """ASGI middleware: one Common Log Format line per HTTP request (see the module docstring)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, size = [0], [0]

        async def recording_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                size[0] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            if not scope.get(QUIET):
                client = scope.get("client")
                target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
                if scope.get("query_string"):
                    target += "?" + scope["query_string"].decode("latin-1")
                stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
                access_log.info('%s - - [%s] "%s %s HTTP/%s" %d %s', client[0] if client else "-", stamp,
                                scope["method"], _printable(target), scope.get("http_version", "1.1"),
                                status[0] or 500, size[0] or "-")


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's line and headers (``header_timeout`` seconds)."""

    header_timeout = 10.0

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def data_received(self, data: bytes) -> None:
        if self._header_deadline is None and self.conn.their_state is h11.IDLE:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)
        super().data_received(data)
        if self._header_deadline is not None and self.conn.their_state is not h11.IDLE:
            self._header_deadline.cancel()
            self._header_deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            host = self.client[0] if self.client else "-"
            log.info("%s: request headers not complete within %g s; connection closed", host, self.header_timeout)
            self.transport.close()


def uvicorn_config(app: Any, limits: Limits, **kwargs: Any):
    """A :class:`uvicorn.Config` for ``app`` with ``limits`` applied (other keyword arguments passed on)."""
    import uvicorn

    protocol = type("DeadlineH11", (DeadlineH11Protocol,), {"header_timeout": limits.header_timeout})
    return uvicorn.Config(
        app, http=protocol, timeout_keep_alive=limits.timeout_keep_alive, limit_concurrency=limits.limit_concurrency,
        h11_max_incomplete_event_size=limits.max_header_bytes, access_log=False, **kwargs,
    )  # fmt: skip
