"""Snapshots: a live cluster's inventory as a YAML file, for offline audits.

A snapshot is a multi-document YAML file, one object per document, led by a comment
block saying which cluster it comes from, the server version, when it was taken, which
namespaces were read and what could not be read::

    # kube-auditor snapshot v1
    # cluster: prod (https://10.0.0.1:6443)
    # server-version: v1.37.2
    # taken: 2026-01-05T10:00:00Z
    # namespaces: all
    # objects: 1234
    # not-read: 1
    #   - Secret not read: missing permission list secrets (apiGroups [""]) cluster-wide (403 Forbidden)
    # not-served: PodSecurityPolicy (policy)
    ---
    apiVersion: v1
    kind: Namespace
    ...

Scanning the file gives the findings a live scan gives: the objects are the same, every
string is written so that the loader (which reads YAML as Kubernetes does, YAML 1.1, where
``y`` and ``on`` are booleans and ``0644`` is octal) reads it back as the same string (the
file is ASCII: other characters are escaped), and
:func:`read_header` lets the scan know the file holds a cluster's own RBAC roles and what
was not readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .live import LiveInventory

MAGIC = "# kube-auditor snapshot"
FORMAT_VERSION = "v1"
_HEADER_BYTES = 64 * 1024

try:  # libyaml's emitter when available (several times faster)
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]


class SnapshotDumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """A safe dumper that quotes every string YAML 1.1 (go-yaml v2) or 1.2 would read as
    something else: PyYAML's resolvers plus go-yaml's ``y``/``n`` booleans and its integer
    forms (``0o17``, ``0b1``, ``1_000``)."""


SnapshotDumper.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN")
)
SnapshotDumper.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$"),
    list("-+0123456789"),
)
SnapshotDumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _one_line(value: object) -> str:
    """Header values stay on one comment line whatever a context name holds."""
    return " ".join(str(value).replace("\x00", "").split())


def header_lines(live: LiveInventory) -> list[str]:
    namespaces = ", ".join(live.namespaces) if live.namespaces else "all"
    lines = [
        f"{MAGIC} {FORMAT_VERSION}",
        f"# cluster: {_one_line(live.context)} ({_one_line(live.server)})",
        f"# server-version: {_one_line(live.version)}",
        f"# taken: {live.taken.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"# namespaces: {_one_line(namespaces)}",
        f"# objects: {len(live.objects)}",
        f"# not-read: {len(live.unread) + len(live.notes)}",
    ]
    lines += [f"#   - {_one_line(message)}" for message in live.messages()]
    lines.append(f"# not-served: {_one_line(', '.join(live.not_served)) or 'none'}")
    return lines


def render(live: LiveInventory) -> str:
    """The snapshot text: header comment, then one YAML document per object."""
    parts = ["\n".join(header_lines(live)) + "\n"]
    for raw in live.objects:
        parts.append("---\n")
        parts.append(
            yaml.dump(
                raw.obj, Dumper=SnapshotDumper, sort_keys=False, default_flow_style=False,
                # ASCII only: non-ASCII characters are escaped in double quotes, so no parser
                # can disagree about line separators such as U+2028
                allow_unicode=False, width=1_000_000,
            )
        )
    return "".join(parts)


def write(live: LiveInventory, path: str | Path) -> int:
    """Write the snapshot to ``path`` (``-``: return the text only); the number of bytes."""
    text = render(live)
    Path(path).write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


@dataclass
class SnapshotHeader:
    """What a snapshot's comment block says."""

    path: str
    format: str = FORMAT_VERSION
    cluster: str = ""
    server_version: str = ""
    taken: str = ""
    namespaces: str = ""
    objects: int | None = None
    not_read: list[str] = field(default_factory=list)
    not_served: str = ""


def parse_header(text: str, path: str = "<snapshot>") -> SnapshotHeader | None:
    """The header of a snapshot's text, or ``None`` when it is not a snapshot."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(MAGIC):
        return None
    header = SnapshotHeader(path, format=lines[0][len(MAGIC):].strip() or FORMAT_VERSION)
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if body.startswith("- "):
            header.not_read.append(body[2:].strip())
            continue
        key, sep, value = body.partition(":")
        if not sep:
            continue
        value = value.strip()
        if key == "cluster":
            header.cluster = value
        elif key == "server-version":
            header.server_version = value
        elif key == "taken":
            header.taken = value
        elif key == "namespaces":
            header.namespaces = value
        elif key == "objects":
            header.objects = int(value) if value.isdigit() else None
        elif key == "not-served":
            header.not_served = value
    return header


def read_header(path: str | Path) -> SnapshotHeader | None:
    """The header of the snapshot file at ``path``; ``None`` for any other file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(_HEADER_BYTES)
    except OSError:
        return None
    return parse_header(head, str(path))
