"""``--format table``: a readable report for a person at a terminal (rich).

Findings are grouped by severity, then by object, so the worst problems come first and each
object's problems sit together; a summary counts by severity, STRIDE category and 4C layer.
"""

from __future__ import annotations

import io
from itertools import groupby

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import __version__
from ..engine.result import ScanResult
from ..threat import SEVERITIES_DESCENDING, Severity
from . import ReportOptions
from ._common import group_by_object
from .threat_model import print_summary

SEVERITY_STYLE = {
    Severity.critical: "bold white on red",
    Severity.high: "bold red",
    Severity.medium: "yellow",
    Severity.low: "cyan",
    Severity.info: "dim",
}


def _console(options: ReportOptions, buffer: io.StringIO) -> Console:
    return Console(
        file=buffer,
        force_terminal=options.color,
        no_color=not options.color,
        color_system="standard" if options.color else None,
        width=options.width or 120,
        highlight=False,
        soft_wrap=False,
    )


def render(result: ScanResult, options: ReportOptions) -> str:
    buffer = io.StringIO()
    console = _console(options, buffer)
    summary = result.summary(options.fail_on)
    console.print(
        Text(
            f"kube-auditor {__version__}: {summary['objects']} objects in {summary['files']} "
            f"file(s), {summary['rules']} rules",
            style="bold",
        )
    )
    by_severity = sorted(result.findings, key=lambda f: -f.severity.rank)
    for severity, group in groupby(by_severity, key=lambda f: f.severity):
        findings = list(group)
        console.print()
        console.print(Text(f" {severity.value.upper()} ({len(findings)}) ", style=SEVERITY_STYLE[severity]))
        for resource, object_findings in group_by_object(findings):
            header = Text("  ")
            header.append(resource.display, style="bold")
            header.append(f"  {resource.source}", style="dim")
            console.print(header)
            for finding in object_findings:
                line = Text("    ")
                line.append(finding.rule, style=SEVERITY_STYLE[severity])
                line.append(f"  {finding.message}")
                if finding.waived:
                    line.append(f"  [waived: {finding.waiver_reason}]", style="dim")
                elif finding.baselined:
                    line.append("  [in baseline]", style="dim")
                console.print(line)
    if result.notices:
        console.print()
        console.print(Text("Notices", style="bold"))
        for notice in result.notices:
            console.print(Text(f"  {notice}", style="dim"))
    console.print()
    _summary(console, summary)
    print_summary(console, result)
    _gate_line(console, summary)
    return buffer.getvalue()


def _summary(console: Console, summary: dict) -> None:
    table = Table(title=None, show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("severity")
    table.add_column("count", justify="right")
    for severity in SEVERITIES_DESCENDING:
        table.add_row(Text(severity.value, style=SEVERITY_STYLE[severity]), str(summary["bySeverity"][severity.value]))
    stride = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    stride.add_column("STRIDE")
    stride.add_column("count", justify="right")
    for name, count in summary["byStride"].items():
        stride.add_row(name, str(count))
    layers = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    layers.add_column("4C layer")
    layers.add_column("count", justify="right")
    for name, count in summary["byLayer"].items():
        layers.add_row(name, str(count))
    grid = Table.grid(padding=(0, 4))
    grid.add_row(table, stride, layers)
    console.print(grid)
    extra = []
    if summary["waived"]:
        extra.append(f"{summary['waived']} waived")
    if summary["baselined"]:
        extra.append(f"{summary['baselined']} in baseline")
    if extra:
        console.print(Text("(" + ", ".join(extra) + "; not counted above)", style="dim"))


def _gate_line(console: Console, summary: dict) -> None:
    console.print()
    if summary["failOn"] == "none":
        console.print(Text(f"{summary['active']} finding(s); gate disabled (--fail-on none)"))
    elif summary["failing"]:
        console.print(
            Text(
                f"FAIL: {summary['failing']} finding(s) at or above {summary['failOn']}",
                style="bold red",
            )
        )
    else:
        console.print(Text(f"PASS: no finding at or above {summary['failOn']}", style="bold green"))
