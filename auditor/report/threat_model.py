"""The threat-model view of a scan: findings by STRIDE category and by 4C layer.

Every finding is tagged, through its rule, with the STRIDE categories it enables and the 4C
layer where its defence lives. :func:`build` groups a scan's findings both ways (a finding
with two STRIDE categories counts in both), with counts by severity, the most severe
findings of each group and what the category means for a cluster, plus a STRIDE × layer
grid that shows where defence in depth is thin. It reads only the :class:`ScanResult`, so
any source (manifests today, a live cluster later) gives the same report.

Waived and baselined findings are accepted or known risks: they are counted apart and never
listed among the top findings.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..engine.findings import Finding, sort_key
from ..engine.result import ScanResult
from ..threat import LAYER_MEANING, SEVERITIES_DESCENDING, STRIDE_MEANING, Layer, Severity, Stride

THREAT_FORMATS = ("table", "json", "markdown")
DEFAULT_TOP = 5


@dataclass
class ThreatGroup:
    """One STRIDE category or one 4C layer, and the findings in it."""

    name: str
    meaning: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in SEVERITIES_DESCENDING}
        for finding in self.findings:
            counts[finding.severity.value] += 1
        return counts

    @property
    def total(self) -> int:
        return len(self.findings)

    @property
    def worst(self) -> Severity | None:
        return min((f.severity for f in self.findings), key=lambda s: -s.rank, default=None)

    def top(self, limit: int) -> list[Finding]:
        return sorted(self.findings, key=sort_key)[:limit]

    def counts_text(self) -> str:
        parts = [f"{count} {name}" for name, count in self.counts.items() if count]
        return ", ".join(parts) if parts else "none"

    def to_dict(self, limit: int) -> dict[str, Any]:
        return {
            "name": self.name,
            "meaning": self.meaning,
            "total": self.total,
            "bySeverity": self.counts,
            "top": [_finding_dict(f) for f in self.top(limit)],
        }


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "title": finding.title,
        "severity": finding.severity.value,
        "object": finding.resource.ref(),
        "container": finding.container,
        "message": finding.message,
        "fingerprint": finding.fingerprint,
    }


@dataclass
class ThreatModel:
    stride: list[ThreatGroup]
    layers: list[ThreatGroup]
    #: (STRIDE category, layer) → number of active findings
    grid: dict[tuple[str, str], int]
    active: list[Finding]
    waived: int
    baselined: int
    files: int
    objects: int
    rules: int
    top: int = DEFAULT_TOP

    @property
    def by_severity(self) -> dict[str, int]:
        counts = {s.value: 0 for s in SEVERITIES_DESCENDING}
        for finding in self.active:
            counts[finding.severity.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": {"name": "kube-auditor", "version": __version__},
            "scanned": {"files": self.files, "objects": self.objects, "rules": self.rules},
            "findings": len(self.active),
            "bySeverity": self.by_severity,
            "waived": self.waived,
            "baselined": self.baselined,
            "stride": [g.to_dict(self.top) for g in self.stride],
            "layers": [g.to_dict(self.top) for g in self.layers],
            "grid": [
                {"stride": s, "layer": layer, "count": count}
                for (s, layer), count in self.grid.items()
            ],
        }


def build(result: ScanResult, top: int = DEFAULT_TOP) -> ThreatModel:
    """Group a scan's active findings by STRIDE category and by 4C layer."""
    active = [f for f in result.findings if f.counts_for_gate]
    stride = {s: ThreatGroup(s.value, STRIDE_MEANING[s]) for s in Stride}
    layers = {layer: ThreatGroup(layer.value, LAYER_MEANING[layer]) for layer in Layer}
    grid = {(s.value, layer.value): 0 for s in Stride for layer in Layer}
    for finding in active:
        layers[Layer(finding.layer)].findings.append(finding)
        for category in dict.fromkeys(finding.stride):
            stride[Stride(category)].findings.append(finding)
            grid[(Stride(category).value, Layer(finding.layer).value)] += 1
    return ThreatModel(
        stride=list(stride.values()),
        layers=list(layers.values()),
        grid=grid,
        active=active,
        waived=sum(1 for f in result.findings if f.waived),
        baselined=sum(1 for f in result.findings if f.baselined and not f.waived),
        files=len(result.files),
        objects=len(result.inventory),
        rules=len(result.rules),
        top=top,
    )


# ---------------------------------------------------------------------------- scan summary


def summary_lines(result: ScanResult) -> list[str]:
    """The compact block of ``scan``'s table: one line per STRIDE category with findings,
    most severe first, with its severity counts and its worst finding."""
    model = build(result, top=1)
    groups = [g for g in model.stride if g.total]
    groups.sort(key=lambda g: (-(g.worst.rank if g.worst else -1), -g.total))
    width = max((len(g.name) for g in groups), default=0)
    lines = []
    for group in groups:
        worst = group.top(1)[0]
        lines.append(
            f"  {group.name:<{width}}  {group.counts_text()}; worst: {worst.rule} {worst.resource.display}"
        )
    return lines


