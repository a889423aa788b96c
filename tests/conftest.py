"""Fixtures shared by several test files."""
import signal

import pytest


@pytest.fixture
def restore_signals():
    """Put back the SIGINT/SIGTERM handlers that an in-process run installs."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)
