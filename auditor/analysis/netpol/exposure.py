"""Coverage and exposure: which workloads no policy protects, and to whom the rest are open.

*Coverage*: a workload is protected for a direction when some NetworkPolicy of that type
selects it; otherwise every connection in that direction is allowed.

*Exposure* answers "who could reach this workload, including pods that do not exist yet?".
Besides the connections to real workloads and external ranges, each protected workload is
checked against:

- the *entire cluster*: rules whose peers are every pod of every namespace (an empty
  ``from``/``to``, or ``namespaceSelector: {}`` with no or an empty ``podSelector``);
- *representative peers*: one hypothetical pod per distinct selector pair used in a rule
  (e.g. "pods with role=monitoring in namespaces with env=prod"), kept only when no real
  workload already matches it exactly. A rule admits a representative peer when its
  selectors are the same requirements (an empty selector admits anything).

Ports towards a hypothetical pod stay named when a rule names them (``TCP http``): there
is no container to resolve them against.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ...runtime import gc_paused
from .conns import ALL, NONE, PROTOCOLS, ConnSet
from .engine import CompiledRule, Engine, bits, port_conns
from .model import (
    EGRESS,
    INGRESS,
    NAMESPACE_NAME_LABEL,
    PeerSpec,
    Policy,
    PortSpec,
    RuleSpec,
    Workload,
)
from .selectors import Selector


# ---------------------------------------------------------------------------- coverage
def unprotected(engine: Engine) -> list[tuple[Workload, str]]:
    """(workload, direction) pairs that no NetworkPolicy of that type selects, sorted."""
    out = []
    for workload in engine.model.workloads:
        for direction in (EGRESS, INGRESS):
            if not engine.is_isolated(workload, direction):
                out.append((workload, direction))
    out.sort(key=lambda item: (item[0].display, item[1]))
    return out


def unprotected_lines(engine: Engine) -> list[str]:
    return sorted(f"{w.display} is not protected on {d}" for w, d in unprotected(engine))


# ---------------------------------------------------------------------------- port sets with names
@dataclass(frozen=True)
class ExposureConns:
    """A connection set that may keep port names it could not resolve."""

    conns: ConnSet
    names: frozenset[tuple[str, str]] = frozenset()  # (protocol, port name)

    def __or__(self, other: ExposureConns) -> ExposureConns:
        conns = self.conns | other.conns
        if conns.is_all:
            return ExposureConns(ALL)
        return ExposureConns(conns, self.names | other.names)

    @property
    def is_empty(self) -> bool:
        return self.conns.is_empty and not self.names

    def __le__(self, other: ExposureConns) -> bool:
        if other.conns.is_all:
            return True
        return self.conns <= other.conns and self.names <= other.names

    def __str__(self) -> str:
        if self.conns.is_all:
            return "All Connections"
        if self.is_empty:
            return "No Connections"
        parts = []
        for protocol in PROTOCOLS:
            numbers = [f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in self.conns.ports(protocol)]
            names = sorted(n for p, n in self.names if p == protocol)
            if numbers or names:
                parts.append(f"{protocol} {','.join(numbers + names)}")
        return ",".join(parts)


EMPTY_EXPOSURE = ExposureConns(NONE)


def _rule_conns_unresolved(ports: tuple[PortSpec, ...]) -> ExposureConns:
    """A rule's ports towards a destination that has no containers: names stay names."""
    if not ports:
        return ExposureConns(ALL)
    result = EMPTY_EXPOSURE
    for spec in ports:
        if spec.error is not None:
            continue
        if spec.port is None:
            part = ExposureConns(ConnSet.of(spec.protocol))
        elif isinstance(spec.port, int):
            end = spec.end_port if spec.end_port is not None else spec.port
            part = ExposureConns(ConnSet.of(spec.protocol, [(spec.port, end)]))
        else:
            part = ExposureConns(NONE, frozenset({(spec.protocol, spec.port)}))
        result = result | part
    return result


