"""The analyzers behind ``policies/rbac.yaml``.

Every analyzer reads the one :class:`~.model.RBACModel` of the scan (built once through
:meth:`AnalysisContext.memo`) and reports on the object a person would change: the binding
that grants, the role that is too wide, the workload that carries a powerful token.

Kubernetes' own objects do not flood the report: a grant is skipped when its subject is a
*bootstrap subject* of its binding (the binding is one the API server creates, and the
subject is one it puts there). An input object that redefines a built-in one is reported
for what it adds. Grants of a role that holds every permission in scope are left to
KA-RBAC-001/017, so one cluster-admin binding is one finding, not ten.

Settings (``AnalysisSettings.extra``): ``rbac.builtin`` (bool, default true) merges the
built-in roles; ``rbac.builtin_path`` points at another bootstrap dump (tests).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...threat import Severity
from ..registry import AnalysisContext, Hit, NoParams, analyzer
from ..serviceaccounts import service_account_name, token_automounted
from .builtin import load_builtin
from .identity import (
    ALL_SERVICE_ACCOUNTS,
    ANONYMOUS,
    AUTHENTICATED,
    MASTERS,
    SA_GROUP_PREFIX,
    UNAUTHENTICATED,
)
from .model import Binding, RBACModel, Role, Subject
from .paths import TARGET, EscalationGraph, SearchReport
from .policy import ALL, PolicyRule

SETTING_BUILTIN = "rbac.builtin"
SETTING_BUILTIN_PATH = "rbac.builtin_path"


def rbac_model(context: AnalysisContext) -> RBACModel:
    """The scan's RBAC model (built once, shared by every RBAC rule)."""

    def build() -> RBACModel:
        extra = context.settings.extra
        builtin = load_builtin(extra.get(SETTING_BUILTIN_PATH), enabled=bool(extra.get(SETTING_BUILTIN, True)))
        return RBACModel.build(context.inventory, builtin)

    return context.memo("rbac.model", build)


def escalation_graph(context: AnalysisContext) -> EscalationGraph:
    return context.memo("rbac.graph", lambda: EscalationGraph(rbac_model(context), context.inventory))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _reported_subjects(binding: Binding) -> Iterator[Subject]:
    """Subjects of a valid, resolved binding that are not Kubernetes' own."""
    if not binding.valid:
        return
    for subject in binding.subjects:
        if not binding.is_bootstrap_subject(subject):
            yield subject


def _system_name(subject: Subject) -> bool:
    """A ``system:`` user or group (reserved for Kubernetes' components and populations)."""
    return subject.kind in ("User", "Group") and subject.name.startswith("system:") and (
        subject.node_id.startswith(("user:", "group:"))
    )


def _admin_everywhere(binding: Binding, model: RBACModel) -> bool:
    """The binding's role holds every permission in its scope (or is cluster-admin, unloaded)."""
    if binding.role is not None:
        return binding.role.grants_everything(binding.scope)
    return binding.role_kind == "ClusterRole" and binding.role_name == "cluster-admin" and model.assumed_builtin(binding)


# --------------------------------------------------------------------------- 001 / 017


class AdminBindingParams(_Strict):
    scope: Literal["cluster", "namespace"] = "cluster"


@analyzer("rbac.admin_binding", params=AdminBindingParams)
def admin_binding(context: AnalysisContext, params: AdminBindingParams) -> Iterator[Hit]:
    """Subjects bound to cluster-admin or a role holding every permission."""
    model = rbac_model(context)
    for binding in model.bindings:
        if binding.cluster_wide != (params.scope == "cluster") or not _admin_everywhere(binding, model):
            continue
        if params.scope == "namespace" and binding.role is not None and binding.role.kind != "ClusterRole":
            continue  # a namespace-local Role with wildcards is KA-RBAC-003's
        equivalent = "" if binding.role_name == "cluster-admin" else " (it holds * verbs on * resources)"
        assumed = " (built-in ClusterRole, not loaded)" if binding.role is None else ""
        for subject in _reported_subjects(binding):
            if _system_name(subject):
                continue  # system:masters and the broad groups have rules of their own
            if params.scope == "cluster":
                message = (
                    f"{binding.display} makes {subject.display} cluster-admin: {binding.role_display}"
                    f"{equivalent}{assumed} allows every verb on every resource in every namespace"
                )
            else:
                message = (
                    f"{binding.display} gives {subject.display} {binding.role_display}{equivalent} in "
                    f"namespace {binding.namespace}: every verb on every resource there, Secrets "
                    "and RBAC included"
                )
            yield Hit(binding.resource, message, key=subject.node_id,
                      details={"subject": subject.node_id, "role": binding.role_display})


