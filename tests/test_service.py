"""The settlement service over real HTTP: uvicorn on 127.0.0.1, driven with httpx."""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.helpers import g1_off_curve_compressed
from tests.test_settlement import FIXTURES, World, _rerandomise
from zkproofs.field import R
from zkproofs.groth16.serialize import vk_to_json
from zkproofs.service import create_app
from zkproofs.settlement import Ledger, SettlementVerifier
from zkproofs.settlement.verifier import BAD_REQUEST

MAX_BODY = 65536


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn serving ``app`` on 127.0.0.1 in a thread; ``url`` once started."""

    def __init__(self, app):
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("service"))
    yield w
    w.ledger.close()


@pytest.fixture(scope="module")
def server(world):
    with Server(create_app(world.verifier, MAX_BODY)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def template(world):
    """A valid request for id "tmpl" (never submitted as is): a base for the 4xx cases."""
    return world.request("tmpl")


def test_health_and_docs(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["markets"] == ["BTC-ETH-USDC", "BTC-USDC"]
    assert health["keys"]["BTC-USDC"]["provenance"]["kind"] == "single-party"
    assert "trust_single_party_keys" in health["keys"]["BTC-USDC"]["trusted_because"]
    assert client.get("/docs").status_code == 200
    assert "/settlements" in client.get("/openapi.json").json()["paths"]


def test_accepted_then_replay_then_get(client, world):
    body = world.request("http-1")
    response = client.post("/settlements", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["reason"] == "ACCEPTED" and response.json()["settlement_id"] == "http-1"
    again = client.post("/settlements", json=_rerandomise(body))
    assert again.status_code == 409 and again.json()["reason"] == "REPLAY"
    record = client.get("/settlements/http-1").json()
    assert record["accepted"] is True
    assert [d["reason"] for d in record["decisions"]] == ["ACCEPTED", "REPLAY"]


def test_get_unknown_id_is_404(client):
    assert client.get("/settlements/never-seen").status_code == 404


@pytest.mark.parametrize(
    "name,change,status,reason,word",
    [
        ("bad field element", lambda b: b["proof"]["public_inputs"].__setitem__("commitment", str(R + 1)), 400, "MALFORMED", "not in [0, r)"),
        ("off curve", lambda b: b["proof"]["proof"].__setitem__("a", g1_off_curve_compressed().hex()), 400, "MALFORMED", "curve"),
        ("missing field", lambda b: b.pop("expiry"), 400, "MALFORMED", "expiry"),
        ("wrong key", lambda b: b["proof"]["circuit"].__setitem__("digest", "ab" * 32), 400, "WRONG_KEY", "digest"),
        ("unknown market", lambda b: b.__setitem__("market", "DOGE-USDC"), 422, "UNKNOWN_MARKET", "DOGE-USDC"),
        ("unaccepted asset", lambda b: b["debt"][0].__setitem__("asset", "USDT"), 422, "UNACCEPTED_ASSET", "USDT"),
        ("invalid proof", lambda b: b["proof"]["public_inputs"].__setitem__("commitment", "5"), 422, "INVALID_PROOF", "does not verify"),
    ],
)
def test_rejections_map_to_4xx(client, world, template, name, change, status, reason, word):
    body = copy.deepcopy(template)
    change(body)
    before, accepted_before = world.ledger.count(), world.ledger.count(accepted=True)
    response = client.post("/settlements", json=body)
    assert response.status_code == status, response.text
    assert response.json()["reason"] == reason and word in response.json()["message"], response.text
    recorded = reason not in {r.value for r in BAD_REQUEST}  # bad requests change nothing
    assert world.ledger.count() == before + recorded and world.ledger.count(accepted=True) == accepted_before


def test_policy_rejection_is_422(client, world):
    response = client.post("/settlements", json=world.request("http-ratio", min_ratio_bps=10_000))
    assert response.status_code == 422 and response.json()["reason"] == "RATIO_BELOW_POLICY"
    assert client.get("/settlements/http-ratio").json()["accepted"] is False


def test_malformed_json_is_400_and_not_recorded(client, world):
    before = world.ledger.count()
    response = client.post("/settlements", content=b'{"market": ', headers={"content-type": "application/json"})
    assert response.status_code == 400 and "invalid JSON" in response.json()["message"]
    response = client.post("/settlements", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert response.status_code == 400
    for body, word in ((b'{"expiry": 1' + b"0" * 5000 + b"}", "cannot be decoded"), (b"[" * 30_000, "nested")):
        response = client.post("/settlements", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400 and word in response.json()["message"], response.text
    assert world.ledger.count() == before


def test_oversize_body_is_413(client, world, template):
    body = copy.deepcopy(template)
    body["padding"] = "x" * MAX_BODY
    before = world.ledger.count()
    response = client.post("/settlements", json=body)
    assert response.status_code == 413 and "limit" in response.json()["message"]

    def chunks():  # no Content-Length: the stream itself is counted
        for _ in range(MAX_BODY // 1024 + 2):
            yield b" " * 1024

    response = client.post("/settlements", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert world.ledger.count() == before


def test_concurrent_same_id_exactly_one_201(client, world):
    body = world.request("http-race")
    bodies = [body] + [_rerandomise(body) for _ in range(7)]
    with ThreadPoolExecutor(len(bodies)) as pool:
        statuses = sorted(pool.map(lambda b: client.post("/settlements", json=b).status_code, bodies))
    assert statuses == [201] + [409] * 7
    assert [d["reason"] for d in client.get("/settlements/http-race").json()["decisions"]].count("ACCEPTED") == 1


def test_restart_keeps_the_ledger(world, tmp_path):
    body = world.request("http-restart")
    db = tmp_path / "restart.db"
    for attempt in range(2):
        ledger = Ledger(db)
        verifier = SettlementVerifier(world.policy, world.verifier.keys, world.feed, ledger, world.clock)
        with Server(create_app(verifier, MAX_BODY)) as running, httpx.Client(base_url=running.url, timeout=30) as c:
            status = c.post("/settlements", json=body).status_code
            record = c.get("/settlements/http-restart").json()
        ledger.close()
        assert status == (201 if attempt == 0 else 409)
        assert record["accepted"] is True and record["decisions"][0]["reason"] == "ACCEPTED"
        assert len(record["decisions"]) == attempt + 1


def test_zkproofs_serve_command(world, tmp_path):
    """The real command line: keys folder, policy with a JSON price feed, a subprocess."""
    keys = tmp_path / "keys"
    for market, pk in (("BTC-USDC", world.pk11), ("BTC-ETH-USDC", world.pk21)):
        (keys / market).mkdir(parents=True)
        (keys / market / "verification_key.json").write_text(vk_to_json(pk.vk))
    shutil.copy(FIXTURES / "policy.toml", tmp_path / "policy.toml")
    prices = json.loads((FIXTURES / "prices.json").read_text())
    now = int(time.time())
    for quote in prices.values():
        quote["updated_at"] = now
    (tmp_path / "prices.json").write_text(json.dumps(prices))
    body = world.request("serve-1", expiry=now + 600)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--db", str(tmp_path / "l.db"), "--keys", str(keys),
         "--policy", str(tmp_path / "policy.toml"), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "zkproofs serve did not start"
            time.sleep(0.1)
        response = httpx.post(f"{url}/settlements", json=body, timeout=30)
        assert response.status_code == 201, response.text
    finally:
        proc.terminate()
        proc.wait(20)


def test_serve_refuses_missing_keys(tmp_path):
    from click.testing import CliRunner

    from cli.main import main

    (tmp_path / "keys").mkdir()
    result = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "l.db"), "--keys", str(tmp_path / "keys"),
                                       "--policy", str(FIXTURES / "policy.toml")])
    assert result.exit_code == 2 and "verification_key.json" in result.output
