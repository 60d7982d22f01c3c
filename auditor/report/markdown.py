"""``--format markdown``: a pull-request comment (GitHub, GitLab, Gitea).

A verdict heading, counts by severity, a table of the findings that count for the gate (the
most severe first), and a collapsed section with the STRIDE and 4C breakdowns and notices.
GitHub refuses comments over 65,536 characters, so the whole text is kept under
:data:`MAX_CHARS`: the table stops at :data:`MAX_ROWS` rows (or earlier if the text budget
runs out) and says how many findings it left out; long cells are shortened.
"""

from __future__ import annotations

from .. import __version__
from ..engine.findings import Finding
from ..engine.result import ScanResult
from ..threat import LAYER_MEANING, SEVERITIES_DESCENDING, STRIDE_MEANING, Layer, Stride
from . import ReportOptions

MAX_CHARS = 60_000
MAX_ROWS = 100
MAX_CELL = 300
MAX_NOTICES = 20
#: an invisible marker a CI bot can search for to update its previous comment in place
MARKER = "<!-- kube-auditor-report -->"
TABLE_HEADER = "| Severity | Rule | Object | Location | Message |\n|---|---|---|---|---|"


def cell(value: object, limit: int = MAX_CELL) -> str:
    """Text safe inside a table cell: no raw HTML, pipes escaped, newlines as ``<br>``."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "<br>".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def _row(finding: Finding) -> str:
    resource = finding.resource
    obj = resource.display + (f" (container {finding.container})" if finding.container else "")
    return (
        f"| {finding.severity.value} | `{finding.rule}` | {cell(obj)} | "
        f"{cell(finding.resource.source)} | {cell(finding.message)} |"
    )


def _heading(summary: dict) -> list[str]:
    if summary["failOn"] == "none":
        verdict = f"kube-auditor: {summary['active']} finding(s), gate disabled"
    elif summary["failing"]:
        verdict = (
            f":x: kube-auditor: FAIL, {summary['failing']} finding(s) at or above "
            f"{summary['failOn']}"
        )
    else:
        verdict = (
            f":white_check_mark: kube-auditor: PASS, no finding at or above {summary['failOn']}"
        )
    counts = " · ".join(
        f"**{s.value}** {summary['bySeverity'][s.value]}" for s in SEVERITIES_DESCENDING
    )
    extra = [
        f"{summary[key]} {label}"
        for key, label in (("waived", "waived"), ("baselined", "in baseline"))
        if summary[key]
    ]
    lines = [MARKER, f"### {verdict}", "", counts]
    if extra:
        lines += ["", f"Not counted: {', '.join(extra)}."]
    return lines


def _details(result: ScanResult, summary: dict) -> list[str]:
    lines = ["<details>", "<summary>Summary by STRIDE category and 4C layer</summary>", ""]
    lines += ["| STRIDE | Findings | What an attacker gains |", "|---|--:|---|"]
    lines += [
        f"| {s.value} | {summary['byStride'][s.value]} | {STRIDE_MEANING[s]} |" for s in Stride
    ]
    lines += ["", "| 4C layer | Findings | Where the defence lives |", "|---|--:|---|"]
    lines += [
        f"| {layer.value} | {summary['byLayer'][layer.value]} | {LAYER_MEANING[layer]} |"
        for layer in Layer
    ]
    lines += [
        "",
        (
            f"Findings: {summary['findings']} in total, {summary['active']} counted, "
            f"{summary['waived']} waived, {summary['baselined']} in baseline."
        ),
    ]
    if result.notices:
        lines += ["", f"Notices ({len(result.notices)}):", ""]
        lines += [f"- {cell(n)}" for n in result.notices[:MAX_NOTICES]]
        if len(result.notices) > MAX_NOTICES:
            lines.append(f"- … and {len(result.notices) - MAX_NOTICES} more")
    lines += ["", "</details>"]
    return lines


def render(result: ScanResult, options: ReportOptions) -> str:
    summary = result.summary(options.fail_on)
    head = _heading(summary)
    footer = (
        f"<sub>kube-auditor {__version__}: {summary['objects']} objects in {summary['files']} "
        f"file(s), {summary['rules']} rules</sub>"
    )
    tail = _details(result, summary) + ["", footer]
    active = [f for f in result.findings if f.counts_for_gate]
    body: list[str] = []
    if active:
        # room for the table: the budget minus the rest, the header and the "… and N more" line
        budget = MAX_CHARS - len("\n".join(head + tail)) - len(TABLE_HEADER) - 200
        rows: list[str] = []
        for finding in active[:MAX_ROWS]:
            row = _row(finding)
            if budget - len(row) - 1 < 0:
                break
            budget -= len(row) + 1
            rows.append(row)
        body = ["", TABLE_HEADER, *rows]
        if len(rows) < len(active):
            hidden = len(active) - len(rows)
            body += ["", f"… and {hidden} more not shown here (`--format json` lists them all)."]
    elif result.findings:
        body = ["", "No finding counts for the gate."]
    else:
        body = ["", "No findings."]
    return "\n".join(head + body + [""] + tail) + "\n"
