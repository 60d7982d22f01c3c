"""The NetworkPolicy model of an inventory: namespaces, workloads, policies and front doors.

Everything the reachability engine needs is parsed here once, from plain manifests, into
small immutable records; everything a person may want to be told about (an invalid CIDR,
a peer the API server would reject, pods of one owner that disagree on labels) becomes a
:class:`ModelNote` rather than an exception, so one bad object never hides the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ...inventory import Inventory, PodTemplate, Resource
from .conns import PROTOCOLS
from .ipranges import CIDRError, IPRange, ipblock_ranges, parse_cidr
from .selectors import EMPTY, Selector, label_map, parse_selector, scalar_text

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
INGRESS = "Ingress"
EGRESS = "Egress"
DIRECTIONS = (INGRESS, EGRESS)

#: Kinds with a pod template that do not run pods themselves.
NON_RUNNING_TEMPLATE_KINDS = frozenset({"PodTemplate"})


@dataclass(frozen=True, slots=True)
class ModelNote:
    """Something about the input worth telling a person (never fatal)."""

    resource: Resource | None
    message: str
    code: str  #: stable identifier, e.g. ``invalid-peer``, ``bad-cidr``
    path: str | None = None


# ---------------------------------------------------------------------------- workloads
@dataclass(frozen=True, slots=True)
class ContainerPort:
    name: str | None
    number: int
    protocol: str


@dataclass(eq=False)
class Workload:
    """Pods that share an owner: a Deployment, a DaemonSet, a bare Pod, a custom resource.

    ``labels`` and ``ports`` are those of the representative pod (the template, or the first
    pod of the owner in input order).
    """

    namespace: str
    name: str
    kind: str
    labels: dict[str, str]
    ports: tuple[ContainerPort, ...]
    resource: Resource
    template: PodTemplate
    pods: list[Resource] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.namespace, self.name, self.kind)

    @cached_property
    def display(self) -> str:
        """``ns/name[Kind]``: the connlist name of the workload."""
        return f"{self.namespace}/{self.name}[{self.kind}]"

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str) -> ContainerPort | None:
        """The first container port with that name (names are unique within a pod)."""
        for port in self.ports:
            if port.name == name:
                return port
        return None

    @cached_property
    def named_ports(self) -> tuple[tuple[str, str, int], ...]:
        """(name, protocol, number) of every named container port, sorted; the first
        container port with a name wins."""
        seen: dict[str, ContainerPort] = {}
        for port in self.ports:
            if port.name and port.name not in seen:
                seen[port.name] = port
        return tuple(sorted((n, p.protocol, p.number) for n, p in seen.items()))


def _container_ports(spec: dict[str, Any]) -> tuple[ContainerPort, ...]:
    """Ports of the app containers and of native sidecars (init containers that keep running)."""
    ports: list[ContainerPort] = []
    containers = list(spec.get("containers") or []) if isinstance(spec.get("containers"), list) else []
    init = spec.get("initContainers")
    if isinstance(init, list):
        containers += [c for c in init if isinstance(c, dict) and c.get("restartPolicy") == "Always"]
    for container in containers:
        if not isinstance(container, dict) or not isinstance(container.get("ports"), list):
            continue
        for item in container["ports"]:
            if not isinstance(item, dict):
                continue
            number = item.get("containerPort")
            if isinstance(number, bool) or not isinstance(number, int):
                continue
            protocol = item.get("protocol") or "TCP"
            name = scalar_text(item.get("name")) or None
            ports.append(ContainerPort(name, number, str(protocol)))
    return tuple(ports)


def _controller_owner(resource: Resource) -> tuple[str, str] | None:
    """(name, kind) of a Pod's controlling owner, as the connlist names pods by it."""
    refs = resource.metadata.get("ownerReferences")
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") is True:
            name = scalar_text(ref.get("name"))
            kind = scalar_text(ref.get("kind")) or ""
            if kind == "Node" or not name:
                return None
            return name, kind or "Pod"
    return None


