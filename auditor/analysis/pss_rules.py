"""Pod Security Standards in the scan: per-check rules, namespace labels, recommendations.

The verdicts come from :mod:`auditor.analysis.pss` (an exact PSA evaluator); this module
maps them onto findings and reads namespaces the way Pod Security Admission does.

* ``pss.check``: one rule per upstream check id. Every pod spec of the inventory (Pods and
  every workload template) is evaluated **once** per scan, at the scan's level and policy
  version (``AnalysisSettings.pss_level`` / ``pss_version``), and the violations are
  indexed by check, so the nineteen rules share one evaluation per pod spec.
* ``pss.namespace_enforce``: workloads that break the ``enforce`` policy of the namespace
  they are deployed to.
* ``pss.namespace_unenforced``, ``pss.namespace_modes``, ``pss.namespace_labels``:
  namespaces whose labels enforce nothing, whose audit/warn modes are weaker than enforce,
  or whose labels PSA cannot parse.

Namespace labels are parsed exactly as PSA's ``PolicyToEvaluate`` does (see
:func:`namespace_policy`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..inventory import Inventory, PodTemplate, Resource
from .pss import CHECKS_BY_ID, PolicyVersion, PSSResult, Violation, evaluate_pod
from .pss import parse_level as _parse_level
from .pss import parse_version as _parse_version
from .pss.levels import Level
from .pss.podview import PodView
from .registry import AnalysisContext, Hit, NoParams, analyzer

# ---------------------------------------------------------------------------------------
# Namespace labels, as PSA reads them

LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
LEVEL_ORDER = {Level.PRIVILEGED: 0, Level.BASELINE: 1, Level.RESTRICTED: 2}
#: PSA's own label syntax: ``latest`` or ``v1.N`` (the ``v`` is required, no leading zeros).
_LABEL_VERSION = re.compile(r"v1\.([0-9]|[1-9][0-9]*)")
LATEST = PolicyVersion(None)


@dataclass(frozen=True)
class ModePolicy:
    """The level and version one PSA mode (enforce, audit or warn) applies."""

    level: Level
    version: PolicyVersion
    #: whether the namespace carries this mode's level label (else the default applies)
    labelled: bool = False

    def __str__(self) -> str:
        return f"{self.level.value}:{self.version.label}"


@dataclass(frozen=True)
class NamespacePolicy:
    """What PSA applies in one namespace, from its labels (or the defaults).

    ``declared`` is False for a namespace that objects live in but that the manifests do
    not declare: its labels are unknown and the defaults are assumed. ``errors`` are the
    labels PSA cannot parse (``label=value: why``), each replaced as PSA does.
    """

    name: str
    declared: bool
    enforce: ModePolicy
    audit: ModePolicy
    warn: ModePolicy
    errors: tuple[str, ...] = ()
    resource: Resource | None = None

    def mode(self, name: str) -> ModePolicy:
        return {"enforce": self.enforce, "audit": self.audit, "warn": self.warn}[name]


#: PSA's default policy when a mode's label is absent (AdmissionConfiguration defaults:
#: privileged, latest). A cluster may configure other defaults; manifests cannot show them.
DEFAULT_MODE = ModePolicy(Level.PRIVILEGED, LATEST)


def _label_level(value: Any) -> Level | None:
    """PSA's ParseLevel: exactly privileged, baseline or restricted (no trimming)."""
    if isinstance(value, str):
        for level in Level:
            if value == level.value:
                return level
    return None


def _label_version(value: Any) -> PolicyVersion | None:
    """PSA's ParseVersion: exactly ``latest`` or ``v1.N``."""
    if value == "latest":
        return LATEST
    if isinstance(value, str):
        match = _LABEL_VERSION.fullmatch(value)
        if match:
            return PolicyVersion(int(match.group(1)))
    return None


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else f"{value!r} (not a string)"


