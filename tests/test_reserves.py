"""Proof of reserves: BIP-137 and EIP-191 signatures over the challenge, the auditor's snapshot,
and the whole check (library and CLI), with every way a claim can fail."""

from __future__ import annotations

import json
import secrets

import pytest
from click.testing import CliRunner
from embit import ec
from embit.networks import NETWORKS

from cli.main import main
from zkproofs.accounts.model import Asset
from zkproofs.errors import ReservesError
from zkproofs.reserves import (
    Claim,
    ReservesProof,
    challenge_message,
    new_nonce,
    parse_snapshot,
    reserves_from_json,
    reserves_to_json,
    sign_reserves,
    verify_reserves,
)
from zkproofs.reserves import bitcoin, ethereum
from zkproofs.tree.root import PublishedRoot, root_to_json

ROOT = PublishedRoot(0x1234ABCD << 200, 4, (Asset("BTC", 8), Asset("ETH", 8)), (5, 7), (0, 0), "2026-12-04T00:00:00Z")
NONCE = "ab" * 32


def _eth_key() -> str:
    return "0x" + secrets.token_hex(32)


def _btc_wif(network: str = "main") -> str:
    return ec.PrivateKey(secrets.token_bytes(32)).wif(NETWORKS[network])


# BIP-137 ---------------------------------------------------------------------------------
def test_bitcoin_core_signmessage_vector():
    """Bitcoin Core's own test vector (test/functional/rpc_signmessagewithprivkey.py, testnet
    P2PKH): an independent signer's signature verifies, and only for its message and address."""
    address, message = "mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB", "This is just a test message"
    signature = "INbVnW4e6PeRmsv2Qgu8NuopvrVjkcxob+sX8OcZG0SALhWybUjzMLPdAsXI46YZGb0KQTRii+wWIQzRpG/U+S0="
    assert bitcoin.verify(address, message, signature)
    assert not bitcoin.verify(address, message + ".", signature)
    assert not bitcoin.verify("mzXsLgwXRVLeJRmoDBn8b2RQJ8BNX2RVf2", message, signature)


@pytest.mark.parametrize("kind", bitcoin.KINDS)
@pytest.mark.parametrize("network", ["main", "test"])
def test_bip137_round_trip_per_address_kind(kind, network):
    wif = _btc_wif(network)
    address = bitcoin.address_of(wif, kind)
    signature = bitcoin.sign(wif, kind, "challenge")
    assert bitcoin.verify(address, "challenge", signature)
    assert not bitcoin.verify(address, "challenge!", signature)
    other = bitcoin.address_of(_btc_wif(network), kind)
    assert not bitcoin.verify(other, "challenge", signature)


def test_bip137_header_must_match_the_address_kind():
    """A P2PKH signature's recovered key does not make it valid for the same key's segwit
    address: the header fixes the address type (BIP-137)."""
    wif = _btc_wif()
    signature = bitcoin.sign(wif, "p2pkh", "m")
    assert bitcoin.verify(bitcoin.address_of(wif, "p2pkh"), "m", signature)
    assert not bitcoin.verify(bitcoin.address_of(wif, "p2wpkh"), "m", signature)
    assert not bitcoin.verify(bitcoin.address_of(wif, "p2sh-p2wpkh"), "m", signature)


@pytest.mark.parametrize("signature", ["", "not base64!", "AAAA", "G" + "A" * 86 + "=", bitcoin.sign(_btc_wif(), "p2pkh", "m")[:-4]])
def test_bip137_malformed_signatures_are_a_definite_reject(signature):
    assert bitcoin.verify(bitcoin.address_of(_btc_wif(), "p2pkh"), "m", signature) is False


def test_bip137_refuses_addresses_it_cannot_check():
    with pytest.raises(ReservesError, match="taproot"):
        bitcoin.normalize_address("bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr")
    with pytest.raises(ReservesError, match="not a Bitcoin address"):
        bitcoin.normalize_address("1BoatSLRHtKNngkdXEeobR76b53LETtpyX")  # bad checksum
    with pytest.raises(ReservesError, match="mixed case"):
        bitcoin.normalize_address("bc1QW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")


# EIP-191 ---------------------------------------------------------------------------------
def test_eip191_round_trip_and_rejects():
    key = _eth_key()
    address = ethereum.address_of(key)
    signature = ethereum.sign(key, "challenge")
    assert ethereum.verify(address, "challenge", signature)
    assert ethereum.verify(address.lower(), "challenge", signature)
    assert not ethereum.verify(address, "challenge!", signature)
    assert not ethereum.verify(ethereum.address_of(_eth_key()), "challenge", signature)
    for bad in ("", "0x", "0x1234", signature[:-2], "zz" * 65):
        assert ethereum.verify(address, "challenge", bad) is False


