"""--format sarif."""

from __future__ import annotations

from ..engine.result import ScanResult
from . import ReportOptions


def render(result: ScanResult, options: ReportOptions) -> str:
    raise NotImplementedError("sarif output is not available yet")
