"""Evaluate one pod (metadata + spec) against a Pod Security level and policy version."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .levels import Level, PolicyVersion, parse_level, parse_version
from .podview import PodView
from .registry import resolved_checks
from .result import PSSResult, Violation


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
    level = parse_level(level)
    policy = parse_version(version)
    minor = policy.effective_minor
    violations: list[Violation] = []
    checks = resolved_checks(level, minor)
    if checks:
        pod = PodView(metadata, spec)
        for check_id, check in checks:
            forbidden = check(pod)
            if forbidden is not None:
                violations.append(
                    Violation(
                        check_id,
                        forbidden.reason,
                        forbidden.detail,
                        forbidden.containers,
                        forbidden.paths,
                    )
                )
    return PSSResult(level, policy.label, f"v1.{minor}", violations)
