"""Reading accounts streams (issue 16): rows are validated as they are read, never
held as text, and a terminal sees progress; `tree build` reads a csv while it builds (issue 10)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

import cli.tree
import zkproofs.accounts.source as source
from cli.main import main
import zkproofs.tree.order as order
from zkproofs.accounts import AccountsError, load_accounts
from zkproofs.tree import build_tree


def test_a_bad_row_is_reported_before_the_rest_is_read(tmp_path):
    # Streaming: line 3's error is found before line 5's invalid bytes are decoded
    # (reading the whole file first reported "not UTF-8" instead).
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"id,BTC\nalice,1\nbob,07\ncarol,2\n\xff\xfe,3\n")
    with pytest.raises(AccountsError) as info:
        load_accounts(path, decimals={"BTC": 8})
    assert (info.value.line, info.value.column) == (3, "BTC") and "leading zero" in str(info.value)


def test_invalid_utf8_names_its_line_and_byte(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbfid,BTC\nalice,1\n\xff,3\n")
    with pytest.raises(AccountsError) as info:
        load_accounts(path, decimals={"BTC": 8})
    assert info.value.line == 3 and "not UTF-8 text (byte 18)" in str(info.value)


def test_terminal_shows_rows_read(tmp_path, monkeypatch):
    path = tmp_path / "accounts.csv"
    path.write_text("id,BTC\n" + "".join(f"user{i},1\n" for i in range(10)))
    monkeypatch.setattr(source, "PROGRESS_EVERY", 4)
    monkeypatch.setattr(cli.tree, "_on_terminal", lambda: True)
    result = CliRunner().invoke(main, ["tree", "build", str(path), "--db", str(tmp_path / "t.db"), "--decimals", "BTC=8"])
    assert result.exit_code == 0, result.output
    assert "\rreading accounts.csv: 4 rows" in result.output and "\rreading accounts.csv: 8 rows" in result.output
    monkeypatch.setattr(cli.tree, "_on_terminal", lambda: False)
    quiet = CliRunner().invoke(main, ["tree", "build", str(path), "--db", str(tmp_path / "u.db"), "--decimals", "BTC=8"])
    assert quiet.exit_code == 0 and "reading accounts.csv" not in quiet.output


def _build(tmp_path, text: str):
    path = tmp_path / "in" / "accounts.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    result = CliRunner().invoke(main, ["tree", "build", str(path), "--db", str(out / "t.db"), "--decimals", "BTC=8", "--json"])
    return result, out


def test_tree_build_streams_a_csv_into_the_same_tree_as_a_loaded_set(tmp_path, monkeypatch):
    # the CLI reads a csv while it builds (an AccountStream, runs of 4 spilled beside the database)
    monkeypatch.setattr(order, "RUN_SIZE", 4)
    text = "id,BTC,BTC_debt\n" + "".join(f"user{i},{i}.5,{i % 3}\n" for i in range(21))
    result, out = _build(tmp_path, text)
    assert result.exit_code == 0, result.output
    summary = build_tree(load_accounts(tmp_path / "in" / "accounts.csv", decimals={"BTC": 8}), tmp_path / "set.db",
                         secret=bytes.fromhex(_secret(out / "t.db")))
    doc = json.loads(result.output)
    assert doc["root_hash"] == str(summary.root_hash) and doc["accounts"] == 21
    assert sorted(p.name for p in out.iterdir()) == ["t.db", "t.root.json"]


def _secret(db) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT value FROM meta WHERE key = 'tree_secret'").fetchone()[0]


@pytest.mark.parametrize(
    "rows, message",
    [
        ("alice,1\nbob,2\nalice,3\n", "duplicate account id 'alice'"),
        ("jos\u00e9,1\nbob,2\njose\u0301,3\n", "duplicate account id 'jos\u00e9'"),  # one account after NFC
        ("alice,1\nbob,2\ncarol,-3\n", "accounts.csv, line 4, column BTC"),
        ("alice,1\nbob, 2\n", "line 3"),
        ("", "no accounts after the header"),
    ],
)
def test_a_streamed_build_that_fails_late_writes_nothing(tmp_path, rows, message):
    result, out = _build(tmp_path, "id,BTC\n" + rows)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert list(out.iterdir()) == []
