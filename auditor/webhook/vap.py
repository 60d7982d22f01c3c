"""The rules as ValidatingAdmissionPolicies: enforcement by the API server itself.

``kube-auditor export vap`` compiles every rule that CEL can express into a
ValidatingAdmissionPolicy and its ValidatingAdmissionPolicyBinding
(admissionregistration.k8s.io/v1), and lists the rules it could not compile with the
reason. One policy per rule, so each can be bound, excepted or removed alone.

* **Field rules** compile through :mod:`auditor.webhook.cel`; container and pod rules
  match Pods and every built-in workload (their pod template is ``variables.podSpec``).
* **Analyzer rules** compile when their analyzer has a registered CEL form
  (:func:`cel_form`): the Pod Security analyzer ``pss.check`` has one per check
  (:mod:`auditor.webhook.cel_pss`). Other analyzers relate objects to each other, which
  a policy that sees one object cannot do.
* **Pod Security** is always exported: through the rules of the Pod Security pack when it
  is loaded, else straight from the check catalogue at the configured level.

The policies keep the scan's semantics where CEL can: the ``kube-auditor.io/waive``
annotation (with a reason) skips a rule for an object (a ``matchCondition``), objects
being deleted are never blocked, ``skipNamespaces`` and the namespaces given to the
command are left out by the binding's namespaceSelector, and severities decide the
action (``--mode deny``: rules at or above the threshold deny, the others warn).
Config-file waivers (globs over kinds and names, expiry dates) are not exported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..analysis.registry import AnalysisSettings
from ..engine.rules import AnalyzerCheck, Rule
from ..engine.waivers import WAIVE_ANNOTATION, WAIVE_REASON_ANNOTATION
from ..threat import Severity
from .cel import (
    POD_META,
    POD_SPEC,
    CannotCompile,
    Names,
    Scope,
    and_,
    compile_condition,
    literal,
    or_,
)

API_VERSION = "admissionregistration.k8s.io/v1"
#: kind → (API group, resource) of the kinds a policy can match.
RESOURCES: dict[str, tuple[str, str]] = {
    "Pod": ("", "pods"),
    "PodTemplate": ("", "podtemplates"),
    "ReplicationController": ("", "replicationcontrollers"),
    "Deployment": ("apps", "deployments"),
    "ReplicaSet": ("apps", "replicasets"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
    "Service": ("", "services"),
    "ConfigMap": ("", "configmaps"),
    "Secret": ("", "secrets"),
    "ServiceAccount": ("", "serviceaccounts"),
    "Namespace": ("", "namespaces"),
    "Ingress": ("networking.k8s.io", "ingresses"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "Role": ("rbac.authorization.k8s.io", "roles"),
    "ClusterRole": ("rbac.authorization.k8s.io", "clusterroles"),
    "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "clusterrolebindings"),
}
POD_KINDS = ("Pod", "PodTemplate", "ReplicationController", "Deployment", "ReplicaSet",
             "StatefulSet", "DaemonSet", "Job", "CronJob")

#: Where each kind keeps its pod spec and the pod's metadata, in CEL.
_POD_SPEC = (
    "object.kind == 'Pod' ? object.spec : "
    "object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : "
    "object.kind == 'PodTemplate' ? object.template.spec : object.spec.template.spec"
)
_POD_META = (
    "object.kind == 'Pod' ? object.metadata : "
    "object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata) ? "
    "object.spec.jobTemplate.spec.template.metadata : {}) : "
    "object.kind == 'PodTemplate' ? (has(object.template.metadata) ? object.template.metadata : {}) : "
    "(has(object.spec.template.metadata) ? object.spec.template.metadata : {})"
)
CONTAINERS = "variables.containers"
_CONTAINERS = (
    f"(has({POD_SPEC}.initContainers) ? {POD_SPEC}.initContainers : []) + "
    f"(has({POD_SPEC}.containers) ? {POD_SPEC}.containers : []) + "
    f"(has({POD_SPEC}.ephemeralContainers) ? {POD_SPEC}.ephemeralContainers : [])"
)


@dataclass
class CelForm:
    """What a policy needs: the CEL that holds when the problem is present (the rule
    fires), and the kinds it applies to."""

    fires: str
    kinds: tuple[str, ...]
    pod: bool = True  #: needs the pod variables


#: analyzer name → function(rule, parsed params, settings) → CelForm (or CannotCompile)
CelFormFunc = Callable[[Rule, Any, AnalysisSettings], CelForm]
_FORMS: dict[str, CelFormFunc] = {}


def cel_form(analyzer: str) -> Callable[[CelFormFunc], CelFormFunc]:
    """Declare the CEL form of an analyzer's rules (``@cel_form("pss.check")``)."""

    def register(func: CelFormFunc) -> CelFormFunc:
        _FORMS[analyzer] = func
        return func

    return register