# ---------------------------------------------------------------------------- policies
@dataclass(frozen=True, slots=True)
class PortSpec:
    """One ``ports`` entry of a rule: protocol and a number, a range, a name, or all ports."""

    protocol: str
    port: int | str | None
    end_port: int | None = None
    error: str | None = None

    @property
    def is_named(self) -> bool:
        return isinstance(self.port, str)

    def __str__(self) -> str:
        if self.error:
            return f"<invalid: {self.error}>"
        if self.port is None:
            return f"{self.protocol} (all ports)"
        if self.end_port is not None and self.end_port != self.port:
            return f"{self.protocol} {self.port}-{self.end_port}"
        return f"{self.protocol} {self.port}"


@dataclass(frozen=True, slots=True)
class IPBlockSpec:
    cidr: str
    excepts: tuple[str, ...]
    ranges: tuple[IPRange, ...]

    def __str__(self) -> str:
        return self.cidr + (f" except {', '.join(self.excepts)}" if self.excepts else "")


@dataclass(frozen=True, slots=True)
class PeerSpec:
    """One ``from``/``to`` entry. Exactly one shape is valid: pods (namespaceSelector and/or
    podSelector, ANDed) or an ipBlock."""

    index: int
    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ipblock: IPBlockSpec | None = None
    error: str | None = None

    @property
    def selects_pods(self) -> bool:
        return self.error is None and self.ipblock is None

    def describe(self, policy_namespace: str) -> str:
        if self.error:
            return f"<invalid peer: {self.error}>"
        if self.ipblock is not None:
            return f"ipBlock {self.ipblock}"
        if self.namespace_selector is None:
            where = f"namespace {policy_namespace}"
        elif self.namespace_selector.is_empty:
            where = "all namespaces"
        else:
            where = f"namespaces with {self.namespace_selector}"
        pods = (
            "all pods" if self.pod_selector is None or self.pod_selector.is_empty
            else f"pods with {self.pod_selector}"
        )
        return f"{pods} in {where}"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One ingress or egress rule: its peers (``None``: every peer) and ports (empty: all)."""

    direction: str
    index: int
    peers: tuple[PeerSpec, ...] | None
    ports: tuple[PortSpec, ...]

    @property
    def any_peer(self) -> bool:
        return self.peers is None

    @property
    def has_named_ports(self) -> bool:
        return any(p.is_named and p.error is None for p in self.ports)

    @property
    def label(self) -> str:
        return f"{self.direction.lower()} rule #{self.index + 1}"

    @property
    def field(self) -> str:
        return f"spec.{self.direction.lower()}[{self.index}]"

    def describe_ports(self) -> str:
        return "all ports" if not self.ports else ", ".join(str(p) for p in self.ports)


@dataclass(eq=False)
class Policy:
    resource: Resource
    namespace: str
    name: str
    pod_selector: Selector
    affects_ingress: bool
    affects_egress: bool
    ingress: tuple[RuleSpec, ...]
    egress: tuple[RuleSpec, ...]
    policy_types: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def affects(self, direction: str) -> bool:
        return self.affects_ingress if direction == INGRESS else self.affects_egress

    def rules(self, direction: str) -> tuple[RuleSpec, ...]:
        return self.ingress if direction == INGRESS else self.egress

    def selects(self, namespace: str, labels: dict[str, str]) -> bool:
        return namespace == self.namespace and self.pod_selector.matches(labels)


def _parse_port(raw: Any, notes: list[ModelNote], resource: Resource, path: str) -> PortSpec:
    def bad(message: str) -> PortSpec:
        notes.append(ModelNote(resource, f"{path}: {message}; the entry allows nothing", "invalid-port", path))
        return PortSpec("TCP", None, None, message)

    if not isinstance(raw, dict):
        return bad("port entry is not an object")
    protocol = raw.get("protocol")
    if protocol is None:
        protocol = "TCP"
    if protocol not in PROTOCOLS:
        return bad(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    port = raw.get("port")
    end_port = raw.get("endPort")
    if end_port is not None and (isinstance(end_port, bool) or not isinstance(end_port, int)):
        return bad(f"endPort {end_port!r} is not a number")
    if port is None:
        if end_port is not None:
            return bad("endPort without port")
        return PortSpec(protocol, None)
    if isinstance(port, bool):
        return bad(f"port {port!r} is not a number or a name")
    if isinstance(port, int):
        if not 1 <= port <= 65535:
            return bad(f"port {port} is outside 1-65535")
        if end_port is not None and not port <= end_port <= 65535:
            return bad(f"endPort {end_port} is not between port {port} and 65535")
        return PortSpec(protocol, port, end_port)
    if isinstance(port, str):
        if end_port is not None:
            return bad("endPort cannot be used with a named port")
        if port.isdigit():
            notes.append(ModelNote(
                resource,
                f"{path}: port {port!r} is a string, so Kubernetes reads it as a port *name*, "
                "which no container can have; write it as a number",
                "quoted-port", path,
            ))
        return PortSpec(protocol, port)
    return bad(f"port {port!r} is not a number or a name")


def _parse_peer(
    raw: Any, index: int, notes: list[ModelNote], resource: Resource, path: str
) -> PeerSpec:
    def bad(message: str) -> PeerSpec:
        notes.append(ModelNote(resource, f"{path}: {message}; the peer matches nothing", "invalid-peer", path))
        return PeerSpec(index, error=message)

    if not isinstance(raw, dict):
        return bad("peer is not an object")
    pod_selector = parse_selector(raw.get("podSelector"))
    namespace_selector = parse_selector(raw.get("namespaceSelector"))
    ipblock_raw = raw.get("ipBlock")
    if ipblock_raw is not None:
        if pod_selector is not None or namespace_selector is not None:
            return bad("ipBlock cannot be combined with podSelector or namespaceSelector")
        if not isinstance(ipblock_raw, dict):
            return bad("ipBlock is not an object")
        cidr_text = ipblock_raw.get("cidr")
        try:
            cidr = parse_cidr(cidr_text)
        except CIDRError as error:
            notes.append(ModelNote(resource, f"{path}.ipBlock.cidr: {error}; the peer matches nothing", "bad-cidr", path))
            return PeerSpec(index, error=str(error))
        excepts_raw = ipblock_raw.get("except") or []
        if not isinstance(excepts_raw, list):
            return bad("ipBlock.except is not a list")
        excepts: list[IPRange] = []
        for position, text in enumerate(excepts_raw):
            try:
                cut = parse_cidr(text)
            except CIDRError as error:
                notes.append(ModelNote(resource, f"{path}.ipBlock.except[{position}]: {error}; ignored", "bad-cidr", path))
                continue
            if cut[0] != cidr[0] or cut[1] < cidr[1] or cut[2] > cidr[2]:
                notes.append(ModelNote(
                    resource,
                    f"{path}.ipBlock.except[{position}]: {text} is not inside {cidr_text}",
                    "except-outside-cidr", path,
                ))
            excepts.append(cut)
        return PeerSpec(
            index,
            ipblock=IPBlockSpec(
                str(cidr_text), tuple(str(t) for t in excepts_raw), ipblock_ranges(cidr, excepts)
            ),
        )
    if pod_selector is None and namespace_selector is None:
        return bad("peer names no podSelector, namespaceSelector or ipBlock (the API server rejects it)")
    for name, selector in (("podSelector", pod_selector), ("namespaceSelector", namespace_selector)):
        if selector is not None and not selector.valid:
            notes.append(ModelNote(resource, f"{path}.{name}: {selector.error}; the peer matches nothing", "invalid-selector", path))
            return PeerSpec(index, pod_selector, namespace_selector, error=selector.error)
    return PeerSpec(index, pod_selector, namespace_selector)


def parse_policy(resource: Resource, notes: list[ModelNote]) -> Policy:
    spec = resource.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    pod_selector = parse_selector(spec.get("podSelector")) or EMPTY
    if not pod_selector.valid:
        notes.append(ModelNote(resource, f"spec.podSelector: {pod_selector.error}; the policy selects no pod", "invalid-selector", "spec.podSelector"))
    rules: dict[str, list[RuleSpec]] = {INGRESS: [], EGRESS: []}
    for direction, key, peers_key in ((INGRESS, "ingress", "from"), (EGRESS, "egress", "to")):
        raw_rules = spec.get(key)
        if raw_rules is None:
            continue
        if not isinstance(raw_rules, list):
            notes.append(ModelNote(resource, f"spec.{key} is not a list; ignored", "invalid-rule", f"spec.{key}"))
            continue
        for index, raw in enumerate(raw_rules):
            path = f"spec.{key}[{index}]"
            raw = raw if isinstance(raw, dict) else {}
            peers_raw = raw.get(peers_key)
            peers: tuple[PeerSpec, ...] | None
            if not peers_raw:
                peers = None  # empty or missing: every peer
            elif not isinstance(peers_raw, list):
                notes.append(ModelNote(resource, f"{path}.{peers_key} is not a list; the rule matches nothing", "invalid-rule", path))
                peers = (PeerSpec(0, error="not a list"),)
            else:
                peers = tuple(
                    _parse_peer(p, i, notes, resource, f"{path}.{peers_key}[{i}]")
                    for i, p in enumerate(peers_raw)
                )
            ports_raw = raw.get("ports")
            ports: tuple[PortSpec, ...] = ()
            if isinstance(ports_raw, list):
                ports = tuple(
                    _parse_port(p, notes, resource, f"{path}.ports[{i}]") for i, p in enumerate(ports_raw)
                )
            elif ports_raw is not None:
                notes.append(ModelNote(resource, f"{path}.ports is not a list; the rule matches nothing", "invalid-rule", path))
                ports = (PortSpec("TCP", None, None, "not a list"),)
            rules[direction].append(RuleSpec(direction, index, peers, ports))
    types_raw = spec.get("policyTypes")
    policy_types: tuple[str, ...]
    if isinstance(types_raw, list) and types_raw:
        policy_types = tuple(t for t in types_raw if t in DIRECTIONS)
        unknown = [t for t in types_raw if t not in DIRECTIONS]
        if unknown:
            notes.append(ModelNote(resource, f"spec.policyTypes: unknown type(s) {unknown}; ignored", "invalid-policy-type", "spec.policyTypes"))
        affects_ingress = INGRESS in policy_types
        affects_egress = EGRESS in policy_types
    else:
        # "If this field is not specified, it will default based on the existence of ingress
        # or egress rules; policies that contain an egress section are assumed to affect
        # egress, and all policies (whether or not they contain an ingress section) are
        # assumed to affect ingress."
        affects_ingress = True
        affects_egress = bool(spec.get("egress"))
        policy_types = tuple(d for d, on in ((INGRESS, affects_ingress), (EGRESS, affects_egress)) if on)
    for direction, affected in ((INGRESS, affects_ingress), (EGRESS, affects_egress)):
        if rules[direction] and not affected:
            notes.append(ModelNote(
                resource,
                f"the policy has {direction.lower()} rules but policyTypes leaves out "
                f"{direction}, so those rules are ignored",
                "ignored-rules", "spec.policyTypes",
            ))
    assert resource.namespace is not None
    return Policy(
        resource, resource.namespace, resource.name, pod_selector, affects_ingress, affects_egress,
        tuple(rules[INGRESS]), tuple(rules[EGRESS]), policy_types,
    )


# ---------------------------------------------------------------------------- front doors
@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str | None
    port: int | None
    target: int | str | None  #: targetPort; ``None``: same as port
    protocol: str
    node_port: int | None


@dataclass(eq=False)
class Service:
    resource: Resource
    namespace: str
    name: str
    type: str
    selector: dict[str, str] | None
    ports: tuple[ServicePort, ...]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Backend:
    """A Service an Ingress or Route sends traffic to, and which of its ports (``None``: all)."""

    service: str
    port: int | str | None


@dataclass(eq=False)
class FrontDoor:
    """An object that brings outside traffic in: Ingress, OpenShift Route."""

    resource: Resource
    namespace: str
    name: str
    kind: str
    backends: tuple[Backend, ...]

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def _int_or_str(value: Any) -> int | str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value:
        return value
    return None


def parse_service(resource: Resource) -> Service:
    spec = resource.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    raw_selector = spec.get("selector")
    selector = label_map(raw_selector) if isinstance(raw_selector, dict) else None
    ports: list[ServicePort] = []
    for raw in spec.get("ports") or []:
        if not isinstance(raw, dict):
            continue
        number = raw.get("port")
        node_port = raw.get("nodePort")
        ports.append(ServicePort(
            scalar_text(raw.get("name")) or None,
            number if isinstance(number, int) and not isinstance(number, bool) else None,
            _int_or_str(raw.get("targetPort")),
            str(raw.get("protocol") or "TCP"),
            node_port if isinstance(node_port, int) and not isinstance(node_port, bool) else None,
        ))
    assert resource.namespace is not None
    return Service(
        resource, resource.namespace, resource.name, str(spec.get("type") or "ClusterIP"),
        selector, tuple(ports),
    )


def _ingress_backend(raw: Any) -> Backend | None:
    if not isinstance(raw, dict):
        return None
    service = raw.get("service")
    if isinstance(service, dict) and isinstance(service.get("name"), str):
        port = service.get("port")
        port_value: int | str | None = None
        if isinstance(port, dict):
            port_value = _int_or_str(port.get("name")) or _int_or_str(port.get("number"))
        return Backend(service["name"], port_value)
    # extensions/v1beta1 and networking.k8s.io/v1beta1 shape
    if isinstance(raw.get("serviceName"), str):
        return Backend(raw["serviceName"], _int_or_str(raw.get("servicePort")))
    return None


def parse_ingress(resource: Resource, notes: list[ModelNote]) -> FrontDoor:
    spec = resource.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    backends: list[Backend] = []
    default = spec.get("defaultBackend", spec.get("backend"))
    if default is not None:
        backend = _ingress_backend(default)
        if backend is None:
            notes.append(ModelNote(resource, "the default backend is not a Service; ignored", "ingress-backend"))
        else:
            backends.append(backend)
    for rule in spec.get("rules") or []:
        http = rule.get("http") if isinstance(rule, dict) else None
        paths = http.get("paths") if isinstance(http, dict) else None
        for path in paths or []:
            backend = _ingress_backend(path.get("backend") if isinstance(path, dict) else None)
            if backend is None:
                notes.append(ModelNote(resource, "a rule backend is not a Service; ignored", "ingress-backend"))
            else:
                backends.append(backend)
    assert resource.namespace is not None
    return FrontDoor(resource, resource.namespace, resource.name, "Ingress", tuple(backends))


def parse_route(resource: Resource, notes: list[ModelNote]) -> FrontDoor:
    spec = resource.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    port = spec.get("port")
    target = _int_or_str(port.get("targetPort")) if isinstance(port, dict) else None
    backends: list[Backend] = []
    for raw in [spec.get("to")] + list(spec.get("alternateBackends") or []):
        if not isinstance(raw, dict):
            continue
        kind = raw.get("kind") or "Service"
        if kind != "Service" or not isinstance(raw.get("name"), str):
            notes.append(ModelNote(resource, f"a backend of kind {kind!r} is not a Service; ignored", "route-backend"))
            continue
        backends.append(Backend(raw["name"], target))
    assert resource.namespace is not None
    return FrontDoor(resource, resource.namespace, resource.name, "Route", tuple(backends))


# ---------------------------------------------------------------------------- the model
@dataclass(eq=False)
class NetpolModel:
    namespaces: dict[str, dict[str, str]]  #: name → labels (with the automatic name label)
    namespace_objects: dict[str, Resource | None]
    workloads: list[Workload]
    policies: list[Policy]
    services: list[Service]
    front_doors: list[FrontDoor]
    notes: list[ModelNote]

    def policies_in(self, namespace: str) -> list[Policy]:
        return [p for p in self.policies if p.namespace == namespace]

    def find_workload(self, text: str) -> list[Workload]:
        """Workloads named ``ns/name``, ``ns/name[Kind]`` or ``name`` (any namespace)."""
        text = text.strip()
        kind = None
        if text.endswith("]") and "[" in text:
            text, _, kind = text[:-1].rpartition("[")
        if "/" in text:
            namespace, _, name = text.partition("/")
        else:
            namespace, name = None, text
        return [
            w for w in self.workloads
            if w.name == name and (namespace is None or w.namespace == namespace)
            and (kind is None or w.kind == kind)
        ]


def namespace_labels(name: str, resource: Resource | None) -> dict[str, str]:
    labels = dict(resource.labels) if resource is not None else {}
    labels = label_map(labels)
    labels[NAMESPACE_NAME_LABEL] = name  # set by the API server on every namespace
    return labels


def _last_of_each(inventory: Inventory, kind: str, group: str | None = None) -> list[Resource]:
    """Objects of a kind, one per identity: a manifest declared twice counts once, as the
    last one applied (the inventory reports the duplicate itself)."""
    found: dict[tuple, Resource] = {}
    for resource in inventory.of_kind(kind):
        if group is None or resource.group == group:
            found[resource.key] = resource
    return list(found.values())


def build_model(inventory: Inventory, pod_level: bool = False) -> NetpolModel:
    """Parse the NetworkPolicy-relevant objects of an inventory.

    ``pod_level``: one workload per Pod object (named by the pod, owners ignored) and no
    workload templates, for pod-to-pod questions.
    """
    notes: list[ModelNote] = []
    namespace_objects = dict(inventory.namespaces)
    workloads: dict[tuple[str, str, str], Workload] = {}
    for template in inventory.pod_templates:
        resource = template.resource
        if resource.kind in NON_RUNNING_TEMPLATE_KINDS or resource.namespace is None:
            continue
        if pod_level and resource.kind != "Pod":
            continue
        name, kind = resource.name, resource.kind
        if kind == "Pod" and not pod_level:
            owner = _controller_owner(resource)
            if owner is not None:
                name, kind = owner
        labels = label_map(template.metadata.get("labels"))
        key = (resource.namespace, name, kind)
        existing = workloads.get(key)
        if existing is None:
            workloads[key] = Workload(
                resource.namespace, name, kind, labels, _container_ports(template.spec),
                resource, template, [resource],
            )
            continue
        existing.pods.append(resource)
        if existing.resource.key == resource.key:  # the same object again: the last one wins
            existing.labels, existing.ports = labels, _container_ports(template.spec)
            existing.resource, existing.template = resource, template
        elif labels != existing.labels:
            notes.append(ModelNote(
                resource,
                f"pods of {existing.display} disagree on labels ({existing.resource.name}: "
                f"{existing.labels}; {resource.name}: {labels}); the first pod stands for all",
                "owner-labels-differ",
            ))
    for workload in workloads.values():
        namespace_objects.setdefault(workload.namespace, None)
    policies = [parse_policy(r, notes) for r in _last_of_each(inventory, "NetworkPolicy", "networking.k8s.io")]
    services = [parse_service(r) for r in _last_of_each(inventory, "Service", "")]
    front_doors = [parse_ingress(r, notes) for r in _last_of_each(inventory, "Ingress")]
    front_doors += [parse_route(r, notes) for r in _last_of_each(inventory, "Route")]
    namespaces = {
        name: namespace_labels(name, resource) for name, resource in sorted(namespace_objects.items())
    }
    return NetpolModel(
        namespaces, namespace_objects, list(workloads.values()), policies, services, front_doors, notes
    )