def parse_namespace_labels(
    name: str, labels: dict[str, Any] | None, declared: bool = True,
    resource: Resource | None = None,
) -> NamespacePolicy:
    """Resolve a namespace's ``pod-security.kubernetes.io/*`` labels as PSA does.

    Mirrors ``PolicyToEvaluate`` in k8s.io/pod-security-admission/api/helpers.go:

    * a missing level or version label takes the default (privileged, latest);
    * an invalid ``enforce`` level fails closed to ``restricted``; an invalid ``audit`` or
      ``warn`` level fails open to ``privileged``;
    * an invalid version (anything but ``latest`` or ``v1.N``) becomes ``latest``.

    The API server refuses to create a namespace with invalid labels (and to change them
    to invalid values); the fallbacks apply to namespaces labelled before PSA was enabled.
    """
    labels = labels if isinstance(labels, dict) else {}
    errors: list[str] = []
    modes: dict[str, ModePolicy] = {}
    for mode in MODES:
        level, version, labelled = DEFAULT_MODE.level, DEFAULT_MODE.version, False
        level_key = LABEL_PREFIX + mode
        if level_key in labels:
            value = labels[level_key]
            parsed = _label_level(value)
            labelled = True
            if parsed is None:
                fallback = Level.RESTRICTED if mode == "enforce" else Level.PRIVILEGED
                errors.append(
                    f"{level_key}={_shown(value)}: must be one of privileged, baseline, restricted "
                    f"(PSA applies {fallback.value})"
                )
                parsed = fallback
            level = parsed
        version_key = f"{level_key}-version"
        if version_key in labels:
            value = labels[version_key]
            parsed_version = _label_version(value)
            if parsed_version is None:
                errors.append(f'{version_key}={_shown(value)}: must be "latest" or "v1.x" (PSA applies latest)')
                parsed_version = LATEST
            version = parsed_version
        modes[mode] = ModePolicy(level, version, labelled)
    return NamespacePolicy(
        name, declared, modes["enforce"], modes["audit"], modes["warn"], tuple(errors), resource
    )


def namespace_policies(inventory: Inventory) -> dict[str, NamespacePolicy]:
    """Every namespace of the inventory (declared or implied) → its PSA policy."""
    policies = {}
    for name, resource in inventory.namespaces.items():
        if resource is None:
            policies[name] = parse_namespace_labels(name, None, declared=False)
        else:
            policies[name] = parse_namespace_labels(name, resource.labels, True, resource)
    return policies


# ---------------------------------------------------------------------------------------
# Evaluations shared by every rule (and the pss command) of one run


def pod_root(template: PodTemplate) -> str:
    """Where the pod's own ``metadata``/``spec`` sit in the object, as a path prefix:
    ``""`` for a Pod, ``spec.template.`` for a Deployment, ``spec.jobTemplate.spec.template.``
    for a CronJob."""
    return "".join(part + "." for part in template.path[:-1])


def object_paths(template: PodTemplate, violation: Violation) -> list[str]:
    """The violation's field paths, rooted at the object instead of the pod."""
    root = pod_root(template)
    return [root + path for path in violation.paths]


def violation_dict(template: PodTemplate, violation: Violation) -> dict[str, Any]:
    """A violation as the JSON of findings and of the ``pss`` command show it."""
    return {
        "check": violation.check,
        "message": violation.message,
        "containers": list(violation.containers),
        "paths": object_paths(template, violation),
    }


class PodEvaluations:
    """Each pod spec of an inventory evaluated at most once per (level, version)."""

    def __init__(self, inventory: Inventory) -> None:
        self.templates: list[PodTemplate] = inventory.pod_templates
        self._results: dict[tuple[str, str], list[PSSResult | None]] = {}

    def result(self, index: int, level: str, version: str) -> PSSResult:
        results = self._results.get((level, version))
        if results is None:
            results = self._results[(level, version)] = [None] * len(self.templates)
        result = results[index]
        if result is None:
            template = self.templates[index]
            result = results[index] = evaluate_pod(template.metadata, template.spec, level, version)
        return result


