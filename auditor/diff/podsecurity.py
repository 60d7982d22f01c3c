"""Pod Security level changes per workload: the strictest level each pod template passes.

Every pod template of each side (Pods and workload templates, as ``inventory.pod_templates``
finds them) is judged with :func:`auditor.analysis.pss.evaluate_pod` at policy version
``latest``: ``restricted`` if it passes restricted, else ``baseline`` if it passes baseline,
else ``privileged``. Workloads are matched by kind, namespace and name. A weakened workload
lists PSA's reasons for failing the level it used to pass.
"""

from __future__ import annotations

from ..analysis.pss import evaluate_pod
from ..inventory import Inventory, PodTemplate
from .grading import pod_severity
from .model import PodSecurityChange

LEVELS = ("restricted", "baseline")
VERSION = "latest"


def strictest_level(template: PodTemplate) -> str:
    for level in LEVELS:
        if evaluate_pod(template.metadata, template.spec, level, VERSION).allowed:
            return level
    return "privileged"


def _levels(inventory: Inventory) -> dict[tuple, tuple[str, PodTemplate]]:
    out: dict[tuple, tuple[str, PodTemplate]] = {}
    for template in inventory.pod_templates:
        out[template.resource.key] = (strictest_level(template), template)
    return out


def pod_security_changes(base: Inventory, head: Inventory) -> list[PodSecurityChange]:
    before, after = _levels(base), _levels(head)
    changes: list[PodSecurityChange] = []
    for key in sorted(set(before) | set(after), key=lambda k: tuple(str(p) for p in k)):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and old[0] == new[0]:
            continue
        template = (new or old)[1]  # type: ignore[index]
        resource = template.resource
        change = PodSecurityChange(
            resource.display,
            old[0] if old else None,
            new[0] if new else None,
            file=resource.source.file,
            line=resource.source.line,
        )
        if old is not None and new is not None:
            change.severity = pod_severity(old[0], new[0])
            if change.weakened:
                result = evaluate_pod(new[1].metadata, new[1].spec, old[0], VERSION)
                change.reasons = [violation.message for violation in result.violations]
        changes.append(change)
    return changes
