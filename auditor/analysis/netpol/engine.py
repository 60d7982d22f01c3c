"""The reachability engine: who may open which connections to whom, exactly.

Semantics (networking.k8s.io/v1): a connection from A to B needs egress allowed at A and
ingress allowed at B. A pod is isolated for a direction when some policy of that type
selects it; traffic of an isolated pod is what the union of the selecting policies' rules
admits; a pod no policy selects for a direction has that direction wide open.

How it stays fast: workloads that share namespace, labels and named ports behave the same,
so they form one *class*; sets of classes are Python integers used as bitmasks; selectors
are answered from an inverted label index. For each source class the engine computes the
candidate destinations as one mask (egress-admitted AND ingress-admitting), then the exact
port sets only for candidates, memoised per (source profile, destination profile), where
a profile is what the policies can tell about a class. The cost grows with classes,
distinct selectors and the connections that exist, not with pods or pod pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .conns import ALL, NONE, ConnSet, union_all
from .ipranges import IPRange, Segments
from .model import EGRESS, INGRESS, NetpolModel, PeerSpec, Policy, PortSpec, RuleSpec, Workload
from .selectors import Selector

NamedPorts = tuple[tuple[str, str, int], ...]


def bits(mask: int) -> list[int]:
    """Indices of the set bits of ``mask``, ascending."""
    if not mask:
        return []
    if mask & (mask - 1) == 0:
        return [mask.bit_length() - 1]
    text = bin(mask)[:1:-1]  # least significant bit first
    out = []
    find = text.find
    index = find("1")
    while index >= 0:
        out.append(index)
        index = find("1", index + 1)
    return out


def mask_of(indices: list[int] | range) -> int:
    mask = 0
    if len(indices) > 64:
        data = bytearray((max(indices) >> 3) + 1) if indices else bytearray()
        for i in indices:
            data[i >> 3] |= 1 << (i & 7)
        return int.from_bytes(data, "little")
    for i in indices:
        mask |= 1 << i
    return mask


def port_conns(ports: tuple[PortSpec, ...], named: NamedPorts | None) -> ConnSet:
    """What a rule's ``ports`` admit towards a destination with these named ports.

    Empty ``ports``: every port of every protocol. A named port resolves against the
    destination's container ports, on the rule's protocol; towards an IP block or a
    destination without that name it admits nothing.
    """
    if not ports:
        return ALL
    result = NONE
    for spec in ports:
        if spec.error is not None:
            continue
        if spec.port is None:
            part = ConnSet.of(spec.protocol)
        elif isinstance(spec.port, int):
            end = spec.end_port if spec.end_port is not None else spec.port
            part = ConnSet.of(spec.protocol, [(spec.port, end)])
        else:
            part = NONE
            for name, protocol, number in named or ():
                if name == spec.port:
                    if protocol == spec.protocol:
                        part = ConnSet.of(spec.protocol, [(number, number)])
                    break
        result = result | part
    return result


def peer_matches(
    peer: PeerSpec, policy_namespace: str, namespace: str, namespace_labels: Mapping[str, str],
    pod_labels: Mapping[str, str],
) -> bool:
    """Whether a rule peer selects a pod (ipBlock peers never select pods)."""
    if not peer.selects_pods:
        return False
    if peer.namespace_selector is None:
        if namespace != policy_namespace:
            return False
    elif not peer.namespace_selector.matches(namespace_labels):
        return False
    return peer.pod_selector is None or peer.pod_selector.matches(pod_labels)


@dataclass(eq=False)
class EndpointClass:
    """Workloads that no policy can tell apart: same namespace, labels and named ports."""

    index: int
    namespace: str
    labels: dict[str, str]
    named: NamedPorts
    workloads: list[Workload] = field(default_factory=list)


@dataclass(eq=False)
class CompiledRule:
    id: int
    policy: Policy
    spec: RuleSpec
    mask: int  #: classes its peers select
    ip: tuple[IPRange, ...]  #: external ranges its ipBlock peers select
    static: ConnSet | None  #: its port set, when no named port makes it depend on the destination

    @property
    def any_peer(self) -> bool:
        return self.spec.any_peer

    def conns(self, named: NamedPorts | None, cache: dict) -> ConnSet:
        if self.static is not None:
            return self.static
        key = (self.id, named)
        value = cache.get(key)
        if value is None:
            value = cache[key] = port_conns(self.spec.ports, named)
        return value

    def ip_conns(self) -> ConnSet:
        return self.static if self.static is not None else port_conns(self.spec.ports, None)


@dataclass
class Edge:
    src: Workload | IPRange
    dst: Workload | IPRange
    conns: ConnSet


class Engine:
    """Reachability over one :class:`NetpolModel`."""

    def __init__(self, model: NetpolModel) -> None:
        self.model = model
        self._named_cache: dict = {}
        self._build_classes()
        self._build_index()
        self._compile_policies()

    # ------------------------------------------------------------------ classes and index
    def _build_classes(self) -> None:
        by_key: dict[tuple, EndpointClass] = {}
        self.class_of: dict[int, EndpointClass] = {}
        for workload in self.model.workloads:
            key = (workload.namespace, tuple(sorted(workload.labels.items())), workload.named_ports)
            cls = by_key.get(key)
            if cls is None:
                cls = by_key[key] = EndpointClass(
                    len(by_key), workload.namespace, workload.labels, workload.named_ports
                )
            cls.workloads.append(workload)
            self.class_of[id(workload)] = cls
        self.classes: list[EndpointClass] = list(by_key.values())
        self.n = len(self.classes)
        self.all_mask = (1 << self.n) - 1

    def _build_index(self) -> None:
        kv: dict[tuple[str, str], list[int]] = defaultdict(list)
        keys: dict[str, list[int]] = defaultdict(list)
        per_ns: dict[str, list[int]] = defaultdict(list)
        for cls in self.classes:
            per_ns[cls.namespace].append(cls.index)
            for item in cls.labels.items():
                kv[item].append(cls.index)
                keys[item[0]].append(cls.index)
        self._kv = {k: mask_of(v) for k, v in kv.items()}
        self._keys = {k: mask_of(v) for k, v in keys.items()}
        self.ns_mask = {k: mask_of(v) for k, v in per_ns.items()}
        self._pod_selector_cache: dict[tuple, int] = {}
        self._ns_selector_cache: dict[tuple, int] = {}
        self._namespaces_cache: dict[tuple, list[str]] = {}
        self._policies_by_namespace: dict[str, list[Policy]] = defaultdict(list)
        for policy in self.model.policies:
            self._policies_by_namespace[policy.namespace].append(policy)

    def pod_selector_mask(self, selector: Selector | None) -> int:
        """Classes whose labels the selector matches (``None``/``{}``: all)."""
        if selector is None or selector.is_empty:
            return self.all_mask
        if not selector.valid:
            return 0
        key = selector.key
        cached = self._pod_selector_cache.get(key)
        if cached is not None:
            return cached
        mask = self.all_mask
        for item in selector.match_labels:
            mask &= self._kv.get(item, 0)
            if not mask:
                break
        for req in selector.requirements:
            if not mask:
                break
            if req.operator == "In":
                mask &= _or(self._kv.get((req.key, v), 0) for v in req.values)
            elif req.operator == "NotIn":
                mask &= ~_or(self._kv.get((req.key, v), 0) for v in req.values) & self.all_mask
            elif req.operator == "Exists":
                mask &= self._keys.get(req.key, 0)
            else:
                mask &= ~self._keys.get(req.key, 0) & self.all_mask
        self._pod_selector_cache[key] = mask
        return mask

    def namespaces_matching(self, selector: Selector) -> list[str]:
        key = selector.key
        cached = self._namespaces_cache.get(key)
        if cached is None:
            cached = self._namespaces_cache[key] = [
                n for n, labels in self.model.namespaces.items() if selector.matches(labels)
            ]
        return cached

    def namespace_selector_mask(self, selector: Selector) -> int:
        key = selector.key
        cached = self._ns_selector_cache.get(key)
        if cached is None:
            if selector.is_empty:
                cached = self.all_mask
            else:
                cached = _or(self.ns_mask.get(n, 0) for n in self.namespaces_matching(selector))
            self._ns_selector_cache[key] = cached
        return cached

    def peer_mask(self, peer: PeerSpec, policy_namespace: str) -> int:
        if not peer.selects_pods:
            return 0
        if peer.namespace_selector is None:
            mask = self.ns_mask.get(policy_namespace, 0)
        else:
            mask = self.namespace_selector_mask(peer.namespace_selector)
        if mask and peer.pod_selector is not None:
            mask &= self.pod_selector_mask(peer.pod_selector)
        return mask

    # ------------------------------------------------------------------ policies
    def _compile_policies(self) -> None:
        self.rules: list[CompiledRule] = []
        self.selected: dict[int, int] = {}  # id(policy) → class mask
        self.isolated = {INGRESS: 0, EGRESS: 0}
        per_class: dict[str, list[list[int]]] = {
            INGRESS: [[] for _ in range(self.n)], EGRESS: [[] for _ in range(self.n)],
        }
        self.rules_by_policy: dict[int, dict[str, list[CompiledRule]]] = {}
        for policy in self.model.policies:
            selected = self.ns_mask.get(policy.namespace, 0)
            if selected:
                selected &= self.pod_selector_mask(policy.pod_selector)
            self.selected[id(policy)] = selected
            compiled: dict[str, list[CompiledRule]] = {INGRESS: [], EGRESS: []}
            for direction in (INGRESS, EGRESS):
                if not policy.affects(direction):
                    continue
                self.isolated[direction] |= selected
                for spec in policy.rules(direction):
                    if spec.peers is None:
                        mask, ip = self.all_mask, ()
                    else:
                        mask = _or(self.peer_mask(p, policy.namespace) for p in spec.peers)
                        ip = tuple(r for p in spec.peers if p.ipblock is not None and p.error is None for r in p.ipblock.ranges)
                    static = None if spec.has_named_ports else port_conns(spec.ports, None)
                    rule = CompiledRule(len(self.rules), policy, spec, mask, ip, static)
                    self.rules.append(rule)
                    compiled[direction].append(rule)
                if selected:
                    ids = [r.id for r in compiled[direction]]
                    for index in bits(selected):
                        per_class[direction][index].extend(ids)
            self.rules_by_policy[id(policy)] = compiled
        #: per class and direction: the rules that govern it, or None when not isolated
        self.governing: dict[str, list[tuple[int, ...] | None]] = {}
        for d in (INGRESS, EGRESS):
            isolated = set(bits(self.isolated[d]))
            self.governing[d] = [
                tuple(per_class[d][i]) if i in isolated else None for i in range(self.n)
            ]
        # membership of classes in the peer masks of rules that govern some class
        live = {d: sorted({r for rules in self.governing[d] if rules for r in rules}) for d in (INGRESS, EGRESS)}
        self.live_rules = live
        self.universal = {
            d: frozenset(r for r in live[d] if self.rules[r].mask == self.all_mask) for d in (INGRESS, EGRESS)
        }
        member: dict[str, list[list[int]]] = {INGRESS: [[] for _ in range(self.n)], EGRESS: [[] for _ in range(self.n)]}
        for direction in (INGRESS, EGRESS):
            by_mask: dict[int, list[int]] = defaultdict(list)
            for rule_id in live[direction]:
                mask = self.rules[rule_id].mask
                if mask and mask != self.all_mask:
                    by_mask[mask].append(rule_id)
            for mask, rule_ids in by_mask.items():
                for index in bits(mask):
                    member[direction][index].extend(rule_ids)
        #: per class: the ingress rules whose peers include it (as a source) and the
        #: egress rules whose peers include it (as a destination), universal ones excluded
        self.member = {d: [frozenset(m) for m in member[d]] for d in (INGRESS, EGRESS)}
        self.any_named = any(r.static is None for r in self.rules)

    # ------------------------------------------------------------------ profiles
    def _src_profile(self, index: int) -> tuple:
        return (self.governing[EGRESS][index], self.member[INGRESS][index])

    def _dst_profile(self, index: int) -> tuple:
        named = self.classes[index].named if self.any_named else ()
        return (self.governing[INGRESS][index], self.member[EGRESS][index], named)

    def class_conns(self, src: int, dst: int) -> ConnSet:
        """Allowed connections from any workload of class ``src`` to one of class ``dst``."""
        named = self.classes[dst].named
        egress_rules = self.governing[EGRESS][src]
        if egress_rules is None:
            egress = ALL
        else:
            members = self.member[EGRESS][dst]
            universal = self.universal[EGRESS]
            egress = union_all(
                self.rules[r].conns(named, self._named_cache)
                for r in egress_rules if r in members or r in universal
            )
            if egress.is_empty:
                return NONE
        ingress_rules = self.governing[INGRESS][dst]
        if ingress_rules is None:
            return egress
        members = self.member[INGRESS][src]
        universal = self.universal[INGRESS]
        ingress = union_all(
            self.rules[r].conns(named, self._named_cache)
            for r in ingress_rules if r in members or r in universal
        )
        return egress & ingress

    def _egress_mask(self, rules: tuple[int, ...] | None) -> int:
        if rules is None:
            return self.all_mask
        return _or(self.rules[r].mask for r in rules)

    def _ingress_admit_mask(self, members: frozenset[int]) -> int:
        """Destinations whose ingress admits a source that the given ingress rules include."""
        mask = self.all_mask & ~self.isolated[INGRESS]
        for rule_id in members | self.universal[INGRESS]:
            rule = self.rules[rule_id]
            mask |= self.selected[id(rule.policy)]
        return mask

    def class_edges(self) -> Iterator[tuple[int, int, ConnSet]]:
        """Every (source class, destination class, connections) with something allowed."""
        egress_masks: dict = {}
        admit_masks: dict = {}
        pair_memo: dict = {}
        dst_profiles = [self._dst_profile(i) for i in range(self.n)]
        for src in range(self.n):
            egress_rules, in_members = self._src_profile(src)
            egress_mask = egress_masks.get(egress_rules)
            if egress_mask is None:
                egress_mask = egress_masks[egress_rules] = self._egress_mask(egress_rules)
            admit = admit_masks.get(in_members)
            if admit is None:
                admit = admit_masks[in_members] = self._ingress_admit_mask(in_members)
            candidates = egress_mask & admit
            src_profile = (egress_rules, in_members)
            for dst in bits(candidates):
                key = (src_profile, dst_profiles[dst])
                conns = pair_memo.get(key)
                if conns is None:
                    conns = pair_memo[key] = self.class_conns(src, dst)
                if not conns.is_empty:
                    yield src, dst, conns

    # ------------------------------------------------------------------ external
    def segments(self, direction: str) -> Segments:
        """External segments for sources (``INGRESS`` rules) or destinations (``EGRESS``)."""
        cached = getattr(self, "_segments_" + direction, None)
        if cached is None:
            cached = Segments.build(
                rule.ip for rule in self.rules if rule.spec.direction == direction and rule.ip
            )
            setattr(self, "_segments_" + direction, cached)
        return cached

    def ip_profile(
        self, rules: tuple[int, ...] | None, segments: Segments, named: NamedPorts | None = None
    ) -> list[tuple[int, ConnSet]]:
        """The segments the rules admit, as sorted (segment index, connections) pairs.

        ``named``: the destination's named ports when the pod is the destination (ingress
        from outside); ``None`` when an IP block is the destination (names admit nothing).
        """
        if rules is None:
            return [(i, ALL) for i in range(len(segments))]
        result: dict[int, ConnSet] = {}
        for rule_id in rules:
            rule = self.rules[rule_id]
            conns = rule.ip_conns() if named is None else rule.conns(named, self._named_cache)
            if conns.is_empty or not (rule.any_peer or rule.ip):
                continue
            targets = range(len(segments)) if rule.any_peer else segments.indices_within(rule.ip)
            for index in targets:
                previous = result.get(index)
                result[index] = conns if previous is None else previous | conns
        return sorted(result.items())

    def external_edges(self) -> Iterator[tuple[str, int, int, ConnSet]]:
        """(direction, class, segment index, conns): ``EGRESS`` is class → external,
        ``INGRESS`` is external → class."""
        for direction in (EGRESS, INGRESS):
            segments = self.segments(direction)
            memo: dict = {}
            for index in range(self.n):
                rules = self.governing[direction][index]
                named = self.classes[index].named if direction == INGRESS else None
                key = (rules, named)
                profile = memo.get(key)
                if profile is None:
                    profile = memo[key] = self.ip_profile(rules, segments, named)
                for segment, conns in profile:
                    yield direction, index, segment, conns

    # ------------------------------------------------------------------ virtual peers
    def ingress_from(self, dst: int, namespace: str, namespace_labels: Mapping[str, str],
                     pod_labels: Mapping[str, str]) -> ConnSet:
        """What class ``dst`` admits from a pod that is not in the inventory."""
        return self._with_virtual_peer(
            INGRESS, dst, namespace, namespace_labels, pod_labels, self.classes[dst].named
        )

    def egress_to(self, src: int, namespace: str, namespace_labels: Mapping[str, str],
                  pod_labels: Mapping[str, str], named: NamedPorts = ()) -> ConnSet:
        """What class ``src`` may send to a pod that is not in the inventory."""
        return self._with_virtual_peer(EGRESS, src, namespace, namespace_labels, pod_labels, named)

    def _with_virtual_peer(self, direction: str, cls: int, namespace: str,
                           namespace_labels: Mapping[str, str], pod_labels: Mapping[str, str],
                           named: NamedPorts) -> ConnSet:
        """The union of the rules governing ``cls`` in ``direction`` whose peers match a pod
        with these labels in ``namespace`` (everything when no policy isolates ``cls``);
        named ports resolve against ``named``, the destination's."""
        rules = self.governing[direction][cls]
        if rules is None:
            return ALL
        result = NONE
        for rule_id in rules:
            rule = self.rules[rule_id]
            if rule.any_peer or any(
                peer_matches(p, rule.policy.namespace, namespace, namespace_labels, pod_labels)
                for p in rule.spec.peers or ()
            ):
                result = result | rule.conns(named, self._named_cache)
        return result

    def is_isolated(self, workload: Workload, direction: str) -> bool:
        return bool((self.isolated[direction] >> self.class_of[id(workload)].index) & 1)

    def selecting_policies(self, workload: Workload, direction: str) -> list[Policy]:
        """The policies that select the workload for the direction, in input order."""
        index = self.class_of[id(workload)].index
        return [
            p for p in self._policies_by_namespace.get(workload.namespace, ())
            if p.affects(direction) and (self.selected[id(p)] >> index) & 1
        ]

    def selected_workloads(self, policy: Policy) -> list[Workload]:
        return [w for i in bits(self.selected[id(policy)]) for w in self.classes[i].workloads]


def _or(masks) -> int:
    result = 0
    for mask in masks:
        result |= mask
    return result
