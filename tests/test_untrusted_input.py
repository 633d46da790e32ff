"""Every file a verifier reads comes from outside: odd JSON and odd numbers get exit 2, never a traceback.

Python's ``json`` raises ValueError for integers of more than 4,300 digits and
recurses once per nesting level (py_ecc raises the recursion limit to 100,000 on
import, after which deep nesting overflows the C stack); ``int()`` accepts
Unicode digits, signs, spaces and underscores. Each case below once crashed a
verifying command or was accepted in a non-canonical form.
"""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from zkproofs.errors import MalformedInput, NonCanonicalFieldElement
from zkproofs.groth16.serialize import vk_from_json, vk_hash
from zkproofs.field import R, decode_scalar, parse_decimal
from zkproofs.jsontext import MAX_DEPTH, loads, nesting_depth

TREE_FIXTURES = Path(__file__).parent / "fixtures" / "tree"
DEEP = 100_000


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def run(*args):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result


def refused(*args, word: str = ""):
    """The command exits 2 with a message, through the CLI's error path (no traceback)."""
    result = invoke(*args)
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.output}"
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert word in result.output, result.output
    return result


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def deep(text: str) -> str:
    """``text`` (a JSON object) with an extra member nested DEEP levels."""
    return '{"deep": ' + "[" * DEEP + "]" * DEEP + ", " + text.lstrip()[1:]


def huge_int(text: str, key: str) -> str:
    """``text`` with the one-digit integer value of ``"key": N`` replaced by a 5,000-digit integer."""
    match = re.search(f'"{key}": ([0-9])\\b', text)
    assert match
    return text[: match.start(1)] + match.group(1) + "0" * 5000 + text[match.end(1) :]


# --- the decoders --------------------------------------------------------------------


def test_nesting_depth_ignores_brackets_in_strings():
    assert nesting_depth('{"a": [1, [2]], "b": "[[[[{{{{"}') == 3
    assert nesting_depth('"\\"[[["') == 0
    assert nesting_depth("[" * 10) == 10


