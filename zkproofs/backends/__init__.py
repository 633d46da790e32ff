"""Curve backend selection: the one place that chooses arkworks or py_ecc.

Precedence: an explicit name, else the ``ZKPROOFS_BACKEND`` environment variable,
else the process default set by :func:`use_backend`, else "arkworks". The chosen
default is the project's only global state.
"""

from __future__ import annotations

import importlib
import os

from zkproofs.backends.base import CurveBackend
from zkproofs.errors import BackendUnavailable

_MODULES = {"arkworks": "zkproofs.backends.arkworks", "py_ecc": "zkproofs.backends.pyecc"}
_instances: dict[str, CurveBackend] = {}
_default = "arkworks"


def available_backends() -> tuple[str, ...]:
    """Names of the known backends (importability is checked on use)."""
    return tuple(_MODULES)


def get_backend(name: str | None = None) -> CurveBackend:
    """The backend called ``name`` (see the module docstring for the default).

    Raises BackendUnavailable for an unknown name or a backend that cannot be imported.
    """
    chosen = name or os.environ.get("ZKPROOFS_BACKEND") or _default
    if chosen not in _MODULES:
        raise BackendUnavailable(f"unknown backend {chosen!r}; choose one of {', '.join(_MODULES)}")
    backend = _instances.get(chosen)
    if backend is None:
        try:
            module = importlib.import_module(_MODULES[chosen])
        except ImportError as exc:
            raise BackendUnavailable(f"backend {chosen!r} cannot be loaded: {exc}") from exc
        backend = _instances[chosen] = module.Backend()
    return backend


def use_backend(name: str) -> None:
    """Set the process default backend (validated by loading it)."""
    global _default
    get_backend(name)
    _default = name


__all__ = ["CurveBackend", "available_backends", "get_backend", "use_backend"]
