"""What an evaluation returns: one ``Violation`` per failing check, and the overall result.

``reason`` and ``detail`` are PSA's ForbiddenReason and ForbiddenDetail, word for word,
so ``message`` is exactly the fragment PSA joins into its admission error. ``containers``
and ``paths`` go beyond PSA: they name the offending containers and the fields at fault
(rooted at the Pod: ``spec...`` / ``metadata...``; prefix them with e.g. ``spec.template.``
for a workload), so findings can point at a line and fixes can target a field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .levels import Level

# Violation and PSSResult are plain (not frozen) dataclasses: a frozen dataclass costs
# about a microsecond more to build, which is a tenth of the budget for a whole pod.


@dataclass(slots=True)
class Violation:
    """One failing Pod Security check (treat as read-only).

    ``check`` is the upstream check id (``hostNamespaces``, ``capabilities_restricted``...),
    ``containers`` the offending container names (empty for pod-level checks) and
    ``paths`` the field paths at fault.
    """

    check: str
    reason: str
    detail: str = ""
    containers: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """``reason (detail)``, or ``reason`` alone when there is no detail, as PSA prints it."""
        return f"{self.reason} ({self.detail})" if self.detail else self.reason

    def to_dict(self) -> dict:
        """JSON-ready form: check, message, containers, paths, reason, detail."""
        return {
            "check": self.check,
            "message": self.message,
            "containers": list(self.containers),
            "paths": list(self.paths),
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(slots=True)
class PSSResult:
    """The outcome of evaluating one pod at one level and policy version (treat as read-only).

    ``version`` is the label as requested (``latest`` or ``v1.N``, PSA's wording);
    ``effective_version`` is the rule set applied (versions above the newest known
    behave as the newest).
    """

    level: Level
    version: str
    effective_version: str
    violations: list[Violation] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.violations

    @property
    def checks(self) -> list[str]:
        """Ids of the failing checks, in PSA's order."""
        return [violation.check for violation in self.violations]

    def denial_message(self) -> str:
        """PSA's enforce error, e.g. ``violates PodSecurity "restricted:latest": privileged (...)``.

        Empty string when the pod is allowed.
        """
        if not self.violations:
            return ""
        details = ", ".join(violation.message for violation in self.violations)
        return f'violates PodSecurity "{self.level.value}:{self.version}": {details}'