def _resolve_names(value: ExposureConns, workload: Workload) -> ExposureConns:
    """Replace the names the workload's container ports define by their numbers."""
    if not value.names:
        return value
    conns, names = value.conns, set()
    for protocol, name in value.names:
        port = workload.named_port(name)
        if port is None:
            names.add((protocol, name))
        else:
            conns = conns | ConnSet.of(protocol, [(port.number, port.number)])
    return ExposureConns(conns, frozenset(names))


# ---------------------------------------------------------------------------- representative peers
def _requirement_strings(selector: Selector | None) -> tuple[str, ...]:
    """A selector's requirements in a canonical form: ``k=v`` for matchLabels and for ``In``
    with a single value, so equal meanings compare equal."""
    if selector is None:
        return ()
    items: list[tuple[str, str]] = [(k, f"{k}={v}") for k, v in selector.match_labels]
    for req in selector.requirements:
        if req.operator == "In" and len(set(req.values)) == 1:
            items.append((req.key, f"{req.key}={req.values[0]}"))
        else:
            items.append((req.key, str(req)))
    return tuple(text for _, text in sorted(items))


def _full_match(rule: Selector, rep: Selector | None) -> bool:
    """Whether a rule selector admits a representative peer's selector: an empty rule
    selector admits anything; otherwise the requirements must be the same."""
    if rule.is_empty:
        return True
    return _requirement_strings(rule) == _requirement_strings(rep)


@dataclass
class Representative:
    """A hypothetical pod inferred from a rule peer's selectors."""

    namespace_selector: Selector
    pod_selector: Selector | None
    namespace: str  #: the policy's namespace when the peer had no namespaceSelector, else ""

    @property
    def key(self) -> tuple:
        return (_requirement_strings(self.namespace_selector), _requirement_strings(self.pod_selector))

    def __str__(self) -> str:
        ns = self.namespace_selector
        if (
            len(ns.match_labels) == 1 and not ns.requirements
            and ns.match_labels[0][0] == NAMESPACE_NAME_LABEL
        ):
            ns_text = ns.match_labels[0][1]
        elif not ns.match_labels and not ns.requirements:
            ns_text = "[all namespaces]"
        else:
            ns_text = f"[namespace with {{{ns.exposure_string()}}}]"
        pod = self.pod_selector
        if pod is None or (not pod.match_labels and not pod.requirements):
            pod_text = "[all pods]"
        else:
            pod_text = f"[pod with {{{pod.exposure_string()}}}]"
        return f"{ns_text}/{pod_text}"

    def admitted_by(self, peer: PeerSpec, policy_namespace: str) -> bool:
        if not peer.selects_pods:
            return False
        if peer.namespace_selector is None:
            if self.namespace != policy_namespace:
                return False
        elif not _full_match(peer.namespace_selector, self.namespace_selector):
            return False
        return peer.pod_selector is None or _full_match(peer.pod_selector, self.pod_selector)


def _entire_cluster_peer(peer: PeerSpec) -> bool:
    return (
        peer.selects_pods and peer.namespace_selector is not None
        and peer.namespace_selector.is_empty
        and (peer.pod_selector is None or peer.pod_selector.is_empty)
    )


def _rule_is_entire_cluster(rule: RuleSpec) -> bool:
    return rule.peers is None or any(_entire_cluster_peer(p) for p in rule.peers)


