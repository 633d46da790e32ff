"""Proof of reserves: BIP-137 and EIP-191 signatures over the challenge, the auditor's snapshot,
and the whole check (library and CLI), with every way a claim can fail."""

from __future__ import annotations

import base64
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


def test_bip137_header_bytes_per_address_kind():
    """BIP-137's header ranges: 31-34 for compressed P2PKH, 35-38 P2SH-P2WPKH, 39-42 P2WPKH;
    a segwit header is valid only for its own script, while a compressed-P2PKH header is
    also accepted for the same key's segwit addresses (Electrum and COLDCARD sign so)."""
    wif = _btc_wif()
    addresses = {kind: bitcoin.address_of(wif, kind) for kind in bitcoin.KINDS}
    ranges = {"p2pkh": range(31, 35), "p2sh-p2wpkh": range(35, 39), "p2wpkh": range(39, 43)}
    for kind in bitcoin.KINDS:
        signature = bitcoin.sign(wif, kind, "m")
        assert base64.b64decode(signature)[0] in ranges[kind]
        for other in bitcoin.KINDS:
            expected = other == kind or kind == "p2pkh"
            assert bitcoin.verify(addresses[other], "m", signature) is expected, (kind, other)
    other_key = bitcoin.address_of(_btc_wif(), "p2wpkh")
    assert not bitcoin.verify(other_key, "m", bitcoin.sign(wif, "p2pkh", "m"))


def test_bip137_uncompressed_p2pkh():
    """Headers 27-30: the recovered key is serialised uncompressed, so the signature proves the
    uncompressed key's P2PKH address and not the compressed one's."""
    from embit import script
    from embit.util import secp256k1

    key = ec.PrivateKey(secrets.token_bytes(32))
    uncompressed = ec.PublicKey(key.get_public_key()._point, compressed=False)
    address = script.p2pkh(uncompressed).address(NETWORKS["main"])
    sig, recid = secp256k1.ecdsa_recoverable_signature_serialize_compact(
        secp256k1.ecdsa_sign_recoverable(bitcoin.message_hash("m"), key.secret))
    signature = base64.b64encode(bytes([27 + recid]) + sig).decode()
    assert bitcoin.verify(address, "m", signature)
    assert not bitcoin.verify(script.p2pkh(key.get_public_key()).address(NETWORKS["main"]), "m", signature)


@pytest.mark.parametrize("signature", ["", "not base64!", "AAAA", "G" + "A" * 86 + "=", bitcoin.sign(_btc_wif(), "p2pkh", "m")[:-4]])
def test_bip137_malformed_signatures_are_a_definite_reject(signature):
    assert bitcoin.verify(bitcoin.address_of(_btc_wif(), "p2pkh"), "m", signature) is False


@pytest.mark.parametrize("address, match", [
    ("bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr", "taproot"),
    ("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", "P2WSH"),
    ("1BoatSLRHtKNngkdXEeobR76b53LETtpyX", "checksum"),                  # base58 checksum
    ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum"),          # BIP-173 bad checksum
    ("1Wh4bh", "checksum"),                                              # a 1-byte payload
    ("bc1", "checksum"), ("bc1q", "checksum"), ("", "not a Bitcoin address"),
    ("bc1QW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mixed case"),
])
def test_bip137_refuses_addresses_it_cannot_check(address, match):
    with pytest.raises(ReservesError, match=match):
        bitcoin.normalize_address(address)
    assert bitcoin.verify(address, "m", bitcoin.sign(_btc_wif(), "p2pkh", "m")) is False


def test_bitcoin_addresses_normalise_bech32_case():
    address = bitcoin.address_of(_btc_wif(), "p2wpkh")
    assert bitcoin.normalize_address(address.upper()) == address


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
    for bad in ("0x1234", address[2:], "0X" + address[2:]):
        with pytest.raises(ReservesError, match="not an Ethereum address"):
            ethereum.normalize_address(bad)
    assert ethereum.normalize_address(address.lower()) == address


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
    edited = ReservesProof(ROOT.root_hash, "cd" * 32, proof.claims)  # the nonce field rewritten after signing
    with pytest.raises(ReservesError, match="3 claimed address"):
        verify_reserves(edited, ROOT, "cd" * 32, snapshot)


def test_a_claim_without_a_valid_signature_rejects_the_proof_and_is_named(exchange):
    """An address the exchange cannot sign for (a signature lifted from another address, or
    one over another root) rejects the whole proof, naming the address."""
    _, proof = exchange
    eth, wpkh, pkh = proof.claims
    stolen = Claim("bitcoin", pkh.address, bitcoin.sign(_btc_wif(), "p2pkh", proof.message))  # right kind, wrong key
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


