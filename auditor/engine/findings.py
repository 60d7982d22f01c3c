"""Findings: the one record every output format, gate, waiver and baseline works from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..inventory import Resource
from ..threat import Layer, Severity, Stride


@dataclass(slots=True)
class Finding:
    """One rule that holds at one place (object, and container or detail when relevant).

    Identity (:attr:`fingerprint`) is the rule, the object's group/kind/namespace/name, the
    container and the analyzer's key: never the line, so findings survive edits that move
    manifests around, which is what baselines and pull-request diffs need.
    """

    rule: str
    title: str
    severity: Severity
    stride: list[Stride]
    layer: Layer
    frameworks: dict[str, list[str]]
    resource: Resource
    message: str
    remediation: str
    container: str | None = None
    path: str | None = None
    key: str | None = None
    details: dict[str, Any] | None = None
    waived: bool = False
    waiver_reason: str | None = None
    baselined: bool = False
    #: the file a rendered template came from (Helm/Kustomize source mapping)
    origin: str | None = None
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    @property
    def fingerprint(self) -> str:
        """A stable 20-hex-digit identity (computed on first use: many findings never need it)."""
        if self._fingerprint is None:
            group, kind, namespace, name = self.resource.key
            identity = "|".join(
                (self.rule, group, kind, namespace or "", name, self.container or "", self.key or "")
            )
            self._fingerprint = hashlib.sha256(identity.encode()).hexdigest()[:20]
        return self._fingerprint

    @property
    def counts_for_gate(self) -> bool:
        """Waived and baselined findings are reported but never fail a build."""
        return not self.waived and not self.baselined

    def to_dict(self) -> dict[str, Any]:
        """The finding JSON of docs/output-format.md (stable keys, all always present)."""
        return {
            "rule": self.rule,
            "title": self.title,
            # the enums are str subclasses: they serialise, and compare, as their values
            "severity": self.severity,
            "stride": list(self.stride),
            "layer": self.layer,
            "frameworks": self.frameworks,  # shared with the rule; serialisers only read it
            "object": self.resource.ref(),
            "source": {"file": self.resource.source.file, "line": self.resource.source.line},
            "container": self.container,
            "path": self.path,
            "message": self.message,
            "remediation": self.remediation,
            "fingerprint": self.fingerprint,
            "waived": self.waived,
            "waiverReason": self.waiver_reason,
            "baselined": self.baselined,
            "details": self.details,
        }


def sort_key(finding: Finding) -> tuple:
    """Most severe first, then by object and rule: a stable, readable order for every format."""
    res = finding.resource
    return (
        -finding.severity.rank,
        res.namespace or "",
        res.kind,
        res.name,
        finding.rule,
        finding.container or "",
        finding.key or "",
    )
