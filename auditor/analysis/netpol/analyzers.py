"""NetworkPolicy analyzers for the ``policies/netpol.yaml`` rule pack.

Every analyzer shares one engine per scan (``context.memo``), so the pack costs one model
build and one policy compilation however many rules use it.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ...inventory import Resource
from ...runtime import gc_paused
from ...threat import Severity
from ..registry import AnalysisContext, Hit, NoParams, analyzer
from . import analyze
from .conns import NONE, ConnSet
from .engine import Engine, bits, port_conns
from .ingress import front_door_exposures, service_exposures
from .model import EGRESS, INGRESS, NAMESPACE_NAME_LABEL, Policy, RuleSpec, Workload

DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns"}
DNS_NAMED_PORTS = (("dns", "UDP", 53), ("dns-tcp", "TCP", 53))
DNS = ConnSet.of("UDP", [(53, 53)]) | ConnSet.of("TCP", [(53, 53)])


class DirectionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["Ingress", "Egress"]


def engine_of(context: AnalysisContext) -> Engine:
    return context.memo("netpol.engine", lambda: analyze(context.inventory))


def eager(func: Callable[..., Iterator[Hit]]) -> Callable[..., list[Hit]]:
    """Collect an analyzer's hits at once, with the garbage collector paused (see
    :func:`~auditor.analysis.netpol.engine.gc_paused`)."""

    @functools.wraps(func)
    def run(context: AnalysisContext, params) -> list[Hit]:
        with gc_paused():
            return list(func(context, params))

    return run


def _namespaces_with_workloads(engine: Engine) -> dict[str, list[Workload]]:
    found: dict[str, list[Workload]] = defaultdict(list)
    for workload in engine.model.workloads:
        found[workload.namespace].append(workload)
    return dict(sorted(found.items()))


def _namespace_resource(context: AnalysisContext, namespace: str) -> Resource:
    """The Namespace object, declared or implied (its identity never depends on ordering)."""
    return context.inventory.namespace_resource(namespace)


def _policies_by_namespace(engine: Engine) -> dict[str, list[Policy]]:
    found: dict[str, list[Policy]] = defaultdict(list)
    for policy in engine.model.policies:
        found[policy.namespace].append(policy)
    return found


def _names(workloads: list[Workload], limit: int = 5) -> str:
    names = sorted(w.display for w in workloads)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


@analyzer("netpol.namespaces_without_policy")
@eager
def namespaces_without_policy(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Namespaces that run workloads and have no NetworkPolicy at all."""
    engine = engine_of(context)
    policies = _policies_by_namespace(engine)
    for namespace, workloads in _namespaces_with_workloads(engine).items():
        if policies.get(namespace):
            continue
        yield Hit(
            resource=_namespace_resource(context, namespace),
            message=(
                f"namespace {namespace} runs {len(workloads)} workload(s) ({_names(workloads)}) and has "
                "no NetworkPolicy: every pod in it accepts connections from any pod in the cluster "
                "and may connect anywhere, inside the cluster or out"
            ),
            key=namespace,
        )


def _is_default_deny(policy: Policy, direction: str) -> bool:
    """Selects every pod of its namespace (present and future) for the direction, without a
    rule that admits everything back."""
    if not policy.affects(direction) or not policy.pod_selector.is_empty:
        return False
    return not any(rule.any_peer and not rule.ports for rule in policy.rules(direction))


@analyzer("netpol.missing_default_deny", params=DirectionParams)
@eager
def missing_default_deny(context: AnalysisContext, params: DirectionParams) -> Iterator[Hit]:
    """Namespaces with NetworkPolicies but none that isolates every pod for the direction."""
    engine = engine_of(context)
    policies = _policies_by_namespace(engine)
    direction = params.direction
    for namespace, workloads in _namespaces_with_workloads(engine).items():
        mine = policies.get(namespace)
        if not mine or any(_is_default_deny(p, direction) for p in mine):
            continue
        open_now = [w for w in workloads if not engine.is_isolated(w, direction)]
        state = (
            f"{len(open_now)} of its {len(workloads)} workload(s) are not isolated for {direction} today"
            if open_now else "every current workload happens to be selected, but new ones will not be"
        )
        yield Hit(
            resource=_namespace_resource(context, namespace),
            message=(
                f"namespace {namespace} has NetworkPolicies but no default-deny {direction} policy "
                f"(podSelector: {{}} with policyTypes [{direction}]): {state}"
            ),
            key=f"{namespace}|{direction}",
        )