def test_claims_and_snapshot_rows_match_across_address_forms(exchange):
    """The snapshot may write a bech32 address in upper case and an Ethereum address in lower
    case: both normalise to the claim's form and are counted."""
    _, proof = exchange
    eth, wpkh, pkh = (c.address for c in proof.claims)
    text = ("address,asset,balance,block_height\n"
            f"{eth.lower()},ETH,1,5\n{wpkh.upper()},BTC,2,6\n{pkh},BTC,0,6\n")
    report = verify_reserves(proof, ROOT, NONCE, parse_snapshot(text, ROOT))
    assert report.reserves == {"BTC": 200_000_000, "ETH": 100_000_000} and report.unclaimed == ()


def test_the_proof_file_refuses_unknown_fields_and_wrong_types(exchange):
    _, proof = exchange
    for edit, match in ((lambda o: o.update(extra=1), "unexpected"), (lambda o: o.update(version=True), "v1"),
                        (lambda o: o["claims"][0].update(signature=5), "signature"),
                        (lambda o: o["claims"][0].update(note="x"), "exactly the fields"),
                        (lambda o: o.update(root_hash="AB" * 32), "lowercase hex")):
        obj = json.loads(reserves_to_json(proof))
        edit(obj)
        with pytest.raises(ReservesError, match=match):
            reserves_from_json(json.dumps(obj))


def test_signatures_made_elsewhere_join_the_proof():
    """A cold key signs the challenge text outside zkproofs (here embit through the module's
    signer, standing in for Core's signmessage or a hardware wallet); the proof checks it
    before taking it, and refuses one over another challenge or claimed twice."""
    message = challenge_message(ROOT.root_hash, NONCE)
    wif = _btc_wif()
    cold = {"chain": "bitcoin", "address": bitcoin.address_of(wif, "p2wpkh"), "signature": bitcoin.sign(wif, "p2wpkh", message)}
    hot = {"chain": "ethereum", "private_key": _eth_key()}
    proof = sign_reserves(ROOT.root_hash, NONCE, [hot], signed=[cold])
    assert [c.address for c in proof.claims][1] == cold["address"] and all(c.verifies(message) for c in proof.claims)
    stale = dict(cold, signature=bitcoin.sign(wif, "p2wpkh", challenge_message(ROOT.root_hash, "cd" * 32)))
    with pytest.raises(ReservesError, match=r"signatures\[0\].*does not verify"):
        sign_reserves(ROOT.root_hash, NONCE, [hot], signed=[stale])
    with pytest.raises(ReservesError, match="given twice"):
        sign_reserves(ROOT.root_hash, NONCE, [], signed=[cold, cold])
    with pytest.raises(ReservesError, match="nothing to prove"):
        sign_reserves(ROOT.root_hash, NONCE, [], signed=[])


def test_sign_reserves_never_returns_an_unverified_signature(monkeypatch):
    monkeypatch.setattr(Claim, "verifies", lambda self, message: False)
    with pytest.raises(ReservesError, match="does not verify"):
        sign_reserves(ROOT.root_hash, NONCE, [{"chain": "ethereum", "private_key": _eth_key()}])


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
    (tmp_path / "keys.json").chmod(0o644)
    runner = CliRunner()
    prove = ["reserves", "prove", "--root", str(tmp_path / "root.json"), "--nonce", NONCE,
             "--keys", str(tmp_path / "keys.json"), "--out", str(tmp_path / "reserves.json")]
    done = runner.invoke(main, prove)
    assert done.exit_code == 2 and "chmod 600" in done.output and not (tmp_path / "reserves.json").exists()
    (tmp_path / "keys.json").chmod(0o600)
    done = runner.invoke(main, prove)
    assert done.exit_code == 0, done.output
    assert all(k.get("private_key", k.get("wif")) not in done.output for k in keys)
    done = runner.invoke(main, ["reserves", "challenge", "--root", str(tmp_path / "root.json"), "--nonce", NONCE])
    assert done.exit_code == 0 and done.output == challenge_message(ROOT.root_hash, NONCE)
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
    done = runner.invoke(main, args + ["--nonce", "AB" * 32])
    assert done.exit_code == 2 and "nonce" in done.output
    obj = json.loads((tmp_path / "reserves.json").read_text())
    obj["claims"].append(obj["claims"][0])
    (tmp_path / "twice.json").write_text(json.dumps(obj))
    done = runner.invoke(main, ["reserves", "verify", "--proof", str(tmp_path / "twice.json"), "--root", str(tmp_path / "root.json"),
                                "--snapshot", str(tmp_path / "snapshot.csv"), "--nonce", NONCE])
    assert done.exit_code == 2 and "claimed twice" in done.output
    for row in ("not-an-address,BTC,1,5", "bc1,BTC,1,5", "0X" + "ab" * 20 + ",ETH,1,5"):
        (tmp_path / "snapshot.csv").write_text(f"address,asset,balance,block_height\n{row}\n")
        done = runner.invoke(main, args + ["--nonce", NONCE])
        assert done.exit_code == 2 and "line 2, column address" in done.output, row
        assert done.exception is None or isinstance(done.exception, SystemExit)
