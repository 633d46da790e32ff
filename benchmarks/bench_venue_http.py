"""Matched two-party trades per second through the venue's HTTP service (``zkproofs serve``), and where the time goes.

Run: ``PYTHONPATH=. python benchmarks/bench_venue_http.py [--trades 48] [--clients 8] [--rounds 6] [--depth 8]``.

Preparation (cached in ``--cache``, default ``$TMPDIR/zkproofs-bench-venue-http``,
keyed by trades and depth; the first run proves, later runs reuse): ``valid_transition``
with 4 assets at ``--depth``, a single-party setup; ``2 x trades`` traders deposit
through the library venue into a seed ledger; then every trade's two legs are proven
against the seed's last root, each trade spending two fresh notes (none is a double
spend). Proving cost does not enter the measurement.

Measurement, per round: a copy of the seed ledger, a real ``zkproofs serve``
subprocess (uvicorn, one worker; verification in its thread pool), warmed up by the
round's first trade (not timed: a fresh process's one-time costs), then ``--clients``
threads in this process, each with its own keep-alive connection (``http.client``: a lean
load generator, since its CPU shares the 2 cores with the server), posting
``POST /settlements`` from a shared queue; with ``--slow-clients N``, N more
connections are held open meanwhile by clients that never finish their headers
(reconnecting when the server's header deadline closes them). Throughput = accepted trades / wall time
from the first send to the last answer; p50 / p99 of the per-request latency over all
rounds; the server's CPU seconds (from /proc) per trade. Then, in-process and without
HTTP, the split of one trade's cost: JSON decoding + schema validation, each leg's
Groth16 verification, and the whole ``Venue.settle`` (both verifications, the checks
and the SQLite transaction). Prints the load average before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from nacl.signing import SigningKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from circuits.valid_transition import ValidTransition  # noqa: E402
from zkproofs.groth16 import setup, verify  # noqa: E402
from zkproofs.groth16.serialize import pk_from_bytes, pk_to_bytes, proof_from_dict, vk_to_json  # noqa: E402
from zkproofs.jsontext import loads  # noqa: E402
from zkproofs.service import request_models  # noqa: E402
from zkproofs.settlement.notes import OwnerKeys, nullifier  # noqa: E402
from zkproofs.settlement.epochs import quotes_to_dict, sign_quotes  # noqa: E402
from zkproofs.settlement.transition import (  # noqa: E402
    Kind,
    build_transition,
    prove_transition,
    receipt_hash,
    receipt_secret,
    transition_context,
    transition_request,
)
from zkproofs.settlement.venue import Venue  # noqa: E402
from zkproofs.settlement.venue_ledger import VenueLedger  # noqa: E402
from zkproofs.settlement.venue_policy import load_venue_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ONE = 10**8
ASSETS = ["BTC", "ETH", "USDC", "USDT"]
PRICES = [27_000 * ONE, 1_800 * ONE, ONE, ONE]
EXPIRY_SECONDS = 30 * 24 * 3600
ORACLE_SEED = hashlib.sha256(b"zkproofs benchmark oracle").digest()
"""The benchmark venue's one price oracle (quorum 1): epoch 1 is signed when the cache is made."""
POLICY_TOML = """[venue]
name = "bench"
assets = ["BTC", "ETH", "USDC", "USDT"]
initial_ratio_bps = 15000
maintenance_ratio_bps = 12500
haircut_bps = {{ BTC = 500, ETH = 1000 }}
anchor_window = 100000
tree_depth = {depth}
max_epoch_age_seconds = 1000000000  # the cached seed ledger's one epoch stays usable
trust_single_party_keys = true  # the benchmark's venue runs its own single-party setup

[oracles]
keys = ["{oracle}"]
quorum = 1

[markets.BTC-USDC]
base = "BTC"
quote = "USDC"
"""