# ---------------------------------------------------------------------------- renderings


def _top_line(finding: Finding) -> str:
    container = f" [{finding.container}]" if finding.container else ""
    return f"{finding.severity.value:<8} {finding.rule:<12} {finding.resource.display}{container}: {finding.title}"


def render_table(model: ThreatModel, color: bool = False, width: int = 120) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=not color, force_terminal=color,
                      color_system="standard" if color else None, highlight=False, soft_wrap=False)
    counts = ", ".join(f"{n} {s}" for s, n in model.by_severity.items() if n) or "none"
    console.print(Text(
        f"kube-auditor {__version__} threat model: {len(model.active)} finding(s) ({counts}) on "
        f"{model.objects} objects in {model.files} file(s), {model.rules} rules",
        style="bold",
    ))
    for title, groups in (("STRIDE: what an attacker gains", model.stride),
                          ("4C layers: where the defence lives", model.layers)):
        console.print()
        console.print(Text(title, style="bold underline"))
        for group in groups:
            console.print()
            header = Text(f"{group.name}", style="bold")
            header.append(f"  {group.total} finding(s): {group.counts_text()}")
            console.print(header)
            console.print(Text(f"  {group.meaning}", style="dim"))
            for finding in group.top(model.top):
                console.print(Text(f"    {_top_line(finding)}"))
            if group.total > model.top:
                console.print(Text(f"    … and {group.total - model.top} more", style="dim"))
    console.print()
    console.print(Text("Defence in depth: findings by STRIDE category and 4C layer", style="bold underline"))
    grid = Table(box=None, header_style="bold", pad_edge=False)
    grid.add_column("STRIDE")
    for layer in Layer:
        grid.add_column(layer.value, justify="right")
    for category in Stride:
        grid.add_row(category.value, *(str(model.grid[(category.value, layer.value)] or "-") for layer in Layer))
    console.print(grid)
    if model.waived or model.baselined:
        console.print(Text(
            f"({model.waived} waived, {model.baselined} in baseline; not counted above)", style="dim"
        ))
    return buffer.getvalue()


def render_json(model: ThreatModel) -> str:
    return json.dumps(model.to_dict(), indent=2) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(model: ThreatModel) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in model.by_severity.items() if n) or "none"
    out = [
        "# Threat model",
        "",
        f"kube-auditor {__version__}: {len(model.active)} finding(s) ({counts}) on {model.objects} "
        f"objects in {model.files} file(s), {model.rules} rules.",
    ]
    if model.waived or model.baselined:
        out.append(f"{model.waived} waived and {model.baselined} baselined finding(s) are not counted.")
    for title, groups in (("STRIDE: what an attacker gains", model.stride),
                          ("4C layers: where the defence lives", model.layers)):
        out += ["", f"## {title}", "", "| category | meaning | " + " | ".join(s.value for s in SEVERITIES_DESCENDING) + " |",
                "|---|---|" + "---:|" * len(SEVERITIES_DESCENDING)]
        for group in groups:
            out.append(f"| {group.name} | {_md(group.meaning)} | " + " | ".join(str(c) for c in group.counts.values()) + " |")
        for group in groups:
            if not group.total:
                continue
            out += ["", f"### {group.name}", "", f"{group.meaning}", ""]
            for finding in group.top(model.top):
                container = f" `[{finding.container}]`" if finding.container else ""
                out.append(
                    f"- **{finding.severity.value}** `{finding.rule}` {_md(finding.resource.display)}{container}: "
                    f"{_md(finding.title)}"
                )
            if group.total > model.top:
                out.append(f"- … and {group.total - model.top} more")
    out += ["", "## Defence in depth", "", "| STRIDE | " + " | ".join(layer.value for layer in Layer) + " |",
            "|---|" + "---:|" * len(Layer)]
    for category in Stride:
        out.append(f"| {category.value} | " + " | ".join(
            str(model.grid[(category.value, layer.value)]) for layer in Layer
        ) + " |")
    return "\n".join(out) + "\n"


def render(model: ThreatModel, fmt: str, color: bool = False) -> str:
    if fmt == "json":
        return render_json(model)
    if fmt == "markdown":
        return render_markdown(model)
    if fmt == "table":
        return render_table(model, color=color)
    raise ValueError(f"unknown threat-model format {fmt!r}; known: {', '.join(THREAT_FORMATS)}")


def print_summary(console: Any, result: ScanResult) -> None:
    """Print :func:`summary_lines` on a rich console (``scan``'s table output)."""
    from rich.text import Text

    lines = summary_lines(result)
    if not lines:
        return
    console.print()
    console.print(Text("Threats by STRIDE category (kube-auditor threats: the whole threat model)", style="bold"))
    for line in lines:
        console.print(Text(line))
