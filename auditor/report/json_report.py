"""``--format json``: the finding JSON of docs/output-format.md (schema shipped in the package)."""

from __future__ import annotations

from typing import Any

import orjson

from .. import __version__
from ..engine.result import ScanResult
from . import ReportOptions

SCHEMA_ID = "https://kube-auditor.io/schemas/scan-report-v1.json"


def report_dict(result: ScanResult, options: ReportOptions) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_ID,
        "tool": {"name": "kube-auditor", "version": __version__},
        "summary": result.summary(options.fail_on),
        "findings": [f.to_dict() for f in result.findings],
        "notices": [n.to_dict() for n in result.notices],
    }


def render(result: ScanResult, options: ReportOptions) -> str:
    # orjson: the standard library's encoder drops to pure Python when indenting, which
    # made rendering a large report slower than the scan itself.
    return orjson.dumps(report_dict(result, options), option=orjson.OPT_INDENT_2).decode() + "\n"