def prepare(folder: Path, trades: int, depth: int) -> list[dict]:
    """The seed ledger, keys and policy in ``folder`` and the trades' bodies (cached)."""
    bodies_path = folder / "trades.json"
    if bodies_path.exists():
        return json.loads(bodies_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "policy.toml").write_text(POLICY_TOML.format(depth=depth, oracle=SigningKey(ORACLE_SEED).verify_key.encode().hex()))
    policy = load_venue_policy(folder / "policy.toml")
    started = time.perf_counter()
    pk = setup(ValidTransition(**policy.circuit_params), backend="arkworks", party="benchmark")
    (folder / "keys").mkdir(exist_ok=True)
    (folder / "keys" / "verification_key.json").write_text(vk_to_json(pk.vk))
    (folder / "proving_key.bin").write_bytes(pk_to_bytes(pk))
    now = int(time.time())
    expiry = now + EXPIRY_SECONDS
    ledger = VenueLedger(folder / "seed.db", depth=depth)
    venue = Venue(policy, pk.vk, ledger, backend="arkworks")
    quotes = sign_quotes(ORACLE_SEED, policy.name, 1, now, dict(zip(ASSETS, PRICES)), ASSETS)
    assert venue.publish_epoch({"quotes": [quotes_to_dict(quotes)]}).accepted

    def prove(keys, old, delta, kind, market, reference, counterparty=0):
        nf = nullifier(keys.nk, old[1].position, old[0].commitment()) if old else 0
        receipt = receipt_hash(receipt_secret(keys.nk, nf))
        ctx = transition_context(kind, market, reference, expiry, counterparty, "-", receipt, epoch=1)
        t = build_transition(keys, old, delta, [0] * 4, PRICES, list(policy.haircut_bps), policy.ratio_for(kind.name.lower()), ctx,
                             depth=depth, assets=policy.assets)
        proof, public = prove_transition(pk, t)
        return transition_request(kind, market, reference, expiry, proof, public, pk.vk, epoch=1, counterparty_nullifier=counterparty,
                                  receipt=receipt), t

    notes = []
    for i in range(2 * trades):
        keys = OwnerKeys.from_spending_key(50_000 + i)
        asset, amount = ("BTC", 2 * ONE) if i % 2 == 0 else ("USDC", 60_000 * ONE)
        venue.register_transfer(f"tx-{i}", asset, amount)
        body, t = prove(keys, None, [amount if a == asset else 0 for a in ASSETS], Kind.DEPOSIT, "bench", f"tx-{i}")
        decision = venue.deposit(body)
        assert decision.accepted, decision
        notes.append((keys, t.new_note, decision.record["position"]))
    out = []
    for k in range(trades):
        (ka, note_a, pos_a), (kb, note_b, pos_b) = notes[2 * k], notes[2 * k + 1]
        nf_a, nf_b = nullifier(ka.nk, pos_a, note_a.commitment()), nullifier(kb.nk, pos_b, note_b.commitment())
        path_a, root = ledger.membership_path(pos_a)
        path_b, _ = ledger.membership_path(pos_b)
        leg_a, _ = prove(ka, (note_a, path_a, root), [-ONE, 0, 27_000 * ONE, 0], Kind.TRADE, "BTC-USDC", f"trade-{k}", nf_b)
        leg_b, _ = prove(kb, (note_b, path_b, root), [ONE, 0, -27_000 * ONE, 0], Kind.TRADE, "BTC-USDC", f"trade-{k}", nf_a)
        out.append({"legs": [leg_a, leg_b]})
    ledger.close()
    bodies_path.write_text(json.dumps(out))
    print(f"prepared {trades} trades ({4 * trades} proofs) in {time.perf_counter() - started:.0f} s", flush=True)
    return out


