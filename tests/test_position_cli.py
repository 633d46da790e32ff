"""``zkproofs position commit | prove | verify`` through click's CliRunner."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from zkproofs.settlement import Position, position_commitment

FIXTURES = Path(__file__).parent / "fixtures" / "settlement"


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, f"exit {result.exit_code}: {result.output}{result.stderr if result.stderr_bytes else ''}"
    return result


@pytest.fixture(scope="module")
def venue(tmp_path_factory):
    """Keys for BTC-USDC (1x1) and a policy whose price feed is fresh."""
    folder = tmp_path_factory.mktemp("venue")
    run("setup", "collateral_ratio", "--party", "tests", "--param", "collateral=1", "--param", "debt=1", "--out", str(folder / "keys" / "BTC-USDC"))
    shutil.copy(FIXTURES / "policy.toml", folder / "policy.toml")
    prices = json.loads((FIXTURES / "prices.json").read_text())
    for quote in prices.values():
        quote["updated_at"] = int(time.time())
    (folder / "prices.json").write_text(json.dumps(prices))
    shutil.copy(FIXTURES / "position.json", folder / "position.json")
    return folder


@pytest.fixture(scope="module")
def request_file(venue):
    out = venue / "request.json"
    run("position", "prove", str(venue / "position.json"), "--pk", str(venue / "keys" / "BTC-USDC" / "proving_key.bin"),
        "--market", "BTC-USDC", "--policy", str(venue / "policy.toml"), "--settlement-id", "cli-1", "--ttl", "600",
        "--out", str(out))
    return out


def test_commit_matches_the_library():
    result = run("position", "commit", str(FIXTURES / "position.json"), "--json")
    info = json.loads(result.output)
    pos = Position.from_dict(json.loads((FIXTURES / "position.json").read_text()))
    assert info["commitment"] == str(position_commitment(pos)) and info["salt"] == "123456789"
    assert info["salt_generated"] is False


def test_commit_generates_a_salt(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"collateral": {"BTC": "1"}, "debt": {"USDC": "1"}}))
    first = json.loads(run("position", "commit", str(path), "--json").output)
    second = json.loads(run("position", "commit", str(path), "--json").output)
    assert first["salt_generated"] and first["salt"] != second["salt"]
    assert "salt" in run("position", "commit", str(path)).output


def test_commit_in_market_order(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"collateral": {"ETH": "2", "BTC": "1"}, "debt": {"USDC": "1"}, "salt": "3"}))
    plain = json.loads(run("position", "commit", str(path), "--json").output)
    ordered = json.loads(run("position", "commit", str(path), "--collateral-order", "BTC,ETH", "--json").output)
    assert plain["collateral"] == ["ETH", "BTC"] and ordered["collateral"] == ["BTC", "ETH"]
    assert plain["commitment"] != ordered["commitment"]


@pytest.mark.parametrize(
    "content,word",
    [
        ('{"collateral": {"BTC": 1.5}, "salt": "1"}', "decimal string"),
        ('{"collateral": {"BTC": "1.123456789"}, "salt": "1"}', "more than 8 decimals"),
        ('{"collateral": {"BTC": "184467440737.09551616"}, "salt": "1"}', "2^64"),
        ('{"collateral": {"BTC": "1"}, "salt": "x"}', "salt"),
        ('{"collateral": {"BTC": "1"}, "cash": {}}', "cash"),
        ("{", "invalid JSON"),
    ],
)
def test_commit_refuses_bad_positions(tmp_path, content, word):
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = run("position", "commit", str(path), code=2)
    assert word in result.output, result.output


def test_prove_writes_the_post_body(venue, request_file):
    body = json.loads(request_file.read_text())
    assert set(body) == {"market", "settlement_id", "expiry", "collateral", "debt", "min_ratio_bps", "proof"}
    assert body["collateral"] == [{"asset": "BTC", "price": "27000.12", "haircut_bps": 500}]
    assert body["debt"] == [{"asset": "USDC", "price": "1"}] and body["min_ratio_bps"] == 15000
    assert abs(body["expiry"] - (time.time() + 600)) < 120


def test_verify_valid_request(venue, request_file):
    vk = str(venue / "keys" / "BTC-USDC" / "verification_key.json")
    result = run("position", "verify", str(request_file), "--vk", vk, "--trust-single-party-key", "--json")
    out = json.loads(result.output)
    assert out["valid"] is True and out["key"]["provenance"] == {"kind": "single-party", "party": "tests"}
    refusal = run("position", "verify", str(request_file), "--vk", vk, code=2)  # no opt-in: the key is refused
    assert "single-party setup by tests" in refusal.output and "--trust-single-party-key" in refusal.output


def test_verify_tampered_commitment_is_invalid(venue, request_file, tmp_path):
    body = json.loads(request_file.read_text())
    body["proof"]["public_inputs"]["commitment"] = str(int(body["proof"]["public_inputs"]["commitment"]) + 1)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(body))
    run("position", "verify", str(path), "--vk", str(venue / "keys" / "BTC-USDC" / "verification_key.json"), "--trust-single-party-key", code=1)


def test_verify_field_not_matching_proof_is_malformed(venue, request_file, tmp_path):
    body = json.loads(request_file.read_text())
    body["expiry"] += 1
    path = tmp_path / "moved.json"
    path.write_text(json.dumps(body))
    result = run("position", "verify", str(path), "--vk", str(venue / "keys" / "BTC-USDC" / "verification_key.json"), "--trust-single-party-key", code=2)
    assert "expiry" in result.output


def test_prove_with_explicit_prices(venue, tmp_path):
    out = tmp_path / "req.json"
    run("position", "prove", str(venue / "position.json"), "--pk", str(venue / "keys" / "BTC-USDC" / "proving_key.bin"),
        "--market", "BTC-USDC", "--collateral", "BTC=27000.12", "--debt", "USDC=1", "--haircut", "BTC=500",
        "--min-ratio", "15000", "--settlement-id", "cli-2", "--expiry", "1900000000", "--out", str(out), "--json")
    body = json.loads(out.read_text())
    assert body["expiry"] == 1900000000 and body["collateral"][0]["haircut_bps"] == 500
    run("position", "verify", str(out), "--vk", str(venue / "keys" / "BTC-USDC" / "verification_key.json"), "--trust-single-party-key")


def test_prove_refuses_a_position_below_the_ratio(venue, tmp_path):
    out = tmp_path / "below.json"
    result = run("position", "prove", str(FIXTURES / "position_below.json"),
                 "--pk", str(venue / "keys" / "BTC-USDC" / "proving_key.bin"), "--market", "BTC-USDC",
                 "--policy", str(venue / "policy.toml"), "--settlement-id", "cli-3", "--ttl", "60", "--out", str(out), code=2)
    assert "ratio" in result.output and not out.exists()


@pytest.mark.parametrize(
    "extra,word",
    [
        (["--ttl", "60", "--expiry", "5"], "exactly one"),
        (["--ttl", "60", "--market", "DOGE-USDC"], "DOGE-USDC"),
        (["--ttl", "60", "--settlement-id", "bad id"], "settlement_id"),
        (["--ttl", "60", "--haircut", "BTC=abc"], "basis points"),
        (["--ttl", "60", "--haircut", "SOL=5"], "SOL"),
    ],
)
def test_prove_refuses_bad_options(venue, tmp_path, extra, word):
    args = ["position", "prove", str(venue / "position.json"), "--pk", str(venue / "keys" / "BTC-USDC" / "proving_key.bin"),
            "--market", "BTC-USDC", "--policy", str(venue / "policy.toml"), "--settlement-id", "cli-4",
            "--out", str(tmp_path / "x.json")]
    result = run(*args, *extra, code=2)
    assert word in result.output, result.output
    assert not (tmp_path / "x.json").exists()


def test_prove_with_the_key_of_another_market_shape(venue, tmp_path):
    result = run("position", "prove", str(venue / "position.json"), "--pk", str(venue / "keys" / "BTC-USDC" / "proving_key.bin"),
                 "--market", "BTC-ETH-USDC", "--policy", str(venue / "policy.toml"), "--settlement-id", "cli-5",
                 "--ttl", "60", "--out", str(tmp_path / "x.json"), code=2)
    assert "collateral_ratio" in result.output