def representatives(engine: Engine) -> list[Representative]:
    """One representative per distinct selector pair of the rules, minus those a real
    workload matches exactly (plain matchLabels on both the pod and the namespace)."""
    found: dict[tuple, Representative] = {}
    for policy in engine.model.policies:
        for direction in (INGRESS, EGRESS):
            if not policy.affects(direction):
                continue
            for rule in policy.rules(direction):
                if _rule_is_entire_cluster(rule):
                    continue
                for peer in rule.peers or ():
                    if not peer.selects_pods or (peer.pod_selector is not None and not peer.pod_selector.valid):
                        continue
                    if peer.namespace_selector is None:
                        ns_selector = Selector(((NAMESPACE_NAME_LABEL, policy.namespace),), ())
                        namespace = policy.namespace
                    else:
                        ns_selector, namespace = peer.namespace_selector, ""
                    rep = Representative(ns_selector, peer.pod_selector, namespace)
                    found.setdefault(rep.key, rep)
    namespaces = engine.model.namespaces
    kept = []
    for rep in found.values():
        pod, ns = rep.pod_selector, rep.namespace_selector
        removable = (
            pod is not None and not pod.requirements and not ns.requirements
            and ns.match_labels and pod.match_labels
        )
        if removable and any(
            pod.matches(w.labels) and ns.matches(namespaces.get(w.namespace, {}))
            for w in engine.model.workloads
        ):
            continue
        kept.append(rep)
    return kept


# ---------------------------------------------------------------------------- exposure report
@dataclass
class WorkloadExposure:
    workload: Workload
    protected: dict[str, bool]
    #: per direction: (target text, connections) lines
    lines: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: {INGRESS: [], EGRESS: []})


def _entire_cluster_conns(policies: list[Policy], direction: str) -> ExposureConns:
    result = EMPTY_EXPOSURE
    for policy in policies:
        for rule in policy.rules(direction):
            if _rule_is_entire_cluster(rule):
                result = result | _rule_conns_unresolved(rule.ports)
    return result


def _admitting_rules(engine: Engine, reps: list[Representative]) -> list[list[CompiledRule]]:
    """For each representative, the compiled rules that admit it (indexed by selector keys
    rather than tried one by one): a rule without peers admits everyone; a peer admits a
    representative when its namespace part and its pod part each fully match."""
    universal: list[CompiledRule] = []
    buckets: dict[tuple, list[CompiledRule]] = defaultdict(list)
    for rule in engine.rules:
        if rule.any_peer:
            universal.append(rule)
            continue
        for peer in rule.spec.peers or ():
            if not peer.selects_pods:
                continue
            ns = peer.namespace_selector
            if ns is None:
                ns_key: tuple = ("name", rule.policy.namespace)
            elif ns.is_empty:
                ns_key = ("any",)
            else:
                ns_key = ("sel", _requirement_strings(ns))
            pod = peer.pod_selector
            pod_key: tuple = ("any",) if pod is None or pod.is_empty else ("sel", _requirement_strings(pod))
            bucket = buckets[(ns_key, pod_key)]
            if not bucket or bucket[-1] is not rule:
                bucket.append(rule)
    result = []
    for rep in reps:
        ns_keys = [("any",), ("sel", _requirement_strings(rep.namespace_selector))]
        if rep.namespace:
            ns_keys.append(("name", rep.namespace))
        pod_keys = [("any",), ("sel", _requirement_strings(rep.pod_selector))]
        found: dict[int, CompiledRule] = {r.id: r for r in universal}
        for ns_key in ns_keys:
            for pod_key in pod_keys:
                for rule in buckets.get((ns_key, pod_key), ()):
                    found[rule.id] = rule
        result.append([found[k] for k in sorted(found)])
    return result


