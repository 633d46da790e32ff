"""Shared fixtures: every curve test runs over both backends (as py_ecc's tests do)."""

import pytest

from zkproofs.backends import available_backends, get_backend


@pytest.fixture(params=available_backends())
def backend(request):
    """Each curve backend in turn: arkworks (native) and py_ecc (pure Python)."""
    return get_backend(request.param)


@pytest.fixture(autouse=True, scope="session")
def _user_cache(tmp_path_factory):
    """Every test session gets its own empty user cache (never the developer's ~/.cache)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZKPROOFS_CACHE_DIR", str(tmp_path_factory.mktemp("usercache")))
        yield
