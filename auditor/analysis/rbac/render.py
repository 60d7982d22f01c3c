"""Text, JSON, Graphviz and Mermaid renderings of RBAC answers (the commands only print them)."""

from __future__ import annotations

import json
import re
from typing import Any

from ..text import plain_table
from .model import Decision, WhoCanEntry, _request_dict
from .paths import EscalationGraph, Path, SearchReport
from .policy import Request
from .queries import Permissions


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


# --------------------------------------------------------------------------- who-can


def who_can_json(request: Request, entries: list[WhoCanEntry], builtin: str) -> dict[str, Any]:
    return {"request": _request_dict(request), "builtinRBAC": builtin, "subjects": [e.to_dict() for e in entries]}


def who_can_text(request: Request, entries: list[WhoCanEntry]) -> str:
    rows = []
    for entry in entries:
        if entry.grant is None:
            rows.append(["Group", "", "system:masters", "(bypasses RBAC)", "", ""])
            continue
        grant, subject = entry.grant, entry.subject
        assert subject is not None
        rows.append([
            subject.kind, subject.namespace or "", subject.name, grant.binding.display,
            grant.role.display, f"{grant.rule_index + 1}: {grant.rule.describe()}",
        ])
    header = f"Subjects allowed to {request.describe()}: {len(entries)}\n"
    return header + plain_table(["KIND", "NAMESPACE", "NAME", "BINDING", "ROLE", "RULE"], rows)


# --------------------------------------------------------------------------- can


def decision_text(decision: Decision) -> str:
    user = decision.user
    who = user.name or "(a member of " + ", ".join(user.groups[:1]) + ")"
    lines = [
        "yes" if decision.allowed else "no",
        f"  user: {who}  groups: {', '.join(user.groups) or '(none)'}",
        f"  request: {decision.request.describe()}",
        f"  reason: {decision.reason}",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- permissions


def permissions_text(result: Permissions) -> str:
    user = result.user
    out = [f"user: {user.name or '(group member)'}  groups: {', '.join(user.groups) or '(none)'}"]
    if result.masters:
        out.append("member of system:masters: every request is allowed, whatever RBAC says")
    rows = []
    for scope, grants in [("(cluster-wide)", result.cluster)] + sorted(result.namespaced.items()):
        for grant in grants:
            rule = grant.rule
            rows.append([
                scope,
                ",".join(rule.verbs),
                ",".join(g or '""' for g in rule.api_groups),
                ",".join(rule.resources or rule.non_resource_urls),
                ",".join(rule.resource_names),
                f"{grant.binding.display} → {grant.role.display} (rule {grant.rule_index + 1})",
            ])
    if rows:
        out.append(plain_table(["SCOPE", "VERBS", "API GROUPS", "RESOURCES / URLS", "NAMES", "VIA"], rows).rstrip("\n"))
    else:
        out.append("no RBAC rule applies")
    for problem in result.unresolved:
        out.append(f"grants nothing: {problem}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- paths


def paths_json(paths: list[Path], graph: EscalationGraph, report: SearchReport, target: str) -> dict[str, Any]:
    return {
        "target": target,
        "paths": [p.to_dict(graph) for p in paths],
        "search": report.bounds_dict(),
        "note": report.bound_note,
    }


def paths_text(paths: list[Path], graph: EscalationGraph, report: SearchReport, target: str) -> str:
    out = []
    if not paths:
        out.append(f"no escalation path to {graph.label(target)}")
    for path in paths:
        out.append(f"{graph.label(path.start)} → {graph.label(path.target)} in {path.length} step(s)")
        for number, (source, edge) in enumerate(path.steps, 1):
            out.append(f"  {number}. {graph.label(source)} → {graph.label(edge.target)}")
            out.append(f"     {edge.action}")
            for evidence in edge.evidence:
                out.append(f"     via {evidence.describe()}")
        out.append("")
    if report.bound_note:
        out.append(f"note: {report.bound_note}")
    return "\n".join(out).rstrip("\n") + "\n"


def _graph_edges(paths: list[Path]) -> tuple[list[str], list[tuple[str, str, str]]]:
    nodes: dict[str, None] = {}
    edges: dict[tuple[str, str], str] = {}
    for path in paths:
        nodes.setdefault(path.start)
        for source, edge in path.steps:
            nodes.setdefault(source)
            nodes.setdefault(edge.target)
            edges.setdefault((source, edge.target), edge.action)
    return list(nodes), [(a, b, action) for (a, b), action in edges.items()]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def paths_dot(paths: list[Path], graph: EscalationGraph) -> str:
    nodes, edges = _graph_edges(paths)
    lines = ["digraph escalation {", "  rankdir=LR;", "  node [shape=box];"]
    for node in nodes:
        style = ", style=filled, fillcolor=lightcoral" if node == "cluster-admin" else ""
        lines.append(f"  {_quote(node)} [label={_quote(graph.label(node))}{style}];")
    for source, target, action in edges:
        lines.append(f"  {_quote(source)} -> {_quote(target)} [label={_quote(action)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(node: str, ids: dict[str, str]) -> str:
    if node not in ids:
        ids[node] = f"n{len(ids)}_" + re.sub(r"[^A-Za-z0-9_]", "_", node)[:40]
    return ids[node]


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("|", "#124;")


def paths_mermaid(paths: list[Path], graph: EscalationGraph) -> str:
    nodes, edges = _graph_edges(paths)
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    for node in nodes:
        lines.append(f'  {_mermaid_id(node, ids)}["{_mermaid_text(graph.label(node))}"]')
    for source, target, action in edges:
        lines.append(f'  {_mermaid_id(source, ids)} -->|"{_mermaid_text(action)}"| {_mermaid_id(target, ids)}')
    return "\n".join(lines) + "\n"
