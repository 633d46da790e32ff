"""Reading accounts streams (issue 16): rows are validated as they are read, never
held as text, and a terminal sees progress."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import cli.tree
import zkproofs.accounts.source as source
from cli.main import main
from zkproofs.accounts import AccountsError, load_accounts


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
