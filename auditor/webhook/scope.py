"""Which rules make sense at admission, where the webhook sees one object at a time.

Field rules (``target`` object, pod or container) judge the object alone: they run at
admission exactly as in a scan. Analyzer rules look at relations between objects; an
admission request carries one object, so an analyzer runs at admission only when it
judges that object by itself, and only for the kinds it can report on (so a Pod request
never builds the RBAC model). Analyzers not listed here (NetworkPolicy coverage,
duplicates, escalation paths, tokens of unbound ServiceAccounts, ...) would see an empty
cluster around the object and report what is not true of the real one; they are skipped,
and ``kube-auditor webhook rules`` lists them with the reason.
"""

from __future__ import annotations

from ..engine.rules import AnalyzerCheck, Rule
from ..inventory.kinds import POD_SPEC_PATHS

#: Kinds that carry a pod spec (Pods and the built-in workloads).
POD_KINDS: frozenset[str] = frozenset(POD_SPEC_PATHS)
_BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})
_RBAC = frozenset({"Role", "ClusterRole"}) | _BINDINGS

#: analyzer → the kinds of request it judges alone (it sees the object and, for RBAC,
#: Kubernetes' built-in roles, which every cluster has).
ADMISSION_ANALYZERS: dict[str, frozenset[str]] = {
    "rbac.wildcard_roles": frozenset({"Role", "ClusterRole"}),
    "rbac.admin_binding": _BINDINGS,
    "rbac.risky_grant": _BINDINGS,
    "rbac.system_masters": _BINDINGS | {"CertificateSigningRequest"},
    "rbac.broad_subjects": _BINDINGS,
    "rbac.invalid_objects": _RBAC,
    "rbac.foreign_subjects": frozenset({"RoleBinding"}),
    "rbac.implicit_sa_namespace": frozenset({"RoleBinding"}),
    "rbac.default_serviceaccount": _BINDINGS,
    "netpol.allow_all_rules": frozenset({"NetworkPolicy"}),
    "netpol.any_address_ipblocks": frozenset({"NetworkPolicy"}),
    "netpol.invalid_constructs": frozenset({"NetworkPolicy"}),
    # The Pod Security pack (policies/pss.yaml): one evaluation of the pod spec.
    "pss.check": POD_KINDS,
    "pss.namespace_unenforced": frozenset({"Namespace"}),
    "pss.namespace_modes": frozenset({"Namespace"}),
    "pss.namespace_labels": frozenset({"Namespace"}),
}

#: Kinds whose review builds the RBAC model: served by a worker process when configured.
PROCESS_KINDS: frozenset[str] = frozenset(
    kind for name, kinds in ADMISSION_ANALYZERS.items() if name.startswith("rbac.") for kind in kinds
)

#: Analyzers that judge a binding by the role it names: at admission they know Kubernetes'
#: built-in roles (admin, edit, cluster-admin, ...) but not the cluster's own Roles, so a
#: binding to a custom role passes (``scan`` of the manifests, or of the live cluster,
#: sees both and reports it).
PARTIAL_AT_ADMISSION: dict[str, str] = {
    "rbac.risky_grant": "sees bindings to Kubernetes' built-in roles only",
    "rbac.broad_subjects": "sees bindings to Kubernetes' built-in roles only",
}

#: Why an analyzer that is not in :data:`ADMISSION_ANALYZERS` is skipped, when known.
SKIP_REASONS: dict[str, str] = {
    "inventory.duplicates": "duplicates are between manifests, and a request carries one object",
    "serviceaccount.unneeded_token": "needs the cluster's RoleBindings to know whether the account is used",
    "rbac.dangling_bindings": "the bound role usually exists in the cluster, not in the request",
    "rbac.escalation_paths": "needs the whole RBAC graph of the cluster",
    "rbac.powerful_workload_token": "needs the whole RBAC graph of the cluster",
    "pss.namespace_enforce": "needs the Pod and its Namespace's labels together",
}
_NEEDS_INVENTORY = "needs the whole inventory (NetworkPolicies and the workloads they select)"


def admission_kinds(rule: Rule) -> frozenset[str] | None:
    """The kinds an analyzer rule runs on at admission; ``None`` for field rules (every
    kind their ``match`` allows) and an empty set for rules skipped at admission."""
    check = rule.check
    if not isinstance(check, AnalyzerCheck):
        return None
    return ADMISSION_ANALYZERS.get(check.analyzer, frozenset())


def skip_reason(rule: Rule) -> str | None:
    """Why ``rule`` does not run at admission, or None when it does."""
    check = rule.check
    if not isinstance(check, AnalyzerCheck) or check.analyzer in ADMISSION_ANALYZERS:
        return None
    if check.analyzer in SKIP_REASONS:
        return SKIP_REASONS[check.analyzer]
    if check.analyzer.startswith("netpol."):
        return _NEEDS_INVENTORY
    return f"analyzer {check.analyzer} is not known to judge one object by itself"
