"""A venue process for the crash test: applies a stream of operations and acknowledges each one
on stdout after its transaction committed. Usage:
python -m tests.venue_worker LEDGER VK_JSON OPS_JSON CLOCK PAUSE_SECONDS"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.venue_helpers import POLICY, make_venue
from zkproofs.groth16.serialize import vk_from_json
from zkproofs.settlement.venue_ledger import VenueLedger


def main(ledger_path: str, vk_path: str, ops_path: str, clock: str, pause: str) -> None:
    now = float(clock)
    ledger = VenueLedger(ledger_path, depth=POLICY.tree_depth, clock=lambda: now)
    venue = make_venue(POLICY, vk_from_json(Path(vk_path).read_bytes()), ledger, clock=lambda: now)
    for i, op in enumerate(json.loads(Path(ops_path).read_text())):
        if op[0] == "transfer":
            decision = venue.register_transfer(*op[1:])
        elif op[0] == "deposit":
            decision = venue.deposit(op[1])
        else:
            decision = venue.settle(op[1], op[2])
        print(f"ack {i} {decision.reason.value}", flush=True)
        time.sleep(float(pause))


if __name__ == "__main__":
    main(*sys.argv[1:])
