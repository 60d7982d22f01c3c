"""Waiting for a real API server to catch up (RBAC caches, webhook and policy registration
take effect asynchronously)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float, interval: float) -> T:
    """Call ``check()`` every ``interval`` seconds until it returns something truthy, or
    ``timeout`` seconds have passed; return its last answer either way."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
