"""The evaluator: every rule of every pack over one inventory, producing findings.

Rules are compiled once (conditions to closures, match filters to sets). Objects are walked
once: each pod spec's containers are visited once for all container rules, not once per
rule. Analyzer rules run once per scan over the whole inventory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..analysis.registry import AnalysisContext, AnalysisSettings, AnalyzerSpec, Hit, get_analyzer
from ..inventory import Inventory, Resource, iter_containers
from ..inventory.podspec import ContainerRef, PodTemplate
from .conditions import Predicate, Target, compile_condition, compile_value_lookup
from .findings import Finding
from .rules import AnalyzerCheck, Rule

_PLACEHOLDER = re.compile(r"\{(container|container_type|kind|name|namespace|value:[^}]+)\}")


@dataclass(slots=True)
class _Where:
    """Where a finding is, for message templates."""

    resource: Resource
    target: Target | None = None
    container: ContainerRef | None = None


def _show(value: object) -> str:
    """A value as a manifest would spell it: ``false``, not Python's ``False``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _compile_message(rule: Rule) -> Callable[[_Where], str]:
    template = rule.message
    if template is None:
        if rule.target == "container":
            return lambda w: f"{rule.title} (container {w.container.name!r})" if w.container else rule.title
        return lambda w: rule.title
    lookups = {
        name: compile_value_lookup(name[len("value:"):], rule.target)
        for name in _PLACEHOLDER.findall(template)
        if name.startswith("value:")
    }

    def render(where: _Where) -> str:
        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name == "container":
                return where.container.name if where.container else ""
            if name == "container_type":
                return where.container.field if where.container else ""
            if name == "kind":
                return where.resource.kind
            if name == "name":
                return where.resource.name
            if name == "namespace":
                return where.resource.namespace or ""
            values = lookups[name](where.target) if where.target is not None else []
            return ", ".join(_show(v) for v in values) if values else "(unset)"

        return _PLACEHOLDER.sub(substitute, template)

    return render


