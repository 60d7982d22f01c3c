"""Evaluate one pod (metadata + spec) against a Pod Security level and policy version.

The verdict always comes from the check functions in ``checks/``; the screen only
decides which of them need running (see ``screen.py``). ``evaluate_pod_exhaustively``
runs them all and exists so tests can prove the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .levels import NEWEST_MINOR, Level, PolicyVersion, parse_level, parse_version
from .podview import PodView
from .registry import CheckFunction, resolved_checks
from .result import PSSResult, Violation
from .screen import CHECK_BITS, EVERY_CHECK, suspect_checks

# Level and version strings repeat endlessly in a scan; parse each once.
_LEVELS: dict[Any, Level] = {level.value: level for level in Level}
_VERSIONS: dict[str, PolicyVersion] = {}
_EFFECTIVE_LABELS = [f"v1.{minor}" for minor in range(NEWEST_MINOR + 1)]


def _policy(level: Level | str, version: PolicyVersion | str) -> tuple[Level, PolicyVersion]:
    parsed_level = _LEVELS.get(level) if type(level) is str else None
    if parsed_level is None:
        parsed_level = parse_level(level)
    if type(version) is str:
        policy = _VERSIONS.get(version)
        if policy is None:
            policy = parse_version(version)
            if len(_VERSIONS) < 1024:
                _VERSIONS[version] = policy
    else:
        policy = parse_version(version)
    return parsed_level, policy


#: Per (level, minor): the OR of the checks' screen bits, and (bit, function) per check.
_Plan = tuple[int, tuple[tuple[int, CheckFunction], ...]]
_PLANS: dict[tuple[Level, int], _Plan] = {}


def _plan(level: Level, minor: int) -> _Plan:
    plan = _PLANS.get((level, minor))
    if plan is None:
        steps = tuple(
            (CHECK_BITS[check_id], check) for check_id, check in resolved_checks(level, minor)
        )
        mask = 0
        for bit, _ in steps:
            mask |= bit
        plan = _PLANS[(level, minor)] = (mask, steps)
    return plan


def _run(plan: _Plan, metadata: Any, spec: Any, suspects: int) -> list[Violation]:
    mask, steps = plan
    violations: list[Violation] = []
    if not suspects & mask:
        return violations
    pod = PodView(metadata, spec)
    for bit, check in steps:
        if suspects & bit:
            violation = check(pod)
            if violation is not None:
                violations.append(violation)
    return violations


def evaluate_pod(
    metadata: Mapping[str, Any] | None,
    spec: Mapping[str, Any] | None,
    level: Level | str,
    version: PolicyVersion | str = "latest",
) -> PSSResult:
    """Judge a pod the way Pod Security Admission would at ``level`` and ``version``.

    ``metadata`` and ``spec`` are the pod's (or a workload template's) ``metadata`` and
    ``spec`` as parsed from YAML/JSON; missing or malformed parts never raise.
    ``version`` is ``latest``, ``v1.N`` or ``1.N``. Raises ValueError only for an
    invalid level or version.
    """
    level, policy = _policy(level, version)
    minor = policy.effective_minor
    plan = _plan(level, minor)
    violations = _run(plan, metadata, spec, suspect_checks(metadata, spec)) if plan[0] else []
    return PSSResult(level, policy.label, _EFFECTIVE_LABELS[minor], violations)


def evaluate_pod_exhaustively(
    metadata: Mapping[str, Any] | None,
    spec: Mapping[str, Any] | None,
    level: Level | str,
    version: PolicyVersion | str = "latest",
) -> PSSResult:
    """``evaluate_pod`` without the screen: every check in force runs. For tests."""
    level, policy = _policy(level, version)
    minor = policy.effective_minor
    violations = _run(_plan(level, minor), metadata, spec, EVERY_CHECK)
    return PSSResult(level, policy.label, _EFFECTIVE_LABELS[minor], violations)
