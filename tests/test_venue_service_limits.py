"""The venue's HTTP service under hostile clients (issue 13): per-client rate limit (429 + Retry-After), body
and header read deadlines, a concurrency cap, refusals counted and not stored, paged reads, one access log
line per request in the Common Log Format, one log line (no traceback) for a client that disconnects
mid-body, and the OpenAPI schema checked against the running app by schemathesis."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.venue_stream import new_venue, replay, stream
from zkproofs.service import create_app
from zkproofs.service_guard import Limits, RateLimiter, cores, uvicorn_config

OPEN = Limits(submissions_per_second=1e6, submission_burst=10**6)
CLF = re.compile(r'^(\S+) - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "([A-Z]+) (\S+) HTTP/1\.1" (\d{3}) (\d+|-)$')


@pytest.fixture(scope="module")
def s():
    return stream()


@pytest.fixture
def venue(s, tmp_path):
    v = new_venue(s.pk, tmp_path / "venue.db")
    yield v
    v.ledger.close()


def counts(venue):
    return [venue.ledger.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("transitions", "tree_nodes", "roots", "settlements", "transfers")]


def test_the_token_bucket():
    now = [0.0]
    limiter = RateLimiter(2.0, 3, clock=lambda: now[0], max_clients=2)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0  # another address has its own bucket
    now[0] = 0.5
    assert limiter.take("a") == 0 and limiter.take("a") == pytest.approx(0.5)
    limiter.take("c")  # a third address: the least recently seen bucket is dropped
    assert len(limiter._buckets) == 2


def test_submissions_over_the_rate_get_429_with_retry_after(venue, s):
    now = [100.0]
    app = create_app(venue, limits=Limits(submissions_per_second=0.5, submission_burst=2), clock=lambda: now[0])
    body = s.race[0]
    with TestClient(app) as client:
        first = [client.post("/withdrawals", json=body).status_code for _ in range(2)]
        assert 429 not in first
        limited = client.post("/settlements", json={"legs": []})
        assert limited.status_code == 429 and limited.json()["reason"] == "RATE_LIMITED"
        assert limited.headers["retry-after"] == "2"
        assert client.get("/roots").status_code == 200  # reads are not submissions
        now[0] += 2
        assert client.post("/withdrawals", json=body).status_code != 429


def test_submissions_are_checked_at_most_submission_threads_at_once(venue, s, monkeypatch):
    """Eight concurrent withdrawals under ``submission_threads=2``: the venue sees two at a time, and every
    request is still answered (the others waited their turn). The default is one thread per core."""
    assert Limits().submission_threads == cores() >= 1
    running, most, lock, withdraw = [0], [0], threading.Lock(), venue.withdraw

    def counted(body):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return withdraw(body)

    monkeypatch.setattr(venue, "withdraw", counted)
    app = create_app(venue, limits=Limits(submissions_per_second=1e6, submission_burst=10**6, submission_threads=2))

    async def eight():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://venue") as client:
            return await asyncio.gather(*(client.post("/withdrawals", json=s.race[0]) for _ in range(8)))

    answers = asyncio.run(eight())
    assert most[0] == 2
    assert all(a.status_code != 500 and "reason" in a.json() for a in answers)


def test_refusals_are_counted_and_never_stored(venue, s):
    deposit = next(op for op in s.ops if op[0] == "deposit")[1]
    before = counts(venue)
    with TestClient(create_app(venue, limits=OPEN)) as client:
        for _ in range(100):
            assert client.post("/deposits", json=deposit).json()["reason"] == "UNKNOWN_TRANSFER"
        for _ in range(100):
            assert client.post("/deposits", json={"kind": "deposit"}).status_code == 400
        outcomes = client.get("/health").json()["outcomes_since_start"]
    assert outcomes == {"UNKNOWN_TRANSFER": 100, "MALFORMED": 100}
    assert counts(venue) == before


def test_roots_are_read_in_pages(venue, s):
    replay(venue, s.ops)
    with TestClient(create_app(venue, limits=OPEN)) as client:
        seen, before = [], None
        while True:
            page = client.get("/roots", params={"limit": 4, **({"before": before} if before else {})}).json()
            seen += [r["seq"] for r in page["recent"]]
            before = page["next_before"]
            if before is None:
                break
        latest = page["current"]["seq"]
        assert seen == list(range(latest, -1, -1)) and latest == len(s.ops) - len([o for o in s.ops if o[0] == "transfer"])
        assert client.get("/roots", params={"before": 0}).status_code == 400


def test_one_common_log_format_line_per_request_without_secrets(venue, caplog):
    caplog.set_level(logging.INFO, logger="zkproofs.access")
    with TestClient(create_app(venue, operator_token=b"t" * 20, limits=OPEN)) as client:
        client.get("/roots?limit=2")
        client.get("/settlements/x", headers={"X-Receipt": "123456789", "Authorization": "Bearer " + "t" * 20})
    lines = [r.getMessage() for r in caplog.records if r.name == "zkproofs.access"]
    assert len(lines) == 2
    first, second = (CLF.match(line) for line in lines)
    assert first and first.groups()[1:4] == ("GET", "/roots?limit=2", "200") and int(first.group(5)) > 0
    assert second and second.group(4) == "404"
    assert not any("123456789" in line or "t" * 20 in line for line in lines)


async def _asgi(app, method, path, chunks, *, pause=None):
    """Drive ``app`` directly: the body arrives as ``chunks``; after them either nothing more ever
    arrives (``pause``) or the client disconnects. Returns the response status (None if none was sent)."""
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    status = []

    async def receive():
        if messages:
            return messages.pop(0)
        if pause:
            await asyncio.sleep(pause)
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json")], "client": ("203.0.113.9", 5000), "server": ("127.0.0.1", 80)}
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    return status[0] if status else None


def test_a_client_disconnecting_mid_body_costs_one_log_line_and_nothing_else(venue, caplog):
    caplog.set_level(logging.DEBUG)
    before = counts(venue)
    asyncio.run(_asgi(create_app(venue, limits=OPEN), "POST", "/settlements", [b'{"legs": [{"kind": "tr']))
    lines = [r for r in caplog.records if "203.0.113.9" in r.getMessage()]
    assert len(lines) == 1 and "disconnected after 22 bytes" in lines[0].getMessage()
    assert not any(r.exc_info or "Traceback" in r.getMessage() for r in caplog.records)
    assert counts(venue) == before


def test_a_body_that_never_completes_gets_408(venue):
    app = create_app(venue, limits=Limits(submissions_per_second=1e6, submission_burst=10**6, body_timeout=0.3))
    t0 = time.monotonic()
    assert asyncio.run(_asgi(app, "POST", "/deposits", [b"{"], pause=30)) == 408
    assert time.monotonic() - t0 < 10


class Server:
    """uvicorn with the service's limits (uvicorn_config) on 127.0.0.1 in a thread."""

    def __init__(self, app, limits):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(app, limits, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(20)


def slow_client(port):
    """A connection that sends its headers one byte at a time, never finishing them."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return sock


def test_slow_headers_are_cut_off_and_the_concurrency_cap_answers_503_meanwhile(venue, caplog):
    caplog.set_level(logging.INFO, logger="zkproofs.service")
    limits = Limits(submissions_per_second=1e6, submission_burst=10**6, header_timeout=1.0, limit_concurrency=8)
    with Server(create_app(venue, limits=OPEN), limits) as server:
        url = f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
        slow = [slow_client(server.port) for _ in range(10)]
        time.sleep(0.2)
        t0 = time.monotonic()
        assert httpx.get(f"{url}/health", timeout=5).status_code == 503  # the cap answers at once
        assert time.monotonic() - t0 < 2
        for sock in slow:  # a byte now and then does not keep a connection open
            sock.sendall(b"a")
        time.sleep(1.5)
        for sock in slow:
            sock.settimeout(5)
            assert sock.recv(100) == b""  # closed by the server
            sock.close()
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    closed = [r for r in caplog.records if "headers not complete" in r.getMessage()]
    assert len(closed) == 10 and not any(r.exc_info for r in caplog.records)


def test_the_openapi_schema_agrees_with_the_server_schemathesis(venue):
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis import checks

    app = create_app(venue, operator_token=b"o" * 20, limits=OPEN)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call()
            try:
                case.validate_response(response, checks=[checks.not_a_server_error, checks.status_code_conformance,
                                                         checks.content_type_conformance, checks.response_schema_conformance])
            except Exception as exc:  # collected, to report every operation that disagrees
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
                raise

        run()
    assert not failures