# --------------------------------------------------------------------------- risky grants


class Permission(_Strict):
    verbs: list[str] = Field(min_length=1)
    resources: list[str] = Field(min_length=1)
    api_groups: list[str] = Field(default_factory=lambda: [""], alias="apiGroups")
    #: the highest grade a grant of only this permission gets
    max_severity: Severity | None = Field(default=None, alias="maxSeverity")
    #: this permission only exists cluster-wide (nodes, PersistentVolumes, CSRs, …)
    cluster_scoped: bool = Field(default=False, alias="clusterScoped")


class GradeParams(_Strict):
    cluster: Severity = Severity.high
    namespace: Severity = Severity.medium
    #: grants limited by resourceNames (``None``: not reported)
    named: Severity | None = Severity.low


class RiskyGrantParams(_Strict):
    permissions: list[Permission] = Field(min_length=1)
    grade: GradeParams = Field(default_factory=GradeParams)


def _cap(severity: Severity, ceiling: Severity | None) -> Severity:
    return ceiling if ceiling is not None and severity.rank > ceiling.rank else severity


def _role_matches(role: Role, permission: Permission) -> list[tuple[int, str, str, str, tuple[str, ...]]]:
    """(rule index, verb, resource, group, names) for each permission the role's rules allow."""
    found = []
    for index, rule in enumerate(role.rules):
        if rule.non_resource_urls:
            continue
        for verb in permission.verbs:
            for group in permission.api_groups:
                for target in permission.resources:
                    resource, _, sub = target.partition("/")
                    names = rule.allows_some_name(verb, group, resource, sub)
                    if names is not None:
                        found.append((index, verb, target, group, names))
    return found


def _describe_grants(items: list[tuple[int, str, str, str, tuple[str, ...]]]) -> list[str]:
    """``get, list secrets (rule 1)``-style phrases, verbs and resources folded together."""
    by_target: dict[tuple[str, str, tuple[str, ...]], tuple[dict[str, None], dict[int, None]]] = {}
    for index, verb, target, group, names in items:
        verbs, rules = by_target.setdefault((target, group, names), ({}, {}))
        verbs.setdefault(verb)
        rules.setdefault(index)
    folded: dict[tuple[tuple[str, ...], str, tuple[str, ...], tuple[int, ...]], list[str]] = {}
    for (target, group, names), (verbs, rules) in by_target.items():
        folded.setdefault((tuple(verbs), group, names, tuple(rules)), []).append(target)
    phrases = []
    for (verbs, group, names, rules), targets in folded.items():
        text = f"{', '.join(verbs)} {', '.join(targets)}"
        if group:
            text += f" ({group})"
        if names:
            text += f" named {', '.join(names)}"
        phrases.append(f"{text} (rule {', '.join(str(i + 1) for i in rules)})")
    return phrases


