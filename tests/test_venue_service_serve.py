"""``zkproofs serve`` as an operator runs it: start-up checks that leave no file behind, the operator token's
file, and kill -9 of the real service during a stream of settlements (no acknowledged change lost, never
half a settlement, roots recomputed after restart equal the published ones, a client that lost an answer
learns from the status that it was applied)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cli.main import main
from tests.venue_stream import EPOCH, PAIRS, SERVICE_POLICY, stream, write_venue_files
from zkproofs.settlement.client import VenueClient, VenueError
from zkproofs.settlement.venue import Reason, audit_ledger
from zkproofs.settlement.venue_ledger import VenueLedger

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "crash-test-operator-token-0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s():
    return stream()


def serve_args(policy, keys, db, port, token_file=None):
    args = ["serve", "--policy", str(policy), "--keys", str(keys), "--db", str(db), "--port", str(port)]
    return args + (["--operator-token-file", str(token_file)] if token_file else [])


def test_a_taken_port_is_refused_before_any_file_is_created(s, tmp_path):
    policy, keys = write_venue_files(tmp_path, s.pk)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = CliRunner().invoke(main, serve_args(policy, keys, tmp_path / "venue.db", taken.getsockname()[1]))
    assert result.exit_code == 2 and "cannot listen on 127.0.0.1" in result.output
    assert "venue test-venue" not in result.output  # it never said it was serving
    assert not list(tmp_path.glob("venue.db*"))


def test_an_untrusted_key_leaves_no_ledger_behind(s, tmp_path):
    policy, keys = write_venue_files(tmp_path, s.pk)
    policy.write_text(policy.read_text().replace("trust_single_party_keys = true", "trust_single_party_keys = false"))
    result = CliRunner().invoke(main, serve_args(policy, keys, tmp_path / "venue.db", free_port()))
    assert result.exit_code == 2 and "single-party setup by test venue" in result.output
    assert not list(tmp_path.glob("venue.db*"))


def test_the_operator_token_file_must_be_private_and_long_enough(s, tmp_path, monkeypatch):
    policy, keys = write_venue_files(tmp_path, s.pk)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o644)
    result = CliRunner().invoke(main, serve_args(policy, keys, tmp_path / "venue.db", free_port(), token_file))
    assert result.exit_code == 2 and "readable by group or others" in result.output
    token_file.write_text("short\n")
    token_file.chmod(0o600)
    result = CliRunner().invoke(main, serve_args(policy, keys, tmp_path / "venue.db", free_port(), token_file))
    assert result.exit_code == 2 and "at least 16" in result.output and "short" not in result.output
    monkeypatch.setenv("ZKPROOFS_OPERATOR_TOKEN", "with space inside it")
    result = CliRunner().invoke(main, serve_args(policy, keys, tmp_path / "venue.db", free_port()))
    assert result.exit_code == 2 and "ZKPROOFS_OPERATOR_TOKEN" in result.output and "with space" not in result.output
    assert not list(tmp_path.glob("venue.db*"))


class ServeProcess:
    """A real ``zkproofs serve`` subprocess; ``url`` once /health answers 200 (the stream's epoch published if needed)."""

    def __init__(self, policy, keys, db, token_file, log):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "ab") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "cli.main", *serve_args(policy, keys, db, self.port, token_file)],
                                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 60
        while True:
            try:
                status = httpx.get(f"{self.url}/health", timeout=2).status_code
                if status == 503 and httpx.get(f"{self.url}/epochs/latest", timeout=2).status_code == 404:
                    assert httpx.post(f"{self.url}/epochs", json=EPOCH, timeout=10).status_code == 201
                    continue
                if status == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(Path(self.log).read_text())
            assert time.monotonic() < deadline, "zkproofs serve did not start"
            time.sleep(0.1)

    def stop(self):
        self.proc.kill()
        self.proc.wait(30)


def send(client: VenueClient, op):
    if op[0] == "transfer":
        return client.register_transfer(*op[1:])
    if op[0] == "deposit":
        return client.deposit(op[1])
    return client.settle(op[1], op[2])


def test_kill_9_of_zkproofs_serve_mid_stream_loses_nothing_acknowledged(s, tmp_path):
    policy, keys = write_venue_files(tmp_path, s.pk)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    db = tmp_path / "venue.db"
    server = ServeProcess(policy, keys, db, token_file, tmp_path / "serve.log")
    first_settlement = next(i for i, op in enumerate(s.ops) if op[0] == "settle")
    acked: list[int] = []
    killed = threading.Event()

    def sender():
        with VenueClient(server.url, operator_token=TOKEN, timeout=30) as client:
            for i, op in enumerate(s.ops):
                try:
                    decision = send(client, op)
                except VenueError:
                    assert killed.is_set()
                    return
                assert decision.reason is Reason.ACCEPTED, decision
                acked.append(i)

    thread = threading.Thread(target=sender)
    try:
        thread.start()
        deadline = time.monotonic() + 120
        while not acked or acked[-1] < first_settlement:  # one settlement acknowledged, the next on its way
            assert thread.is_alive() and time.monotonic() < deadline, "the stream stopped early"
            time.sleep(0.005)
        killed.set()
        os.kill(server.proc.pid, signal.SIGKILL)
        thread.join(60)
    finally:
        server.stop()
    assert acked[-1] < len(s.ops) - 1, "the stream ended before the kill"

    ledger = VenueLedger(db, depth=SERVICE_POLICY.tree_depth)
    settled = {r[0] for r in ledger.query("SELECT settlement_id FROM settlements")}
    assert all(s.ops[i][1]["reference"] in settled for i in acked if s.ops[i][0] == "settle")
    assert ledger.query("SELECT COUNT(*) FROM transitions WHERE kind = 'trade'")[0][0] == 2 * len(settled)
    with ledger.read() as conn:
        recomputed, published = ledger.tree(conn).root(), ledger.latest_root(conn)[1]
    assert recomputed == published
    assert audit_ledger(ledger, SERVICE_POLICY, s.pk.vk, backend="arkworks").ok
    ledger.close()

    # restart; the client resumes after its last acknowledgement and asks before it re-sends a settlement
    server = ServeProcess(policy, keys, db, token_file, tmp_path / "serve.log")
    try:
        with VenueClient(server.url, operator_token=TOKEN, timeout=30) as client:
            assert client.roots()["current"]["root"] == str(published)
            for op in s.ops[acked[-1] + 1:]:
                if op[0] == "settle":
                    status = client.settlement_status(op[1]["reference"], receipt=op[3])
                    assert (status is not None) == (op[1]["reference"] in settled)
                decision = send(client, op)
                assert decision.reason in (Reason.ACCEPTED, Reason.ALREADY_SETTLED, Reason.TRANSFER_USED), decision
                assert decision.accepted or op[0] == "deposit"
            final_root = client.roots()["current"]["root"]
    finally:
        server.stop()
    ledger = VenueLedger(db, depth=SERVICE_POLICY.tree_depth)
    assert ledger.query("SELECT COUNT(*) FROM settlements")[0][0] == PAIRS
    with ledger.read() as conn:
        assert str(ledger.tree(conn).root()) == final_root
    assert audit_ledger(ledger, SERVICE_POLICY, s.pk.vk, backend="arkworks").ok
    ledger.close()
    log = (tmp_path / "serve.log").read_text()
    assert re.search(r'^127\.0\.0\.1 - - \[[^]]+\] "POST /settlements HTTP/1\.1" 201 \d+$', log, re.M), log[-2000:]
    assert TOKEN not in log and "Traceback" not in log
