"""The PSP → Pod Security admission migration plan.

For each PodSecurityPolicy: its Pod Security equivalent (:mod:`.mapping`), who may use it
and in which namespaces (:mod:`.usage`). For each namespace where some PSP is used: the
labels to set instead. A pod in a namespace may have been admitted by *any* PSP usable there,
so the namespace's level is the least strict of those PSPs' levels: enforcing it rejects
nothing that was admitted before. ``warn`` and ``audit`` at ``restricted`` then show what
tightening further would break. The workloads of the input in each namespace are judged
too, so a namespace whose pods all pass a stricter level says so.

Grants to subjects that hold every permission (cluster-admin) are left out of the
namespaces: such subjects can use every PSP everywhere, and counting them would make every
namespace ``privileged``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...inventory import Inventory
from ..pss import evaluate_pod
from ..rbac.model import RBACModel
from .mapping import BASELINE, LEVELS, PRIVILEGED, RANK, RESTRICTED, PSSMapping, map_psp
from .model import PSP, parse_kube_version, psp_inert, psps_of
from .usage import EVERY_NAMESPACE, Audience, use_grants

LABEL_PREFIX = "pod-security.kubernetes.io/"
NON_RUNNING_KINDS = frozenset({"PodTemplate"})


@dataclass
class PSPPlan:
    psp: PSP
    mapping: PSSMapping
    audience: Audience
    #: namespaces whose pods it admits (``*``: every namespace)
    namespaces: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.psp.name,
            "source": {"file": self.psp.resource.source.file, "line": self.psp.resource.source.line},
            "pssLevel": self.mapping.level,
            "blockingFields": [f.field for f in self.mapping.blocking],
            "fields": [f.to_dict() for f in self.mapping.fields],
            "mutations": [{"field": f.field, "sets": f.mutates} for f in self.mapping.mutations],
            **self.audience.to_dict(),
            "namespaces": self.namespaces,
        }


@dataclass
class NamespacePlan:
    namespace: str  #: ``*`` for every namespace (cluster-wide grants to users or groups)
    psps: list[tuple[str, str]]  #: (PSP name, its level)
    level: str
    labels: dict[str, str]
    current: dict[str, str] = field(default_factory=dict)
    #: input workloads of the namespace by the strictest level they pass
    workloads: dict[str, list[str]] = field(default_factory=dict)

    @property
    def display(self) -> str:
        return "(every namespace)" if self.namespace == EVERY_NAMESPACE else self.namespace

    @property
    def strictest_passing(self) -> str | None:
        """The strictest level every input workload of the namespace passes."""
        if not any(self.workloads.values()):
            return None
        for level in (PRIVILEGED, BASELINE):
            if self.workloads.get(level):
                return level
        return RESTRICTED

    def kubectl(self) -> str:
        labels = " ".join(f"{k}={v}" for k, v in self.labels.items())
        if self.namespace == EVERY_NAMESPACE:
            return f"kubectl label --overwrite ns --all {labels}"
        return f"kubectl label --overwrite ns {self.namespace} {labels}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "psps": [{"name": n, "pssLevel": lv} for n, lv in self.psps],
            "level": self.level,
            "labels": self.labels,
            "currentLabels": self.current,
            "workloads": self.workloads,
            "strictestPassing": self.strictest_passing,
            "kubectl": self.kubectl(),
        }


@dataclass
class MigrationPlan:
    psps: list[PSPPlan]
    namespaces: list[NamespacePlan]
    kube_version: str | None = None

    @property
    def inert(self) -> bool:
        return psp_inert(self.kube_version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kubeVersion": self.kube_version,
            "pspInert": self.inert,
            "podSecurityPolicies": [p.to_dict() for p in self.psps],
            "namespaces": [n.to_dict() for n in self.namespaces],
        }


def _version_label(kube_version: str | None) -> str:
    if not kube_version:
        return "latest"
    major, minor = parse_kube_version(kube_version)
    return f"v{major}.{minor}"


def namespace_labels(level: str, kube_version: str | None) -> dict[str, str]:
    """The Pod Security labels for a namespace enforced at ``level``."""
    version = _version_label(kube_version)
    labels = {LABEL_PREFIX + "enforce": level, LABEL_PREFIX + "enforce-version": version}
    if level != RESTRICTED:
        labels[LABEL_PREFIX + "warn"] = RESTRICTED
        labels[LABEL_PREFIX + "warn-version"] = version
        labels[LABEL_PREFIX + "audit"] = RESTRICTED
        labels[LABEL_PREFIX + "audit-version"] = version
    return labels


def _workloads_by_level(inventory: Inventory, namespace: str, version: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {level: [] for level in LEVELS}
    for template in inventory.pod_templates:
        resource = template.resource
        if resource.namespace != namespace or resource.kind in NON_RUNNING_KINDS:
            continue
        level = PRIVILEGED
        if evaluate_pod(template.metadata, template.spec, RESTRICTED, version).allowed:
            level = RESTRICTED
        elif evaluate_pod(template.metadata, template.spec, BASELINE, version).allowed:
            level = BASELINE
        result[level].append(resource.display)
    return result


def plan_migration(inventory: Inventory, model: RBACModel, kube_version: str | None = None) -> MigrationPlan:
    """Map every PSP of the inventory and say which labels replace them, namespace by namespace."""
    plans: list[PSPPlan] = []
    by_namespace: dict[str, list[tuple[str, str]]] = {}
    for psp in sorted(psps_of(inventory), key=lambda p: p.name):
        mapping = map_psp(psp, kube_version)
        audience = Audience(use_grants(model, psp))
        namespaces: list[str] = []
        for grant in audience.users:
            for namespace in grant.pod_namespaces():
                if namespace not in namespaces:
                    namespaces.append(namespace)
        namespaces.sort(key=lambda n: (n != EVERY_NAMESPACE, n))
        for namespace in namespaces:
            by_namespace.setdefault(namespace, []).append((psp.name, mapping.level))
        plans.append(PSPPlan(psp, mapping, audience, namespaces))
    everywhere = by_namespace.get(EVERY_NAMESPACE, [])
    version = _version_label(kube_version)
    namespace_plans: list[NamespacePlan] = []
    for namespace in sorted(by_namespace, key=lambda n: (n != EVERY_NAMESPACE, n)):
        psps = list(by_namespace[namespace])
        if namespace != EVERY_NAMESPACE:
            psps += [item for item in everywhere if item not in psps]
        # a pod passes through the most permissive PSP it may use: the least strict level wins
        level = LEVELS[min(RANK[lv] for _, lv in psps)]
        current: dict[str, str] = {}
        workloads: dict[str, list[str]] = {}
        if namespace != EVERY_NAMESPACE:
            declared = inventory.get("Namespace", namespace)
            if declared is not None:
                current = {k: str(v) for k, v in declared.labels.items() if str(k).startswith(LABEL_PREFIX)}
            workloads = _workloads_by_level(inventory, namespace, version)
        namespace_plans.append(NamespacePlan(
            namespace, psps, level, namespace_labels(level, kube_version), current, workloads,
        ))
    return MigrationPlan(plans, namespace_plans, kube_version)
