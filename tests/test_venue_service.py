"""The venue's HTTP service (zkproofs.service) and its client: every endpoint, operator auth, bounds stated
by the schema and enforced by the server, refusals mapped to status codes without server paths, 50
concurrent spends of one note through HTTP, and the client a wallet uses. Proofs come from
tests/venue_stream.py (made once per session)."""

from __future__ import annotations

import copy
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

import zkproofs.service as service
from tests.venue_helpers import NOW, ONE, POLICY
from tests.venue_stream import EPOCH, new_venue, replay, stream
from zkproofs.field import R
from zkproofs.service import EXPIRY_MAX, create_app
from zkproofs.service_guard import Limits

MAX_ROOTS = Limits().max_page
OPEN = Limits(submissions_per_second=1e6, submission_burst=10**6)
"""The tests' limits: no rate limit except where a test sets one."""
from zkproofs.settlement.client import VenueClient, VenueError
from zkproofs.settlement.venue import MAX_TRANSFER_UNITS as AMOUNT_MAX, Reason
from zkproofs.settlement.transition import receipt_hash

TOKEN = "operator-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def s():
    return stream()


@pytest.fixture
def venue(s, tmp_path):
    v = new_venue(s.pk, tmp_path / "venue.db")
    yield v
    v.ledger.close()


@pytest.fixture
def client(venue):
    with TestClient(create_app(venue, operator_token=TOKEN.encode(), limits=OPEN)) as c:
        yield c


def ops_of(s, kind):
    return [op for op in s.ops if op[0] == kind]


