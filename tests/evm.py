"""A real EVM for the exported Solidity verifier: solc-js compiles, anvil executes.

Both come from the npm registry (`solc`, `@foundry-rs/anvil`, whose platform
package ships the anvil binary); `.ci/run` installs them and sets
``ZKPROOFS_SOLCJS`` / ``ZKPROOFS_ANVIL``; otherwise ``solcjs`` / ``anvil`` on PATH.
anvil runs with ``--hardfork prague``, the first fork with the EIP-2537
precompiles. JSON-RPC over HTTP on 127.0.0.1 with the standard library only.
Used by tests/test_solidity.py, tests/test_solidity_escrow.py and
benchmarks/bench_solidity_gas.py.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass

HARDFORK = "prague"


def tools() -> tuple[str | None, str | None, str]:
    """(solcjs, anvil, reason): paths of the two tools, and why one is missing ('' if none)."""
    solcjs = os.environ.get("ZKPROOFS_SOLCJS") or shutil.which("solcjs")
    anvil = os.environ.get("ZKPROOFS_ANVIL") or shutil.which("anvil")
    missing = []
    if shutil.which("node") is None:
        missing.append("node")
    if not solcjs:
        missing.append("solcjs (npm package solc; set ZKPROOFS_SOLCJS)")
    if not anvil:
        missing.append("anvil (npm package @foundry-rs/anvil; set ZKPROOFS_ANVIL)")
    reason = f"no EVM toolchain: {', '.join(missing)} not found (.ci/run installs them)" if missing else ""
    return solcjs, anvil, reason


@dataclass(frozen=True)
class Compiled:
    bytecode: bytes
    abi: list
    method_ids: dict[str, str]


def compile_contract(solcjs: str, source: str, name: str) -> Compiled:
    """Compile ``source`` with solc-js (standard JSON, optimizer on, EVM version prague).

    Raises RuntimeError with solc's messages on any error.
    """
    request = {
        "language": "Solidity",
        "sources": {"Contract.sol": {"content": source}},
        "settings": {
            "evmVersion": HARDFORK,
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.methodIdentifiers"]}},
        },
    }
    # stdout goes to a file: node writes to a pipe asynchronously and solc-js exits before a
    # large output (over 64 KiB, e.g. with warnings) is flushed, which truncates the JSON.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out_file:
        done = subprocess.run([solcjs, "--standard-json"], input=json.dumps(request), stdout=out_file, stderr=subprocess.PIPE,
                              text=True, timeout=300)
        out_file.seek(0)
        text = out_file.read()
    # solc-js prints a notice line about SMT solvers before the JSON.
    start = text.find("{")
    if done.returncode != 0 or start < 0:
        raise RuntimeError(f"solcjs failed ({done.returncode}): {done.stderr or text}")
    out = json.loads(text[start:])
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    contract = out["contracts"]["Contract.sol"][name]
    return Compiled(bytes.fromhex(contract["evm"]["bytecode"]["object"]), contract["abi"], contract["evm"]["methodIdentifiers"])


class Reverted(Exception):
    """An eth_call that reverted; ``data`` is the revert data (custom error selector + args)."""

    def __init__(self, message: str, data: bytes):
        super().__init__(message)
        self.data = data


class Anvil:
    """A local anvil node (Prague) on a free port; use as a context manager."""

    def __init__(self, anvil: str):
        self._binary = anvil
        self._process: subprocess.Popen | None = None
        self.url = ""
        self.account = ""

    def __enter__(self) -> "Anvil":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(
            [self._binary, "--hardfork", HARDFORK, "--port", str(port), "--host", "127.0.0.1", "--silent", "--accounts", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.account = self.rpc("eth_accounts")[0]
                return self
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"anvil did not start: {err}")
                time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stderr:
                self._process.stderr.close()
            self._process = None

    def rpc(self, method: str, *params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            reply = json.loads(resp.read())
        if "error" in reply:
            error = reply["error"]
            data = error.get("data")
            raise Reverted(error.get("message", ""), bytes.fromhex(data[2:]) if isinstance(data, str) else b"")
        return reply["result"]

    def deploy(self, bytecode: bytes) -> str:
        """Deploy ``bytecode``; the contract's address."""
        receipt = self._transact({"data": "0x" + bytecode.hex()})
        return receipt["contractAddress"]

    def call(self, to: str, data: bytes) -> bytes:
        """eth_call; the return data, or Reverted with the revert data."""
        result = self.rpc("eth_call", {"from": self.account, "to": to, "data": "0x" + data.hex()}, "latest")
        return bytes.fromhex(result[2:])

    def call_from(self, sender: str, to: str, data: bytes) -> bytes:
        """:meth:`call` with another ``from`` address (e.g. to test access control)."""
        result = self.rpc("eth_call", {"from": sender, "to": to, "data": "0x" + data.hex()}, "latest")
        return bytes.fromhex(result[2:])

    def transact_gas(self, to: str, data: bytes) -> int:
        """Send a transaction calling ``to`` with ``data``; its gasUsed (intrinsic 21000 + call data included)."""
        receipt = self.send(to, data)
        if receipt["status"] != "0x1":
            raise RuntimeError("transaction reverted")
        return int(receipt["gasUsed"], 16)

    def send(self, to: str, data: bytes, sender: str | None = None) -> dict:
        """Send a transaction (mined even if it reverts: the gas limit is given); its receipt.
        ``sender`` other than the node's account must be impersonated first (:meth:`impersonate`)."""
        return self._transact({"to": to, "data": "0x" + data.hex(), **({"from": sender} if sender else {})})

    def impersonate(self, address: str) -> None:
        """Let transactions come from ``address`` (anvil_impersonateAccount) and give it 1 ether."""
        self.rpc("anvil_impersonateAccount", address)
        self.rpc("anvil_setBalance", address, hex(10**18))

    def snapshot(self) -> str:
        """evm_snapshot: an id to return the chain to with :meth:`revert_to`."""
        return self.rpc("evm_snapshot")

    def revert_to(self, snapshot: str) -> None:
        if self.rpc("evm_revert", snapshot) is not True:
            raise RuntimeError(f"anvil could not revert to snapshot {snapshot}")

    def increase_time(self, seconds: int) -> None:
        """Move the next block's timestamp ``seconds`` ahead and mine it."""
        self.rpc("evm_increaseTime", seconds)
        self.rpc("evm_mine")

    def _transact(self, tx: dict) -> dict:
        tx = {"from": self.account, "gas": hex(10_000_000), **tx}
        tx_hash = self.rpc("eth_sendTransaction", tx)
        deadline = time.monotonic() + 30
        # anvil mines each transaction at once, but the receipt can lag the reply.
        while (receipt := self.rpc("eth_getTransactionReceipt", tx_hash)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("anvil did not mine the transaction within 30 s")
            time.sleep(0.05)
        return receipt
