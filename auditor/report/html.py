"""``--format html``: one self-contained page an analyst can hand on (mail, ticket, archive).

Inline CSS, no external asset and no JavaScript (collapsing uses ``<details>``), and a
Content-Security-Policy that forbids scripts, so the file renders the same anywhere and a
hostile string in a manifest cannot run. Every piece of text from the scan is escaped.
The page: verdict, cards by severity, STRIDE and 4C tables, findings grouped by severity
then object (waived and baselined ones included and marked), notices, time and version.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from .. import __version__
from ..engine.findings import Finding
from ..engine.result import ScanResult
from ..threat import LAYER_MEANING, SEVERITIES_DESCENDING, STRIDE_MEANING, Layer, Severity, Stride
from . import ReportOptions
from ._common import Status, framework_lines, group_by_object, status

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
  margin:0 auto;max-width:72rem;padding:1.5rem}
h1{margin:0 0 .25rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2rem}
.meta,.muted{color:#59636e}.verdict{font-weight:600;font-size:1.1rem;padding:.6rem .9rem;
  border-radius:6px}.fail{background:#ffebe9;color:#82071e}.pass{background:#dafbe1;color:#116329}
.off{background:#eaeef2}.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}
.card{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.8rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;width:5rem}
.object{border:1px solid #d0d7de;border-radius:8px;padding:.25rem 1rem;margin:.75rem 0}
.object h4{margin:.5rem 0 .25rem;word-break:break-all}.rule{font-family:ui-monospace,monospace}
.badge{display:inline-block;border-radius:1rem;padding:0 .55rem;font-size:.8rem;font-weight:600}
.sev-critical{background:#82071e;color:#fff}.sev-high{background:#cf222e;color:#fff}
.sev-medium{background:#bf8700;color:#fff}.sev-low{background:#0969da;color:#fff}
.sev-info{background:#6e7781;color:#fff}.st-failing{background:#ffebe9;color:#82071e}
.st-waived,.st-baselined,.st-below-threshold{background:#eaeef2;color:#424a53}
.finding{border-top:1px solid #eaeef2;padding:.5rem 0}.finding p{margin:.2rem 0}
summary{cursor:pointer}summary h3{display:inline-block;margin:1rem 0 .25rem}
@media print{.object{break-inside:avoid}}
"""

#: no script, no fetch, no external anything: only the inline style sheet
CSP = "default-src 'none'; style-src 'unsafe-inline'"

STATUS_LABEL = {
    Status.failing: "fails the gate",
    Status.below: "below threshold",
    Status.waived: "waived",
    Status.baselined: "in baseline",
}


def e(value: object) -> str:
    """Escape text for HTML content and attribute values alike."""
    return escape(str(value), quote=True)


def _verdict(summary: dict) -> str:
    if summary["failOn"] == "none":
        return f'<p class="verdict off">{summary["active"]} finding(s); gate disabled</p>'
    if summary["failing"]:
        return (
            f'<p class="verdict fail">FAIL: {summary["failing"]} finding(s) at or above '
            f"{e(summary['failOn'])}</p>"
        )
    return f'<p class="verdict pass">PASS: no finding at or above {e(summary["failOn"])}</p>'


def _cards(summary: dict) -> str:
    cards = [
        f'<div class="card"><span class="badge sev-{s.value}">{s.value}</span>'
        f"<b>{summary['bySeverity'][s.value]}</b></div>"
        for s in SEVERITIES_DESCENDING
    ]
    note = f"{summary['waived']} waived and {summary['baselined']} in baseline, not counted above."
    return f'<div class="cards">{"".join(cards)}</div><p class="muted">{note}</p>'


def _count_table(title: str, rows: list[tuple[str, int, str]]) -> str:
    body = "".join(
        f'<tr><td>{e(name)}</td><td class="n">{count}</td><td>{e(meaning)}</td></tr>'
        for name, count, meaning in rows
    )
    return f"<table><tr><th>{title}</th><th>Findings</th><th>Meaning</th></tr>{body}</table>"