@analyzer("rbac.risky_grant", params=RiskyGrantParams)
def risky_grant(context: AnalysisContext, params: RiskyGrantParams) -> Iterator[Hit]:
    """Bindings that give a subject one of the listed permissions."""
    model = rbac_model(context)
    cache: dict[int, list] = {}
    for binding in model.bindings:
        role = binding.role
        if role is None or not binding.valid or _admin_everywhere(binding, model):
            continue
        subjects = list(_reported_subjects(binding))
        if not subjects:
            continue
        matches = cache.get(id(role))
        if matches is None:
            matches = [(p, m) for p in params.permissions for m in _role_matches(role, p)]
            cache[id(role)] = matches
        grade: Severity | None = None
        granted = []
        for permission, match in matches:
            if permission.cluster_scoped and not binding.cluster_wide:
                continue  # a RoleBinding cannot grant cluster-scoped resources
            if match[4]:
                severity = params.grade.named
            else:
                severity = params.grade.cluster if binding.cluster_wide else params.grade.namespace
            if severity is None:
                continue
            severity = _cap(severity, permission.max_severity)
            grade = severity if grade is None or severity.rank > grade.rank else grade
            granted.append(match)
        if grade is None:
            continue
        phrases = _describe_grants(granted)
        for subject in subjects:
            yield Hit(
                binding.resource,
                f"{binding.display} gives {subject.display} {'; '.join(phrases)} {binding.where} "
                f"through {binding.role_display}",
                key=subject.node_id,
                severity=grade,
                details={"subject": subject.node_id, "role": binding.role_display, "permissions": phrases},
            )


# --------------------------------------------------------------------------- 003


def _wildcard_fields(rule: PolicyRule) -> list[str]:
    fields = [name for name, values in (
        ("verbs", rule.verbs), ("apiGroups", rule.api_groups), ("resources", rule.resources),
        ("nonResourceURLs", rule.non_resource_urls),
    ) if ALL in values]
    return fields


