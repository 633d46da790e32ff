"""``zkproofs doctor``: which compiled parts are active in this installation."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

import click

from cli.common import emit_json, reports_errors
from zkproofs import kernels
from zkproofs.backends import available_backends, get_backend
from zkproofs.errors import BackendUnavailable


def kernels_summary() -> str:
    """One line for ``zkproofs --version``: the active field kernels (or why none could be chosen)."""
    try:
        return f"kernels: {kernels.active_kernels()}"
    except BackendUnavailable as exc:
        return f"kernels: unavailable ({exc})"


def _report() -> dict:
    try:
        zk_version = version("zkproofs")
    except PackageNotFoundError:
        zk_version = "not installed"
    backends = {}
    for name in available_backends():
        try:
            get_backend(name)
            backends[name] = "ok"
        except BackendUnavailable as exc:
            backends[name] = f"unavailable: {exc}"
    return {
        "zkproofs": zk_version,
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "kernels": {
            "active": kernels.active_kernels(),
            "native_built": kernels.native_unavailable_reason() is None,
            "native_error": kernels.native_unavailable_reason(),
            "poseidon_code_path": kernels.native_code_path(),
            "ZKPROOFS_KERNELS": os.environ.get("ZKPROOFS_KERNELS"),
        },
        "curve_backends": backends,
        "ZKPROOFS_BACKEND": os.environ.get("ZKPROOFS_BACKEND"),
    }


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@reports_errors
def doctor(as_json: bool) -> None:
    """Say which field kernels (compiled C or pure Python) and curve backends are active.

    The compiled kernels run Poseidon, the NTTs and batch inversion; they are built
    by `pip install` with the machine's C compiler. Without them everything works,
    10-100x slower on those paths. Select with ZKPROOFS_KERNELS=native|python.
    """
    report = _report()
    if as_json:
        emit_json(report)
        return
    k = report["kernels"]
    click.echo(f"zkproofs {report['zkproofs']} on {report['python']}")
    built = f"built, Poseidon code path {k['poseidon_code_path']}" if k["native_built"] else f"NOT built ({k['native_error']})"
    click.echo(f"field kernels: {k['active']} (compiled C kernels {built}; ZKPROOFS_KERNELS={k['ZKPROOFS_KERNELS'] or 'unset'})")
    for name, state in report["curve_backends"].items():
        click.echo(f"curve backend {name}: {state}")
