"""What several report formats need to agree on: a finding's gate status, grouping, locations.

Kept in one place so that SARIF, JUnit, Markdown and HTML never disagree about whether a
finding fails the gate, or about how a file and line are written.
"""

from __future__ import annotations

import os
from enum import Enum
from functools import lru_cache
from pathlib import Path

from ..engine.findings import Finding
from ..engine.result import ScanResult
from ..engine.rules import Rule
from ..inventory import Resource
from ..inventory.live import SOURCE_PREFIX as LIVE_SOURCE_PREFIX
from ..threat import FRAMEWORK_TITLES, Framework, Severity


class Status(str, Enum):
    """Where a finding stands with respect to the CI gate."""

    failing = "failing"  #: at or above --fail-on, neither waived nor baselined
    below = "below-threshold"  #: counts, but under --fail-on (or the gate is off)
    waived = "waived"  #: accepted risk with a reason; never fails
    baselined = "baselined"  #: already in the baseline; never fails


def status(finding: Finding, fail_on: Severity | None) -> Status:
    """A waiver wins over a baseline: it carries a reason a reader wants to see."""
    if finding.waived:
        return Status.waived
    if finding.baselined:
        return Status.baselined
    if fail_on is not None and finding.severity.at_least(fail_on):
        return Status.failing
    return Status.below


def baseline_in_use(result: ScanResult) -> bool:
    """Whether the scan compared against a baseline (SARIF then sets baselineState)."""
    return result.baseline_used

def report_rules(result: ScanResult) -> list[Rule]:
    """The scan's rules, plus a stand-in for any finding whose rule the result does not list.

    The pipeline always lists them; a hand-built ScanResult (a library user, the webhook) may
    not, and a report should still describe every finding rather than fail.
    """
    rules = list(result.rules)
    known = {rule.id for rule in rules}
    for finding in result.findings:
        if finding.rule not in known:
            known.add(finding.rule)
            rules.append(
                Rule.model_construct(
                    id=finding.rule,
                    title=finding.title,
                    severity=finding.severity,
                    stride=finding.stride,
                    layer=finding.layer,
                    frameworks=finding.frameworks,
                    risk=finding.title,
                    remediation=finding.remediation,
                    pack="",
                )
            )
    return rules


def is_pseudo_file(name: str | None) -> bool:
    """``<stdin>``, ``<memory>``, ``<input>``, ``cluster:CONTEXT/…`` (objects read from a live
    cluster): names for input that is not a file on disk."""
    if not name:
        return True
    if name.startswith(LIVE_SOURCE_PREFIX):
        return True
    return name.startswith("<") and name.endswith(">") and "/" not in name and "\\" not in name


def relative_path(name: str) -> str | None:
    """``name`` relative to the working directory with forward slashes, or None if outside."""
    return _relative_to(name, os.getcwd())


@lru_cache(maxsize=4096)
def _relative_to(name: str, directory: str) -> str | None:
    """Cached: thousands of findings share a handful of files, and resolving costs syscalls."""
    try:
        return Path(name).resolve().relative_to(Path(directory).resolve()).as_posix()
    except (ValueError, OSError):
        return None


def group_by_object(findings: list[Finding]) -> list[tuple[Resource, list[Finding]]]:
    """Findings per object, objects in order of first appearance.

    Keyed by the Resource itself, not its name: an object declared twice (two files) is two
    objects here, each with its own location, and interleaved findings still group together.
    """
    groups: dict[int, tuple[Resource, list[Finding]]] = {}
    for finding in findings:
        groups.setdefault(id(finding.resource), (finding.resource, []))[1].append(finding)
    return list(groups.values())


def framework_tags(frameworks: dict[str, list[str]]) -> list[str]:
    """``CIS-5.1.6``, ``MITRE-T1552``, ``NSA-Resource-policies``: one tag per cited control."""
    return [
        f"{framework.upper()}-{'-'.join(control.split())}"
        for framework, controls in frameworks.items()
        for control in controls
    ]


def framework_lines(frameworks: dict[str, list[str]]) -> list[str]:
    """``CIS Kubernetes Benchmark: 5.4.1`` per framework, for help texts."""
    return [
        f"{FRAMEWORK_TITLES.get(Framework(framework), framework)}: {', '.join(controls)}"
        for framework, controls in frameworks.items()
        if controls
    ]