def test_loads_limits_depth_and_number_size():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH, "x") == eval("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(MalformedInput, match="nested 33 levels"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "x")
    with pytest.raises(MalformedInput, match="x: JSON nested"):
        loads(b"[" * DEEP, "x")
    with pytest.raises(MalformedInput, match="4300"):
        loads("1" * 5000, "x")
    with pytest.raises(MalformedInput, match="not UTF-8"):
        loads(b'{"a": "\xff"}', "x")
    assert loads('{"a": "\\u00e9"}'.encode("utf-16"), "x") == {"a": "\u00e9"}


@pytest.mark.parametrize("text", [" 35", "35 ", "+35", "-35", "035", "3_5", "\u0663\u0665", "\uff13\uff15", "\u00b2",
                                  "", "0x", "0X23", "0x" + "f" * 65, "0x" + "f" * 4000, "1" * 5000, "1e3", "35.0"])
def test_non_canonical_scalar_strings_are_refused(text):
    with pytest.raises(NonCanonicalFieldElement):
        decode_scalar(text)


@pytest.mark.parametrize("text,value", [("0", 0), ("35", 35), ("0x23", 35), ("0x" + "0" * 63 + "1", 1), (str(R - 1), R - 1)])
def test_canonical_scalar_strings(text, value):
    assert decode_scalar(text) == value


def test_scalar_error_messages_stay_short():
    with pytest.raises(NonCanonicalFieldElement) as info:
        decode_scalar(10**4000)
    assert len(str(info.value)) < 200 and "4001 digits" in str(info.value)


def test_parse_decimal_bounds_digits():
    assert parse_decimal("18446744073709551615", what="x") == 2**64 - 1
    with pytest.raises(MalformedInput, match="3 digits"):
        parse_decimal("100", what="x", max_digits=2)


# --- zkproofs verify -------------------------------------------------------------------


@pytest.fixture(scope="module")
def groth16_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("g16")
    run("setup", "balance_threshold", "--party", "tests", "--out", folder)
    write(folder / "inputs.json", json.dumps({"balance": "500", "salt": "42", "threshold": "100"}))
    run("prove", "--pk", folder / "proving_key.bin", "--inputs", folder / "inputs.json", "--out", folder / "proof.json")
    return folder, (folder / "verification_key.json").read_text(), (folder / "proof.json").read_text()


def _public(text: str, name: str, value: str) -> str:
    doc = json.loads(text)
    doc["public_inputs"][name] = value
    return json.dumps(doc)


PROOF_CASES = {
    "huge integer": lambda t: huge_int(t, "version"),
    "deep nesting": deep,
    "version true": lambda t: re.sub(r'"version": [0-9]\b', '"version": true', t, count=1),
    "version N.0": lambda t: re.sub(r'"version": ([0-9])\b', r'"version": \1.0', t, count=1),
    "long hex input": lambda t: _public(t, "threshold", "0x" + "f" * 4000),
    "Unicode digits": lambda t: _public(t, "threshold", "\u0661\u0660\u0660"),
    "signed input": lambda t: _public(t, "threshold", "+100"),
    "padded input": lambda t: _public(t, "threshold", " 100"),
}


FILE_CASES = [("proof", case) for case in sorted(PROOF_CASES)]
FILE_CASES += [("vk", case) for case in ("huge integer", "deep nesting", "version true", "version N.0")]


@pytest.mark.parametrize("which,case", FILE_CASES)
def test_verify_refuses_odd_json(groth16_files, tmp_path, which, case):
    folder, vk_text, proof_text = groth16_files
    vk, proof = folder / "verification_key.json", folder / "proof.json"
    if which == "proof":
        proof = write(tmp_path / "proof.json", PROOF_CASES[case](proof_text))
    else:
        vk = write(tmp_path / "vk.json", PROOF_CASES[case](vk_text))
    for backend in ("arkworks", "py_ecc"):
        refused("verify", "--vk", vk, "--proof", proof, "--backend", backend)


def test_verify_refuses_a_key_whose_ic_does_not_fit(groth16_files, tmp_path):
    folder, vk_text, _ = groth16_files
    doc = json.loads(vk_text)
    doc["ic"] = doc["ic"][:-1]
    vk = write(tmp_path / "vk.json", json.dumps(doc))
    refused("verify", "--vk", vk, "--proof", folder / "proof.json", word="ic")


# --- zkproofs tree verify --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tree")
    run("setup", "merkle_sum_inclusion", "--party", "tests", "--param", "depth=3", "--param", "assets=2", "--out", folder / "keys")
    run("tree", "build", TREE_FIXTURES / "accounts_6.csv", "--db", folder / "l.db", "--root-out", folder / "root.json",
        "--vk", folder / "keys" / "verification_key.json")
    run("tree", "prove", "carol", "--db", folder / "l.db", "--out", folder / "plain.json")
    run("tree", "prove", "alice", "--db", folder / "l.db", "--out", folder / "zk.json", "--zk", "--pk", folder / "keys" / "proving_key.bin")
    return folder


def _edit(text: str, change) -> str:
    doc = json.loads(text)
    change(doc)
    return json.dumps(doc)


TREE_PROOF_CASES = {
    "huge integer": lambda t: huge_int(t, "version"),
    "deep nesting": deep,
    "Unicode digit amount": lambda t: _edit(t, lambda d: d["equities"].__setitem__(0, "\u00b2")),
    "5000-digit amount": lambda t: _edit(t, lambda d: d["equities"].__setitem__(0, "9" * 5000)),
    "lone surrogate id": lambda t: _edit(t, lambda d: d.__setitem__("user_id", "\ud800")),
    "long hex salt": lambda t: _edit(t, lambda d: d.__setitem__("salt", "0x" + "f" * 4000)),
}


@pytest.mark.parametrize("case", sorted(TREE_PROOF_CASES))
@pytest.mark.parametrize("kind", ["plain", "zk"])
def test_tree_verify_refuses_odd_proofs(tree_files, tmp_path, case, kind):
    proof = write(tmp_path / "p.json", TREE_PROOF_CASES[case]((tree_files / f"{kind}.json").read_text()))
    refused("tree", "verify", proof, "--root", tree_files / "root.json", "--vk", tree_files / "keys" / "verification_key.json",
            "--trust-single-party-key")


ROOT_CASES = {
    "huge integer": lambda t: huge_int(t, "version"),
    "deep nesting": deep,
    "negative decimals": lambda t: _edit(t, lambda d: d["assets"][0].__setitem__("decimals", -1)),
    "absurd decimals": lambda t: _edit(t, lambda d: d["assets"][0].__setitem__("decimals", 10**9)),
    "Unicode digit total": lambda t: _edit(t, lambda d: d["totals"]["BTC"].__setitem__("equity", "\u00b2")),
    "long hex root": lambda t: _edit(t, lambda d: d.__setitem__("root_hash", "0x" + "f" * 4000)),
}


@pytest.mark.parametrize("case", sorted(ROOT_CASES))
def test_tree_verify_refuses_odd_roots(tree_files, tmp_path, case):
    root = write(tmp_path / "root.json", ROOT_CASES[case]((tree_files / "root.json").read_text()))
    for extra in ([], ["--json"]):
        refused("tree", "verify", tree_files / "plain.json", "--root", root, *extra)


def _root_naming(tree_files, vk_path, tmp_path):
    """The published root, edited to name the key at ``vk_path`` (as a dishonest exchange would)."""
    doc = json.loads((tree_files / "root.json").read_text())
    doc["verification_key"] = vk_hash(vk_from_json(vk_path.read_text()))
    return write(tmp_path / "root_naming.json", json.dumps(doc))


def test_tree_verify_refuses_a_key_with_other_public_inputs(tree_files, tmp_path):
    doc = json.loads((tree_files / "keys" / "verification_key.json").read_text())
    doc["public_inputs"][0] = "not_a_commitment"
    vk = write(tmp_path / "vk.json", json.dumps(doc))
    root = _root_naming(tree_files, vk, tmp_path)
    refused("tree", "verify", tree_files / "zk.json", "--root", root, "--vk", vk, "--trust-single-party-key", word="public inputs")


def test_tree_verify_refuses_a_key_of_another_circuit_under_this_name(tree_files, tmp_path):
    # A key made for a different constraint system (here depth 2), relabelled as depth 3:
    # name, parameters and public inputs agree, but the digest is not this code's circuit.
    run("setup", "merkle_sum_inclusion", "--party", "tests", "--param", "depth=2", "--param", "assets=2", "--out", tmp_path / "k2")
    doc = json.loads((tmp_path / "k2" / "verification_key.json").read_text())
    real = json.loads((tree_files / "keys" / "verification_key.json").read_text())
    doc["circuit"]["params"] = real["circuit"]["params"]
    doc["public_inputs"] = real["public_inputs"]
    doc["ic"] = real["ic"]
    vk = write(tmp_path / "vk.json", json.dumps(doc))
    root = _root_naming(tree_files, vk, tmp_path)
    refused("tree", "verify", tree_files / "zk.json", "--root", root, "--vk", vk, "--trust-single-party-key", word="digest")


# --- zkproofs wallet trade --accept LEGFILE ---------------------------------------------------

LEG = '{"format": "zkproofs-trade-leg", "version": 1, "leg": {"kind": "trade", "expiry": 1900000000}}'
LEG_CASES = {"huge integer": lambda t: huge_int(t, "version"), "deep nesting": deep}


@pytest.mark.parametrize("case", sorted(LEG_CASES))
def test_wallet_refuses_odd_leg_files_before_opening_anything(tmp_path, case):
    leg = write(tmp_path / "leg.json", LEG_CASES[case](LEG))
    policy = write(tmp_path / "policy.toml", "")
    refused("wallet", "trade", "--wallet", tmp_path / "w.json", "--policy", policy, "--keys", tmp_path, "--db", tmp_path / "v.db",
            "--accept", leg, "--give", "1", "BTC", "--get", "1", "USDC")
    assert not (tmp_path / "v.db").exists() and not (tmp_path / "w.json").exists()