def evaluations(context: AnalysisContext) -> PodEvaluations:
    inventory = context.inventory
    return context.memo("pss.evaluations", lambda: PodEvaluations(inventory))


def scan_policy(context: AnalysisContext) -> tuple[str, str]:
    """The scan's level and version label, validated (ValueError when invalid)."""
    settings = context.settings
    level = _parse_level(settings.pss_level or "restricted")
    version = _parse_version(settings.pss_version or "latest")
    return level.value, version.label


@cache
def _overridden_baseline(check_id: str, minor: int) -> tuple[str, Any] | None:
    """For a restricted check that overrides a baseline check at ``minor``: the baseline
    check's id and its revision in force, else None."""
    revision = CHECKS_BY_ID[check_id].revision_at(minor)
    if revision is None or not revision.overrides:
        return None
    baseline_id = revision.overrides[0]
    baseline = CHECKS_BY_ID[baseline_id].revision_at(minor)
    return (baseline_id, baseline) if baseline is not None else None


@dataclass
class _CheckIndex:
    level: str
    version: str
    #: check id → (pod spec, violation, the level whose PSA message the violation is)
    by_check: dict[str, list[tuple[PodTemplate, Violation, str]]] = field(default_factory=dict)


def _build_check_index(context: AnalysisContext) -> _CheckIndex:
    """Every pod spec evaluated once at the scan's policy; violations indexed by check.

    At restricted, PSA reports a hostPath volume, an Unconfined seccomp profile, an added
    SYS_ADMIN or an unmasked /proc through the restricted check that *overrides* the
    baseline one (restrictedVolumes, seccompProfile_restricted, capabilities_restricted,
    procMount_restricted). To keep the baseline problem's severity, the overridden
    baseline check is run on that pod too (only when the overriding check failed, so the
    set of pods with findings is exactly the set PSA denies), and the restricted finding is
    kept only when it names a field the baseline one does not.
    """
    level, version = scan_policy(context)
    index = _CheckIndex(level, version)
    if level == Level.PRIVILEGED.value:
        return index
    shared = evaluations(context)
    by_check = index.by_check
    for position, template in enumerate(shared.templates):
        result = shared.result(position, level, version)
        if not result.violations:
            continue
        minor = int(result.effective_version.rsplit(".", 1)[1])
        view = None
        for violation in result.violations:
            overridden = _overridden_baseline(violation.check, minor) if level == "restricted" else None
            if overridden is not None:
                baseline_id, revision = overridden
                view = view or PodView(template.metadata, template.spec)
                baseline_violation = revision.evaluate(view)
                if baseline_violation is not None:
                    by_check.setdefault(baseline_id, []).append(
                        (template, baseline_violation, Level.BASELINE.value)
                    )
                    if set(violation.paths) <= set(baseline_violation.paths):
                        continue
            by_check.setdefault(violation.check, []).append((template, violation, level))
    return index


def _policy_text(level: str, version: str) -> str:
    return f'PodSecurity "{level}:{version}"'


def _consequence(resource: Resource) -> str:
    if resource.kind == "Pod":
        return "PSA enforce rejects the Pod"
    return f"PSA enforce admits the {resource.kind} but rejects each pod it creates"


# ---------------------------------------------------------------------------------------
# Analyzers


class CheckParams(BaseModel):
    """``pss.check`` parameters: the upstream check id the rule reports."""

    model_config = ConfigDict(extra="forbid")

    check: str

    @field_validator("check")
    @classmethod
    def _known_check(cls, value: str) -> str:
        if value not in CHECKS_BY_ID:
            raise ValueError(
                f"unknown Pod Security check {value!r}; known: {', '.join(sorted(CHECKS_BY_ID))}"
            )
        return value