@analyzer("netpol.unprotected_workloads", params=DirectionParams)
@eager
def unprotected_workloads(context: AnalysisContext, params: DirectionParams) -> Iterator[Hit]:
    """Workloads that no NetworkPolicy selects for the direction, in namespaces that have some."""
    engine = engine_of(context)
    policies = _policies_by_namespace(engine)
    direction = params.direction
    for workload in engine.model.workloads:
        if not policies.get(workload.namespace) or engine.is_isolated(workload, direction):
            continue
        effect = (
            "any pod in the cluster and any external address may connect to it"
            if direction == INGRESS else "it may connect to any pod and any external address"
        )
        yield Hit(
            resource=workload.resource,
            message=(
                f"{workload.display} is selected by no NetworkPolicy for {direction} although its "
                f"namespace has policies: {effect}"
            ),
            path=workload.template.path_str,
            key=direction,
        )


def _scope(rule: RuleSpec) -> str:
    return "all ports" if not rule.ports else rule.describe_ports()


def _rules_in_force(policy) -> Iterator[tuple[str, str, RuleSpec]]:
    """(direction, peer field ``from``/``to``, rule) for every rule of the directions the
    policy affects (a rule of a direction not in policyTypes does nothing)."""
    for direction in (INGRESS, EGRESS):
        if policy.affects(direction):
            side = "from" if direction == INGRESS else "to"
            for rule in policy.rules(direction):
                yield direction, side, rule