def _load_forms() -> None:
    from . import cel_forms, cel_pss  # noqa: F401  (register their forms)


@dataclass
class Export:
    objects: list[dict[str, Any]] = field(default_factory=list)
    #: (rule id or check, policy name)
    compiled: list[tuple[str, str]] = field(default_factory=list)
    #: (rule id, why it was not compiled)
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ExportOptions:
    mode: str = "deny"  #: deny, warn or audit
    threshold: Severity = Severity.high
    #: namespaces no binding applies to (kube-system and the config's skipNamespaces)
    exclude_namespaces: list[str] = field(default_factory=lambda: ["kube-system"])
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    prefix: str = "kube-auditor"


def policy_name(prefix: str, identity: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", identity.lower()).strip("-")
    return f"{prefix}-{slug}"


def _field_form(rule: Rule) -> CelForm:
    kinds_allowed = set(RESOURCES)
    if rule.match.kinds is not None:
        unknown = [k for k in rule.match.kinds if k not in RESOURCES]
        if unknown and len(unknown) == len(rule.match.kinds):
            raise CannotCompile(f"kinds {', '.join(unknown)} have no known API resource")
        kinds_allowed &= set(rule.match.kinds)
    kinds_allowed -= set(rule.match.exclude_kinds)
    names = Names()
    if rule.target == "object":
        if rule.match.kinds is None:
            raise CannotCompile("an object rule for every kind would match every resource of the cluster")
        scope = Scope("object")
        fires = compile_condition(rule.check, scope, names)
        if rule.when is not None:
            fires = and_(compile_condition(rule.when, scope, names), fires)
        return CelForm(fires, tuple(sorted(kinds_allowed)), pod=False)
    kinds = tuple(k for k in POD_KINDS if k in kinds_allowed)
    if not kinds:
        raise CannotCompile("matches no kind that carries a pod spec")
    if rule.target == "pod":
        scope = Scope("pod", pod=POD_SPEC, pod_meta=POD_META)
        fires = compile_condition(rule.check, scope, names)
        if rule.when is not None:
            fires = and_(compile_condition(rule.when, scope, names), fires)
        return CelForm(fires, kinds)
    per_field = []
    for container_field in rule.match.containers:
        var = names("c")
        scope = Scope("container", pod=POD_SPEC, pod_meta=POD_META, container=var, container_type=container_field)
        holds = compile_condition(rule.check, scope, names)
        if rule.when is not None:
            holds = and_(compile_condition(rule.when, scope, names), holds)
        per_field.append(
            and_(f"has({POD_SPEC}.{container_field})", f"{POD_SPEC}.{container_field}.exists({var}, {holds})")
        )
    return CelForm(or_(*per_field), kinds)


def rule_form(rule: Rule, settings: AnalysisSettings) -> CelForm:
    """The CEL form of one rule, or :class:`CannotCompile` with the reason."""
    check = rule.check
    if isinstance(check, AnalyzerCheck):
        _load_forms()
        form = _FORMS.get(check.analyzer)
        if form is None:
            from .scope import skip_reason

            why = skip_reason(rule)
            if why is not None:
                shown = why if why.startswith("needs ") else f": {why}"
                raise CannotCompile(f"analyzer {check.analyzer}{'' if shown.startswith(':') else ' '}{shown}")
            raise CannotCompile(
                f"analyzer {check.analyzer} is Python with no CEL form (the webhook evaluates it)"
            )
        return form(rule, check.parsed_params, settings)
    return _field_form(rule)


def _waived(rule_id: str) -> str:
    annotations = "object.metadata.annotations"
    return and_(
        "has(object.metadata.annotations)",
        f"{literal(WAIVE_ANNOTATION)} in {annotations}",
        f"{literal(WAIVE_REASON_ANNOTATION)} in {annotations}",
        f"{annotations}[{literal(WAIVE_REASON_ANNOTATION)}].trim() != ''",
        f"{annotations}[{literal(WAIVE_ANNOTATION)}].split(',').exists(w, w.trim() == {literal(rule_id)})",
    )


def _resource_rules(kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    by_group: dict[str, list[str]] = {}
    for kind in kinds:
        group, resource = RESOURCES[kind]
        by_group.setdefault(group, []).append(resource)
        if kind == "Pod":
            by_group[group].append("pods/ephemeralcontainers")
    return [
        {
            "apiGroups": [group],
            "apiVersions": ["*"],
            "operations": ["CREATE", "UPDATE"],
            "resources": sorted(resources),
        }
        for group, resources in sorted(by_group.items())
    ]


def _actions(severity: Severity, options: ExportOptions) -> list[str]:
    if options.mode == "warn":
        return ["Warn"]
    if options.mode == "audit":
        return ["Audit"]
    return ["Deny"] if severity.at_least(options.threshold) else ["Warn"]


def _one_line(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def policy_objects(
    name: str,
    form: CelForm,
    message: str,
    severity: Severity,
    options: ExportOptions,
    rule_id: str | None,
    annotations: dict[str, str],
    extra_namespaces: list[str] | None = None,
) -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy and its binding."""
    labels = {"app.kubernetes.io/managed-by": "kube-auditor", "app.kubernetes.io/part-of": "kube-auditor"}
    variables = []
    if form.pod:
        variables = [
            {"name": "podSpec", "expression": _POD_SPEC},
            {"name": "podMeta", "expression": _POD_META},
            {"name": "containers", "expression": _CONTAINERS},
        ]
    match_conditions = [
        {"name": "not-being-deleted", "expression": "!has(object.metadata.deletionTimestamp)"},
    ]
    if rule_id is not None:
        match_conditions.append({"name": "not-waived", "expression": f"!{_waived(rule_id)}"})
    spec: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": _resource_rules(form.kinds)},
        "matchConditions": match_conditions,
    }
    if variables:
        spec["variables"] = variables
    spec["validations"] = [{"expression": f"!({form.fires})", "message": _one_line(message), "reason": "Forbidden"}]
    excluded = sorted(set(options.exclude_namespaces) | set(extra_namespaces or ()))
    binding_spec: dict[str, Any] = {"policyName": name, "validationActions": _actions(severity, options)}
    if excluded:
        binding_spec["matchResources"] = {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": excluded}
                ]
            }
        }
    meta = {"name": name, "labels": labels, "annotations": annotations}
    return [
        {"apiVersion": API_VERSION, "kind": "ValidatingAdmissionPolicy", "metadata": meta, "spec": spec},
        {
            "apiVersion": API_VERSION,
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name, "labels": labels, "annotations": dict(annotations)},
            "spec": binding_spec,
        },
    ]


def _rule_filters(rule: Rule) -> tuple[list[str], str | None]:
    """Namespaces the rule's match leaves out, and why a match cannot be exported."""
    if rule.match.namespaces is not None:
        return [], "match.namespaces (an allow-list of namespaces) is not exported"
    if rule.match.labels:
        return [], "match.labels is not exported"
    return list(rule.match.exclude_namespaces), None


def export_policies(rules: list[Rule], options: ExportOptions) -> Export:
    """Compile ``rules`` (and the Pod Security checks) into policies and bindings."""
    from .cel_pss import pss_check_forms  # the catalogue's own forms

    export = Export()
    covers_pss = False
    for rule in rules:
        if isinstance(rule.check, AnalyzerCheck) and rule.check.analyzer == "pss.check":
            covers_pss = True
        excluded, unsupported = _rule_filters(rule)
        try:
            if unsupported:
                raise CannotCompile(unsupported)
            form = rule_form(rule, options.settings)
        except CannotCompile as error:
            export.skipped.append((rule.id, str(error)))
            continue
        name = policy_name(options.prefix, rule.id)
        message = f"{rule.id} ({rule.severity.value}) {rule.title}. Fix: {rule.remediation}"
        annotations = {"kube-auditor.io/rule": rule.id, "kube-auditor.io/severity": rule.severity.value}
        export.objects += policy_objects(name, form, message, rule.severity, options, rule.id, annotations, excluded)
        export.compiled.append((rule.id, name))
    if not covers_pss:
        try:
            forms = pss_check_forms(options.settings)
        except CannotCompile as error:
            forms = []
            export.skipped.append(("pss", str(error)))
        for check_id, severity, description, form in forms:
            name = policy_name(options.prefix, f"pss-{check_id}")
            level = options.settings.pss_level
            message = (
                f"Pod Security {level} check {check_id} ({severity.value}): {description}. "
                "See https://kubernetes.io/docs/concepts/security/pod-security-standards/"
            )
            annotations = {"kube-auditor.io/pss-check": check_id, "kube-auditor.io/severity": severity.value}
            export.objects += policy_objects(name, form, message, severity, options, None, annotations)
            export.compiled.append((f"pss:{check_id}", name))
    return export
