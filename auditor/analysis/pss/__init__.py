"""Pod Security Standards, judged exactly as the Pod Security Admission library does.

Offline and pure: give it a pod's (or a workload template's) metadata and spec as plain
dicts, a level and a policy version, and get PSA's verdict, reasons and wording, plus the
offending containers and field paths.

    >>> from auditor.analysis.pss import evaluate_pod
    >>> result = evaluate_pod({}, {"hostNetwork": True, "containers": [{"name": "app"}]}, "baseline")
    >>> result.allowed, result.violations[0].check, result.violations[0].message
    (False, 'hostNamespaces', 'host namespaces (hostNetwork=true)')
    >>> result.denial_message()
    'violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)'

Public API:

* ``evaluate_pod(metadata, spec, level, version="latest") -> PSSResult``
* ``PSSResult`` (``allowed``, ``violations``, ``denial_message()``) and ``Violation``
  (``check``, ``reason``, ``detail``, ``containers``, ``paths``, ``message``, ``to_dict()``)
* ``CHECKS`` / ``CheckInfo`` / ``Revision``: the catalogue (id, level, revisions, description);
  ``checks_at(level, version)`` lists the check ids in force
* ``Level``, ``PolicyVersion``, ``parse_level``, ``parse_version``, ``NEWEST_MINOR``
"""

from __future__ import annotations

from .evaluator import evaluate_pod
from .levels import NEWEST_MINOR, Level, PolicyVersion, parse_level, parse_version
from .registry import CHECKS, CHECKS_BY_ID, CheckInfo, Revision, resolved_checks
from .result import PSSResult, Violation


def checks_at(level: Level | str, version: PolicyVersion | str = "latest") -> list[str]:
    """Ids of the checks PSA runs at ``level`` and ``version``, in evaluation order."""
    policy = parse_version(version)
    return [check_id for check_id, _ in resolved_checks(parse_level(level), policy.effective_minor)]


__all__ = [
    "CHECKS",
    "CHECKS_BY_ID",
    "NEWEST_MINOR",
    "CheckInfo",
    "Level",
    "PSSResult",
    "PolicyVersion",
    "Revision",
    "Violation",
    "checks_at",
    "evaluate_pod",
    "parse_level",
    "parse_version",
]
