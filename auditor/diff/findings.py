"""Findings new, fixed and unchanged, by stable fingerprint (rule + object + container + key).

The fingerprint never includes the file or the line, so moving a manifest, reformatting it
or rendering it from a chart that was reorganised changes nothing here.
"""

from __future__ import annotations

from ..engine.findings import Finding
from .model import FindingChanges


def finding_changes(base: list[Finding], head: list[Finding]) -> FindingChanges:
    base_prints = {f.fingerprint for f in base}
    head_prints = {f.fingerprint for f in head}
    changes = FindingChanges()
    seen: set[str] = set()
    for finding in head:
        if finding.fingerprint in seen:
            continue  # the same finding on an object declared twice: once is enough here
        seen.add(finding.fingerprint)
        (changes.unchanged if finding.fingerprint in base_prints else changes.new).append(finding)
    seen.clear()
    for finding in base:
        if finding.fingerprint not in head_prints and finding.fingerprint not in seen:
            seen.add(finding.fingerprint)
            changes.fixed.append(finding)
    return changes
