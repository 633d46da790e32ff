"""README.md runs as written (issue 16): its shell blocks, in order, in a fresh folder.

Every fenced block whose info string is ``sh`` is run, in document order, as one
bash script (``set -euo pipefail``) in an empty temporary folder, with the
running interpreter's environment first on PATH. A block is left out only when
its info string says so with a reason: ```` ```sh no-test: <why> ````. Section
owners drop the tag when their block runs as written; the test fails when the
README drifts from the code (a renamed option, a missing file, a step out of
order). The walk-through takes about a minute, so it is in the slow tier and
``.ci/run`` runs it explicitly after the fast suite.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)


def shell_blocks(text: str) -> list[tuple[str, str]]:
    """(info string after the language, body) of every ```sh block, in order."""
    blocks = []
    for info, body in FENCE.findall(text):
        lang, _, rest = info.strip().partition(" ")
        if lang == "sh":
            blocks.append((rest.strip(), body))
    return blocks


def runnable(text: str) -> str:
    """The script the README's runnable blocks make, one after the other."""
    parts = []
    for info, body in shell_blocks(text):
        if info.startswith("no-test:") and info.removeprefix("no-test:").strip():
            continue
        if info:
            raise AssertionError(f"unknown info string {info!r} on a README sh block (only 'no-test: <reason>')")
        parts.append(body)
    return "set -euo pipefail\n" + "\n".join(parts)


def test_extraction_sees_every_block():
    text = "a\n```sh\necho 1\n```\n```python\nx = 1\n```\n```sh no-test: needs a network\ncurl x\n```\n```sh\necho 2\n```\n"
    assert shell_blocks(text) == [("", "echo 1\n"), ("no-test: needs a network", "curl x\n"), ("", "echo 2\n")]
    assert runnable(text) == "set -euo pipefail\necho 1\n\necho 2\n"
    with pytest.raises(AssertionError, match="unknown info string"):
        runnable("```sh skip\necho\n```\n")
    with pytest.raises(AssertionError, match="unknown info string"):
        runnable("```sh no-test:\necho\n```\n")  # a reason is required


@pytest.mark.slow  # about a minute (two Groth16 setups, a py_ecc verification); .ci/run runs it
def test_readme_walk_through_runs_as_written(tmp_path):
    script = runnable(README.read_text(encoding="utf-8"))
    assert "zkproofs tree build" in script and "zkproofs audit" in script
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("ZKPROOFS_BACKEND", None)
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"README walk-through failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
