"""What a change does to security, in parts: the records every diff output is rendered from.

Each part lists what the change *introduces* (new findings, opened connections, gained
permissions, new escalation paths, weakened pods) and what it *removes* (fixed findings,
closed connections, lost permissions, escalation paths gone, strengthened pods). Only what
it introduces carries a severity (see :mod:`.grading`) and can fail the gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine.findings import Finding
from ..threat import Severity


@dataclass
class FindingChanges:
    """Findings by stable fingerprint: new in HEAD, fixed (only in BASE), unchanged."""

    new: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    unchanged: list[Finding] = field(default_factory=list)


@dataclass
class ConnectionChange:
    """A connection (source, destination) whose allowed ports changed.

    ``ports`` is what changed: for an opened connection the ports allowed in HEAD and not
    in BASE, for a closed one the reverse. ``before`` and ``after`` are the whole sets.
    """

    src: str
    dst: str
    ports: str
    before: str
    after: str
    #: ``workload``, ``external`` (an IP range) or ``ingress-controller``: the source's kind
    src_kind: str
    dst_kind: str
    #: an endpoint is a workload that exists on one side only
    new_endpoint: bool = False
    severity: Severity | None = None

    @property
    def line(self) -> str:
        return f"{self.src} => {self.dst} : {self.ports}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "src": self.src,
            "dst": self.dst,
            "ports": self.ports,
            "before": self.before,
            "after": self.after,
            "srcKind": self.src_kind,
            "dstKind": self.dst_kind,
            "newEndpoint": self.new_endpoint,
            "severity": self.severity.value if self.severity else None,
        }


@dataclass
class PermissionChange:
    """Verbs a subject gained (or lost) on one resource in one scope, and the grant behind it."""

    subject: str  #: ``sa:NS:NAME``, ``user:NAME``, ``group:NAME``
    subject_label: str  #: ``ServiceAccount shop/web``
    scope: str | None  #: namespace, or None for cluster-wide
    verbs: list[str]
    api_group: str | None  #: None for a non-resource URL
    resource: str  #: ``pods``, ``pods/exec``, or the URL
    resource_name: str | None  #: a resourceNames entry, None for every name
    via: str  #: ``RoleBinding shop/x → Role shop/y (rule 1: …)``
    severity: Severity | None = None

    @property
    def what(self) -> str:
        if self.api_group is None:
            target = f"URL {self.resource}"
        else:
            target = self.resource + (f".{self.api_group}" if self.api_group not in ("", "*") else "")
            if self.api_group == "*":
                target += " (any API group)"
        if self.resource_name:
            target += f" named {self.resource_name}"
        where = "cluster-wide" if self.scope is None else f"in namespace {self.scope}"
        return f"{','.join(self.verbs)} {target} {where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "subjectLabel": self.subject_label,
            "scope": self.scope,
            "verbs": self.verbs,
            "apiGroup": self.api_group,
            "resource": self.resource,
            "resourceName": self.resource_name,
            "via": self.via,
            "severity": self.severity.value if self.severity else None,
        }


@dataclass
class EscalationChange:
    """A subject that can now (or can no longer) become cluster-admin, with its path."""

    subject: str
    subject_label: str
    steps: list[str]
    severity: Severity | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "subjectLabel": self.subject_label,
            "length": len(self.steps),
            "steps": self.steps,
            "severity": self.severity.value if self.severity else None,
        }


@dataclass
class PodSecurityChange:
    """A workload whose strictest passing Pod Security level (at ``latest``) changed."""

    workload: str  #: ``Deployment shop/web``
    before: str | None  #: restricted, baseline, privileged; None when the workload is new
    after: str | None  #: None when the workload is gone
    #: PSA's reasons the workload now fails the level it passed before
    reasons: list[str] = field(default_factory=list)
    file: str | None = None
    line: int | None = None
    severity: Severity | None = None

    @property
    def weakened(self) -> bool:
        return self.before is not None and self.after is not None and _RANK[self.after] < _RANK[self.before]

    @property
    def strengthened(self) -> bool:
        return self.before is not None and self.after is not None and _RANK[self.after] > _RANK[self.before]

    def to_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "before": self.before,
            "after": self.after,
            "change": (
                "weakened" if self.weakened else "strengthened" if self.strengthened
                else "added" if self.before is None else "removed"
            ),
            "reasons": self.reasons,
            "source": {"file": self.file, "line": self.line},
            "severity": self.severity.value if self.severity else None,
        }


_RANK = {"privileged": 0, "baseline": 1, "restricted": 2}


@dataclass
class Introduced:
    """One thing the change introduces that the gate judges."""

    part: str  #: findings, network, rbac, escalation, pod-security
    severity: Severity
    summary: str


@dataclass
class DiffResult:
    base: str  #: label of the BASE side (a path or a git revision)
    head: str
    findings: FindingChanges
    opened: list[ConnectionChange]
    closed: list[ConnectionChange]
    gained: list[PermissionChange]
    lost: list[PermissionChange]
    new_paths: list[EscalationChange]
    removed_paths: list[EscalationChange]
    pods: list[PodSecurityChange]
    notices: list[str] = field(default_factory=list)

    def introduced(self) -> list[Introduced]:
        """Everything the change introduces, graded, most severe first."""
        items: list[Introduced] = []
        for finding in self.findings.new:
            if finding.counts_for_gate:
                items.append(Introduced("findings", finding.severity, f"{finding.rule} {finding.resource.display}: {finding.message}"))
        for change in self.opened:
            if change.severity is not None:
                items.append(Introduced("network", change.severity, f"opened {change.line}"))
        for permission in self.gained:
            if permission.severity is not None:
                items.append(Introduced("rbac", permission.severity, f"{permission.subject_label} gains {permission.what}"))
        for path in self.new_paths:
            if path.severity is not None:
                items.append(Introduced("escalation", path.severity, f"{path.subject_label} can now become cluster-admin"))
        for pod in self.pods:
            if pod.severity is not None:
                items.append(Introduced("pod-security", pod.severity, f"{pod.workload}: {pod.before} → {pod.after}"))
        items.sort(key=lambda item: -item.severity.rank)
        return items

    def failing(self, fail_on: Severity | None) -> list[Introduced]:
        if fail_on is None:
            return []
        return [item for item in self.introduced() if item.severity.at_least(fail_on)]
