"""CLI conventions every command keeps (issue 16): help text for every option,
errors that name the CLI's options rather than Python parameters, Ctrl-C exits 130."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import cli.tree
from cli.main import EXIT_INTERRUPTED, main

FIXTURES = Path(__file__).parent / "fixtures"


def _commands(command: click.Command, path: tuple[str, ...]):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(main, ("zkproofs",)))


def test_the_walk_finds_every_command():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"zkproofs export snarkjs", "zkproofs export r1cs", "zkproofs export wtns", "zkproofs tree build", "zkproofs audit"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_and_option_has_help(path, command):
    assert command.help or command.short_help, f"{' '.join(path)} has no help text"
    missing = [p.opts[0] for p in command.params if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()]
    assert not missing, f"{' '.join(path)}: options without help text: {missing}"
    result = CliRunner().invoke(main, [*path[1:], "--help"])
    assert result.exit_code == 0, result.output


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_binance_without_assets_info_says_where_it_looked(tmp_path):
    shutil.copy(FIXTURES / "accounts" / "binance" / "users.csv", tmp_path / "users.csv")
    result = run("tree", "build", tmp_path / "users.csv", "--db", tmp_path / "t.db")
    assert result.exit_code == 2
    assert f"looked for {tmp_path / 'cex_assets_info.csv'}" in result.output and "pass --assets-info PATH" in result.output
    assert not (tmp_path / "t.db").exists()
    named = run("tree", "build", tmp_path / "users.csv", "--db", tmp_path / "t.db", "--assets-info",
                FIXTURES / "accounts" / "binance" / "cex_assets_info.csv", "--exclude-invalid", "--json")
    assert named.exit_code == 0, named.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--decimals", "BTC=3"), "--decimals applies to --format csv only; binance fixes its decimals"),
        (("--format", "okx"), "JSON"),
    ],
)
def test_errors_name_cli_options(tmp_path, args, message):
    source = FIXTURES / "accounts" / "binance"
    result = run("tree", "build", source / "users.csv", "--db", tmp_path / "t.db", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "decimals=" not in result.output and "format=" not in result.output


def test_undetectable_format_asks_for_the_option(tmp_path):
    (tmp_path / "a.csv").write_text("a,b\n1,2\n")
    result = run("tree", "build", tmp_path / "a.csv", "--db", tmp_path / "t.db")
    assert result.exit_code == 2 and "pass --format" in result.output and "format=" not in result.output


def test_assets_info_only_for_binance(tmp_path):
    result = run("tree", "build", FIXTURES / "tree" / "accounts_6.csv", "--db", tmp_path / "t.db", "--assets-info", tmp_path / "x.csv")
    assert result.exit_code == 2 and "--assets-info applies to --format binance only" in result.output


def test_ctrl_c_exits_130(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.tree, "load_accounts", interrupted)
    result = run("tree", "build", FIXTURES / "tree" / "accounts_6.csv", "--db", tmp_path / "t.db")
    assert result.exit_code == EXIT_INTERRUPTED == 130
    assert "interrupted" in result.output and not (tmp_path / "t.db").exists()