@analyzer("pss.check", params=CheckParams)
def pss_check(context: AnalysisContext, params: CheckParams) -> Iterator[Hit]:
    """Pods and workload templates failing one Pod Security check at the scan's level and version."""
    level, version = scan_policy(context)
    index = context.memo(f"pss.checks:{level}:{version}", lambda: _build_check_index(context))
    for template, violation, message_level in index.by_check.get(params.check, ()):
        resource = template.resource
        policy = _policy_text(message_level, index.version)
        subject = "pod" if resource.kind == "Pod" else "pod template"
        paths = object_paths(template, violation)
        containers = violation.containers
        yield Hit(
            resource=resource,
            message=f"{subject} violates {policy}: {violation.message}; {_consequence(resource)}",
            container=containers[0] if len(containers) == 1 else None,
            path=paths[0] if paths else template.path_str,
            details={
                "check": violation.check,
                "level": message_level,
                "version": index.version,
                "reason": violation.reason,
                "detail": violation.detail,
                "containers": list(containers),
                "paths": paths,
            },
        )


@analyzer("pss.namespace_enforce")
def namespace_enforce(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Pods and workload templates that break the enforce policy of their namespace's labels."""
    policies = context.memo("pss.namespaces", lambda: namespace_policies(context.inventory))
    shared = evaluations(context)
    for position, template in enumerate(shared.templates):
        resource = template.resource
        policy = policies.get(resource.namespace or "")
        if policy is None or policy.enforce.level is Level.PRIVILEGED:
            continue
        level, version = policy.enforce.level.value, policy.enforce.version.label
        result = shared.result(position, level, version)
        if result.allowed:
            continue
        denial = result.denial_message()
        if resource.kind == "Pod":
            consequence = "the API server will reject the Pod"
        else:
            consequence = (
                f"the API server accepts the {resource.kind} (PSA only warns on templates) "
                "but will reject every pod it creates, which fail with FailedCreate events"
            )
        yield Hit(
            resource=resource,
            message=(
                f"namespace {policy.name} enforces {_policy_text(level, version)} and this "
                f"{'pod' if resource.kind == 'Pod' else 'pod template'} {denial}; {consequence}"
            ),
            path=template.path_str,
            details={
                "namespace": policy.name,
                "level": level,
                "version": version,
                "violations": [violation_dict(template, v) for v in result.violations],
            },
        )


class UnenforcedParams(BaseModel):
    """``pss.namespace_unenforced`` parameters."""

    model_config = ConfigDict(extra="forbid")

    #: namespaces not reported (system namespaces that must run privileged pods)
    exempt: list[str] = Field(default_factory=list)


@analyzer("pss.namespace_unenforced", params=UnenforcedParams)
def namespace_unenforced(context: AnalysisContext, params: UnenforcedParams) -> Iterator[Hit]:
    """Namespaces whose labels enforce no Pod Security level (no enforce label, or privileged)."""
    inventory = context.inventory
    policies = context.memo("pss.namespaces", lambda: namespace_policies(inventory))
    exempt = set(params.exempt)
    enforce_label = LABEL_PREFIX + "enforce"
    for name, policy in policies.items():
        if name in exempt or policy.enforce.level is not Level.PRIVILEGED:
            continue
        if not policy.declared:
            # Objects live there but no manifest declares it: its labels are not known
            # (namespaces are often created elsewhere), so there is nothing to judge.
            continue
        assert policy.resource is not None
        if policy.enforce.labelled:
            why = f"its {enforce_label} label is privileged"
        else:
            why = (
                f"it has no {enforce_label} label, so PSA applies the cluster default "
                "(privileged unless the API server's AdmissionConfiguration says otherwise)"
            )
        yield Hit(
            resource=policy.resource,
            message=f"namespace {name} enforces no Pod Security level: {why}; any pod is admitted, privileged ones included",
            path=f'metadata.labels["{enforce_label}"]',
            details={
                "namespace": name,
                "declared": True,
                "enforce": policy.enforce.level.value if policy.enforce.labelled else None,
            },
        )


@analyzer("pss.namespace_modes")
def namespace_modes(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Namespaces whose audit or warn level is weaker than their enforce level."""
    policies = context.memo("pss.namespaces", lambda: namespace_policies(context.inventory))
    for name, policy in policies.items():
        if not policy.declared or policy.enforce.level is Level.PRIVILEGED:
            continue
        enforce_rank = LEVEL_ORDER[policy.enforce.level]
        weaker = [
            mode for mode in ("warn", "audit")
            if LEVEL_ORDER[policy.mode(mode).level] < enforce_rank
        ]
        if not weaker:
            continue
        assert policy.resource is not None
        described = ", ".join(
            f"{mode} is {policy.mode(mode).level.value}"
            + ("" if policy.mode(mode).labelled else " (no label)")
            for mode in weaker
        )
        effects = []
        if "warn" in weaker:
            effects.append(
                "applying a Deployment, Job or other workload whose pods break the enforced "
                "level prints no warning, and its pods are then rejected without a word to "
                "whoever applied it"
            )
        if "audit" in weaker:
            effects.append("the audit log does not record such workloads")
        yield Hit(
            resource=policy.resource,
            message=(
                f"namespace {name} enforces {policy.enforce.level.value} but {described}: "
                + "; ".join(effects)
            ),
            key=",".join(weaker),
            details={
                "namespace": name,
                "enforce": str(policy.enforce),
                "weaker": {mode: str(policy.mode(mode)) for mode in weaker},
            },
        )


@analyzer("pss.namespace_labels")
def namespace_labels(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Namespaces with Pod Security labels that PSA cannot parse."""
    policies = context.memo("pss.namespaces", lambda: namespace_policies(context.inventory))
    for name, policy in policies.items():
        if not policy.errors:
            continue
        assert policy.resource is not None
        yield Hit(
            resource=policy.resource,
            message=(
                f"namespace {name} has invalid Pod Security labels: {'; '.join(policy.errors)}. "
                "The API server refuses to create the Namespace (or to set these labels)"
            ),
            path="metadata.labels",
            details={"namespace": name, "errors": list(policy.errors)},
        )


# ---------------------------------------------------------------------------------------
# Recommendations


@dataclass
class Blocker:
    """A workload that keeps its namespace from the next stricter level."""

    template: PodTemplate
    result: PSSResult


@dataclass
class Recommendation:
    """The strictest level every workload of a namespace passes, and what blocks the next."""

    policy: NamespacePolicy
    version: str
    workloads: int
    level: Level
    #: the next stricter level, None when ``level`` is restricted
    next_level: Level | None
    blockers: list[Blocker]


def recommend(inventory: Inventory, version: str = "latest") -> list[Recommendation]:
    """Per namespace (declared or implied, sorted by name): the strictest level all its
    pods and workload templates pass at ``version``, and those failing the next level."""
    label = _parse_version(version).label
    shared = PodEvaluations(inventory)
    policies = namespace_policies(inventory)
    by_namespace: dict[str, list[int]] = {name: [] for name in policies}
    for position, template in enumerate(shared.templates):
        namespace = template.resource.namespace
        if namespace is not None:
            by_namespace.setdefault(namespace, []).append(position)
    recommendations = []
    for name in sorted(by_namespace):
        positions = by_namespace[name]
        level, next_level, blockers = Level.RESTRICTED, None, []
        for candidate, fallback in ((Level.BASELINE, Level.PRIVILEGED), (Level.RESTRICTED, Level.BASELINE)):
            failing = [
                Blocker(shared.templates[p], result)
                for p in positions
                if not (result := shared.result(p, candidate.value, label)).allowed
            ]
            if failing:
                level, next_level, blockers = fallback, candidate, failing
                break
        policy = policies.get(name) or parse_namespace_labels(name, None, declared=False)
        recommendations.append(Recommendation(policy, label, len(positions), level, next_level, blockers))
    return recommendations