def test_ethereum_addresses_with_a_wrong_checksum_are_refused():
    address = ethereum.address_of(_eth_key())
    flipped = address[:2] + "".join(c.swapcase() if c.isalpha() else c for c in address[2:])
    if flipped not in (address.lower(), address.upper()):
        with pytest.raises(ReservesError, match="checksum"):
            ethereum.normalize_address(flipped)
    with pytest.raises(ReservesError, match="not an Ethereum address"):
        ethereum.normalize_address("0x1234")


# the challenge ---------------------------------------------------------------------------
def test_the_challenge_binds_root_and_nonce():
    message = challenge_message(ROOT.root_hash, NONCE)
    assert f"{ROOT.root_hash:064x}" in message and NONCE in message
    assert challenge_message(ROOT.root_hash + 1, NONCE) != message
    assert challenge_message(ROOT.root_hash, "cd" * 32) != message
    for bad in ("ab" * 8, "AB" * 32, "ab" * 65, "xy" * 32, ""):
        with pytest.raises(ReservesError, match="nonce"):
            challenge_message(ROOT.root_hash, bad)
    assert len(new_nonce()) == 64 and new_nonce() != new_nonce()


# the whole check -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exchange():
    """Three addresses (one Ethereum, two Bitcoin) with their keys and a signed proof."""
    keys = [{"chain": "ethereum", "private_key": _eth_key()},
            {"chain": "bitcoin", "wif": _btc_wif(), "kind": "p2wpkh"},
            {"chain": "bitcoin", "wif": _btc_wif(), "kind": "p2pkh"}]
    proof = sign_reserves(ROOT.root_hash, NONCE, keys)
    return keys, proof


def _snapshot_text(proof, extra=""):
    eth, wpkh, pkh = (c.address for c in proof.claims)
    return ("address,asset,balance,block_height\n"
            f"{eth},ETH,10.5,21000000\n"
            f"{wpkh},BTC,1.25,870000\n"
            f"{pkh},BTC,0,870000\n" + extra)


def test_verified_reserves_sum_only_the_claimed_addresses(exchange):
    _, proof = exchange
    stranger = bitcoin.address_of(_btc_wif(), "p2wpkh")
    snapshot = parse_snapshot(_snapshot_text(proof, f"{stranger},BTC,1000,870000\n"), ROOT)
    report = verify_reserves(proof, ROOT, NONCE, snapshot)
    assert report.reserves == {"BTC": 125_000_000, "ETH": 1_050_000_000}
    assert report.proven_addresses == 3 and report.unclaimed == (stranger,)
    assert report.heights == {"ethereum": 21000000, "bitcoin": 870000}


def test_another_root_or_nonce_is_rejected(exchange):
    _, proof = exchange
    snapshot = parse_snapshot(_snapshot_text(proof), ROOT)
    other_root = PublishedRoot(ROOT.root_hash + 1, 4, ROOT.assets, (5, 7), (0, 0), "")
    with pytest.raises(ReservesError, match="not the published"):
        verify_reserves(proof, other_root, NONCE, snapshot)
    with pytest.raises(ReservesError, match="another nonce"):
        verify_reserves(proof, ROOT, "cd" * 32, snapshot)


def test_a_claim_without_a_valid_signature_rejects_the_proof_and_is_named(exchange):
    """An address the exchange cannot sign for (a signature lifted from another address, or
    one over another root) rejects the whole proof, naming the address."""
    _, proof = exchange
    eth, wpkh, pkh = proof.claims
    stolen = Claim("bitcoin", pkh.address, wpkh.signature)
    stale = sign_reserves(ROOT.root_hash + 1, NONCE, [{"chain": "ethereum", "private_key": _eth_key()}]).claims[0]
    for forged in (stolen, stale):
        bad = ReservesProof(ROOT.root_hash, NONCE, (eth, wpkh, forged) if forged is stolen else (eth, wpkh, pkh, forged))
        text = _snapshot_text(proof) + (f"{stale.address},ETH,1,21000000\n" if forged is stale else "")
        with pytest.raises(ReservesError, match=forged.address):
            verify_reserves(bad, ROOT, NONCE, parse_snapshot(text, ROOT))


def test_a_claimed_address_missing_from_the_snapshot_is_rejected(exchange):
    _, proof = exchange
    text = "\n".join(_snapshot_text(proof).splitlines()[:-1]) + "\n"
    with pytest.raises(ReservesError, match="absent from the snapshot"):
        verify_reserves(proof, ROOT, NONCE, parse_snapshot(text, ROOT))


