"""``diff --format table|json|markdown``: one diff, three readers.

* ``table``: plain text for a terminal or a CI log, part by part;
* ``json``: every change as data (findings in the finding JSON of docs/output-format.md);
* ``markdown``: a pull-request comment, under 60,000 characters, with a hidden marker
  (``<!-- kube-auditor-diff -->``) a bot can find to update its comment in place.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from .. import __version__
from ..engine.findings import Finding
from ..report.markdown import cell
from ..threat import SEVERITIES_DESCENDING, Severity
from .model import ConnectionChange, DiffResult, PermissionChange, PodSecurityChange

FORMATS = ("table", "json", "markdown")
MARKER = "<!-- kube-auditor-diff -->"
MAX_CHARS = 60_000
MAX_ROWS = 50  #: per table


def render(result: DiffResult, fmt: str, fail_on: Severity | None) -> str:
    if fmt == "json":
        return orjson.dumps(report_dict(result, fail_on), option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "markdown":
        return render_markdown(result, fail_on)
    if fmt == "table":
        return render_table(result, fail_on)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


# ------------------------------------------------------------------------- summary


def summary(result: DiffResult, fail_on: Severity | None) -> dict[str, Any]:
    introduced = result.introduced()
    by_severity = Counter(item.severity for item in introduced)
    pods = result.pods
    return {
        "failOn": fail_on.value if fail_on else "none",
        "failing": len(result.failing(fail_on)),
        "introduced": {s.value: by_severity.get(s, 0) for s in SEVERITIES_DESCENDING},
        "findings": {
            "new": len(result.findings.new),
            "fixed": len(result.findings.fixed),
            "unchanged": len(result.findings.unchanged),
        },
        "network": {"opened": len(result.opened), "closed": len(result.closed)},
        "rbac": {
            "gained": len(result.gained),
            "lost": len(result.lost),
            "newEscalationPaths": len(result.new_paths),
            "removedEscalationPaths": len(result.removed_paths),
        },
        "podSecurity": {
            "weakened": sum(1 for p in pods if p.weakened),
            "strengthened": sum(1 for p in pods if p.strengthened),
            "added": sum(1 for p in pods if p.before is None),
            "removed": sum(1 for p in pods if p.after is None),
        },
    }


def _finding_dict(finding: Finding) -> dict[str, Any]:
    data = finding.to_dict()
    data["origin"] = finding.origin
    return data


def report_dict(result: DiffResult, fail_on: Severity | None) -> dict[str, Any]:
    return {
        "tool": {"name": "kube-auditor", "version": __version__},
        "base": result.base,
        "head": result.head,
        "summary": summary(result, fail_on),
        "findings": {
            "new": [_finding_dict(f) for f in result.findings.new],
            "fixed": [_finding_dict(f) for f in result.findings.fixed],
            "unchanged": [
                {
                    "fingerprint": f.fingerprint,
                    "rule": f.rule,
                    "severity": f.severity.value,
                    "object": f.resource.ref(),
                    "container": f.container,
                }
                for f in result.findings.unchanged
            ],
        },
        "network": {
            "opened": [c.to_dict() for c in result.opened],
            "closed": [c.to_dict() for c in result.closed],
        },
        "rbac": {
            "gained": [p.to_dict() for p in result.gained],
            "lost": [p.to_dict() for p in result.lost],
            "escalationPaths": {
                "new": [p.to_dict() for p in result.new_paths],
                "removed": [p.to_dict() for p in result.removed_paths],
            },
        },
        "podSecurity": [p.to_dict() for p in result.pods],
        "gate": {
            "failOn": fail_on.value if fail_on else "none",
            "failing": [
                {"part": item.part, "severity": item.severity.value, "summary": item.summary}
                for item in result.failing(fail_on)
            ],
        },
        "notices": result.notices,
    }


def verdict(result: DiffResult, fail_on: Severity | None) -> str:
    if fail_on is None:
        return f"{len(result.introduced())} change(s) introduced; gate disabled (--fail-on none)"
    failing = result.failing(fail_on)
    if failing:
        return f"FAIL: the change introduces {len(failing)} problem(s) at or above {fail_on.value}"
    return f"PASS: the change introduces nothing at or above {fail_on.value}"


def _where(finding: Finding) -> str:
    return str(finding.resource.source)


def _object(finding: Finding) -> str:
    return finding.resource.display + (f" (container {finding.container})" if finding.container else "")


def _grade(severity: Severity | None) -> str:
    return severity.value if severity else "-"


# ---------------------------------------------------------------------------- table


def render_table(result: DiffResult, fail_on: Severity | None) -> str:
    s = summary(result, fail_on)
    lines = [f"kube-auditor {__version__} diff: {result.base} -> {result.head}", ""]
    f = s["findings"]
    lines.append(f"Findings: {f['new']} new, {f['fixed']} fixed, {f['unchanged']} unchanged")
    for finding in result.findings.new:
        state = "" if finding.counts_for_gate else "  [waived]" if finding.waived else "  [baselined]"
        lines.append(f"  + {finding.severity.value:<8} {finding.rule:<12} {_object(finding)}  {_where(finding)}  {finding.message}{state}")
    for finding in result.findings.fixed:
        lines.append(f"  - {finding.severity.value:<8} {finding.rule:<12} {_object(finding)}  {_where(finding)}  {finding.message}")
    n = s["network"]
    lines += ["", f"Network: {n['opened']} connection(s) opened, {n['closed']} closed"]
    for change in result.opened:
        lines.append(f"  + {_grade(change.severity):<8} {change.line}  (before: {change.before}; after: {change.after})")
    for change in result.closed:
        lines.append(f"  - {'':<8} {change.line}  (before: {change.before}; after: {change.after})")
    r = s["rbac"]
    lines += [
        "",
        f"RBAC: {r['gained']} permission(s) gained, {r['lost']} lost; "
        f"{r['newEscalationPaths']} new escalation path(s), {r['removedEscalationPaths']} removed",
    ]
    for permission in result.gained:
        lines.append(f"  + {_grade(permission.severity):<8} {permission.subject_label}: {permission.what}  (via {permission.via})")
    for permission in result.lost:
        lines.append(f"  - {'':<8} {permission.subject_label}: {permission.what}  (was via {permission.via})")
    for path in result.new_paths:
        lines.append(f"  + {_grade(path.severity):<8} {path.subject_label} can now become cluster-admin:")
        lines += [f"      {step}" for step in path.steps]
    for path in result.removed_paths:
        lines.append(f"  - {'':<8} {path.subject_label} can no longer become cluster-admin")
    p = s["podSecurity"]
    lines += [
        "",
        f"Pod Security (strictest passing level, latest): {p['weakened']} weakened, "
        f"{p['strengthened']} strengthened, {p['added']} added, {p['removed']} removed",
    ]
    for pod in result.pods:
        mark = "!" if pod.weakened else "+" if pod.strengthened else "*"
        why = f"  ({'; '.join(pod.reasons)})" if pod.reasons else ""
        where = f"  {pod.file}:{pod.line}" if pod.file and pod.line else f"  {pod.file}" if pod.file else ""
        lines.append(f"  {mark} {_grade(pod.severity):<8} {pod.workload}: {pod.before or 'absent'} -> {pod.after or 'absent'}{where}{why}")
    if result.notices:
        lines += ["", "Notices"] + [f"  {notice}" for notice in result.notices]
    introduced = " ".join(f"{k} {v}" for k, v in s["introduced"].items())
    lines += ["", f"Introduced by severity: {introduced}", verdict(result, fail_on)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- markdown


def _md_table(header: str, rows: list[str], budget: list[int]) -> list[str]:
    """A table with as many rows as fit in ``budget`` (a one-item list, spent in place)."""
    out = [header]
    shown = 0
    for row in rows[:MAX_ROWS]:
        if budget[0] - len(row) - 1 < 0:
            break
        budget[0] -= len(row) + 1
        out.append(row)
        shown += 1
    if shown < len(rows):
        out += ["", f"… and {len(rows) - shown} more (`--format json` lists them all)."]
    return out if shown else [f"_{len(rows)} not shown here (`--format json` lists them all)._"]


def _finding_row(sign: str, finding: Finding) -> str:
    return (
        f"| {sign} | {finding.severity.value} | `{finding.rule}` | {cell(_object(finding))} | "
        f"{cell(_where(finding))} | {cell(finding.message)} |"
    )


def _connection_row(sign: str, change: ConnectionChange) -> str:
    return (
        f"| {sign} | {_grade(change.severity)} | {cell(change.src)} | {cell(change.dst)} | "
        f"{cell(change.ports)} | {cell(change.before)} → {cell(change.after)} |"
    )


def _permission_row(sign: str, permission: PermissionChange) -> str:
    return (
        f"| {sign} | {_grade(permission.severity)} | {cell(permission.subject_label)} | "
        f"{cell(permission.what)} | {cell(permission.via)} |"
    )


def _pod_row(pod: PodSecurityChange) -> str:
    where = f"{pod.file}:{pod.line}" if pod.file and pod.line else pod.file or ""
    return (
        f"| {_grade(pod.severity)} | {cell(pod.workload)} | {pod.before or 'absent'} → "
        f"{pod.after or 'absent'} | {cell('; '.join(pod.reasons))} | {cell(where)} |"
    )


def render_markdown(result: DiffResult, fail_on: Severity | None) -> str:
    s = summary(result, fail_on)
    failing = s["failing"]
    if fail_on is None:
        title = f"kube-auditor diff: {sum(s['introduced'].values())} change(s) introduced, gate disabled"
    elif failing:
        title = f":x: kube-auditor diff: FAIL, {failing} introduced at or above {fail_on.value}"
    else:
        title = f":white_check_mark: kube-auditor diff: PASS, nothing introduced at or above {fail_on.value}"
    f, n, r, p = s["findings"], s["network"], s["rbac"], s["podSecurity"]
    head = [
        MARKER,
        f"### {title}",
        "",
        f"`{cell(result.base, 120)}` → `{cell(result.head, 120)}` · introduced: "
        + " · ".join(f"**{k}** {v}" for k, v in s["introduced"].items()),
        "",
        "| Part | Introduced | Removed |",
        "|---|---|---|",
        f"| Findings | {f['new']} new | {f['fixed']} fixed ({f['unchanged']} unchanged) |",
        f"| Network reachability | {n['opened']} opened | {n['closed']} closed |",
        f"| RBAC permissions | {r['gained']} gained | {r['lost']} lost |",
        f"| Escalation paths to cluster-admin | {r['newEscalationPaths']} new | {r['removedEscalationPaths']} gone |",
        f"| Pod Security levels | {p['weakened']} weakened, {p['added']} added | {p['strengthened']} strengthened, {p['removed']} removed |",
    ]
    footer = ["", f"<sub>kube-auditor {__version__}: `+` introduced, `−` removed; severities grade what the change introduces.</sub>"]
    budget = [MAX_CHARS - len("\n".join(head + footer)) - 2_000]
    body: list[str] = []

    def section(title: str, header: str, rows: list[str]) -> None:
        if rows:
            body.extend(["", f"#### {title}", ""])
            body.extend(_md_table(header, rows, budget))

    section(
        "Findings",
        "| | Severity | Rule | Object | Location | Message |\n|---|---|---|---|---|---|",
        [_finding_row("+", x) for x in result.findings.new if x.counts_for_gate]
        + [_finding_row("−", x) for x in result.findings.fixed],
    )
    section(
        "Network reachability",
        "| | Severity | From | To | Ports | Before → after |\n|---|---|---|---|---|---|",
        [_connection_row("+", c) for c in result.opened] + [_connection_row("−", c) for c in result.closed],
    )
    section(
        "RBAC permissions",
        "| | Severity | Subject | Permission | Via |\n|---|---|---|---|---|",
        [_permission_row("+", x) for x in result.gained] + [_permission_row("−", x) for x in result.lost],
    )
    paths = []
    for path in result.new_paths:
        paths.append(f"- **{_grade(path.severity)}** {cell(path.subject_label)} can now become cluster-admin: "
                     + " ".join(cell(step) for step in path.steps))
    for path in result.removed_paths:
        paths.append(f"- {cell(path.subject_label)} can no longer become cluster-admin")
    if paths:
        body.extend(["", "#### Escalation paths", ""])
        for line in paths:
            if budget[0] - len(line) < 0:
                body.append("- …")
                break
            budget[0] -= len(line) + 1
            body.append(line)
    section(
        "Pod Security (strictest passing level, latest)",
        "| Severity | Workload | Level | Why | Location |\n|---|---|---|---|---|",
        [_pod_row(pod) for pod in result.pods],
    )
    if not body:
        body = ["", "This change makes no security difference kube-auditor can see."]
    text = "\n".join(head + body + footer) + "\n"
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 2] + "…\n"
