"""Shared fixtures: every curve test runs over both backends (as py_ecc's tests do)."""

import pytest

from zkproofs.backends import available_backends, get_backend


@pytest.fixture(params=available_backends())
def backend(request):
    """Each curve backend in turn: arkworks (native) and py_ecc (pure Python)."""
    return get_backend(request.param)