def server_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SlowClients:
    """``n`` connections that each send a request line and part of a header, then one byte a second, never
    finishing; a connection the server closes (header deadline) is opened again, so ``n`` stay held."""

    def __init__(self, port: int, n: int):
        self.port, self.n, self.stop, self.reopened, self.held = port, n, threading.Event(), 0, 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(b"POST /settlements HTTP/1.1\r\nHost: venue\r\nX-Slow: ")
            sock.setblocking(False)
            return sock
        except OSError:
            return None

    def run(self) -> None:
        socks = [self.open() for _ in range(self.n)]
        while not self.stop.is_set():
            for i, sock in enumerate(socks):
                try:
                    if sock is None:
                        raise OSError
                    sock.send(b"a")
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        raise OSError
                except BlockingIOError:
                    continue
                except OSError:
                    if sock is not None:
                        sock.close()
                    socks[i] = self.open()
                    self.reopened += 1
            self.held = sum(sock is not None for sock in socks)
            self.stop.wait(1.0)
        for sock in socks:
            if sock is not None:
                sock.close()


def run_round(folder: Path, work: Path, bodies: list[dict], clients: int, slow_clients: int = 0) -> dict:
    db = work / "run.db"
    for suffix in ("", "-wal", "-shm"):
        (work / f"run.db{suffix}").unlink(missing_ok=True)
    shutil.copy(folder / "seed.db", db)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--policy", str(folder / "policy.toml"),
                             "--keys", str(folder / "keys"), "--db", str(db), "--port", str(port),
                             # every client here is 127.0.0.1: the per-address submission limit would measure itself
                             "--submissions-per-second", "1000000", "--submission-burst", "1000000"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("zkproofs serve did not start")
            time.sleep(0.1)
        slow = SlowClients(port, slow_clients)
        if slow_clients:
            slow.thread.start()
            time.sleep(3)  # let them connect
        encoded = [json.dumps(b).encode() for b in bodies]
        # Warm-up, not timed: the first trade of a fresh server pays its one-time costs (lazy
        # imports, the route's first validation, the first SQLite write), which a venue running
        # for hours does not pay per trade.
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        warm.request("POST", "/settlements", body=encoded[0], headers={"content-type": "application/json"})
        warm_status = warm.getresponse()
        warm_status.read()
        warm.close()
        if warm_status.status != 201:
            raise RuntimeError(f"the warm-up trade was refused ({warm_status.status})")
        work_queue: queue.Queue = queue.Queue()
        for body in encoded[1:]:
            work_queue.put(body)
        latencies, statuses, lock = [], [], threading.Lock()
        barrier = threading.Barrier(clients + 1)

        def client() -> None:
            # A lean load generator (the standard library's keep-alive HTTP/1.1 client, bodies
            # serialised before the clock starts): on 2 cores the clients' CPU competes with the server's.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request("GET", "/health")  # open the keep-alive connection before the clock starts
                conn.getresponse().read()
                barrier.wait()
                while True:
                    try:
                        body = work_queue.get_nowait()
                    except queue.Empty:
                        return
                    t0 = time.perf_counter()
                    conn.request("POST", "/settlements", body=body, headers={"content-type": "application/json"})
                    response = conn.getresponse()
                    response.read()
                    elapsed = time.perf_counter() - t0
                    with lock:
                        latencies.append(elapsed)
                        statuses.append(response.status)
            finally:
                conn.close()

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        cpu0, client_cpu0 = server_cpu_seconds(proc.pid), time.process_time()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        cpu = server_cpu_seconds(proc.pid) - cpu0
        client_cpu = time.process_time() - client_cpu0
        slow.stop.set()
        if slow_clients:
            slow.thread.join(10)
    finally:
        proc.kill()
        proc.wait(30)
    if slow_clients:
        print(f"  slow clients: {slow.held} connections held at the end, {slow.reopened} reopened", flush=True)
    return {"wall": wall, "accepted": statuses.count(201), "statuses": statuses, "latencies": latencies,
            "server_cpu": cpu, "client_cpu": client_cpu}