@analyzer("netpol.allow_all_rules")
@eager
def allow_all_rules(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Rules that admit every peer, or every pod of every namespace."""
    engine = engine_of(context)
    for policy in engine.model.policies:
        for direction, side, rule in _rules_in_force(policy):
            if rule.any_peer:
                what = f"every source and destination: no '{side}' means any pod of any namespace and any external address"
            elif any(
                p.selects_pods and p.namespace_selector is not None and p.namespace_selector.is_empty
                and (p.pod_selector is None or p.pod_selector.is_empty)
                for p in rule.peers or ()
            ):
                what = "every pod of every namespace (namespaceSelector: {} without a narrower podSelector)"
            else:
                continue
            yield Hit(
                resource=policy.resource,
                message=f"{direction.lower()} {rule.label.split(' ', 1)[1]} of {policy.ref} admits {what}, on {_scope(rule)}",
                path=rule.field,
                key=f"{direction}/{rule.index}",
                severity=None if not rule.ports else Severity.low,
            )


@analyzer("netpol.any_address_ipblocks")
@eager
def any_address_ipblocks(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """ipBlock peers whose CIDR is the whole address space (0.0.0.0/0 or ::/0)."""
    engine = engine_of(context)
    for policy in engine.model.policies:
        for direction, side, rule in _rules_in_force(policy):
            for peer in rule.peers or ():
                block = peer.ipblock
                if block is None or peer.error is not None or not block.cidr.strip().endswith("/0"):
                    continue
                verb = "accepts connections from" if direction == INGRESS else "may connect to"
                yield Hit(
                    resource=policy.resource,
                    message=(
                        f"{rule.label} of {policy.ref}: the selected pods {verb} any address "
                        f"(ipBlock {block}) on {_scope(rule)}"
                    ),
                    path=f"{rule.field}.{side}[{peer.index}].ipBlock",
                    key=f"{direction}/{rule.index}/{peer.index}",
                )


@analyzer("netpol.unused_policies")
@eager
def unused_policies(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """NetworkPolicies that select no workload of the scanned manifests."""
    engine = engine_of(context)
    for policy in engine.model.policies:
        if engine.selected[id(policy)]:
            continue
        yield Hit(
            resource=policy.resource,
            message=(
                f"{policy.ref} selects no workload in the scanned manifests (podSelector "
                f"{policy.pod_selector} in namespace {policy.namespace}); it has no effect until a "
                "matching pod exists"
            ),
        )


def _egress_destinations(engine: Engine, policy: Policy, rule: RuleSpec) -> list[Workload]:
    mask = engine.all_mask if rule.any_peer else 0
    if not rule.any_peer:
        for peer in rule.peers or ():
            mask |= engine.peer_mask(peer, policy.namespace)
    return [w for i in bits(mask) for w in engine.classes[i].workloads]


@analyzer("netpol.unresolved_named_ports")
@eager
def unresolved_named_ports(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Named ports in rules that no destination workload defines (on the rule's protocol)."""
    engine = engine_of(context)
    for policy in engine.model.policies:
        selected = engine.selected_workloads(policy)
        for direction, _side, rule in _rules_in_force(policy):
            named = [p for p in rule.ports if p.is_named and p.error is None]
            if not named:
                continue
            if direction == INGRESS:
                if not selected:
                    continue  # the unused-policy rule says it
                targets, where = selected, "the workloads the policy selects"
            else:
                targets = _egress_destinations(engine, policy, rule)
                where = "the workloads the rule's peers select"
            for spec in named:
                if any(
                    (p := w.named_port(str(spec.port))) is not None and p.protocol == spec.protocol
                    for w in targets
                ):
                    continue
                reason = (
                    f"none of {where} has a {spec.protocol} container port named {spec.port!r}"
                    if targets else "the rule's peers select no workload (named ports never match ipBlock addresses)"
                )
                yield Hit(
                    resource=policy.resource,
                    message=f"{rule.label} of {policy.ref} names port {spec.port!r}, but {reason}: the entry admits nothing",
                    path=f"{rule.field}.ports",
                    key=f"{direction}/{rule.index}/{spec.port}/{spec.protocol}",
                )


def _by_name_only(selector) -> bool:
    """Selects namespaces by name only (``kubernetes.io/metadata.name``, which only the API
    server sets): an explicit reference, such as kube-system, not a label to be matched."""
    keys = {k for k, _ in selector.match_labels} | {r.key for r in selector.requirements}
    return keys == {NAMESPACE_NAME_LABEL} and all(
        r.operator == "In" for r in selector.requirements
    )


@analyzer("netpol.unmatched_namespace_selectors")
@eager
def unmatched_namespace_selectors(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """namespaceSelectors that match no namespace of the scanned manifests."""
    engine = engine_of(context)
    for policy in engine.model.policies:
        for direction, side, rule in _rules_in_force(policy):
            for peer in rule.peers or ():
                selector = peer.namespace_selector
                if not peer.selects_pods or selector is None or selector.is_empty:
                    continue
                if _by_name_only(selector) or engine.namespaces_matching(selector):
                    continue  # a namespace named explicitly may live outside these manifests
                yield Hit(
                    resource=policy.resource,
                    message=(
                        f"{rule.label} of {policy.ref}: namespaceSelector {selector} matches no "
                        "namespace in the scanned manifests (check the labels: namespaces carry "
                        f"{NAMESPACE_NAME_LABEL}=<name> automatically)"
                    ),
                    path=f"{rule.field}.{side}[{peer.index}].namespaceSelector",
                    key=f"{direction}/{rule.index}/{peer.index}",
                )


def _dns_allowed(engine: Engine, index: int, dns_classes: list[int]) -> bool:
    for target in dns_classes:
        if not (engine.class_conns(index, target) & DNS).is_empty:
            return True
    namespace_labels = engine.model.namespaces.get(
        DNS_NAMESPACE, {NAMESPACE_NAME_LABEL: DNS_NAMESPACE}
    )
    if not (engine.egress_to(index, DNS_NAMESPACE, namespace_labels, DNS_LABELS, DNS_NAMED_PORTS) & DNS).is_empty:
        return True
    segments = engine.segments(EGRESS)
    rules = engine.governing[EGRESS][index]
    return any(not (conns & DNS).is_empty for _, conns in engine.ip_profile(rules, segments))


@analyzer("netpol.egress_without_dns")
@eager
def egress_without_dns(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Workloads whose egress is isolated and that may not reach DNS (UDP/TCP 53)."""
    engine = engine_of(context)
    dns_classes = [
        engine.class_of[id(w)].index for w in engine.model.workloads
        if w.labels.get("k8s-app") in ("kube-dns", "coredns")
    ]
    memo: dict = {}
    for workload in engine.model.workloads:
        if not engine.is_isolated(workload, EGRESS) or workload.labels.get("k8s-app") in ("kube-dns", "coredns"):
            continue
        index = engine.class_of[id(workload)].index
        key = engine.governing[EGRESS][index]
        if key not in memo:
            memo[key] = _dns_allowed(engine, index, dns_classes)
        if memo[key]:
            continue
        policies = ", ".join(p.ref for p in engine.selecting_policies(workload, EGRESS))
        yield Hit(
            resource=workload.resource,
            message=(
                f"{workload.display} is isolated for Egress (by {policies}) and no rule lets it reach "
                "DNS on UDP/TCP 53 (kube-dns pods or any address): name lookups fail, so the "
                "workload cannot find the services it calls"
            ),
            path=workload.template.path_str,
        )


@analyzer("netpol.exposed_without_ingress_policy")
@eager
def exposed_without_ingress_policy(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Workloads behind an Ingress, Route, LoadBalancer or NodePort Service that no ingress
    policy selects."""
    engine = engine_of(context)
    via: dict[int, tuple[Workload, set[str]]] = {}
    for item in front_door_exposures(engine):
        via.setdefault(id(item.workload), (item.workload, set()))[1].update(item.via)
    for item in service_exposures(engine):
        via.setdefault(id(item.workload), (item.workload, set()))[1].add(
            f"Service {item.service.ref} ({item.service.type})"
        )
    for workload, doors in via.values():
        if engine.is_isolated(workload, INGRESS):
            continue
        yield Hit(
            resource=workload.resource,
            message=(
                f"{workload.display} receives outside traffic through {', '.join(sorted(doors))} and no "
                "NetworkPolicy selects it for Ingress: besides the front door, every pod in the "
                "cluster and every address that reaches the node network may connect to any of its ports"
            ),
            path=workload.template.path_str,
        )


@analyzer("netpol.blocked_front_doors")
@eager
def blocked_front_doors(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Ingresses, Routes and LoadBalancer/NodePort Services whose traffic the policies drop."""
    engine = engine_of(context)
    doors = {d.ref: d for d in engine.model.front_doors}
    for item in front_door_exposures(engine):
        if item.wanted.is_empty or not engine.is_isolated(item.workload, INGRESS):
            continue
        # The controller's pods are not in the manifests: the route is reported dead only
        # when no ingress rule admits the wanted ports from any peer at all.
        named = item.workload.named_ports
        policies = engine.selecting_policies(item.workload, INGRESS)
        admitted = NONE
        for policy in policies:
            for rule in policy.ingress:
                admitted = admitted | port_conns(rule.ports, named)
        if not (admitted & item.wanted).is_empty:
            continue
        for ref in item.via:
            door = doors[ref]
            yield Hit(
                resource=door.resource,
                message=(
                    f"{ref} sends {item.wanted} to {item.workload.display}, but no ingress rule of "
                    f"{', '.join(p.ref for p in policies)} admits {item.wanted} from any peer, so "
                    "the ingress controller cannot reach it: the route is dead"
                ),
                key=item.workload.display,
            )
    for exposure in service_exposures(engine):
        if exposure.admitted:
            continue
        yield Hit(
            resource=exposure.service.resource,
            message=(
                f"{exposure.service.type} Service {exposure.service.ref} sends {exposure.wanted} to "
                f"{exposure.workload.display}, but its ingress policies admit no external address "
                "on that port: outside clients cannot connect"
            ),
            key=f"{exposure.workload.display}/{exposure.wanted}",
        )


INVALID_CODES = {
    "invalid-peer", "bad-cidr", "invalid-selector", "invalid-port", "quoted-port",
    "except-outside-cidr", "invalid-policy-type", "ignored-rules", "invalid-rule",
}


@analyzer("netpol.invalid_constructs")
@eager
def invalid_constructs(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Policy fields the API server rejects or that silently match nothing."""
    engine = engine_of(context)
    for note in engine.model.notes:
        if note.code not in INVALID_CODES or note.resource is None:
            continue
        yield Hit(
            resource=note.resource,
            message=f"{note.resource.namespace}/{note.resource.name}: {note.message}",
            path=note.path,
            key=f"{note.code}|{note.path}|{note.message}",
        )
