"""Account ingestion (zkproofs.accounts): every format, every refusal, the public anchors.

Positive fixtures live in tests/fixtures/accounts/; negative cases are written
to tmp_path so each test shows the exact bytes it refuses. Every refusal test
asserts the line and column in the message. Anchor tests recompute the totals
independently with csv/json + decimal.Decimal.
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkproofs.accounts import (
    DEFAULT_DECIMALS,
    MAX_AMOUNT,
    AccountsError,
    Asset,
    detect_format,
    format_amount,
    load_accounts,
    load_binance,
    load_binance_assets_info,
    parse_amount,
)
from zkproofs.accounts.binance import tiered_value
from zkproofs.errors import MalformedInput

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "accounts"
DATA = Path(__file__).resolve().parents[1] / "zkproofs" / "data"
ANCHORS = Path(__file__).resolve().parents[2] / "shared" / "data" / "anchors"


def write(tmp_path: Path, text: str, name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path, **kwargs) -> AccountsError:
    with pytest.raises(AccountsError) as info:
        load_accounts(path, **kwargs)
    return info.value


# ---------------------------------------------------------------- amounts


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [
        ("12", 8, 1_200_000_000),
        ("12.5", 8, 1_250_000_000),
        ("0.00000001", 8, 1),
        ("0", 0, 0),
        ("0.5", 1, 5),
        ("1.50000000", 8, 150_000_000),
        ("18446744073709551615", 0, MAX_AMOUNT),
        ("184467440737.09551615", 8, MAX_AMOUNT),
    ],
)
def test_parse_amount_accepts(text, decimals, units):
    assert parse_amount(text, decimals, where="x") == units


@pytest.mark.parametrize(
    ("text", "decimals", "reason"),
    [
        ("", 8, "empty amount"),
        ("   ", 8, "only whitespace"),
        (" 1", 8, "surrounding whitespace"),
        ("1\t", 8, "surrounding whitespace"),
        ("1e5", 8, "exponent"),
        ("1.5E-3", 8, "exponent"),
        ("+1", 8, '"+" sign'),
        ("-1", 8, "negative amount"),
        ("NaN", 8, "not a finite number"),
        ("-inf", 8, "not a finite number"),
        ("Infinity", 8, "not a finite number"),
        (".5", 8, "not a decimal number"),
        ("5.", 8, "not a decimal number"),
        ("1.2.3", 8, "not a decimal number"),
        ("1,5", 8, "not a decimal number"),
        ("\u0661\u0662", 0, "not a decimal number"),  # Arabic-Indic digits are not ASCII digits
        ("0x10", 0, "not a decimal number"),
        ("1.234567891", 8, "more than 8 decimals"),
        ("1.5", 0, "more than 0 decimals"),
        ("1.50000000000", 8, "more than 8 decimals"),  # even zeros: the file's precision is not the asset's
        ("07", 0, "leading zero"),
        ("007", 0, "leading zero"),
        ("00.5", 8, "leading zero"),
        ("0_7", 0, "not a decimal number"),
        ("\u0667", 0, "not a decimal number"),  # Arabic-Indic seven
        (" 7\n", 0, "surrounding whitespace"),
        ("-0", 8, "negative amount"),
        ("1.000000000000000000000000000001", 8, "more than 8 decimals"),
        ("1e-1000100", 8, "exponent"),
        ("18446744073709551616", 0, "exceeds the maximum 2^64-1"),
        ("184467440737.09551616", 8, "exceeds the maximum 2^64-1"),
        ("9" * 5000, 0, "exceeds the maximum 2^64-1"),
    ],
)
def test_parse_amount_refuses(text, decimals, reason):
    with pytest.raises(AccountsError) as info:
        parse_amount(text, decimals, where="accounts.csv, line 7, column BTC")
    assert str(info.value).startswith("accounts.csv, line 7, column BTC: ")
    assert reason in str(info.value)


def test_parse_amount_signed():
    assert parse_amount("-12.5", 1, where="x", signed=True) == -125
    assert parse_amount("-18446744073709551615", 0, where="x", signed=True) == -MAX_AMOUNT
    with pytest.raises(AccountsError, match="exceeds"):
        parse_amount("-18446744073709551616", 0, where="x", signed=True)
    with pytest.raises(AccountsError, match=r'"\+" sign'):
        parse_amount("+5", 0, where="x", signed=True)


def test_format_amount_examples():
    assert format_amount(1_250_000_000, 8) == "12.5"
    assert format_amount(1, 8) == "0.00000001"
    assert format_amount(7, 0) == "7"
    assert format_amount(-150, 2) == "-1.5"
    assert format_amount(0, 8) == "0"


@given(st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT), st.integers(min_value=0, max_value=30))
def test_parse_format_round_trip(units, decimals):
    text = format_amount(units, decimals)
    assert parse_amount(text, decimals, where="x", signed=True) == units
    if units >= 0:
        assert parse_amount(text, decimals, where="x") == units


@given(st.integers(min_value=MAX_AMOUNT + 1, max_value=2**200), st.integers(min_value=0, max_value=30))
def test_parse_refuses_everything_above_max(units, decimals):
    with pytest.raises(AccountsError, match="exceeds the maximum"):
        parse_amount(format_amount(units, decimals), decimals, where="x")


def test_default_decimals_table():
    assert DEFAULT_DECIMALS["BTC"] == 8 and DEFAULT_DECIMALS["ETH"] == 8 and DEFAULT_DECIMALS["SHIB"] == 2
    assert all(isinstance(d, int) and 0 <= d <= 18 for d in DEFAULT_DECIMALS.values())


def test_accounts_error_attributes(tmp_path):
    error = refused(write(tmp_path, "id,BTC\nalice,1\nbob,x\n"))
    assert isinstance(error, MalformedInput)
    assert (error.line, error.column) == (3, "BTC")
    assert Path(error.path).name == "accounts.csv"
    assert str(error) == 'accounts.csv, line 3, column BTC: amount "x" is not a decimal number'


# ---------------------------------------------------------------- our CSV


def test_csv_fixture_loads_exact_totals():
    accounts = load_accounts(FIXTURES / "ours.csv")
    assert accounts.assets == (Asset("BTC", 8), Asset("ETH", 8))
    assert [a.id for a in accounts.accounts] == ["alice", "bob", "carol, jr"]
    assert accounts.totals() == ((2_100_000_150_000_001, 235_000_000), (50_000_000, 0))
    assert accounts.accounts[1].collateral == (0, 100_000_000)
    assert accounts.accounts[2].collateral == (0, 10_000_000)
    assert accounts.rejected == ()
    assert detect_format(FIXTURES / "ours.csv") == "csv"


def test_csv_decimals_precedence(tmp_path):
    path = write(tmp_path, "id,BTC,FOO\na,1.5,2\n")
    error = refused(path)
    assert (error.line, error.column) == (1, "FOO")
    assert "unknown asset FOO: give its decimals" in str(error)
    loaded = load_accounts(path, default_decimals=3)
    assert loaded.assets == (Asset("BTC", 8), Asset("FOO", 3))
    assert loaded.accounts[0].equities == (150_000_000, 2000)
    loaded = load_accounts(path, decimals={"FOO": 1, "BTC": 2}, default_decimals=3)
    assert loaded.assets == (Asset("BTC", 2), Asset("FOO", 1))
    assert loaded.accounts[0].equities == (150, 20)
    for bad in (-1, 37, True):
        with pytest.raises(AccountsError, match=r"decimals of FOO must be an integer in \[0, 36\]"):
            load_accounts(path, decimals={"FOO": bad})


def test_csv_blank_lines_skipped_and_multiline_ids_counted(tmp_path):
    path = write(tmp_path, 'id,BTC\n\n"multi\nline",1\n\nz,1.5.1\n')
    error = refused(path)
    assert (error.line, error.column) == (6, "BTC")
    path = write(tmp_path, 'id,BTC\n"multi\nline",1\n\n')
    assert load_accounts(path).accounts[0].id == "multi\nline"


def test_csv_brief_example_message(tmp_path):
    rows = "".join(f"u{i},1\n" for i in range(5))
    path = write(tmp_path, "id,BTC\n" + rows + "u9,1.234567891\n")
    assert str(refused(path)) == 'accounts.csv, line 7, column BTC: amount "1.234567891" has more than 8 decimals'


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("", None, None, "empty file"),
        ("\n\n", None, None, "empty file"),
        ("id,BTC\n", 1, None, "no accounts after the header"),
        ("id,BTC,,ETH\na,1,2,3\n", 1, None, "header field 3 is empty"),
        ("id,BTC,BTC\na,1,2\n", 1, "BTC", 'duplicate header field "BTC"'),
        ("account,BTC\na,1\n", 1, "account", 'first header field must be "id"'),
        ("id\na\n", 1, None, "no asset columns"),
        ("id,B TC\na,1\n", 1, "B TC", "not an asset column"),
        ("id,BTC,ETH_debt\na,1,2\n", 1, "ETH_debt", 'debt column "ETH_debt" has no equity column "ETH"'),
        ("id,BTC,ETH_collateral\na,1,2\n", 1, "ETH_collateral", "has no equity column"),
        ("id,BTC,ETH\na,1,2\nb,1\n", 3, None, "2 fields, the header has 3"),
        ("id,BTC,ETH\na,1,2\nb,1,2,3\n", 3, None, "4 fields, the header has 3"),
        ("id,BTC\na,1\nb,1.2.3\n", 3, "BTC", "not a decimal number"),
        ("id,BTC\na,1e5\n", 2, "BTC", "exponent"),
        ("id,BTC\na,\n", 2, "BTC", "empty amount"),
        ("id,BTC\na, \n", 2, "BTC", "only whitespace"),
        ("id,BTC\na,nan\n", 2, "BTC", "not a finite number"),
        ("id,BTC\na,0.123456789\n", 2, "BTC", "more than 8 decimals"),
        ("id,BTC\na,184467440737.09551616\n", 2, "BTC", "exceeds the maximum 2^64-1"),
        ("id,BTC\na,-1.5\n", 2, "BTC", "goes in column BTC_debt"),
        ("id,BTC,BTC_debt\na,1,-1\n", 2, "BTC_debt", "negative amount"),
        ("id,BTC\na,1\nb,2\na,3\n", 4, "id", 'duplicate account id "a" (first on line 2)'),
        ("id,BTC\na,1\n,2\n", 3, "id", "empty account id"),
        ("id,BTC\n  ,2\n", 2, "id", "empty account id"),
        ("id,BTC\n a,2\n", 2, "id", "surrounding whitespace"),
        ("id,BTC,BTC_collateral\na,1,1.00000001\n", 2, "BTC_collateral", "exceeds the equity"),
        ('id,BTC\na,1\n"b,2\n', 3, None, "CSV syntax error"),
        ('id,BTC\n"a"b,1\n', 2, None, "CSV syntax error"),
    ],
)
def test_csv_refuses(tmp_path, text, line, column, reason):
    error = refused(write(tmp_path, text), format="csv")
    assert (error.line, error.column) == (line, column), str(error)
    assert reason in str(error)
    where = ", ".join(["accounts.csv"] + ([f"line {line}"] if line else []) + ([f"column {column}"] if column else []))
    assert str(error).startswith(where + ": ")


def test_csv_refuses_non_utf8(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"id,BTC\na,1\n\xff,2\n")
    error = refused(path)
    assert error.line == 3 and "not UTF-8" in str(error)


def test_missing_file(tmp_path):
    error = refused(tmp_path / "nope.csv", format="csv")
    assert "cannot read the file" in str(error)


# ---------------------------------------------------------------- summa, dapol, okx


def test_summa_fixture():
    accounts = load_accounts(FIXTURES / "summa.csv")
    assert detect_format(FIXTURES / "summa.csv") == "summa"
    assert accounts.assets == (Asset("BTC_BTC", 0), Asset("USDT_TRX", 0))
    assert accounts.totals() == ((100 + MAX_AMOUNT, 7), (0, 0))


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("user,balance_ETH_ETH\na,1\n", 1, "user", 'must be "username"'),
        ("username,ETH\na,1\n", 1, "ETH", "not a balance_<COIN>_<CHAIN> column"),
        ("username,balance_ETH\na,1\n", 1, "balance_ETH", "not a balance_<COIN>_<CHAIN> column"),
        ("username,balance_ETH_ETH\na,1.5\n", 2, "balance_ETH_ETH", "more than 0 decimals"),
        ("username,balance_ETH_ETH\na,-1\n", 2, "balance_ETH_ETH", "negative amount"),
        ("username,balance_ETH_ETH\na,1\na,2\n", 3, "username", "duplicate account id"),
        ("username,balance_ETH_ETH\na,18446744073709551616\n", 2, "balance_ETH_ETH", "exceeds the maximum 2^64-1"),
    ],
)
def test_summa_refuses(tmp_path, text, line, column, reason):
    error = refused(write(tmp_path, text, "entry.csv"), format="summa")
    assert (error.line, error.column) == (line, column), str(error)
    assert reason in str(error)


def test_dapol_fixture():
    accounts = load_accounts(FIXTURES / "dapol.csv")
    assert detect_format(FIXTURES / "dapol.csv") == "dapol"
    assert accounts.assets == (Asset("LIABILITY", 0),)
    assert accounts.totals() == ((10 + MAX_AMOUNT,), (0,))


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("id,balance\na,1\n", 1, None, 'header must be "id,liability"'),
        ("id,liability\na,-3\n", 2, "liability", "negative amount"),
        ("id,liability\na,3.0\n", 2, "liability", "more than 0 decimals"),
        ("id,liability\na,03\n", 2, "liability", "leading zero"),
        ("id,liability\na,x\n", 2, "liability", "not a decimal number"),
        ("id,liability\n,3\n", 2, "id", "empty account id"),
    ],
)
def test_dapol_refuses(tmp_path, text, line, column, reason):
    path = write(tmp_path, text, "entities.csv")
    error = refused(path, format="dapol")
    assert (error.line, error.column) == (line, column), str(error)
    assert reason in str(error)


def test_okx_fixture():
    accounts = load_accounts(FIXTURES / "okx.json")
    assert detect_format(FIXTURES / "okx.json") == "okx"
    assert [a.symbol for a in accounts.assets] == ["BTC", "ETH", "USDT"]
    assert all(a.decimals == 0 for a in accounts.assets)
    assert accounts.totals() == ((5, 10, 0), (0, 3, MAX_AMOUNT))
    assert accounts.accounts[0].equities == (5, 0, 0) and accounts.accounts[0].debts == (0, 3, 0)


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        ("", None, None, "empty file"),
        ('{"id": "a"}', 1, None, "top level must be a JSON array"),
        ("[]", None, None, "no accounts"),
        ('[\n{"id": "a", "assets": {"BTC": "1", "BTC": "2"}}]', 2, None, 'duplicate key "BTC"'),
        ('[\n{"id": "a", "assets": {"BTC": NaN}}]', 2, None, "NaN is not allowed"),
        ('[\n{"id": "a", "assets": {"BTC": 1}}]', 2, "BTC", "must be a string"),
        ('[\n{"id": "a", "assets": {"BTC": "1.5"}}]', 2, "BTC", "more than 0 decimals"),
        ('[\n{"id": "a", "assets": {"BTC": "-18446744073709551616"}}]', 2, "BTC", "exceeds the maximum"),
        ('[\n{"id": "a", "assets": {"BTC": "1"}},\n\n{"id": "a", "assets": {}}]', 4, "id", "duplicate account id"),
        ('[\n{"id": "a", "assets": {"BTC": "1"}, "extra": 1}]', 2, "extra", "unknown key"),
        ('[\n{"assets": {}}]', 2, "id", 'missing key "id"'),
        ('[\n{"id": 5, "assets": {}}]', 2, "id", "must be a string"),
        ('[\n{"id": "a", "assets": []}]', 2, "assets", "must be an object"),
        ('[\n["a"]]', 2, None, "must be a JSON object"),
        ('[\n{"id": "a", "assets": {}}\n{"id": "b", "assets": {}}]', 3, None, 'expected "," or "]"'),
        ('[\n{"id": "a", "assets": {"BTC": "1"}', 2, None, "JSON syntax error"),
        ('[{"id": "a", "assets": {}}] x', 1, None, "extra data"),
        ('[\n{"id": "\\ud800", "assets": {"BTC": "1"}}]', 2, "id", "unpaired surrogate"),
        ('[\n{"id": "a", "assets": {"BTC": "1' + "0" * 5000 + '"}}]', 2, "BTC", "exceeds the maximum"),
        ('[\n{"id": "a", "assets": {"BTC": 1' + "0" * 5000 + '}}]', 2, None, "JSON error"),
        ("[" * 100_000, None, None, "nested 100000 levels"),
    ],
)
def test_okx_refuses(tmp_path, text, line, column, reason):
    error = refused(write(tmp_path, text, "batch.json"), format="okx")
    assert (error.line, error.column) == (line, column), str(error)
    assert reason in str(error)


# ---------------------------------------------------------------- binance


def test_binance_fixture_rejects_and_loads():
    accounts = load_accounts(FIXTURES / "binance" / "users.csv")
    assert detect_format(FIXTURES / "binance" / "users.csv") == "binance"
    assert accounts.assets == (Asset("BTC", 8), Asset("SHIB", 8))
    assert [a.id[-1] for a in accounts.accounts] == ["0", "3", "5"]
    assert accounts.totals() == ((40 * 10**8, 1100 * 10**8), (1_990_000_000, 0))
    assert accounts.pledges == ("loan", "margin", "portfolio")
    # class-major: vl_BTC vl_SHIB m_BTC m_SHIB pm_BTC pm_SHIB; account 3's BTC (no equity, no debt) is skipped
    assert [a.collateral for a in accounts.accounts] == [
        (6 * 10**8, 0, 2 * 10**8, 0, 10**8, 0), (0,) * 6, (25 * 10**8, 0, 0, 0, 0, 0)]
    assert accounts.rejected == (
        ("users.csv:3", f"{1:064x}", "BTC: collateral vl+m+pm = 5 exceeds equity 4"),
        ("users.csv:4", f"{2:064x}", "debt value 1608 USDT exceeds tiered collateral value 1253.75 USDT"),
        ("users.csv:6", f"{4:064x}", 'd_shib: negative amount "-1"'),
    )


def test_binance_assets_info_fixture():
    info = load_binance_assets_info(FIXTURES / "binance" / "cex_assets_info.csv")
    assert sorted(info) == ["BTC", "SHIB"]
    btc = info["BTC"]
    assert btc.usdt_price == 10_050_000_000 and btc.price_decimals == 8
    assert btc.loan_tiers == ((0, 1000, 100), (1000, 2000, 50))
    assert btc.margin_tiers == ((0, 1000, 80),) and btc.portfolio_tiers == ()
    assert info["SHIB"].usdt_price == 1000
    # 6 BTC at 100.5 = 603 USDT under loan tiers (100 %), 2 BTC = 201 USDT at 80 %, 1 BTC with no pm tiers = 0.
    assert btc.collateral_value(6 * 10**8, 2 * 10**8, 10**8) == Decimal("763.8") * 10**16


def test_tiered_value_boundaries():
    tiers = ((0, 10, 100), (10, 20, 50))
    assert tiered_value(0, tiers, 1) == 0
    assert tiered_value(10, tiers, 1) == 10
    assert tiered_value(11, tiers, 1) == 10  # floor(1 * 50 / 100)
    assert tiered_value(12, tiers, 1) == 11
    assert tiered_value(20, tiers, 1) == 15
    assert tiered_value(10**9, tiers, 1) == 15  # above the last tier counts nothing
    assert tiered_value(10**9, (), 1) == 0


def binance_users(tmp_path: Path, rows: list[str], header: str | None = None) -> Path:
    (tmp_path / "cex_assets_info.csv").write_text((FIXTURES / "binance" / "cex_assets_info.csv").read_text())
    header = header or "rn,id,e_btc,d_btc,btc,vl_btc,m_btc,pm_btc,total_net_balance_usdt"
    return write(tmp_path, header + "\n" + "".join(row + "\n" for row in rows), "users.csv")


GOOD_ID = "ab" * 32


@pytest.mark.parametrize(
    ("rows", "header", "line", "column", "reason"),
    [
        ([f"0,{GOOD_ID},1,0,1,0,0,0,0"], "rn,id,e_btc,d_btc,btc,vl_btc,m_btc,total_net_balance_usdt", 1, None, "the header must be"),
        ([f"0,{GOOD_ID},1,0,1,0,0,0,0"], "rn,id,e_btc,d_btc,btc,vl_btc,m_btc,pm_eth,total_net_balance_usdt", 1, "pm_eth", 'expected column "pm_btc"'),
        ([f"0,{GOOD_ID},1,0,1,0,0,0,0"], "rn,id,e_eth,d_eth,eth,vl_eth,m_eth,pm_eth,total_net_balance_usdt", 1, "eth", "has no price"),
        (["0,xyz,1,0,1,0,0,0,0"], None, 2, "id", "not 64 hex digits"),
        ([f"0,{GOOD_ID},1,0,1,0,0,0,0", f"1,{GOOD_ID},1,0,1,0,0,0,0"], None, 3, "id", "duplicate account id"),
        ([f"0,{GOOD_ID},1,0,1,0,0,0"], None, 2, None, "8 fields, the header has 9"),
        ([f"0,{GOOD_ID},1.000000001,0,1,0,0,0,0"], None, 2, "e_btc", "more than 8 decimals"),
        # a row that the collateral rule would reject still has its other amounts checked
        ([f"0,{GOOD_ID},1,0,1,2,0,abc,0"], None, 2, "pm_btc", "not a decimal number"),
        ([], None, 1, None, "no accounts after the header"),
    ],
)
def test_binance_refuses(tmp_path, rows, header, line, column, reason):
    error = refused(binance_users(tmp_path, rows, header), format="binance")
    assert (error.line, error.column) == (line, column), str(error)
    assert reason in str(error)


def test_binance_out_of_range_is_rejected_not_raised(tmp_path):
    path = binance_users(tmp_path, [f"0,{GOOD_ID},184467440737.09551616,0,0,0,0,0,0", f"1,{'cd' * 32},1,0,1,0,0,0,0"])
    accounts = load_accounts(path)
    assert len(accounts.accounts) == 1
    assert accounts.rejected[0][0] == "users.csv:2" and "e_btc" in accounts.rejected[0][2]
    assert "exceeds the maximum 2^64-1" in accounts.rejected[0][2]


def test_binance_explicit_assets_info(tmp_path):
    users = write(tmp_path, (FIXTURES / "binance" / "users.csv").read_text(), "u.csv")
    error = refused(users, format="binance")
    assert f"looked for {tmp_path / 'cex_assets_info.csv'}" in str(error)
    loaded = load_binance(users, FIXTURES / "binance" / "cex_assets_info.csv")
    assert len(loaded.accounts) == 3 and len(loaded.rejected) == 3


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ('btc,100,"[0-10:100,10-5:50]","",""', "loan_tiers_ratio", "low 10 is above high 5"),
        ('btc,100,"[0-10:100,5-10:50]","",""', "loan_tiers_ratio", "does not increase"),
        ('btc,100,"","[0-10:101]",""', "margin_tiers_ratio", "above 100 percent"),
        ('btc,100,"","","[0-10:50"', "portfolio_tiers_ratio", "must be written"),
        ('btc,100,"[0-x:50]","",""', "loan_tiers_ratio", "is not"),
        ('btc,100,"[0-33230699894622896822595176507:50]","",""', "loan_tiers_ratio", "cap"),
        ('btc,1.000000001,"","",""', "usdt_price", "more than 8 decimals"),
        ('b c,1,"","",""', "symbol", "invalid token"),
    ],
)
def test_binance_assets_info_refuses(tmp_path, row, column, reason):
    path = write(tmp_path, "symbol,usdt_price,loan_tiers_ratio,margin_tiers_ratio,portfolio_tiers_ratio\n" + row + "\n", "info.csv")
    with pytest.raises(AccountsError) as info:
        load_binance_assets_info(path)
    assert (info.value.line, info.value.column) == (2, column), str(info.value)
    assert reason in str(info.value)


def test_binance_assets_info_refuses_duplicates_and_bad_header(tmp_path):
    head = "symbol,usdt_price,loan_tiers_ratio,margin_tiers_ratio,portfolio_tiers_ratio\n"
    path = write(tmp_path, head + 'btc,1,"","",""\nBTC,2,"","",""\n', "info.csv")
    with pytest.raises(AccountsError, match="line 3, column symbol: duplicate token"):
        load_binance_assets_info(path)
    path = write(tmp_path, "sym,price,a,b,c\n", "info.csv")
    with pytest.raises(AccountsError, match="line 1: unexpected header"):
        load_binance_assets_info(path)


# ---------------------------------------------------------------- detection, dispatch


def test_detect_format_refusals(tmp_path):
    with pytest.raises(AccountsError, match="line 1: cannot tell the format"):
        detect_format(write(tmp_path, "height,num_entities\n1,2\n", "bench.csv"))
    with pytest.raises(AccountsError, match="not an OKX array"):
        detect_format(write(tmp_path, '{"hash": "0x00"}', "root.json"))
    with pytest.raises(AccountsError, match="empty file"):
        detect_format(write(tmp_path, "", "empty.csv"))
    with pytest.raises(AccountsError, match="names no currencies"):
        detect_format(write(tmp_path, "username;balances\na;1,2\n", "state.csv"))


def test_load_accounts_argument_errors():
    with pytest.raises(ValueError, match="unknown account format"):
        load_accounts(FIXTURES / "ours.csv", format="xml")
    with pytest.raises(ValueError, match="csv only"):
        load_accounts(FIXTURES / "summa.csv", decimals={"BTC_BTC": 8})
    with pytest.raises(ValueError, match="csv only"):
        load_accounts(FIXTURES / "okx.json", default_decimals=8)


# ---------------------------------------------------------------- bundled sample


def test_bundled_sample_loads():
    path = DATA / "sample_accounts.csv"
    accounts = load_accounts(path)
    assert [(a.symbol, a.decimals) for a in accounts.assets] == [("BTC", 8), ("ETH", 8), ("BNB", 8), ("SHIB", 2)]
    assert 50 <= len(accounts.accounts) <= 200
    assert sum(1 for a in accounts.accounts if any(a.debts)) == 17
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, asset in enumerate(accounts.assets):
        scale = 10**asset.decimals
        assert accounts.totals()[0][i] == sum(Decimal(r[asset.symbol]) * scale for r in rows)
        assert accounts.totals()[1][i] == sum(Decimal(r[f"{asset.symbol}_debt"]) * scale for r in rows)
    assert accounts.totals() == (
        (9166360333994, 8710692215161, 8421495613419, 8185492),
        (2755786036, 49168260650, 291580757024, 0),
    )


# ---------------------------------------------------------------- public anchors

SUMMA_OK = [
    "summa/entry_13.csv",
    "summa/entry_16.csv",
    "summa/entry_16_modified.csv",
    "summa/entry_16_switched_order.csv",
    "summa/entry_17.csv",
    "summa/v2/entry_16_no_overflow.csv",
    "summa/v2/entry_16_overflow_2.csv",
    "summa/v2/entry_64.csv",
]
SUMMA_REFUSED = {
    "summa/entry_16_bigints.csv": (2, "balance_ETH_ETH", "18446744073709551616"),
    "summa/entry_16_overflow.csv": (2, "balance_ETH_ETH", "5192296858534827628530496329220096"),
}
BINANCE_USERS = {"binance/sample_users0.csv": 10, "binance/sample_users1.csv": 20}
BINANCE_INFO = {"binance/cex_assets_info.csv": (4, 8), "binance/token_config/cex_assets_info.csv": (483, 16)}
NOT_ACCOUNTS = [
    "summa/signatures.csv",
    "summa/states/entry_16_1.csv",
    "summa/states/entry_16_2.csv",
    "summa/states/entry_16_3.csv",
    "summa/states/entry_16_4.csv",
    "summa/states/entry_16_5.csv",
    "binance/user_config.json",
    "dapol/public_root_data.json",
    "dapol/secret_root_data.json",
    "dapol/bench_results/original_bench_data.csv",
    "dapol/bench_results/r7a.32xlarge_memory.csv",
    "dapol/bench_results/r7a.4xlarge_memory.csv",
]
ALL_ANCHORS = (
    SUMMA_OK + list(SUMMA_REFUSED) + list(BINANCE_USERS) + list(BINANCE_INFO) + NOT_ACCOUNTS
    + ["dapol/entities_example.csv", "okx/batch0.json", "SOURCES.md"]
)


def anchor(relative: str) -> Path:
    if not ANCHORS.is_dir():
        pytest.skip(f"../shared/data/anchors not present: {ANCHORS}")
    return ANCHORS / relative


def _unlisted_anchors() -> list[str]:
    if not ANCHORS.is_dir():
        return []
    present = {p.relative_to(ANCHORS).as_posix() for p in ANCHORS.rglob("*") if p.is_file()}
    return sorted(present - set(ALL_ANCHORS))


def test_listed_anchor_files_exist():
    root = anchor(".")
    missing = [relative for relative in ALL_ANCHORS if not (root / relative).is_file()]
    assert missing == []


@pytest.mark.parametrize("relative", _unlisted_anchors())
def test_anchor_added_later_loads_or_is_refused_cleanly(relative):
    """An anchor file added after these tests were written: it loads, or it is refused with AccountsError."""
    path = anchor(relative)
    try:
        accounts = load_accounts(path)
    except AccountsError:
        return
    assert all(0 <= v <= MAX_AMOUNT for a in accounts.accounts for v in a.equities + a.debts)


@pytest.mark.parametrize("relative", SUMMA_OK)
def test_anchor_summa(relative):
    path = anchor(relative)
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    header, body = rows[0], rows[1:]
    accounts = load_accounts(path)
    assert [a.symbol for a in accounts.assets] == [name.removeprefix("balance_") for name in header[1:]]
    assert len(accounts.accounts) == len(body)
    assert accounts.totals()[0] == tuple(sum(int(row[i]) for row in body) for i in range(1, len(header)))
    assert accounts.totals()[1] == (0,) * (len(header) - 1)


@pytest.mark.parametrize("relative", sorted(SUMMA_REFUSED))
def test_anchor_summa_overflow_refused(relative):
    line, column, value = SUMMA_REFUSED[relative]
    error = refused(anchor(relative))
    assert (error.line, error.column) == (line, column)
    assert f'amount "{value}" exceeds the maximum 2^64-1' in str(error)


def test_anchor_dapol():
    path = anchor("dapol/entities_example.csv")
    with path.open(newline="") as handle:
        body = list(csv.DictReader(handle))
    accounts = load_accounts(path)
    assert len(accounts.accounts) == len(body) == 100
    assert accounts.totals() == ((sum(int(row["liability"]) for row in body),), (0,))


def test_anchor_okx():
    path = anchor("okx/batch0.json")
    data = json.loads(path.read_text())
    accounts = load_accounts(path)
    assert [a.id for a in accounts.accounts] == [entry["id"] for entry in data]
    equity, debt = accounts.totals()
    for i, asset in enumerate(accounts.assets):
        values = [int(entry["assets"].get(asset.symbol, "0")) for entry in data]
        assert equity[i] == sum(v for v in values if v > 0)
        assert debt[i] == -sum(v for v in values if v < 0)
    assert len(accounts.assets) == len({token for entry in data for token in entry["assets"]}) == 220


@pytest.mark.parametrize("relative", sorted(BINANCE_USERS))
def test_anchor_binance_users(relative):
    path = anchor(relative)
    invalid = BINANCE_USERS[relative]
    with path.open(newline="") as handle:
        body = list(csv.DictReader(handle))
    accounts = load_accounts(path)
    # generate_user_files.py writes the invalid accounts first (argument invalid_num = 10 / 20).
    assert len(accounts.rejected) == invalid
    assert [r[1] for r in accounts.rejected] == [row["id"] for row in body[:invalid]]
    assert [r[0] for r in accounts.rejected] == [f"{path.name}:{line}" for line in range(2, invalid + 2)]
    for _, _, reason in accounts.rejected[0::2]:
        assert "exceeds equity" in reason  # generator type 0: vl + m + pm = 1.25 * equity
    for _, _, reason in accounts.rejected[1::2]:
        assert "exceeds tiered collateral value" in reason  # generator type 1: debt 1 % above collateral
    valid = body[invalid:]
    assert [a.id for a in accounts.accounts] == [row["id"] for row in valid]
    equity, debt = accounts.totals()
    for i, asset in enumerate(accounts.assets):
        token = asset.symbol.lower()
        assert equity[i] == sum(Decimal(row[f"e_{token}"]) * 10**8 for row in valid)
        assert debt[i] == sum(Decimal(row[f"d_{token}"]) * 10**8 for row in valid)
        for account, row in zip(accounts.accounts, valid):
            if account.equities[i] or account.debts[i]:
                for k, kind in enumerate(("vl", "m", "pm")):
                    assert account.collateral[k * len(accounts.assets) + i] == Decimal(row[f"{kind}_{token}"]) * 10**8


@pytest.mark.parametrize("relative", sorted(BINANCE_INFO))
def test_anchor_binance_assets_info(relative):
    path = anchor(relative)
    count, price_decimals = BINANCE_INFO[relative]
    info = load_binance_assets_info(path, price_decimals=price_decimals)
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert len(info) == len(rows) == count
    for row in rows:
        entry = info[row[0].upper()]
        assert entry.usdt_price == Decimal(row[1]) * 10**price_decimals
        assert len(entry.loan_tiers) == (row[2].count(":"))
    if price_decimals == 16:  # the production prices do not fit 8 decimals: refused, not rounded
        with pytest.raises(AccountsError, match="more than 8 decimals"):
            load_binance_assets_info(path)


@pytest.mark.parametrize("relative", NOT_ACCOUNTS)
def test_anchor_not_an_account_file(relative):
    with pytest.raises(AccountsError, match="cannot tell the format|names no currencies"):
        detect_format(anchor(relative))
