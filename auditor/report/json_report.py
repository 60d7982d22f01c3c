"""``--format json``: the finding JSON of docs/output-format.md (schema shipped in the package).

A large scan has a large report (50,000 objects give about 135,000 findings and 160 MB of
JSON), so the report is produced in pieces (:func:`json_pieces`): the findings are turned
into dicts and encoded a few thousand at a time, and ``kube-auditor scan`` writes each piece
as it comes. Holding every finding's dict, the encoded bytes and the decoded text at once
used to add more memory than the scan itself. The pieces join to exactly the text orjson
gives for the whole document (a test holds them to it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from .. import __version__
from ..engine.result import ScanResult
from . import ReportOptions

SCHEMA_ID = "https://kube-auditor.io/schemas/scan-report-v1.json"

#: findings encoded per piece: small enough that their dicts are a few megabytes
CHUNK = 2000
_INDENT = orjson.OPT_INDENT_2
#: stands where the findings go while the rest of the document is encoded
_PLACEHOLDER = "kube-auditor:findings"


def report_dict(result: ScanResult, options: ReportOptions) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_ID,
        "tool": {"name": "kube-auditor", "version": __version__},
        "summary": result.summary(options.fail_on),
        "findings": [f.to_dict() for f in result.findings],
        "notices": [n.to_dict() for n in result.notices],
    }


def json_pieces(result: ScanResult, options: ReportOptions) -> Iterator[bytes]:
    """The report as UTF-8 pieces whose concatenation is the indented JSON document."""
    # orjson: the standard library's encoder drops to pure Python when indenting, which
    # made rendering a large report slower than the scan itself.
    outline = orjson.dumps(
        {
            "$schema": SCHEMA_ID,
            "tool": {"name": "kube-auditor", "version": __version__},
            "summary": result.summary(options.fail_on),
            "findings": _PLACEHOLDER,
            "notices": [n.to_dict() for n in result.notices],
        },
        option=_INDENT | orjson.OPT_APPEND_NEWLINE,
    )
    before, after = outline.split(orjson.dumps(_PLACEHOLDER), 1)
    yield before
    findings = result.findings
    if not findings:
        yield b"[]"
    else:
        yield b"["
        for start in range(0, len(findings), CHUNK):
            chunk = orjson.dumps([f.to_dict() for f in findings[start : start + CHUNK]], option=_INDENT)
            # "[\n  {...},\n  {...}\n]": drop the brackets, indent one level deeper (the list
            # is the value of a top-level key), and join to the previous piece with a comma.
            # Strings never hold a raw newline (JSON escapes it), so every "\n" is layout.
            body = chunk[1:-2].replace(b"\n", b"\n  ")
            yield body if start == 0 else b"," + body
        yield b"\n  ]"
    yield after


def render(result: ScanResult, options: ReportOptions) -> str:
    return b"".join(json_pieces(result, options)).decode()
