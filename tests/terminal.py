"""Lines the test suite prints for a person to read (conformance counts, measured times),
shown even when pytest captures output."""

from __future__ import annotations

import pytest


def show(request: pytest.FixtureRequest, line: str) -> None:
    """Write ``line`` to the terminal past pytest's output capture (plain print without it)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:  # pragma: no cover - plugins disabled
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(line)