def test_the_proof_file_round_trips_and_is_parsed_strictly(exchange):
    _, proof = exchange
    assert reserves_from_json(reserves_to_json(proof)) == proof
    obj = json.loads(reserves_to_json(proof))
    obj["claims"].append(dict(obj["claims"][0]))
    with pytest.raises(ReservesError, match="claimed twice"):
        reserves_from_json(json.dumps(obj))
    text = reserves_to_json(proof).replace('"nonce"', '"nonce": "00", "nonce"', 1)
    with pytest.raises(ReservesError, match="duplicate"):
        reserves_from_json(text)
    obj = json.loads(reserves_to_json(proof))
    obj["claims"][0]["chain"] = "dogecoin"
    with pytest.raises(ReservesError, match="chain"):
        reserves_from_json(json.dumps(obj))


def test_sign_reserves_refuses_bad_keys():
    with pytest.raises(ReservesError, match=r"keys\[0\]"):
        sign_reserves(ROOT.root_hash, NONCE, [{"chain": "ethereum", "private_key": "0x00"}])
    with pytest.raises(ReservesError, match=r"keys\[1\].*given twice"):
        key = {"chain": "ethereum", "private_key": _eth_key()}
        sign_reserves(ROOT.root_hash, NONCE, [key, key])
    with pytest.raises(ReservesError, match="kind"):
        sign_reserves(ROOT.root_hash, NONCE, [{"chain": "bitcoin", "wif": _btc_wif(), "kind": "p2tr"}])


@pytest.mark.parametrize("body, match", [
    ("address,asset,balance\n", "line 1: expected the header"),
    ("address,asset,balance,block_height\n0x00,ETH,1,5\n", "line 2, column address"),
    ("address,asset,balance,block_height\n{eth},DOGE,1,5\n", "line 2, column asset"),
    ("address,asset,balance,block_height\n{eth},ETH,1.123456789,5\n", "line 2, column balance"),
    ("address,asset,balance,block_height\n{eth},ETH,-1,5\n", "line 2, column balance"),
    ("address,asset,balance,block_height\n{eth},ETH,1,05\n", "line 2, column block_height"),
    ("address,asset,balance,block_height\n{eth},ETH,1,5\n{eth},ETH,2,5\n", "line 3: a second row"),
    ("address,asset,balance,block_height\n{eth},ETH,1,5\n{eth},BTC,2,6\n", "line 3, column block_height"),
    ("address,asset,balance,block_height\n{eth},ETH,1\n", "line 2: expected 4 fields"),
])
def test_snapshot_errors_name_line_and_column(body, match):
    eth = ethereum.address_of(_eth_key())
    with pytest.raises(ReservesError, match=match):
        parse_snapshot(body.format(eth=eth), ROOT)


# the CLI ---------------------------------------------------------------------------------
def test_cli_prove_then_verify(tmp_path, exchange):
    keys, _ = exchange
    (tmp_path / "root.json").write_text(root_to_json(ROOT))
    (tmp_path / "keys.json").write_text(json.dumps(keys))
    runner = CliRunner()
    done = runner.invoke(main, ["reserves", "prove", "--root", str(tmp_path / "root.json"), "--nonce", NONCE,
                                "--keys", str(tmp_path / "keys.json"), "--out", str(tmp_path / "reserves.json")])
    assert done.exit_code == 0, done.output
    assert all(k.get("private_key", k.get("wif")) not in done.output for k in keys)
    proof = reserves_from_json((tmp_path / "reserves.json").read_text())
    (tmp_path / "snapshot.csv").write_text(_snapshot_text(proof))
    args = ["reserves", "verify", "--proof", str(tmp_path / "reserves.json"), "--root", str(tmp_path / "root.json"),
            "--snapshot", str(tmp_path / "snapshot.csv")]
    done = runner.invoke(main, args + ["--nonce", NONCE, "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert report["valid"] and report["reserves"] == {"BTC": "1.25", "ETH": "10.5"} and report["proven_addresses"] == 3
    done = runner.invoke(main, args + ["--nonce", "cd" * 32])
    assert done.exit_code == 1 and "REJECTED" in done.output
    (tmp_path / "snapshot.csv").write_text("address,asset,balance,block_height\nnot-an-address,BTC,1,5\n")
    done = runner.invoke(main, args + ["--nonce", NONCE])
    assert done.exit_code == 2 and "line 2, column address" in done.output