@analyzer("rbac.wildcard_roles")
def wildcard_roles(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Roles and ClusterRoles whose rules use the * wildcard."""
    model = rbac_model(context)
    roles = list(model.cluster_roles.values()) + list(model.roles.values())
    for role in roles:
        if role.builtin_only or role.aggregated:
            continue  # aggregated roles copy other roles' rules: the sources are reported
        parts = []
        worst = Severity.medium
        for index, rule in enumerate(role.declared_rules):
            if rule in role.bootstrap_rules:
                continue
            fields = _wildcard_fields(rule)
            if not fields:
                continue
            if ALL in rule.verbs and ALL in rule.resources:
                worst = Severity.high
            parts.append(f"rule {index + 1} ({rule.describe()}) has * in {', '.join(fields)}")
        if parts:
            yield Hit(
                role.resource,
                f"{role.display}: " + "; ".join(parts)
                + ": it grants every present and future verb or resource that matches",
                severity=worst,
            )


# --------------------------------------------------------------------------- 005


@analyzer("rbac.default_serviceaccount")
def default_serviceaccount(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Bindings that give the default ServiceAccount permissions, and pods that carry them."""
    model = rbac_model(context)
    bound: dict[str, Binding] = {}
    for binding in model.bindings:
        for subject in _reported_subjects(binding):
            if subject.node_id.startswith("sa:") and subject.node_id.endswith(":default"):
                namespace = subject.node_id.split(":")[1]
                bound.setdefault(namespace, binding)
                yield Hit(
                    binding.resource,
                    f"{binding.display} gives {binding.role_display} to ServiceAccount "
                    f"{namespace}/default, which every pod of {namespace} that names no "
                    "ServiceAccount runs as",
                    key=subject.node_id,
                )
    for template in context.inventory.pod_templates:
        namespace = template.resource.namespace
        if namespace not in bound or service_account_name(template.spec) != "default":
            continue
        if not token_automounted(template, context.inventory)[0]:
            continue
        yield Hit(
            template.resource,
            f"{template.resource.display} runs as ServiceAccount {namespace}/default, which "
            f"{bound[namespace].display} gives permissions; give the workload its own ServiceAccount",
            path=template.path_str,
            key=f"pod:{namespace}",
        )


# --------------------------------------------------------------------------- 007


def _csr_requests_masters(obj: dict[str, Any]) -> bool:
    """Whether a CSR's PEM request names the organisation ``system:masters``."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    request = spec.get("request")
    if not isinstance(request, str):
        return False
    try:
        pem = base64.b64decode(request, validate=False).decode("ascii", errors="ignore")
        body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
        der = base64.b64decode(body, validate=False)
    except (binascii.Error, ValueError):
        return False
    return MASTERS.encode() in der


@analyzer("rbac.system_masters")
def system_masters(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Uses of the system:masters group: bindings naming it, certificate requests for it."""
    model = rbac_model(context)
    for binding in model.bindings:
        for subject in _reported_subjects(binding):
            if subject.kind == "Group" and subject.name == MASTERS:
                yield Hit(
                    binding.resource,
                    f"{binding.display} names Group system:masters: its members bypass RBAC "
                    "altogether, so this binding changes nothing, and membership comes from "
                    "client certificates that cannot be revoked",
                    key=subject.node_id,
                    severity=Severity.low,
                )
    for csr in context.inventory.of_kind("CertificateSigningRequest"):
        if _csr_requests_masters(csr.obj):
            yield Hit(
                csr,
                f"{csr.display} requests a certificate in organisation system:masters: once "
                "signed it is an irrevocable cluster-admin credential",
                severity=Severity.critical,
            )


# --------------------------------------------------------------------------- 015


BROAD = {
    UNAUTHENTICATED: (Severity.critical, "every anonymous request"),
    AUTHENTICATED: (Severity.high, "every authenticated user and ServiceAccount"),
    ALL_SERVICE_ACCOUNTS: (Severity.high, "every ServiceAccount of every namespace"),
}


@analyzer("rbac.broad_subjects")
def broad_subjects(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Grants to system:authenticated, system:unauthenticated, system:anonymous or every ServiceAccount."""
    model = rbac_model(context)
    for binding in model.bindings:
        if binding.role is None:
            continue
        for subject in _reported_subjects(binding):
            if subject.kind == "Group" and subject.name in BROAD:
                severity, who = BROAD[subject.name]
            elif subject.kind == "Group" and subject.name.startswith(SA_GROUP_PREFIX):
                severity, who = Severity.medium, f"every ServiceAccount of namespace {subject.name[len(SA_GROUP_PREFIX):]}"
            elif subject.kind == "User" and subject.name == ANONYMOUS:
                severity, who = Severity.critical, "every anonymous request"
            else:
                continue
            if binding.role.grants_everything(binding.scope):
                severity = Severity.critical
            rules = "; ".join(r.describe() for r in binding.role.rules[:3])
            more = f" and {len(binding.role.rules) - 3} more rule(s)" if len(binding.role.rules) > 3 else ""
            yield Hit(
                binding.resource,
                f"{binding.display} gives {binding.role_display} to {subject.display}, that is to "
                f"{who}, {binding.where}: {rules}{more}",
                key=subject.node_id,
                severity=severity,
            )


# --------------------------------------------------------------------------- 018 / 019 / 020 / 022


@analyzer("rbac.dangling_bindings")
def dangling_bindings(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Bindings whose role does not exist (they grant nothing until someone creates it)."""
    model = rbac_model(context)
    for binding in model.bindings:
        if binding.builtin_only or not binding.valid or binding.role is not None:
            continue
        if model.assumed_builtin(binding):
            continue
        yield Hit(
            binding.resource,
            f"{binding.display} refers to a role that resolves to nothing ({binding.missing_role}): "
            "it grants nothing today, and whoever creates that role later grants it to "
            + (", ".join(s.display for s in binding.subjects) or "nobody"),
        )


@analyzer("rbac.invalid_objects")
def invalid_objects(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """RBAC objects the API server would reject, and aggregation selectors it cannot use."""
    model = rbac_model(context)
    for invalid in model.invalid:
        if invalid.resource.source.file == str(model.builtin.path if model.builtin else ""):
            continue
        yield Hit(
            invalid.resource,
            f"{invalid.resource.display} would be rejected by the API server (so it grants "
            f"nothing): {'; '.join(invalid.problems)}",
        )
    for role, error in model.selector_errors:
        yield Hit(
            role.resource,
            f"{role.display} has an aggregationRule the controller cannot use ({error}); its "
            "rules stay as declared",
        )


@analyzer("rbac.foreign_subjects")
def foreign_subjects(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """RoleBindings that grant to ServiceAccounts of other namespaces."""
    model = rbac_model(context)
    for binding in model.bindings:
        if binding.cluster_wide:
            continue
        for subject in _reported_subjects(binding):
            if subject.kind == "ServiceAccount" and subject.namespace != binding.namespace:
                yield Hit(
                    binding.resource,
                    f"{binding.display} gives {binding.role_display} in namespace "
                    f"{binding.namespace} to {subject.display}: whoever controls namespace "
                    f"{subject.namespace} gets these permissions here",
                    key=subject.node_id,
                )


@analyzer("rbac.implicit_sa_namespace")
def implicit_sa_namespace(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """RoleBinding ServiceAccount subjects that name no namespace."""
    model = rbac_model(context)
    for binding in model.bindings:
        for subject in _reported_subjects(binding):
            if subject.namespace_defaulted:
                yield Hit(
                    binding.resource,
                    f"{binding.display} names ServiceAccount {subject.name!r} without a namespace: "
                    f"the API server accepts it and reads it as {binding.namespace}/{subject.name}, "
                    "but the same subject in a ClusterRoleBinding is rejected and tools disagree "
                    "on it; write the namespace",
                    key=subject.node_id,
                )


# --------------------------------------------------------------------------- 021 / 023


class EscalationParams(_Strict):
    target: Literal["cluster-admin"] = "cluster-admin"
    max_depth: int = Field(default=12, ge=1, le=64, alias="maxDepth")
    max_nodes: int = Field(default=500_000, ge=100, alias="maxNodes")


def escalation_report(context: AnalysisContext, params: EscalationParams) -> SearchReport:
    graph = escalation_graph(context)
    return context.memo(
        f"rbac.paths:{params.max_depth}:{params.max_nodes}",
        lambda: graph.all_paths(max_nodes=params.max_nodes, max_depth=params.max_depth),
    )


@analyzer("rbac.escalation_paths", params=EscalationParams)
def escalation_paths(context: AnalysisContext, params: EscalationParams) -> Iterator[Hit]:
    """Non-system subjects that can become cluster-admin-equivalent in one or more steps."""
    graph = escalation_graph(context)
    report = escalation_report(context, params)
    note = report.bound_note
    for start, path in report.paths.items():
        if path.length < 2 or graph.is_system(start):
            continue  # a direct cluster-admin binding is KA-RBAC-001's
        first = path.steps[0][1]
        evidence = first.evidence[0] if first.evidence else None
        if evidence is None or evidence.source.binding is None:
            continue
        if not start.startswith("group:") and evidence.source.subject is not None and (
            evidence.source.subject.node_id != start
        ):
            continue  # the first step comes from a group: the group's own finding covers it
        lines = path.describe(graph)
        message = (
            f"{graph.label(start)} can become cluster-admin in {path.length} steps: "
            + " ".join(lines)
            + (f" (search bound: {note})" if note else "")
        )
        yield Hit(
            evidence.source.binding.resource,
            message,
            key=start,
            details={"path": path.to_dict(graph), "search": report.bounds_dict()},
        )


@analyzer("rbac.powerful_workload_token")
def powerful_workload_token(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Pods that mount the token of a cluster-admin-equivalent ServiceAccount."""
    graph = escalation_graph(context)
    inventory = context.inventory
    for template in inventory.pod_templates:
        namespace = template.resource.namespace
        if namespace is None or not token_automounted(template, inventory)[0]:
            continue
        account = service_account_name(template.spec)
        node = f"sa:{namespace}:{account}"
        admin = next((e for e in graph.edges(node) if e.target == TARGET), None)
        if admin is None:
            continue
        via = admin.evidence[0].describe() if admin.evidence else admin.action
        yield Hit(
            template.resource,
            f"{template.resource.display} runs as ServiceAccount {namespace}/{account}, which "
            f"holds every permission cluster-wide ({via}): whoever can exec into, or compromise, "
            "one of its containers is cluster-admin",
            path=template.path_str,
            key=node,
        )