def split_costs(folder: Path, work: Path, bodies: list[dict], samples: int) -> dict:
    """In-process cost of one trade's parts (no HTTP), medians over ``samples`` trades."""
    policy = load_venue_policy(folder / "policy.toml")
    pk = pk_from_bytes((folder / "proving_key.bin").read_bytes())
    db = work / "split.db"
    for suffix in ("", "-wal", "-shm"):
        (work / f"split.db{suffix}").unlink(missing_ok=True)
    shutil.copy(folder / "seed.db", db)
    ledger = VenueLedger(db, depth=policy.tree_depth)
    venue = Venue(policy, pk.vk, ledger, backend="arkworks")
    model = request_models(venue)["Settlement"]
    names = list(pk.vk.public_names)
    decode, verify_one, settle = [], [], []
    for body in bodies[:samples]:
        raw = json.dumps(body).encode()
        t0 = time.process_time()
        model.model_validate(loads(raw, "body"))
        decode.append(time.process_time() - t0)
        proof, public = proof_from_dict(body["legs"][0]["proof"])
        t0 = time.process_time()
        assert verify(pk.vk, [public[n] for n in names], proof, backend="arkworks")
        verify_one.append(time.process_time() - t0)
        t0 = time.process_time()
        assert venue.settle(*body["legs"]).accepted
        settle.append(time.process_time() - t0)
    ledger.close()
    return {"decode_ms": 1000 * statistics.median(decode), "verify_ms": 1000 * statistics.median(verify_one),
            "settle_ms": 1000 * statistics.median(settle)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=48, help="distinct trades (each replayed once per round)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--depth", type=int, default=8, help="note tree depth of the benchmark's venue")
    parser.add_argument("--slow-clients", type=int, default=0, help="connections held open by slow clients meanwhile")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "zkproofs-bench-venue-http")
    args = parser.parse_args()
    folder = args.cache / f"trades{args.trades}-depth{args.depth}"
    bodies = prepare(folder, args.trades, args.depth)
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}", flush=True)
    rounds = []
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        for r in range(args.rounds):
            result = run_round(folder, work, bodies, args.clients, args.slow_clients)
            rounds.append(result)
            print(f"round {r}: {result['accepted']}/{len(bodies) - 1} timed trades accepted in {result['wall']:.2f} s -> "
                  f"{result['accepted'] / result['wall']:.1f} trades/s; server CPU {1000 * result['server_cpu'] / result['accepted']:.1f} ms/trade, "
                  f"client CPU {1000 * result['client_cpu'] / result['accepted']:.1f} ms/trade", flush=True)
        split = split_costs(folder, work, bodies, min(20, len(bodies)))
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    latencies = sorted(x for r in rounds for x in r["latencies"])
    accepted = sum(r["accepted"] for r in rounds)
    wall = sum(r["wall"] for r in rounds)
    assert accepted == (len(bodies) - 1) * args.rounds, "some trades were refused"
    print(f"\n{args.clients} clients ({args.slow_clients} slow clients holding connections), {args.rounds} rounds x {len(bodies) - 1} timed trades (4 assets, depth {args.depth}): "
          f"{accepted / wall:.1f} matched trades/s overall (best round {max(r['accepted'] / r['wall'] for r in rounds):.1f}); "
          f"latency p50 {1000 * latencies[len(latencies) // 2]:.1f} ms, p99 {1000 * latencies[int(len(latencies) * 0.99)]:.1f} ms; "
          f"server CPU {1000 * sum(r['server_cpu'] for r in rounds) / accepted:.1f} ms per trade")
    print(f"one trade in-process (CPU, median of {min(20, len(bodies))}): decode + schema {split['decode_ms']:.2f} ms, "
          f"one leg's Groth16 verification {split['verify_ms']:.2f} ms, Venue.settle (2 verifications + checks + "
          f"transaction) {split['settle_ms']:.2f} ms")


if __name__ == "__main__":
    main()
