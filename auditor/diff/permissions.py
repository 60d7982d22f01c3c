"""RBAC permissions gained and lost per subject, and escalation paths newly possible.

Subjects are every identity a binding names on either side (``sa:NS:NAME``, ``user:NAME``,
``group:NAME``). A subject's permissions are its effective grants (``rbac permissions``:
through its own bindings and the groups authentication gives it), with Kubernetes' built-in
roles merged in unless ``--no-builtin-rbac``.

Each grant is flattened into *atoms*: (scope, verb, API group, resource, resource name)
or (verb, URL), wildcards kept as written. An atom of HEAD is **gained** when no BASE grant
of the same subject covers it (a cluster-wide grant covers every namespace; ``*`` covers
anything, but a ``*`` atom is covered only by ``*``; no resourceNames covers every name);
**lost** is the same the other way round. So rewriting a role without changing what it
allows (merging two rules, reordering verbs) changes nothing, and ``get`` gained next to an
existing ``*`` is not reported.

Escalation paths: the escalation graph (``rbac paths``) of each side; a non-system subject
with a path to cluster-admin in HEAD and none in BASE can newly escalate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..analysis.rbac import Grant, RBACModel, SubjectError, load_builtin
from ..analysis.rbac.paths import EscalationGraph
from ..analysis.rbac.policy import ALL, PolicyRule
from ..analysis.rbac.queries import permissions
from ..inventory import Inventory
from .grading import ESCALATION_SEVERITY, permissions_severity
from .model import EscalationChange, PermissionChange


@dataclass(frozen=True)
class Atom:
    scope: str | None
    verb: str
    api_group: str | None  #: None for a non-resource URL
    resource: str  #: resource[/subresource], or the URL
    name: str | None  #: a resourceNames entry, None for every name


def _atoms(grant: Grant) -> list[Atom]:
    rule = grant.rule
    scope = grant.scope
    out: list[Atom] = []
    if rule.non_resource_urls:
        for verb in rule.verbs:
            for url in rule.non_resource_urls:
                out.append(Atom(None, verb, None, url, None))
        return out
    names: tuple[str | None, ...] = rule.resource_names or (None,)
    for verb in rule.verbs:
        for group in rule.api_groups:
            for resource in rule.resources:
                for name in names:
                    out.append(Atom(scope, verb, group, resource, name))
    return out


def _covers(rule: PolicyRule, atom: Atom) -> bool:
    """Whether ``rule`` allows everything ``atom`` stands for (wildcards read literally)."""
    if ALL not in rule.verbs and atom.verb not in rule.verbs:
        return False
    if atom.api_group is None:
        return any(
            url == ALL or url == atom.resource
            or (url.endswith("*") and atom.resource.startswith(url[:-1]))
            for url in rule.non_resource_urls
        )
    if rule.non_resource_urls and not rule.resources:
        return False
    if ALL not in rule.api_groups and atom.api_group not in rule.api_groups:
        return False
    if ALL not in rule.resources and atom.resource not in rule.resources:
        _, slash, sub = atom.resource.partition("/")
        if not (slash and sub != ALL and f"*/{sub}" in rule.resources):
            return False
    if rule.resource_names:
        return atom.name is not None and atom.name in rule.resource_names
    return True


def _covered(atom: Atom, grants: list[Grant]) -> bool:
    for grant in grants:
        scope = grant.scope
        if scope is not None and scope != atom.scope:
            continue
        if atom.api_group is None and scope is not None:
            continue
        if _covers(grant.rule, atom):
            return True
    return False


def _grants(model: RBACModel, subject: str) -> list[Grant]:
    found = permissions(model, subject)
    return found.cluster + [g for grants in found.namespaced.values() for g in grants]


def _signature(grants: list[Grant]) -> frozenset:
    return frozenset((g.scope, g.rule) for g in grants)


def _subject_ids(model: RBACModel) -> dict[str, None]:
    return {subject.node_id: None for _, subject in model.subjects()}


def _changes(
    subject: str, label: str, mine: list[Grant], other: list[Grant], graded: bool
) -> list[PermissionChange]:
    """Atoms of ``mine`` that ``other`` does not cover, grouped by (scope, resource, via)."""
    grouped: dict[tuple, list[str]] = defaultdict(list)
    for grant in mine:
        for atom in _atoms(grant):
            if _covered(atom, other):
                continue
            key = (atom.scope, atom.api_group, atom.resource, atom.name, grant.describe())
            if atom.verb not in grouped[key]:
                grouped[key].append(atom.verb)
    changes = []
    seen: set[tuple] = set()
    for (scope, group, resource, name, via), verbs in grouped.items():
        identity = (scope, group, resource, name, tuple(sorted(verbs)))
        if identity in seen:
            continue  # the same atoms through a second grant: report the first
        seen.add(identity)
        changes.append(
            PermissionChange(
                subject, label, scope, verbs, group, resource, name, via,
                permissions_severity(verbs, resource, group) if graded else None,
            )
        )
    return changes


def permission_changes(
    base: Inventory, head: Inventory, builtin: bool = True
) -> tuple[list[PermissionChange], list[PermissionChange], list[EscalationChange], list[EscalationChange]]:
    """(gained, lost, newly possible escalation paths, escalation paths gone)."""
    roles = load_builtin(enabled=builtin)
    base_model = RBACModel.build(base, roles)
    head_model = RBACModel.build(head, roles)
    subjects = {**_subject_ids(base_model), **_subject_ids(head_model)}
    gained: list[PermissionChange] = []
    lost: list[PermissionChange] = []
    for subject in subjects:
        label = EscalationGraph.label(subject)
        try:
            before, after = _grants(base_model, subject), _grants(head_model, subject)
        except SubjectError:
            continue  # a subject string the model cannot ask about (malformed binding)
        if _signature(before) == _signature(after):
            continue
        gained += _changes(subject, label, after, before, graded=True)
        lost += _changes(subject, label, before, after, graded=False)
    order = lambda c: (c.subject, c.scope or "", c.api_group or "", c.resource, c.resource_name or "")  # noqa: E731
    gained.sort(key=order)
    lost.sort(key=order)
    new_paths, removed_paths = _escalation_changes(base, base_model, head, head_model)
    return gained, lost, new_paths, removed_paths


def _paths(inventory: Inventory, model: RBACModel) -> tuple[EscalationGraph, dict]:
    graph = EscalationGraph(model, inventory)
    starts = [node for node in graph.start_nodes() if not graph.is_system(node)]
    return graph, graph.all_paths(starts).paths


def _escalation_changes(
    base: Inventory, base_model: RBACModel, head: Inventory, head_model: RBACModel
) -> tuple[list[EscalationChange], list[EscalationChange]]:
    base_graph, base_paths = _paths(base, base_model)
    head_graph, head_paths = _paths(head, head_model)
    new = [
        EscalationChange(node, head_graph.label(node), path.describe(head_graph), ESCALATION_SEVERITY)
        for node, path in sorted(head_paths.items())
        if node not in base_paths
    ]
    removed = [
        EscalationChange(node, base_graph.label(node), path.describe(base_graph))
        for node, path in sorted(base_paths.items())
        if node not in head_paths
    ]
    return new, removed