def exposure_analysis(engine: Engine, ip_lines: dict[tuple[str, str], list[tuple[str, str]]]) -> list[WorkloadExposure]:
    """The exposed workloads with their lines. ``ip_lines``: (workload display, direction) →
    (range text, conns text) from the connection list."""
    reps = representatives(engine)
    # (direction, class) → rep index → the rules (of policies selecting the class) admitting it
    contributions: dict[tuple[str, int], dict[int, list[CompiledRule]]] = defaultdict(dict)
    for rep_index, rules in enumerate(_admitting_rules(engine, reps)):
        for rule in rules:
            for class_index in bits(engine.selected[id(rule.policy)]):
                per_rep = contributions[(rule.spec.direction, class_index)]
                per_rep.setdefault(rep_index, []).append(rule)
    unresolved: dict[int, ExposureConns] = {}
    per_class: dict[tuple[str, int], list[tuple[str, str]]] = {}
    result = []
    for workload in engine.model.workloads:
        index = engine.class_of[id(workload)].index
        item = WorkloadExposure(workload, {})
        listed = False
        for direction in (INGRESS, EGRESS):
            protected = engine.is_isolated(workload, direction)
            item.protected[direction] = protected
            if not protected:
                listed = True
                item.lines[direction].append(("entire-cluster", "All Connections"))
                continue
            lines = per_class.get((direction, index))
            if lines is None:
                lines = per_class[(direction, index)] = []
                policies = engine.selecting_policies(workload, direction)
                general = _entire_cluster_conns(policies, direction)
                if direction == INGRESS:
                    general = _resolve_names(general, workload)
                if not general.is_empty:
                    lines.append(("entire-cluster", str(general)))
                for rep_index, rules in sorted(contributions.get((direction, index), {}).items()):
                    conns = EMPTY_EXPOSURE
                    for rule in rules:
                        if direction == EGRESS:
                            part = unresolved.get(rule.id)
                            if part is None:
                                part = unresolved[rule.id] = _rule_conns_unresolved(rule.spec.ports)
                        else:
                            part = ExposureConns(port_conns(rule.spec.ports, workload.named_ports))
                        conns = conns | part
                    if conns.is_empty or (not general.is_empty and conns <= general):
                        continue
                    lines.append((str(reps[rep_index]), str(conns)))
            if lines:
                listed = True
                item.lines[direction].extend(lines)
        if listed:
            for direction in (INGRESS, EGRESS):
                item.lines[direction].extend(ip_lines.get((workload.display, direction), []))
            result.append(item)
    return result


def exposure_text(engine: Engine, connlist: list) -> str:
    """The exposure section of the report, after the connection list (upstream txt format)."""
    with gc_paused():
        return _exposure_text(engine, connlist)


def _exposure_text(engine: Engine, connlist: list) -> str:
    ip_lines: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for conn in connlist:
        if isinstance(conn.src, tuple):
            ip_lines.setdefault((conn.dst_name, INGRESS), []).append((conn.src_name, str(conn.conns)))
        if isinstance(conn.dst, tuple):
            ip_lines.setdefault((conn.src_name, EGRESS), []).append((conn.dst_name, str(conn.conns)))
    exposed = exposure_analysis(engine, ip_lines)
    width = max((len(e.workload.display) for e in exposed), default=0)
    egress = sorted(
        ((e.workload.display, target, conns) for e in exposed for target, conns in e.lines[EGRESS]),
        key=lambda t: (t[0], t[1]),
    )
    ingress = sorted(
        ((e.workload.display, target, conns) for e in exposed for target, conns in e.lines[INGRESS]),
        key=lambda t: (t[0], t[1]),
    )
    unprotected_text = sorted(
        f"{e.workload.display} is not protected on {d}"
        for e in exposed for d in (INGRESS, EGRESS) if not e.protected[d]
    )
    out = "Exposure Analysis Result:\n"
    if egress:
        out += "Egress Exposure:\n" + "".join(
            f"{w.ljust(width)} \t=> \t{t} : {c}\n" for w, t, c in egress
        )
    if ingress:
        out += ("\n" if egress else "") + "Ingress Exposure:\n" + "".join(
            f"{w.ljust(width)} \t<= \t{t} : {c}\n" for w, t, c in ingress
        )
    if unprotected_text:
        out += "\nWorkloads not protected by network policies:\n" + "".join(
            line + "\n" for line in unprotected_text
        )
    return out


def exposure_report(engine: Engine) -> str:
    """Connection list, a blank line, then the exposure analysis (the txt report)."""
    from .connlist import sorted_connections

    connlist = sorted_connections(engine)
    text = "".join(c.line + "\n" for c in connlist)
    if text:
        text += "\n"
    return text + exposure_text(engine, connlist)


__all__ = [
    "ExposureConns",
    "Representative",
    "exposure_report",
    "representatives",
    "unprotected",
    "unprotected_lines",
]
