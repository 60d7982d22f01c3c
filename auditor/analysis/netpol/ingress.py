"""Front doors: Ingresses, OpenShift Routes and LoadBalancer/NodePort Services.

An Ingress or Route sends outside traffic, through the cluster's ingress controller, to the
pods a Service selects, on the Service port's ``targetPort`` (a number, or a name resolved
against the pod's container ports). The controller is a pod the manifests do not contain,
so it is modelled as *an arbitrary in-cluster pod*: no labels, in a namespace of its own.
A connection is listed (as ``{ingress-controller}``) only on the ports the Service targets
and the pod declares, and only where the pod's ingress policies admit such a pod.

LoadBalancer and NodePort Services take outside traffic straight to the pods: there the
question is which external addresses the pods' ingress policies admit on those ports.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .conns import NONE, ConnSet
from .engine import Engine
from .model import NAMESPACE_NAME_LABEL, FrontDoor, Service, ServicePort, Workload

INGRESS_CONTROLLER = "{ingress-controller}"
INGRESS_CONTROLLER_NAMESPACE = "ingress-controller-ns"
EXTERNAL_SERVICE_TYPES = ("LoadBalancer", "NodePort")


@dataclass
class Exposure:
    """Outside traffic a workload is sent, and through which objects."""

    workload: Workload
    wanted: ConnSet  #: the ports the front doors send to
    allowed: ConnSet = NONE  #: what the workload's ingress policies admit of it
    via: list[str] = field(default_factory=list)  #: ``Ingress ns/name`` ... (sorted)


def service_workloads(service: Service, workloads: list[Workload] | dict[str, list[Workload]]) -> list[Workload]:
    """Workloads a Service selects (a Service without selector selects none). ``workloads``
    may be a list or a namespace → workloads index."""
    if not service.selector:
        return []
    candidates = (
        workloads.get(service.namespace, []) if isinstance(workloads, dict) else workloads
    )
    return [
        w for w in candidates
        if w.namespace == service.namespace
        and all(w.labels.get(k) == v for k, v in service.selector.items())
    ]


def workloads_by_namespace(workloads: list[Workload]) -> dict[str, list[Workload]]:
    index: dict[str, list[Workload]] = defaultdict(list)
    for workload in workloads:
        index[workload.namespace].append(workload)
    return index


def _access_ports(ports: tuple[ServicePort, ...], wanted: int | str | None) -> list[int | str]:
    """The pod ports a backend reference reaches: the matching Service port's targetPort
    (its ``port`` when no targetPort is set); every Service port when none is named."""
    out: list[int | str] = []
    for port in ports:
        access = port.target if port.target is not None else port.port
        if access is None:
            continue
        if wanted is None:
            out.append(access)
        elif (
            (isinstance(wanted, str) and port.name == wanted)
            or (isinstance(wanted, int) and port.port == wanted)
            or port.target == wanted
        ):
            return [access]
    return out


def _pod_tcp_ports(workload: Workload, access: list[int | str]) -> list[int]:
    """TCP port numbers on the pod. A named targetPort must resolve to a TCP container port;
    a numbered one counts whether or not the pod declares it, since containerPort is
    informational ("not specifying a port here does not prevent that port from being
    exposed")."""
    numbers: list[int] = []
    for item in access:
        if isinstance(item, str):
            port = workload.named_port(item)
            if port is None or port.protocol != "TCP":
                continue
            numbers.append(port.number)
        elif 1 <= item <= 65535:
            numbers.append(item)
    return numbers


def front_door_exposures(engine: Engine) -> list[Exposure]:
    """Workloads reachable through Ingresses and Routes, with what their policies admit."""
    model = engine.model
    doors: list[FrontDoor] = [d for d in model.front_doors if d.backends]
    if not doors:
        return []
    by_namespace = workloads_by_namespace(model.workloads)
    services = {
        (s.namespace, s.name): s for s in model.services if service_workloads(s, by_namespace)
    }
    if not doors or not services:
        return []
    found: dict[int, Exposure] = {}
    for door in doors:
        for backend in door.backends:
            service = services.get((door.namespace, backend.service))
            if service is None:
                continue
            access = _access_ports(service.ports, backend.port)
            for workload in service_workloads(service, by_namespace):
                numbers = _pod_tcp_ports(workload, access)
                wanted = ConnSet.of("TCP", [(n, n) for n in numbers]) if numbers else NONE
                item = found.setdefault(id(workload), Exposure(workload, NONE))
                item.wanted = item.wanted | wanted
                if door.ref not in item.via:
                    item.via.append(door.ref)
    namespace_labels = {NAMESPACE_NAME_LABEL: INGRESS_CONTROLLER_NAMESPACE}
    result = []
    for item in found.values():
        index = engine.class_of[id(item.workload)].index
        item.allowed = item.wanted & engine.ingress_from(
            index, INGRESS_CONTROLLER_NAMESPACE, namespace_labels, {}
        )
        item.via.sort()
        result.append(item)
    return result


@dataclass
class ServiceExposure:
    """A LoadBalancer/NodePort Service port and what the target pods admit from outside."""

    service: Service
    port: ServicePort
    workload: Workload
    wanted: ConnSet
    #: external ranges admitted on the wanted ports, with the part of ``wanted`` each gets
    admitted: list[tuple[tuple[int, int, int], ConnSet]]

    @property
    def open_to_all(self) -> bool:
        """Every IPv4 address may connect on every wanted port."""
        covered = [r for r, c in self.admitted if self.wanted <= c]
        total = sum(hi - lo + 1 for v, lo, hi in covered if v == 4)
        return total == 1 << 32


def service_exposures(engine: Engine) -> list[ServiceExposure]:
    """LoadBalancer and NodePort Services: per port and target workload, what the workload's
    ingress policies admit from external addresses."""
    from .model import INGRESS

    model = engine.model
    segments = engine.segments(INGRESS)
    by_namespace = workloads_by_namespace(model.workloads)
    out: list[ServiceExposure] = []
    profiles: dict = {}
    for service in model.services:
        if service.type not in EXTERNAL_SERVICE_TYPES:
            continue
        for port in service.ports:
            access = port.target if port.target is not None else port.port
            if access is None:
                continue
            protocol = port.protocol if port.protocol in ("TCP", "UDP", "SCTP") else "TCP"
            for workload in service_workloads(service, by_namespace):
                if isinstance(access, str):
                    named = workload.named_port(access)
                    if named is None:
                        continue
                    number = named.number
                else:
                    number = access
                wanted = ConnSet.of(protocol, [(number, number)])
                index = engine.class_of[id(workload)].index
                rules = engine.governing[INGRESS][index]
                named = engine.classes[index].named
                profile = profiles.get((rules, named))
                if profile is None:
                    profile = profiles[(rules, named)] = engine.ip_profile(rules, segments, named)
                admitted = [
                    (segments.ranges[i], conns & wanted)
                    for i, conns in profile
                    if not (conns & wanted).is_empty
                ]
                out.append(ServiceExposure(service, port, workload, wanted, admitted))
    return out


def exposures_by_workload(engine: Engine) -> dict[int, list[str]]:
    """id(workload) → the objects that expose it outside the cluster (for messages)."""
    result: dict[int, list[str]] = defaultdict(list)
    for item in front_door_exposures(engine):
        result[id(item.workload)].extend(item.via)
    for item in service_exposures(engine):
        ref = f"Service {item.service.ref} ({item.service.type})"
        if ref not in result[id(item.workload)]:
            result[id(item.workload)].append(ref)
    return result
