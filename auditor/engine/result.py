"""The outcome of one scan: findings, notices, and what was scanned."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..inventory import Inventory
from ..threat import SEVERITIES_DESCENDING, SEVERITY_RANK, Layer, Severity, Stride
from .findings import Finding
from .notices import Notice
from .rules import Rule


@dataclass
class ScanResult:
    findings: list[Finding]
    notices: list[Notice]
    inventory: Inventory
    rules: list[Rule]
    files: list[str] = field(default_factory=list)
    #: whether findings were compared against a baseline (SARIF baselineState needs it)
    baseline_used: bool = False
    _summaries: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def failing(self, fail_on: Severity | None) -> list[Finding]:
        """Findings that fail the gate: at or above ``fail_on``, neither waived nor baselined."""
        if fail_on is None:
            return []
        rank = SEVERITY_RANK
        threshold = rank[fail_on]
        return [
            f for f in self.findings
            if rank[f.severity] >= threshold and not f.waived and not f.baselined
        ]

    def summary(self, fail_on: Severity | None) -> dict:
        """Counts for reports. Findings are final once the scan returns, so every reporter
        (and the gate line) reads one computation."""
        cached = self._summaries.get(fail_on)
        if cached is None:
            cached = self._summaries[fail_on] = self._summarize(fail_on)
        return dict(cached)

    def _summarize(self, fail_on: Severity | None) -> dict:
        active = [f for f in self.findings if not f.waived and not f.baselined]
        by_severity = Counter(f.severity for f in active)
        by_stride = Counter(s for f in active for s in f.stride)
        by_layer = Counter(f.layer for f in active)
        return {
            "files": len(self.files),
            "objects": len(self.inventory),
            "rules": len(self.rules),
            "findings": len(self.findings),
            "active": len(active),
            "waived": sum(1 for f in self.findings if f.waived),
            "baselined": sum(1 for f in self.findings if f.baselined),
            "bySeverity": {s.value: by_severity.get(s, 0) for s in SEVERITIES_DESCENDING},
            "byStride": {s.value: by_stride.get(s, 0) for s in Stride},
            "byLayer": {layer.value: by_layer.get(layer, 0) for layer in Layer},
            "failOn": fail_on.value if fail_on else "none",
            "failing": len(self.failing(fail_on)),
        }