class CompiledRule:
    """A rule ready to evaluate: filters as sets, conditions as closures."""

    __slots__ = (
        "rule", "kinds", "exclude_kinds", "namespaces", "exclude_namespaces", "labels",
        "container_fields", "when", "check", "analyzer", "message", "filters_resources",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        match = rule.match
        self.kinds = frozenset(match.kinds) if match.kinds is not None else None
        self.exclude_kinds = frozenset(match.exclude_kinds)
        self.namespaces = frozenset(match.namespaces) if match.namespaces is not None else None
        self.exclude_namespaces = frozenset(match.exclude_namespaces)
        self.labels = dict(match.labels)
        self.container_fields = tuple(match.containers)
        self.filters_resources = bool(
            self.namespaces is not None or self.exclude_namespaces or self.labels
        )
        self.when: Predicate | None = (
            compile_condition(rule.when, rule.target) if rule.when is not None else None
        )
        self.analyzer: AnalyzerSpec | None = None
        self.check: Predicate | None = None
        if isinstance(rule.check, AnalyzerCheck):
            self.analyzer = get_analyzer(rule.check.analyzer)
        else:
            self.check = compile_condition(rule.check, rule.target)
        self.message = _compile_message(rule)

    def applies_to_kind(self, kind: str) -> bool:
        return (self.kinds is None or kind in self.kinds) and kind not in self.exclude_kinds

    def applies_to(self, resource: Resource) -> bool:
        """Namespace and label filters (kind is checked separately, and cached)."""
        if self.namespaces is not None and resource.namespace not in self.namespaces:
            return False
        if resource.namespace in self.exclude_namespaces:
            return False
        if self.labels:
            labels = resource.labels
            return all(labels.get(k) == v for k, v in self.labels.items())
        return True

    def holds(self, target: Target) -> bool:
        if self.when is not None and not self.when(target):
            return False
        return self.check(target)  # type: ignore[misc]

    def finding(
        self, where: _Where, path: str | None, container: str | None = None,
    ) -> Finding:
        rule = self.rule
        return Finding(
            rule=rule.id,
            title=rule.title,
            severity=rule.severity,
            stride=rule.stride,  # shared with the rule: findings never mutate it
            layer=rule.layer,
            frameworks=rule.frameworks,
            resource=where.resource,
            message=self.message(where),
            remediation=rule.remediation,
            container=container,
            path=path,
        )

    def finding_from_hit(self, hit: Hit) -> Finding:
        rule = self.rule
        return Finding(
            rule=rule.id,
            title=rule.title,
            severity=hit.severity or rule.severity,
            stride=rule.stride,
            layer=rule.layer,
            frameworks=rule.frameworks,
            resource=hit.resource,
            message=hit.message,
            remediation=rule.remediation,
            container=hit.container,
            path=hit.path,
            key=hit.key,
            details=hit.details,
        )


def _applicable(rules: list[CompiledRule], resource: Resource) -> list[CompiledRule]:
    """The rules whose namespace/label filters admit ``resource`` (most rules have none)."""
    if not any(r.filters_resources for r in rules):
        return rules
    return [r for r in rules if not r.filters_resources or r.applies_to(resource)]


class Engine:
    """Evaluates compiled rules over an inventory."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = [CompiledRule(rule) for rule in rules]
        self._object_rules = [r for r in self.rules if r.analyzer is None and r.rule.target == "object"]
        self._pod_rules = [r for r in self.rules if r.analyzer is None and r.rule.target == "pod"]
        self._container_rules = [
            r for r in self.rules if r.analyzer is None and r.rule.target == "container"
        ]
        self._analyzer_rules = [r for r in self.rules if r.analyzer is not None]
        self._by_kind: dict[tuple[str, str], list[CompiledRule]] = {}

    def _rules_for(self, group: str, kind: str) -> list[CompiledRule]:
        key = (group, kind)
        cached = self._by_kind.get(key)
        if cached is None:
            source = {
                "object": self._object_rules,
                "pod": self._pod_rules,
                "container": self._container_rules,
            }[group]
            cached = [r for r in source if r.applies_to_kind(kind)]
            self._by_kind[key] = cached
        return cached

    def evaluate(
        self, inventory: Inventory, settings: AnalysisSettings | None = None
    ) -> list[Finding]:
        findings: list[Finding] = []
        for resource in inventory:
            rules = self._rules_for("object", resource.kind)
            if rules:
                target = Target(resource.obj)
                for rule in rules:
                    if rule.applies_to(resource) and rule.holds(target):
                        findings.append(rule.finding(_Where(resource, target), None))
        for template in inventory.pod_templates:
            self._evaluate_template(template, findings)
        if self._analyzer_rules:
            context = AnalysisContext(inventory, settings or AnalysisSettings())
            for rule in self._analyzer_rules:
                assert rule.analyzer is not None and isinstance(rule.rule.check, AnalyzerCheck)
                for hit in rule.analyzer.func(context, rule.rule.check.parsed_params):
                    if rule.applies_to_kind(hit.resource.kind) and rule.applies_to(hit.resource):
                        findings.append(rule.finding_from_hit(hit))
        return findings

    def _evaluate_template(self, template: PodTemplate, findings: list[Finding]) -> None:
        resource = template.resource
        pod_rules = _applicable(self._rules_for("pod", resource.kind), resource)
        container_rules = _applicable(self._rules_for("container", resource.kind), resource)
        if not pod_rules and not container_rules:
            return
        spec_path = template.path_str
        if pod_rules:
            target = Target(resource.obj, template.spec, template.metadata)
            for rule in pod_rules:
                if rule.holds(target):
                    findings.append(rule.finding(_Where(resource, target), spec_path))
        if container_rules:
            for ref in iter_containers(template.spec):
                target = Target(
                    resource.obj, template.spec, template.metadata, ref.container, ref.field
                )
                where = None
                for rule in container_rules:
                    if ref.field in rule.container_fields and rule.holds(target):
                        where = where or _Where(resource, target, ref)
                        findings.append(
                            rule.finding(
                                where, f"{spec_path}.{ref.field}[{ref.index}]", ref.name
                            )
                        )
