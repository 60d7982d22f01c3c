"""Evaluate one pod (metadata + spec) against a Pod Security level and policy version.

The verdict always comes from the check functions in ``checks/``; the screen only
decides which of them need running (see ``screen.py``). ``evaluate_pod_exhaustively``
runs them all and exists so tests can prove the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .levels import Level, PolicyVersion, parse_level, parse_version
from .podview import PodView
from .registry import CheckFunction, resolved_checks
from .result import PSSResult, Violation
from .screen import CHECK_BITS, EVERY_CHECK, suspect_checks

#: (level, version) as given -> (Level, version label, effective version label, plan).
#: Level and version strings repeat endlessly in a scan; each pair is parsed once.
_Context = tuple[Level, str, str, "_Plan"]
_CONTEXTS: dict[tuple[Any, Any], _Context] = {}


def _context(level: Level | str, version: PolicyVersion | str) -> _Context:
    parsed_level = parse_level(level)
    policy = parse_version(version)
    minor = policy.effective_minor
    context = (parsed_level, policy.label, f"v1.{minor}", _plan(parsed_level, minor))
    if (
        len(_CONTEXTS) < 4096
        and isinstance(level, str)
        and isinstance(version, (str, PolicyVersion))
    ):
        _CONTEXTS[(level, version)] = context
    return context


class _Plan:
    """The checks in force at one level and version, and which of them a screen result selects.

    ``mask`` ORs the checks' screen bits; ``selection(suspects)`` is the ordered tuple of
    check functions to run, memoised per distinct screen result (there are few in practice).
    """

    __slots__ = ("_selections", "mask", "steps")

    def __init__(self, steps: tuple[tuple[int, CheckFunction], ...]) -> None:
        self.steps = steps
        self.mask = 0
        for bit, _ in steps:
            self.mask |= bit
        self._selections: dict[int, tuple[CheckFunction, ...]] = {}

    def selection(self, suspects: int) -> tuple[CheckFunction, ...]:
        suspects &= self.mask
        selected = self._selections.get(suspects)
        if selected is None:
            selected = tuple(check for bit, check in self.steps if suspects & bit)
            if len(self._selections) < 4096:
                self._selections[suspects] = selected
        return selected


_PLANS: dict[tuple[Level, int], _Plan] = {}


def _plan(level: Level, minor: int) -> _Plan:
    plan = _PLANS.get((level, minor))
    if plan is None:
        plan = _PLANS[(level, minor)] = _Plan(
            tuple(
                (CHECK_BITS[check_id], check) for check_id, check in resolved_checks(level, minor)
            )
        )
    return plan


def _run(plan: _Plan, metadata: Any, spec: Any, suspects: int) -> list[Violation]:
    violations: list[Violation] = []
    checks = plan.selection(suspects)
    if not checks:
        return violations
    pod = PodView(metadata, spec)
    for check in checks:
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
    try:
        context = _CONTEXTS.get((level, version))
    except TypeError:  # unhashable level or version: let parsing say what is wrong
        context = None
    if context is None:
        context = _context(level, version)
    level, label, effective_label, plan = context
    violations = _run(plan, metadata, spec, suspect_checks(metadata, spec)) if plan.mask else []
    return PSSResult(level, label, effective_label, violations)


def evaluate_pod_exhaustively(
    metadata: Mapping[str, Any] | None,
    spec: Mapping[str, Any] | None,
    level: Level | str,
    version: PolicyVersion | str = "latest",
) -> PSSResult:
    """``evaluate_pod`` without the screen: every check in force runs. For tests."""
    level, label, effective_label, plan = _context(level, version)
    violations = _run(plan, metadata, spec, EVERY_CHECK)
    return PSSResult(level, label, effective_label, violations)
