"""Pod Security Admission labels per namespace: the strictest level its workloads pass.

For each namespace, every pod spec of the inventory there (Pods and workload templates) is
judged by :func:`auditor.analysis.pss.evaluate_pod` at ``restricted``, then ``baseline``;
the first level they all pass is enforced, pinned to the policy version the evaluation used
(``v1.<newest>``), so a cluster upgrade cannot tighten it unseen. ``warn`` and ``audit`` are
set one level stricter (``restricted`` stays ``restricted``) at ``latest``, so people see
what the next step would break. A namespace already enforcing a stricter level keeps it:
remediation never loosens. Namespaces with PodSecurityPolicies in use get a migration note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..analysis.pss import NEWEST_MINOR, evaluate_pod
from ..inventory import Inventory, PodTemplate

LEVELS = ("restricted", "baseline", "privileged")
PREFIX = "pod-security.kubernetes.io/"
NON_RUNNING = frozenset({"PodTemplate"})


@dataclass
class NamespaceLevels:
    namespace: str
    enforce: str
    warn: str
    #: level → [(workload display, failing checks)] for the levels stricter than enforce
    failing: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)  #: the namespace's PSA labels now
    kept_stricter: bool = False
    workloads: int = 0
    psp_notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> dict[str, str]:
        return {
            f"{PREFIX}enforce": self.enforce,
            f"{PREFIX}enforce-version": f"v1.{NEWEST_MINOR}",
            f"{PREFIX}warn": self.warn,
            f"{PREFIX}warn-version": "latest",
            f"{PREFIX}audit": self.warn,
            f"{PREFIX}audit-version": "latest",
        }

    def manifest(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace, "labels": self.labels}}


def _stricter(level: str) -> str:
    return LEVELS[max(LEVELS.index(level) - 1, 0)]


def namespace_levels(inventory: Inventory, skip: tuple[str, ...] = ()) -> list[NamespaceLevels]:
    templates: dict[str, list[PodTemplate]] = {}
    for template in inventory.pod_templates:
        namespace = template.resource.namespace
        if namespace is None or template.resource.kind in NON_RUNNING:
            continue
        templates.setdefault(namespace, []).append(template)
    psp_users = _psp_users(inventory)
    out = []
    for namespace in sorted(inventory.namespaces):
        if namespace in skip:
            continue
        found = templates.get(namespace, [])
        failing: dict[str, list[tuple[str, list[str]]]] = {}
        enforce = "privileged"
        for level in LEVELS[:-1]:
            bad = []
            for template in found:
                result = evaluate_pod(template.metadata, template.spec, level)
                if not result.allowed:
                    bad.append((template.resource.display, result.checks))
            if not bad:
                enforce = level
                break
            failing[level] = bad
        declared = inventory.namespaces.get(namespace)
        current = {k: str(v) for k, v in (declared.labels if declared is not None else {}).items() if str(k).startswith(PREFIX)}
        entry = NamespaceLevels(namespace, enforce, _stricter(enforce), failing, current, workloads=len(found))
        now = current.get(f"{PREFIX}enforce")
        if now in LEVELS and LEVELS.index(now) < LEVELS.index(enforce):
            entry.enforce, entry.warn, entry.kept_stricter = now, _stricter(now), True
        entry.psp_notes = psp_users.get(namespace, [])
        out.append(entry)
    return out


def podsecuritypolicies(inventory: Inventory) -> list[str]:
    return sorted(r.name for r in inventory.of_kind("PodSecurityPolicy"))


def _psp_users(inventory: Inventory) -> dict[str, list[str]]:
    """namespace → notes on RoleBindings there that grant ``use`` of a PodSecurityPolicy."""
    roles: dict[tuple[str, str | None, str], list[str]] = {}
    for role in inventory.of_kind("Role", "ClusterRole"):
        names: list[str] = []
        for rule in role.obj.get("rules") or []:
            if not isinstance(rule, dict):
                continue
            if "use" in (rule.get("verbs") or []) and "podsecuritypolicies" in (rule.get("resources") or []):
                names.extend(rule.get("resourceNames") or ["*"])
        if names:
            roles[(role.kind, role.namespace if role.kind == "Role" else None, role.name)] = names
    out: dict[str, list[str]] = {}
    for binding in inventory.of_kind("RoleBinding"):
        ref = binding.obj.get("roleRef") if isinstance(binding.obj.get("roleRef"), dict) else {}
        kind = ref.get("kind")
        key = (kind, binding.namespace if kind == "Role" else None, ref.get("name"))
        if key in roles and binding.namespace is not None:
            out.setdefault(binding.namespace, []).append(
                f"RoleBinding {binding.name} lets its subjects use PodSecurityPolicy "
                f"{', '.join(roles[key])} through {kind} {ref.get('name')}"
            )
    return out