def counts(venue):
    return [venue.ledger.query(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("transitions", "tree_nodes", "roots", "settlements", "transfers")]


def post_deposits(client, s, n):
    for op in ops_of(s, "transfer")[:n]:
        r = client.post("/transfers", json={"reference": op[1], "asset": op[2], "amount": op[3]}, headers=AUTH)
        assert r.status_code == 201, r.text
    for op in ops_of(s, "deposit")[:n]:
        r = client.post("/deposits", json=op[1])
        assert r.status_code == 201 and r.json()["reason"] == "ACCEPTED", r.text


# ---------------------------------------------------------------------------- the trader's flow


def test_every_trader_endpoint_deposit_roots_path_settle_status(client, venue, s):
    post_deposits(client, s, len(ops_of(s, "deposit")))
    roots = client.get("/roots?limit=3").json()
    with venue.ledger.read() as conn:
        assert roots["current"]["root"] == str(venue.ledger.latest_root(conn)[1])
    assert roots["anchor_window"] == 64 and [r["seq"] for r in roots["recent"]] == [6, 5, 4]
    path = client.get("/notes/1/path").json()
    native, root = venue.ledger.membership_path(1)
    assert path == {"position": 1, "siblings": [[str(x) for x in level] for level in native.siblings], "root": str(root)}
    assert len(path["siblings"]) == venue.policy.tree_depth // 2  # three siblings per level of the 4-ary tree

    _, leg_a, leg_b, receipt_a, receipt_b = ops_of(s, "settle")[0]
    r = client.post("/settlements", json={"legs": [leg_a, leg_b]})
    assert r.status_code == 201 and r.json()["reason"] == "ACCEPTED", r.text
    record = {k: v for k, v in r.json().items() if k not in ("accepted", "reason", "message", "root")}
    # a retry (the client lost the answer) is told it was applied, with the same record; nothing changes
    before = counts(venue)
    again = client.post("/settlements", json={"legs": [leg_a, leg_b]})
    assert again.status_code == 200 and again.json()["reason"] == "ALREADY_SETTLED" and again.json()["accepted"] is True
    assert counts(venue) == before
    # the record: to each party with its receipt and to the operator; 404 for anyone else, as for an unknown id
    for receipt in (receipt_a, receipt_b):
        shown = client.get("/settlements/trade-0", headers={"X-Receipt": str(receipt)})
        assert shown.status_code == 200 and shown.json() == record
    assert client.get("/settlements/trade-0", headers=AUTH).json() == record
    hidden = [client.get("/settlements/trade-0"), client.get("/settlements/trade-0", headers={"X-Receipt": str(receipt_a + 1)}),
              client.get("/settlements/never", headers={"X-Receipt": str(receipt_a)})]
    assert {(h.status_code, h.text) for h in hidden} == {(404, client.get("/settlements/never", headers=AUTH).text)}
    assert client.get("/settlements/trade-0", headers={"X-Receipt": "07"}).status_code == 400
    assert client.get("/settlements/trade-0", headers={"X-Receipt": str(R)}).status_code == 400


def test_a_client_whose_answer_was_lost_sees_from_the_status_that_it_was_applied(client, venue, s):
    upto = s.ops.index(ops_of(s, "settle")[1])
    replay(venue, s.ops[:upto])
    _, leg_a, leg_b, receipt_a, _ = s.ops[upto]
    assert venue.settle(leg_a, leg_b).accepted  # applied, but its answer never reached the client
    status = client.get("/settlements/trade-1", headers={"X-Receipt": str(receipt_a)})
    assert status.status_code == 200 and status.json()["status"] == "SETTLED"
    assert status.json()["legs"][0]["nullifier"] == leg_b["counterparty_nullifier"]
    assert client.post("/settlements", json={"legs": [leg_a, leg_b]}).json()["reason"] == "ALREADY_SETTLED"


def test_withdrawal_pays_out_and_the_same_note_again_is_409_double_spend(client, venue, s):
    replay(venue, s.ops)
    first = client.post("/withdrawals", json=s.race[0])
    assert first.status_code == 201 and first.json()["payout"] == {"asset": "BTC", "amount": 1, "destination": "addr-race",
                                                                   "withdrawal_id": "race-0"}
    before = counts(venue)
    second = client.post("/withdrawals", json=s.race[1])
    assert second.status_code == 409 and second.json()["reason"] == "DOUBLE_SPEND"
    assert counts(venue) == before


# ---------------------------------------------------------------------------- refusals and their status codes


def test_refusals_map_to_status_codes_and_change_nothing(client, venue, s):
    deposit = ops_of(s, "deposit")[0][1]
    before = counts(venue)
    r = client.post("/deposits", json=deposit)  # its transfer was never registered
    assert (r.status_code, r.json()["reason"]) == (422, "UNKNOWN_TRANSFER")
    forged = copy.deepcopy(deposit)
    forged["proof"]["public_inputs"]["new_commitment"] = "5"
    assert (client.post("/deposits", json=forged).status_code, client.post("/deposits", json=forged).json()["reason"]) == (422, "INVALID_PROOF")
    wrong_key = copy.deepcopy(deposit)
    wrong_key["proof"]["circuit"]["digest"] = "ab" * 32
    assert client.post("/deposits", json=wrong_key).json()["reason"] == "WRONG_KEY"
    assert client.post("/deposits", json=wrong_key).status_code == 400
    assert client.post("/withdrawals", json=deposit).status_code == 400  # a deposit is not a withdrawal (schema)
    assert counts(venue) == before
    post_deposits(client, s, 1)
    r = client.post("/deposits", json=deposit)
    assert (r.status_code, r.json()["reason"]) == (409, "TRANSFER_USED")
    r = client.post("/transfers", json={"reference": "tx-0", "asset": "ETH", "amount": 1}, headers=AUTH)
    assert (r.status_code, r.json()["reason"]) == (409, "TRANSFER_CONFLICT")
    r = client.post("/transfers", json={"reference": "tx-x", "asset": "DOGE", "amount": 1}, headers=AUTH)
    assert (r.status_code, r.json()["reason"]) == (400, "MALFORMED")


def test_before_the_first_epoch_the_venue_says_so_and_anyone_may_relay_one(s, tmp_path):
    clock = [NOW]
    folder = tmp_path / "secret-folder"
    folder.mkdir()
    venue = new_venue(s.pk, folder / "v.db", clock=lambda: clock[0], epoch=False)
    with TestClient(create_app(venue, operator_token=TOKEN.encode(), limits=OPEN)) as client:
        client.post("/transfers", json={"reference": "tx-0", "asset": "BTC", "amount": 2 * ONE}, headers=AUTH)
        deposit = ops_of(s, "deposit")[0][1]
        r = client.post("/deposits", json=deposit)
        assert (r.status_code, r.json()["reason"]) == (503, "NO_EPOCH") and r.headers["retry-after"]
        health = client.get("/health")
        assert health.status_code == 503 and health.json()["failing"] == ["epoch"]
        assert client.get("/epochs/latest").status_code == 404
        for text in (r.text, health.text):
            assert "secret-folder" not in text and str(tmp_path) not in text
        bad = dict(EPOCH, quotes=[dict(EPOCH["quotes"][0], signature="00" * 64), EPOCH["quotes"][1]])
        r = client.post("/epochs", json=bad)  # no operator token needed: the signatures decide
        assert (r.status_code, r.json()["reason"]) == (422, "BAD_SIGNATURE")
        r = client.post("/epochs", json=dict(EPOCH, quotes=[dict(EPOCH["quotes"][0], extra=1)]))
        assert (r.status_code, r.json()["reason"]) == (400, "MALFORMED")
        r = client.post("/epochs", json=EPOCH)
        assert r.status_code == 201 and r.json()["sequence"] == 1
        assert (client.post("/epochs", json=EPOCH).status_code, client.post("/epochs", json=EPOCH).json()["reason"]) == (409, "STALE_SEQUENCE")
        served = client.get("/epochs/latest").json()
        assert served == client.get("/epochs/1").json() and served["quotes"] == EPOCH["quotes"]
        assert client.get("/epochs/2").status_code == 404 and client.get("/epochs/01").status_code == 400
        assert client.post("/deposits", json=deposit).status_code == 201
        assert client.get("/health").status_code == 200
        clock[0] = s.expiry + 1
        r = client.post("/deposits", json=deposit)
        assert (r.status_code, r.json()["reason"]) == (422, "EXPIRED")
    venue.ledger.close()


def test_health_names_what_is_not_usable(client, venue, monkeypatch):
    ok = client.get("/health")
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    assert ok.json()["checks"]["key"]["detail"].startswith("single-party setup by test venue")
    assert "trust_single_party_keys" in ok.json()["checks"]["key"]["trusted_because"]
    clock = venue.clock
    venue.clock = lambda: EPOCH["quotes"][0]["timestamp"] + 2 * 10**9  # the epoch is older than max_epoch_age_seconds
    stale = client.get("/health")
    assert stale.status_code == 503 and stale.json()["failing"] == ["epoch"] and "limit" in stale.json()["checks"]["epoch"]["detail"]
    venue.clock = clock

    def broken(limit):
        import sqlite3
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(venue.ledger, "recent_roots", broken)
    down = client.get("/health")
    assert down.status_code == 503 and down.json()["failing"] == ["ledger"]


# ---------------------------------------------------------------------------- operator authentication


def test_operator_endpoints_need_the_token_compared_in_constant_time(client, monkeypatch, caplog):
    body = {"reference": "tx-9", "asset": "BTC", "amount": ONE}
    compared = []
    real = service.hmac.compare_digest
    monkeypatch.setattr(service.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    caplog.set_level(logging.DEBUG)
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": TOKEN}, {"Authorization": f"Bearer {TOKEN}x"}):
        r = client.post("/transfers", json=body, headers=headers)
        assert r.status_code == 401 and r.json()["reason"] == "UNAUTHORIZED" and r.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in r.text
        assert client.get("/settlements/any", headers=headers).status_code == (404 if not headers else 401)
    assert len(compared) == 8 and all(b == TOKEN.encode() for _, b in compared)
    assert client.post("/transfers", json=body, headers=AUTH).status_code == 201
    assert not any(TOKEN in record.getMessage() for record in caplog.records)


def test_without_a_configured_token_the_operator_endpoints_refuse_everyone(venue):
    with TestClient(create_app(venue, operator_token=None, limits=OPEN)) as client:
        r = client.post("/transfers", json={"reference": "tx-9", "asset": "BTC", "amount": ONE}, headers=AUTH)
        assert r.status_code == 401


# ---------------------------------------------------------------------------- bounds: stated by the schema, enforced by the server


def schema_of(client, name):
    return client.get("/openapi.json").json()["components"]["schemas"][name]


def test_the_schema_states_every_bound_and_the_server_enforces_exactly_it(client, venue, s):
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == {"/deposits", "/withdrawals", "/borrows", "/repayments", "/health-proofs", "/settlements", "/transfers",
                                  "/roots", "/notes/{position}/path", "/settlements/{settlement_id}", "/health", "/epochs",
                                  "/epochs/latest", "/epochs/{sequence}", "/liquidations/{nullifier}"}
    quotes = schema_of(client, "EpochQuotes")["properties"]["quotes"]
    assert (quotes["minItems"], quotes["maxItems"]) == (1, 256)
    signed = schema_of(client, "SignedQuotesModel")
    assert signed["additionalProperties"] is False and signed["properties"]["signature"]["maxLength"] == 128
    assert schema_of(client, "HealthProof")["properties"]["epoch"]["minimum"] == 1
    transfer = schema_of(client, "Transfer")["properties"]
    assert (transfer["amount"]["minimum"], transfer["amount"]["maximum"]) == (1, AMOUNT_MAX)
    assert transfer["reference"]["maxLength"] == 128 and transfer["reference"]["pattern"]
    legs = schema_of(client, "Settlement")["properties"]["legs"]
    assert (legs["minItems"], legs["maxItems"]) == (2, 2)
    borrow = schema_of(client, "Borrow")
    assert borrow["properties"]["kind"]["const"] == "borrow" and borrow["properties"]["destination"]["maxLength"] == 128
    assert borrow["additionalProperties"] is False
    leg = schema_of(client, "TradeLeg")["properties"]
    assert (leg["expiry"]["minimum"], leg["expiry"]["maximum"]) == (0, EXPIRY_MAX)
    assert leg["counterparty_nullifier"]["maxLength"] == 77
    publics = schema_of(client, "PublicInputs")
    assert publics["required"] == list(venue.vk.public_names) and publics["additionalProperties"] is False
    params = {p["name"]: p["schema"] for path in ("/roots", "/notes/{position}/path") for p in spec["paths"][path]["get"]["parameters"]}
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, MAX_ROOTS)
    assert params["position"]["maximum"] == (1 << POLICY.tree_depth) - 1

    def transfer_status(amount, reference="tx-bound"):
        return client.post("/transfers", json={"reference": reference, "asset": "BTC", "amount": amount}, headers=AUTH).status_code

    assert [transfer_status(a, f"tx-{i}") for i, a in enumerate((0, AMOUNT_MAX + 1, 1.0, "1", True))] == [400] * 5
    assert transfer_status(AMOUNT_MAX, "tx-max") == 201 and transfer_status(1, "tx-min") == 201
    assert client.post("/transfers", json={"reference": "x" * 129, "asset": "BTC", "amount": 1}, headers=AUTH).status_code == 400
    assert client.post("/transfers", json={"reference": "x" * 128, "asset": "BTC", "amount": 1}, headers=AUTH).status_code == 201
    leg_a, leg_b = ops_of(s, "settle")[0][1:3]
    for bad in ({"legs": [leg_a]}, {"legs": [leg_a, leg_b, leg_b]}, {"legs": [dict(leg_a, expiry=EXPIRY_MAX + 1), leg_b]},
                {"legs": [dict(leg_a, expiry=-1), leg_b]}, {"legs": [dict(leg_a, counterparty_nullifier="1" * 78), leg_b]},
                {"legs": [leg_a, leg_b], "extra": 1}):
        r = client.post("/settlements", json=bad)
        assert (r.status_code, r.json()["reason"]) == (400, "MALFORMED"), r.text
    # at the bound, the schema lets it through and the venue decides (here: the proof's context does not match)
    r = client.post("/settlements", json={"legs": [dict(leg_a, expiry=EXPIRY_MAX), leg_b]})
    assert r.status_code == 422
    assert client.get(f"/roots?limit={MAX_ROOTS}").status_code == 200
    for query in (f"limit={MAX_ROOTS + 1}", "limit=0", "limit=05", "limit=%2B5", "limit=5.0"):
        assert client.get(f"/roots?{query}").status_code == 400, query
    top = (1 << POLICY.tree_depth) - 1
    assert client.get(f"/notes/{top}/path").status_code == 404  # in range, no note there yet
    for position in (top + 1, -1, "01", "x"):
        assert client.get(f"/notes/{position}/path").status_code == 400, position


def test_bodies_are_read_strictly_and_bounded(client, venue):
    before = counts(venue)
    decoy = b'{"legs": [], "legs": [{}, {}]}'
    r = client.post("/settlements", content=decoy, headers={"content-type": "application/json"})
    assert r.status_code == 400 and 'duplicate key "legs"' in r.json()["message"]
    for body in (b'{"amount": NaN}', b"{", b"\xff", b"[" * 40):
        assert client.post("/transfers", content=body, headers=AUTH).status_code == 400
    limit = venue.policy.max_request_bytes
    r = client.post("/deposits", content=b" " * (limit + 1))
    assert r.status_code == 413 and r.json()["reason"] == "TOO_LARGE"

    def chunks():  # no Content-Length: the stream itself is counted
        for _ in range(limit // 4096 + 2):
            yield b" " * 4096

    assert client.post("/deposits", content=chunks()).status_code == 413
    assert counts(venue) == before


# ---------------------------------------------------------------------------- concurrency over real HTTP


class Server:
    """uvicorn serving ``app`` on 127.0.0.1 in a thread."""

    def __init__(self, app):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(20)


def test_fifty_concurrent_http_spends_of_one_note_exactly_one_accepted(venue, s):
    replay(venue, s.ops)
    before = counts(venue)
    bodies = [s.race[i % len(s.race)] for i in range(50)]
    barrier = threading.Barrier(50)
    with Server(create_app(venue, limits=OPEN)) as server, httpx.Client(base_url=server.url, timeout=60,
                                                           limits=httpx.Limits(max_connections=50)) as http:
        def spend(body):
            barrier.wait(timeout=30)
            r = http.post("/withdrawals", json=body)
            return r.status_code, r.json()["reason"]

        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(spend, bodies))
    assert sorted(answers).count((201, "ACCEPTED")) == 1
    assert {a for a in answers if a[0] != 201} == {(409, "DOUBLE_SPEND")}
    assert counts(venue)[0] == before[0] + 1 and counts(venue)[3] == before[3]


def test_verification_runs_off_the_event_loop(venue, monkeypatch):
    """A slow venue call does not stop the service from answering others."""
    release = threading.Event()
    started = threading.Event()

    def slow(body):
        started.set()
        release.wait(20)
        return venue.__class__.withdraw(venue, body)

    monkeypatch.setattr(venue, "withdraw", slow)
    with Server(create_app(venue, limits=OPEN)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(http.post, "/withdrawals", json=stream().race[0])
            assert started.wait(20)
            t0 = time.monotonic()
            assert http.get("/roots").status_code == 200
            assert time.monotonic() - t0 < 5
            release.set()
            assert pending.result().status_code in (409, 422)


# ---------------------------------------------------------------------------- the client


def test_the_client_mirrors_the_venue(client, venue, s):
    operator = VenueClient(http=client, operator_token=TOKEN)
    trader = VenueClient(http=client)
    for op in ops_of(s, "transfer"):
        assert operator.register_transfer(*op[1:]).reason is Reason.ACCEPTED
    with pytest.raises(VenueError) as info:
        trader.register_transfer("tx-z", "BTC", 1)
    assert info.value.status == 401 and info.value.reason == "UNAUTHORIZED" and TOKEN not in str(info.value)
    for op in ops_of(s, "deposit"):
        assert trader.deposit(op[1]).accepted
    path, root = trader.membership_path(0)
    assert (path, root) == venue.ledger.membership_path(0)
    assert trader.roots(limit=2)["current"]["root"] == str(root)
    assert [r["seq"] for r in trader.roots(limit=2, before=3)["recent"]] == [2, 1]
    _, leg_a, leg_b, receipt_a, _ = ops_of(s, "settle")[0]
    decision = trader.settle(leg_a, leg_b)
    assert decision.reason is Reason.ACCEPTED and decision.record["settlement_id"] == "trade-0"
    assert trader.settle(leg_a, leg_b).reason is Reason.ALREADY_SETTLED
    assert trader.settlement_status("trade-0") is None
    assert trader.settlement_status("trade-0", receipt=receipt_a)["status"] == "SETTLED"
    assert operator.settlement_status("trade-0")["status"] == "SETTLED"
    refused = trader.deposit(ops_of(s, "deposit")[0][1])
    assert (refused.accepted, refused.reason) == (False, Reason.TRANSFER_USED)
    assert trader.health()["status"] == "ok"
    with pytest.raises(VenueError) as info:
        trader.membership_path(63)
    assert info.value.status == 404
    assert receipt_hash(receipt_a)  # the receipt is the secret whose hash the leg's context binds


def test_the_client_reports_an_unreachable_venue():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with VenueClient(f"http://127.0.0.1:{port}", timeout=2) as client, pytest.raises(VenueError) as info:
        client.roots()
    assert info.value.status == 0 and info.value.reason == "UNREACHABLE"
