"""Issue 16: nothing silently dropped or reinterpreted.

One strict decimal grammar for every amount and price, duplicate JSON keys
refused by every reader, public inputs only as strings, account ids compared
in Unicode NFC (case-sensitive, except Binance's hex ids).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zkproofs.accounts import AccountsError, load_accounts
from zkproofs.accounts.model import Account, AccountSet, Asset, canonical_id
from zkproofs.errors import MalformedInput, SolvencyError
from zkproofs.jsontext import loads
from zkproofs.settlement.epochs import quotes_from_json
from zkproofs.settlement.units import parse_fixed
from zkproofs.tree import TreeStore, build_tree, make_inclusion_proof
from zkproofs.solvency.policy import policy_from_dict
from zkproofs.tree.hashing import TreeError, id_field

NFC = "jos\u00e9"
NFD = "jose\u0301"

# ------------------------------------------------------------------ strict numbers

# Each of these was accepted (or silently rounded) by the settlement's old Decimal parser.
LOOSE = [
    ("07", "leading zero"),
    (" 7\n", "surrounding whitespace"),
    ("0_7", "not a decimal number"),
    ("+7", '"+" sign'),
    ("-0", "negative amount"),
    ("\u0667", "not a decimal number"),
    ("1.000000000000000000000000000001", "more than 8 decimals"),
    ("1e-1000100", "exponent"),
    ("1E3", "exponent"),
    ("1.", "not a decimal number"),
    ("Infinity", "not a finite number"),
]


@pytest.mark.parametrize(("text", "reason"), LOOSE)
def test_price_parser_uses_the_one_strict_grammar(text, reason):
    with pytest.raises(MalformedInput) as info:
        parse_fixed(text, "collateral[0].price")
    assert str(info.value).startswith("collateral[0].price: ") and reason in str(info.value)


def test_price_parser_refuses_json_numbers():
    for value in (7, 7.5, True, None):
        with pytest.raises(MalformedInput, match="collateral\\[0\\].price: expected a decimal string"):
            parse_fixed(value, "collateral[0].price")
    assert parse_fixed("0.5", "x") == 50_000_000 and parse_fixed("27000.12", "x") == 2_700_012_000_000


@pytest.mark.parametrize(("text", "reason"), LOOSE)
def test_signed_quotes_name_the_field(text, reason):
    doc = {"format": "zkproofs-signed-quotes", "version": 1, "venue": "v", "sequence": 1, "timestamp": 5,
           "prices": {"BTC": text}, "signer": "ab" * 32, "signature": "cd" * 64}
    with pytest.raises(MalformedInput) as info:
        quotes_from_json(json.dumps(doc), "q.json")
    assert "q.json.prices.BTC: " in str(info.value) and reason in str(info.value)


@pytest.mark.parametrize("text", ["07", "00.5", "-0", " 1", "1.000000001"])
def test_account_amounts_use_the_same_grammar(tmp_path, text):
    path = tmp_path / "accounts.csv"
    path.write_text(f"id,BTC\nalice,{text}\n", encoding="utf-8")
    with pytest.raises(AccountsError) as info:
        load_accounts(path, decimals={"BTC": 8})
    assert (info.value.line, info.value.column) == (2, "BTC")


@pytest.mark.parametrize("text", ["07", "-1", "1.000000001", "1e2", " 1", "١"])
def test_solvency_policy_prices_use_the_same_grammar(text):
    with pytest.raises(SolvencyError, match="asset BTC: price"):
        policy_from_dict({"format": "zkproofs/solvency-policy", "version": 1, "assets": {"BTC": {"price": text, "decimals": 8, "tiers": []}}})


# ------------------------------------------------------------------ JSON readers


def test_the_decoder_refuses_duplicate_keys_and_constants():
    with pytest.raises(MalformedInput, match='where: duplicate key "a"'):
        loads('{"a": 1, "b": {"c": 2}, "a": 1}', "where")
    with pytest.raises(MalformedInput, match='duplicate key "c"'):
        loads(b'[{"c": 1, "c": 2}]', "where")
    with pytest.raises(MalformedInput, match="NaN"):
        loads('{"a": NaN}', "where")
    assert loads('{"a": {"a": 1}}', "where") == {"a": {"a": 1}}  # the same key at two levels is fine


def test_signed_quotes_refuse_duplicate_keys():
    text = '{"format": "zkproofs-signed-quotes", "version": 1, "prices": {"BTC": "1", "BTC": "2"}}'
    with pytest.raises(MalformedInput, match='duplicate key "BTC"'):
        quotes_from_json(text, "q.json")


def test_file_readers_refuse_duplicate_keys(tmp_path):
    from zkproofs.groth16.serialize import proof_from_json, vk_from_json
    from zkproofs.tree.root import root_from_json

    for reader, name in ((proof_from_json, "proof.json"), (vk_from_json, "verification_key.json")):
        with pytest.raises(MalformedInput, match=f'{name}: duplicate key "format"'):
            reader('{"format": "a", "format": "b"}', name)
    with pytest.raises(TreeError, match='root.json: duplicate key "root_hash"'):
        root_from_json('{"root_hash": "1", "root_hash": "2"}', "root.json")


def test_public_input_as_json_number_is_refused():
    from zkproofs.groth16.keys import CURVE, G1_BYTES, G2_BYTES, PROTOCOL
    from zkproofs.groth16.serialize import PROOF_FORMAT, PROOF_VERSION, proof_from_dict

    doc = {
        "format": PROOF_FORMAT, "version": PROOF_VERSION, "protocol": PROTOCOL, "curve": CURVE,
        "circuit": {"name": "cubic", "params": {}, "digest": "00"},
        "public_inputs": {"out": "35"},
        "proof": {"a": "00" * G1_BYTES, "b": "00" * G2_BYTES, "c": "00" * G1_BYTES},
    }
    assert proof_from_dict(doc, "proof")[1] == {"out": 35}
    doc["public_inputs"]["out"] = 35
    with pytest.raises(MalformedInput, match="proof.public_inputs.out: expected a decimal string, got a JSON number"):
        proof_from_dict(doc, "proof")


# ------------------------------------------------------------------ account ids


def test_ids_equal_after_nfc_are_one_account(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(f"id,BTC\n{NFC},1\n{NFD},2\n", encoding="utf-8")
    with pytest.raises(AccountsError) as info:
        load_accounts(path, decimals={"BTC": 8})
    assert info.value.line == 3 and "after Unicode NFC normalisation (first on line 2)" in str(info.value)


def test_ids_are_case_sensitive(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("id,BTC\nAlice,1\nalice,2\n", encoding="utf-8")
    accounts = load_accounts(path, decimals={"BTC": 8})
    assert [a.id for a in accounts.accounts] == ["Alice", "alice"]


def test_nfd_id_is_stored_hashed_and_found_as_nfc(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text(f"id,BTC\n{NFD},1\nbob,2\n", encoding="utf-8")
    accounts = load_accounts(path, decimals={"BTC": 8})
    assert accounts.accounts[0].id == NFC
    assert id_field(NFD) == id_field(NFC)
    build_tree(accounts, tmp_path / "t.db")
    with TreeStore(tmp_path / "t.db") as store:
        for spelling in (NFC, NFD):
            assert make_inclusion_proof(store, spelling).user_id == NFC


def test_python_api_accounts_are_canonical(tmp_path):
    account_set = AccountSet(assets=(Asset("BTC", 8),), accounts=(Account(NFC, (1,), (0,)), Account(NFD, (2,), (0,))))
    assert canonical_id(NFD) == NFC == account_set.accounts[1].id
    with pytest.raises(TreeError, match="duplicate account id"):
        build_tree(account_set, tmp_path / "t.db")
    assert not (tmp_path / "t.db").exists()


def test_binance_hex_ids_are_case_insensitive(tmp_path):
    # Binance decodes the id to 32 bytes: "..0a" and "..0A" are one account, stored in lower case.
    fixtures = Path(__file__).parent / "fixtures" / "accounts" / "binance"
    header, row = (fixtures / "users.csv").read_text().splitlines()[:2]
    fields = row.split(",")
    lower, upper = "0" * 62 + "0a", "0" * 62 + "0A"
    rows = [",".join(["0", lower, *fields[2:]]), ",".join(["1", upper, *fields[2:]])]
    (tmp_path / "cex_assets_info.csv").write_text((fixtures / "cex_assets_info.csv").read_text())
    path = tmp_path / "users.csv"
    path.write_text("\n".join([header, rows[1]]) + "\n")
    assert [a.id for a in load_accounts(path, format="binance").accounts] == [lower]
    path.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(AccountsError, match="line 3, column id: duplicate account id"):
        load_accounts(path, format="binance")
