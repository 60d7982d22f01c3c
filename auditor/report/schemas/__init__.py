"""JSON Schemas of kube-auditor's machine-readable outputs, shipped with the package.

``scan-report.schema.json`` describes ``kube-auditor scan --format json``; its ``$id`` is
:data:`auditor.report.json_report.SCHEMA_ID`, the value every report puts in ``$schema``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCAN_REPORT_SCHEMA = "scan-report.schema.json"


@cache
def scan_report_schema() -> dict[str, Any]:
    """The scan report schema (draft 2020-12), parsed once. Do not mutate the result."""
    return json.loads(files(__name__).joinpath(SCAN_REPORT_SCHEMA).read_text(encoding="utf-8"))
