"""Renderings of the connection list (txt, json, csv, md, dot, mermaid) and the matrix."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass

from ...runtime import gc_paused
from .connlist import Connection, sorted_connections
from .engine import Engine
from .exposure import exposure_text, unprotected
from .ingress import INGRESS_CONTROLLER
from .model import EGRESS, Workload

LIST_FORMATS = ("txt", "json", "csv", "md", "dot", "mermaid")
MATRIX_FORMATS = ("txt", "json", "csv", "md")


def render_list(engine: Engine, fmt: str, exposure: bool = False) -> str:
    connections = sorted_connections(engine)
    if fmt == "txt":
        text = "".join(c.line + "\n" for c in connections)
        if exposure:
            text = (text + "\n" if text else "") + exposure_text(engine, connections)
        return text
    if fmt == "json":
        doc: dict = {
            "connections": [
                {"src": c.src_name, "dst": c.dst_name, "conn": str(c.conns), "ports": c.conns.to_dict()}
                for c in connections
            ]
        }
        if exposure:
            doc["unprotected"] = [
                {"workload": w.display, "direction": d} for w, d in unprotected(engine)
            ]
        return json.dumps(doc, indent=2) + "\n"
    if fmt == "csv":
        return "src,dst,conn\n" + "".join(
            f"{_csv(c.src_name)},{_csv(c.dst_name)},{_csv(str(c.conns))}\n" for c in connections
        )
    if fmt == "md":
        return "| src | dst | conn |\n|-----|-----|------|\n" + "".join(
            f"| {c.src_name} | {c.dst_name} | {c.conns} |\n" for c in connections
        )
    if fmt == "dot":
        return _dot(engine, connections)
    if fmt == "mermaid":
        return _mermaid(engine, connections)
    raise ValueError(f"unknown format {fmt!r}")


def _csv(value: str) -> str:
    return f'"{value}"' if any(ch in value for ch in ',"\n') else value


def _groups(engine: Engine, connections: list[Connection]) -> tuple[dict[str, list[str]], list[str]]:
    """Nodes by namespace (every workload, connected or not) and the other nodes."""
    by_ns: dict[str, list[str]] = defaultdict(list)
    for workload in sorted(engine.model.workloads, key=lambda w: w.display):
        by_ns[workload.namespace].append(workload.display)
    others = sorted(
        {name for c in connections for peer, name in ((c.src, c.src_name), (c.dst, c.dst_name))
         if not isinstance(peer, Workload)}
    )
    return dict(sorted(by_ns.items())), others


def _dot_id(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _dot(engine: Engine, connections: list[Connection]) -> str:
    by_ns, others = _groups(engine, connections)
    lines = [
        "digraph netpol {",
        '\tlabel="Allowed connections (NetworkPolicy)"; labelloc="t"; fontsize=20; rankdir=LR;',
        '\tnode [fontsize=11]; edge [fontsize=9];',
    ]
    for index, (namespace, names) in enumerate(by_ns.items()):
        lines.append(f'\tsubgraph "cluster_{index}" {{')
        lines.append(f'\t\tlabel={_dot_id(namespace)}; style=dashed; color=gray40;')
        for name in names:
            label = name.split("/", 1)[1]
            lines.append(f"\t\t{_dot_id(name)} [label={_dot_id(label)} shape=box style=filled fillcolor=lightblue];")
        lines.append("\t}")
    for name in others:
        shape = "diamond" if name == INGRESS_CONTROLLER else "ellipse"
        color = "pink" if name == INGRESS_CONTROLLER else "lightyellow"
        lines.append(f"\t{_dot_id(name)} [shape={shape} style=filled fillcolor={color}];")
    for c in connections:
        color = "red" if c.conns.is_all else "darkgreen"
        lines.append(f"\t{_dot_id(c.src_name)} -> {_dot_id(c.dst_name)} [label={_dot_id(str(c.conns))} color={color}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(name: str, ids: dict[str, str]) -> str:
    if name not in ids:
        ids[name] = f"n{len(ids)}"
    return ids[name]


def _mermaid_text(text: str) -> str:
    return re.sub(r'["]', "'", text)


def _mermaid(engine: Engine, connections: list[Connection]) -> str:
    by_ns, others = _groups(engine, connections)
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    for index, (namespace, names) in enumerate(by_ns.items()):
        lines.append(f'  subgraph ns{index}["{_mermaid_text(namespace)}"]')
        for name in names:
            label = name.split("/", 1)[1]
            lines.append(f'    {_mermaid_id(name, ids)}["{_mermaid_text(label)}"]')
        lines.append("  end")
    for name in others:
        node = _mermaid_id(name, ids)
        lines.append(f'  {node}{{{{"{_mermaid_text(name)}"}}}}' if name == INGRESS_CONTROLLER else f'  {node}(["{_mermaid_text(name)}"])')
    for c in connections:
        lines.append(
            f'  {_mermaid_id(c.src_name, ids)} -->|"{_mermaid_text(str(c.conns))}"| {_mermaid_id(c.dst_name, ids)}'
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- matrix
EXTERNAL = "[External]"


@dataclass
class Cell:
    pairs: int = 0  #: ordered workload pairs (or workloads, for the external row/column)
    allowed: int = 0  #: of which something is allowed
    full: int = 0  #: of which every connection is allowed

    def text(self) -> str:
        if self.pairs == 0:
            return "-"
        if self.allowed == 0:
            return "none"
        if self.full == self.pairs:
            return "all"
        return f"{self.allowed}/{self.pairs}"


def matrix(engine: Engine) -> tuple[list[str], dict[tuple[str, str], Cell]]:
    """Namespace-to-namespace summary: for each ordered pair of namespaces with workloads,
    how many workload pairs may connect at all, and how many without any restriction. The
    ``[External]`` row and column count workloads that some external address may reach
    (or that may reach some external address)."""
    sizes: dict[str, int] = defaultdict(int)
    for workload in engine.model.workloads:
        sizes[workload.namespace] += 1
    names = sorted(sizes)
    cells: dict[tuple[str, str], Cell] = {}
    for a in names:
        for b in names:
            pairs = sizes[a] * sizes[b] - (sizes[a] if a == b else 0)
            cells[(a, b)] = Cell(pairs)
        cells[(a, EXTERNAL)] = Cell(sizes[a])
        cells[(EXTERNAL, a)] = Cell(sizes[a])
    classes = engine.classes
    for src, dst, conns in engine.class_edges():
        for x in classes[src].workloads:
            for y in classes[dst].workloads:
                if x is y:
                    continue
                cell = cells[(x.namespace, y.namespace)]
                cell.allowed += 1
                cell.full += conns.is_all
    external: dict[tuple[str, int], list[int]] = {}
    for direction, index, _segment, conns in engine.external_edges():
        counts = external.setdefault((direction, index), [0, 0])
        counts[0] += 1
        counts[1] += conns.is_all
    for (direction, index), (_allowed, full) in external.items():
        unrestricted = full == len(engine.segments(direction))
        for workload in classes[index].workloads:
            key = (workload.namespace, EXTERNAL) if direction == EGRESS else (EXTERNAL, workload.namespace)
            cells[key].allowed += 1
            cells[key].full += unrestricted
    return names, cells


def render_matrix(engine: Engine, fmt: str) -> str:
    with gc_paused():
        names, cells = matrix(engine)
    rows = names + [EXTERNAL]
    if fmt == "json":
        return json.dumps(
            {
                "namespaces": names,
                "cells": [
                    {"from": a, "to": b, "pairs": c.pairs, "allowed": c.allowed, "unrestricted": c.full}
                    for (a, b), c in sorted(cells.items())
                ],
            },
            indent=2,
        ) + "\n"
    table = [["from \\ to"] + rows]
    for a in rows:
        row = [a]
        for b in rows:
            cell = cells.get((a, b))
            row.append(cell.text() if cell else "-")
        table.append(row)
    if fmt == "csv":
        return "".join(",".join(_csv(x) for x in row) + "\n" for row in table)
    if fmt == "md":
        out = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
        out += ["| " + " | ".join(x or " " for x in row) + " |" for row in table[1:]]
        return "\n".join(out) + "\n"
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    text = "\n".join("  ".join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in table) + "\n"
    return text + (
        "\ncells: all = every pair may connect on every port; none = no pair may connect;"
        " k/n = k of n workload pairs may connect on some port; - = no pair.\n"
    )
