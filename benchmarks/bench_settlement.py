"""Settlement benchmarks: prove / verify times by basket size, service throughput and latency.

Run: ``PYTHONPATH=. python benchmarks/bench_settlement.py [--requests 200] [--clients 8]``.
Prints a table. Baskets 1x1, 4x4 and 16x16 (collateral x debt assets) of the
``collateral_ratio`` circuit: setup once, then the median of ``--repeat`` proofs
and verifications (arkworks backend). Service: uvicorn on 127.0.0.1 in this
process, ``--requests`` distinct accepted settlements posted by a thread pool of
``--clients`` httpx clients; throughput = accepted / wall time, p50 / p99 of the
per-request latency. Request proofs are made before the clock starts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from circuits.collateral_ratio import CollateralRatio  # noqa: E402
from zkproofs.groth16 import prove, setup, verify  # noqa: E402
from zkproofs.service import create_app  # noqa: E402
from zkproofs.settlement import (  # noqa: E402
    Ledger,
    Position,
    PriceQuote,
    SettlementTerms,
    SettlementVerifier,
    StaticPriceFeed,
    prove_position,
)
from zkproofs.settlement.policy import MarketPolicy, Policy  # noqa: E402


def basket_inputs(c: int, d: int) -> dict:
    return {
        "collateral": [10**8 * (i + 1) for i in range(c)],
        "collateral_price": [2_700_000_000_000] * c,
        "haircut_bps": [500] * c,
        "debt": [10**8] * d,
        "debt_price": [100_000_000] * d,
        "min_ratio_bps": 15_000,
        "salt": 42,
        "settlement_context": 1,
        "expiry": 2_000_000_000,
    }


def bench_baskets(repeat: int) -> list[tuple]:
    rows = []
    for c, d in ((1, 1), (4, 4), (16, 16)):
        circuit = CollateralRatio(collateral=c, debt=d)
        started = time.perf_counter()
        pk = setup(circuit, party="bench")
        setup_s = time.perf_counter() - started
        prove_times, verify_times = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            r1cs, witness = circuit.synthesize(basket_inputs(c, d))
            proof = prove(pk, r1cs, witness)
            prove_times.append(time.perf_counter() - started)
            public = witness[1 : r1cs.num_public + 1]
            started = time.perf_counter()
            ok = verify(pk.vk, public, proof)
            verify_times.append(time.perf_counter() - started)
            assert ok
        rows.append((f"{c}x{d}", circuit.shape.num_constraints, setup_s, statistics.median(prove_times),
                     statistics.median(verify_times)))
    return rows


def bench_service(requests: int, clients: int) -> dict:
    now = time.time()
    market = MarketPolicy("BTC-USDC", 15_000, ("BTC",), ("USDC",), (500,))
    policy = Policy(50, 3600, None, 1 << 20, {"BTC-USDC": market})
    feed = StaticPriceFeed({"BTC": PriceQuote(2_700_012_000_000, int(now)), "USDC": PriceQuote(100_000_000, int(now))})
    pk = setup(CollateralRatio(collateral=1, debt=1), party="bench")
    position = Position.from_dict({"collateral": {"BTC": "1.5"}, "debt": {"USDC": "20000"}, "salt": "7"})
    bodies = [
        prove_position(pk, position, SettlementTerms("BTC-USDC", f"bench-{i}", int(now) + 3600, ("BTC",),
                                                     (2_700_012_000_000,), (500,), ("USDC",), (100_000_000,), 15_000))
        for i in range(requests)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.db")
        verifier = SettlementVerifier(policy, {"BTC-USDC": pk.vk}, feed, ledger)
        sock_port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(verifier, 1 << 20), host="127.0.0.1", port=sock_port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        latencies = []
        statuses = []
        lock = threading.Lock()
        local = threading.local()

        def post(body):
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=f"http://127.0.0.1:{sock_port}", timeout=60)
            started = time.perf_counter()
            status = client.post("/settlements", json=body).status_code
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses.append(status)

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, bodies))
        wall = time.perf_counter() - started
        server.should_exit = True
        thread.join(20)
        accepted = ledger.count(accepted=True)
        ledger.close()
    latencies.sort()
    return {
        "requests": requests,
        "clients": clients,
        "accepted": accepted,
        "status_201": statuses.count(201),
        "wall_s": wall,
        "throughput": accepted / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print(f"{'basket':<8} {'constraints':>11} {'setup s':>8} {'prove s':>8} {'verify ms':>10}")
    for name, constraints, setup_s, prove_s, verify_s in bench_baskets(args.repeat):
        print(f"{name:<8} {constraints:>11} {setup_s:>8.2f} {prove_s:>8.3f} {verify_s * 1000:>10.2f}")
    s = bench_service(args.requests, args.clients)
    print()
    print(f"service: {s['accepted']}/{s['requests']} accepted (201: {s['status_201']}), {s['clients']} clients, "
          f"{s['wall_s']:.2f} s -> {s['throughput']:.1f} accepted settlements/s; "
          f"latency p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