def _threat_tables(summary: dict) -> str:
    stride = [(s.value, summary["byStride"][s.value], STRIDE_MEANING[s]) for s in Stride]
    layers = [
        (layer.value, summary["byLayer"][layer.value], LAYER_MEANING[layer]) for layer in Layer
    ]
    return (
        "<h2>Threat model</h2>"
        + _count_table("STRIDE category", stride)
        + _count_table("4C layer", layers)
    )


def _finding(finding: Finding, options: ReportOptions) -> str:
    state = status(finding, options.fail_on)
    badge = f'<span class="badge st-{state.value}">{STATUS_LABEL[state]}</span>'
    if state is Status.waived:
        badge += f' <span class="muted">{e(finding.waiver_reason)}</span>'
    # the file and line are the object's, shown once above its findings
    where = [f"container {finding.container}"] if finding.container else []
    where += [f"field {finding.path}"] if finding.path else []
    where += framework_lines(finding.frameworks)
    muted = f'<p class="muted">{e(" · ".join(where))}</p>' if where else ""
    return (
        '<div class="finding">'
        f'<p><span class="rule">{e(finding.rule)}</span> {e(finding.title)} {badge}</p>'
        f"<p>{e(finding.message)}</p>"
        f"<p><b>Fix:</b> {e(finding.remediation)}</p>"
        f"{muted}</div>"
    )


def _findings(result: ScanResult, options: ReportOptions) -> str:
    if not result.findings:
        return "<h2>Findings</h2><p>No findings.</p>"
    parts = ["<h2>Findings</h2>"]
    for severity in SEVERITIES_DESCENDING:
        findings = [f for f in result.findings if f.severity is severity]
        if not findings:
            continue
        parts.append(_severity_section(severity, findings, options))
    return "".join(parts)


def _severity_section(severity: Severity, findings: list[Finding], options: ReportOptions) -> str:
    """One severity's findings, by object, in a section a reader can fold away."""
    name = severity.value
    badge = f'<span class="badge sev-{name}">{name}</span>'
    heading = f'<h3 id="{name}">{badge} {len(findings)} finding(s)</h3>'
    parts = [f"<details open><summary>{heading}</summary>"]
    for resource, object_findings in group_by_object(findings):
        parts.append(
            f'<section class="object"><h4>{e(resource.display)}</h4>'
            f'<p class="muted">{e(resource.api_version)} · {e(resource.source)}</p>'
            + "".join(_finding(f, options) for f in object_findings)
            + "</section>"
        )
    return "".join(parts) + "</details>"


def _notices(result: ScanResult) -> str:
    if not result.notices:
        return ""
    items = "".join(f"<li><b>{e(n.category)}</b> {e(n)}</li>" for n in result.notices)
    return f"<h2>Notices</h2><ul>{items}</ul>"


def render(result: ScanResult, options: ReportOptions) -> str:
    summary = result.summary(options.fail_on)
    generated = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    verdict = (
        "gate disabled"
        if summary["failOn"] == "none"
        else ("FAIL" if summary["failing"] else "PASS")
    )
    meta = (
        f"Generated {e(generated)} by kube-auditor {e(__version__)} · {summary['objects']} "
        f"objects in {summary['files']} file(s) · {summary['rules']} rules"
    )
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en"><head><meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
                f"<title>kube-auditor report: {verdict}</title>",
                f"<style>{CSS}</style></head><body>",
                f'<header><h1>kube-auditor report</h1><p class="meta">{meta}</p>',
                _verdict(summary) + "</header>",
                "<h2>Summary</h2>" + _cards(summary),
                _threat_tables(summary),
                _findings(result, options),
                _notices(result),
                f'<footer><p class="meta">{meta}</p></footer>',
                "</body></html>",
            ]
        )
        + "\n"
    )
