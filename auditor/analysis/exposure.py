"""Exposure: what the outside world can reach, and through which objects.

Every *front door* of the inventory becomes one or more :class:`ExposurePath`: the chain
``external → door → Service → workload`` resolved through Service selectors and ports, with
whether the workload's NetworkPolicies let that traffic in. Front doors are:

* Ingresses and OpenShift Routes (through the cluster's ingress controller);
* Services of type LoadBalancer (a cloud load balancer with its own address) and NodePort
  (a port on every node);
* Services with ``externalIPs`` (traffic to those addresses, from anywhere that routes them
  to a node, is sent to the Service).

The chain itself comes from the NetworkPolicy package's front-door model
(:mod:`auditor.analysis.netpol.ingress`: Service selection, ``targetPort`` resolution, named
ports, the ingress controller as an arbitrary pod of its own namespace), so exposure and
reachability never disagree. The analyzers behind ``policies/exposure.yaml`` are here too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..inventory import Resource
from ..threat import Severity
from .netpol.analyzers import engine_of
from .netpol.conns import NONE, ConnSet
from .netpol.engine import Engine
from .netpol.ingress import (
    INGRESS_CONTROLLER_NAMESPACE,
    _access_ports,
    _pod_tcp_ports,
    service_exposures,
    service_workloads,
    workloads_by_namespace,
)
from .netpol.model import INGRESS, NAMESPACE_NAME_LABEL, FrontDoor, Service, Workload
from .registry import AnalysisContext, Hit, NoParams, analyzer

LOAD_BALANCER, NODE_PORT, EXTERNAL_IPS = "LoadBalancer", "NodePort", "externalIPs"


@dataclass(frozen=True)
class Hop:
    """One step of a path, and the object that enables it."""

    kind: str  #: ``external``, ``Ingress``, ``Route``, ``Service``, a workload kind, …
    ref: str  #: the object (``Service kube-system/kubernetes-dashboard``) or a description
    detail: str = ""
    resource: Resource | None = field(default=None, compare=False)

    def describe(self) -> str:
        return f"{self.ref} ({self.detail})" if self.detail else self.ref

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "detail": self.detail,
            "object": self.resource.ref() if self.resource is not None else None,
        }


def describe_hops(hops: list[Hop]) -> str:
    return " → ".join(hop.describe() for hop in hops)


@dataclass
class ExposurePath:
    """Outside traffic through one front door to one workload (or to nothing)."""

    door: Resource
    door_type: str  #: ``Ingress``, ``Route``, ``LoadBalancer``, ``NodePort``, ``externalIPs``
    service: Service | None
    workload: Workload | None
    ports: ConnSet  #: the pod ports the traffic is sent to
    #: the workload's ingress policies admit the traffic on at least one of those ports
    reachable: bool
    hops: list[Hop]

    @property
    def door_ref(self) -> str:
        return f"{self.door.kind} {self.door.namespace}/{self.door.name}"

    def describe(self) -> str:
        return describe_hops(self.hops)

    def to_dict(self) -> dict[str, Any]:
        return {
            "door": self.door.ref(),
            "doorType": self.door_type,
            "service": self.service.ref if self.service else None,
            "workload": self.workload.display if self.workload else None,
            "ports": str(self.ports),
            "reachable": self.reachable,
            "hops": [hop.to_dict() for hop in self.hops],
        }


# ---------------------------------------------------------------------------- building


def _spec(resource: Resource) -> dict[str, Any]:
    spec = resource.obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def ingress_hosts(resource: Resource) -> list[str | None]:
    """The hosts of an Ingress's rules (``None`` for a rule without host, which matches
    every host), plus ``None`` for a default backend."""
    spec = _spec(resource)
    hosts: list[str | None] = []
    if spec.get("defaultBackend", spec.get("backend")) is not None:
        hosts.append(None)
    for rule in spec.get("rules") or []:
        if isinstance(rule, dict):
            host = rule.get("host")
            hosts.append(host if isinstance(host, str) and host else None)
    return hosts


def _door_hop(door: FrontDoor) -> Hop:
    if door.kind == "Ingress":
        hosts = ingress_hosts(door.resource)
        shown = ", ".join(dict.fromkeys(h or "any host" for h in hosts)) or "no rules"
        tls = "TLS" if _spec(door.resource).get("tls") else "plain HTTP"
        return Hop("Ingress", door.ref, f"{shown}, {tls}", door.resource)
    host = _spec(door.resource).get("host")
    return Hop(door.kind, door.ref, f"host {host}" if isinstance(host, str) and host else "", door.resource)


def _service_port_text(service: Service, access: list[int | str]) -> str:
    ports = []
    for port in service.ports:
        target = port.target if port.target is not None else port.port
        if target in access:
            ports.append(f"port {port.port} → {target}")
    return ", ".join(ports) or "no matching port"


def _workload_hop(workload: Workload, ports: ConnSet, reachable: bool) -> Hop:
    detail = str(ports) if not ports.is_empty else "no port resolves"
    if not reachable:
        detail += "; its NetworkPolicies admit none of this traffic"
    return Hop(workload.kind, f"{workload.kind} {workload.ref}", detail, workload.resource)


def _front_door_paths(engine: Engine, by_namespace: dict[str, list[Workload]]) -> list[ExposurePath]:
    model = engine.model
    services = {(s.namespace, s.name): s for s in model.services}
    controller_labels = {NAMESPACE_NAME_LABEL: INGRESS_CONTROLLER_NAMESPACE}
    paths: list[ExposurePath] = []
    for door in model.front_doors:
        door_hop = _door_hop(door)
        source = Hop("external", "the internet", "through the ingress controller")
        for backend in door.backends:
            service = services.get((door.namespace, backend.service))
            if service is None:
                paths.append(ExposurePath(
                    door.resource, door.kind, None, None, NONE, False,
                    [source, door_hop, Hop("Service", f"Service {door.namespace}/{backend.service}", "does not exist")],
                ))
                continue
            access = _access_ports(service.ports, backend.port)
            service_hop = Hop("Service", f"Service {service.ref}", _service_port_text(service, access), service.resource)
            workloads = service_workloads(service, by_namespace)
            if not workloads:
                paths.append(ExposurePath(
                    door.resource, door.kind, service, None, NONE, False,
                    [source, door_hop, service_hop, Hop("none", "no workload", "the Service selects no workload of the input")],
                ))
            for workload in workloads:
                numbers = _pod_tcp_ports(workload, access)
                wanted = ConnSet.of("TCP", [(n, n) for n in numbers]) if numbers else NONE
                index = engine.class_of[id(workload)].index
                allowed = wanted & engine.ingress_from(index, INGRESS_CONTROLLER_NAMESPACE, controller_labels, {})
                reachable = not allowed.is_empty
                paths.append(ExposurePath(
                    door.resource, door.kind, service, workload, wanted, reachable,
                    [source, door_hop, service_hop, _workload_hop(workload, wanted, reachable)],
                ))
    return paths


def _admits_external(engine: Engine, workload: Workload, wanted: ConnSet) -> bool:
    """Whether the workload's ingress policies admit some external address on ``wanted``."""
    index = engine.class_of[id(workload)].index
    rules = engine.governing[INGRESS][index]
    if rules is None:
        return True
    profile = engine.ip_profile(rules, engine.segments(INGRESS), engine.classes[index].named)
    return any(not (conns & wanted).is_empty for _, conns in profile)


def source_ranges(service: Service) -> list[str]:
    spec = _spec(service.resource)
    ranges = [r for r in spec.get("loadBalancerSourceRanges") or [] if isinstance(r, str)]
    annotation = service.resource.annotations.get("service.beta.kubernetes.io/load-balancer-source-ranges")
    if isinstance(annotation, str) and not ranges:
        ranges = [r.strip() for r in annotation.split(",") if r.strip()]
    return ranges


def external_ips(service: Service) -> list[str]:
    return [ip for ip in _spec(service.resource).get("externalIPs") or [] if isinstance(ip, str)]


def _service_door_hop(service: Service, door_type: str) -> Hop:
    if door_type == NODE_PORT:
        ports = ", ".join(str(p.node_port) for p in service.ports if p.node_port) or "allocated"
        detail = f"NodePort {ports} on every node"
    elif door_type == LOAD_BALANCER:
        ranges = source_ranges(service)
        detail = "LoadBalancer, source ranges " + (", ".join(ranges) if ranges else "unrestricted")
    else:
        detail = "externalIPs " + ", ".join(external_ips(service))
    return Hop("Service", f"Service {service.ref}", detail, service.resource)


def _service_paths(engine: Engine, by_namespace: dict[str, list[Workload]]) -> list[ExposurePath]:
    paths: list[ExposurePath] = []
    grouped: dict[tuple[int, int], list] = {}
    for item in service_exposures(engine):
        grouped.setdefault((id(item.service), id(item.workload)), []).append(item)
    for service in engine.model.services:
        door_types = []
        if service.type in (LOAD_BALANCER, NODE_PORT):
            door_types.append(service.type)
        if external_ips(service):
            door_types.append(EXTERNAL_IPS)
        for door_type in door_types:
            source = Hop("external", "the internet" if door_type == LOAD_BALANCER else "any address that reaches the nodes")
            door_hop = _service_door_hop(service, door_type)
            workloads = service_workloads(service, by_namespace)
            if not workloads:
                paths.append(ExposurePath(
                    service.resource, door_type, service, None, NONE, False,
                    [source, door_hop, Hop("none", "no workload", "the Service selects no workload of the input")],
                ))
            for workload in workloads:
                items = grouped.get((id(service), id(workload)), [])
                wanted = NONE
                for item in items:
                    wanted = wanted | item.wanted
                if door_type == EXTERNAL_IPS or not items:
                    wanted = _service_ports_on(service, workload)
                    reachable = not wanted.is_empty and _admits_external(engine, workload, wanted)
                else:
                    reachable = any(item.admitted for item in items)
                paths.append(ExposurePath(
                    service.resource, door_type, service, workload, wanted, reachable,
                    [source, door_hop, _workload_hop(workload, wanted, reachable)],
                ))
    return paths


def _service_ports_on(service: Service, workload: Workload) -> ConnSet:
    result = NONE
    for port in service.ports:
        access = port.target if port.target is not None else port.port
        if access is None:
            continue
        protocol = port.protocol if port.protocol in ("TCP", "UDP", "SCTP") else "TCP"
        if isinstance(access, str):
            named = workload.named_port(access)
            if named is None:
                continue
            access = named.number
        result = result | ConnSet.of(protocol, [(access, access)])
    return result


def build_exposure(engine: Engine) -> list[ExposurePath]:
    """Every exposure path of the model: front doors first, then Services, in input order."""
    by_namespace = workloads_by_namespace(engine.model.workloads)
    return _front_door_paths(engine, by_namespace) + _service_paths(engine, by_namespace)


def exposure_paths(context: AnalysisContext) -> list[ExposurePath]:
    """The scan's exposure paths (computed once, shared by the exposure and path rules)."""
    return context.memo("exposure.paths", lambda: build_exposure(engine_of(context)))


def exposed_workloads(context: AnalysisContext) -> list[tuple[Workload, list[ExposurePath]]]:
    """Workloads that outside traffic actually reaches, with the paths that reach them."""

    def build() -> list[tuple[Workload, list[ExposurePath]]]:
        found: dict[int, tuple[Workload, list[ExposurePath]]] = {}
        for path in exposure_paths(context):
            if path.workload is not None and path.reachable:
                found.setdefault(id(path.workload), (path.workload, []))[1].append(path)
        return list(found.values())

    return context.memo("exposure.workloads", build)


# ---------------------------------------------------------------------------- analyzers


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _paths_text(paths: list[ExposurePath], limit: int = 3) -> str:
    texts = list(dict.fromkeys(p.describe() for p in paths))
    more = f"; and {len(texts) - limit} more path(s)" if len(texts) > limit else ""
    return "; ".join(texts[:limit]) + more


def _paths_of(context: AnalysisContext, door_type: str) -> dict[int, list[ExposurePath]]:
    grouped: dict[int, list[ExposurePath]] = {}
    for path in exposure_paths(context):
        if path.door_type == door_type:
            grouped.setdefault(id(path.door), []).append(path)
    return grouped


def _reach_note(paths: list[ExposurePath]) -> str:
    if any(p.reachable for p in paths):
        return ""
    if all(p.workload is None for p in paths):
        return " (it selects no workload of the input today)"
    return " (its workloads' NetworkPolicies admit none of this traffic today)"


DEFAULT_INTERNAL_ANNOTATIONS: dict[str, list[str]] = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": ["true", "0.0.0.0/0"],
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ["internal"],
    "networking.gke.io/load-balancer-type": ["Internal"],
    "cloud.google.com/load-balancer-type": ["Internal"],
    "service.beta.kubernetes.io/azure-load-balancer-internal": ["true"],
    "service.beta.kubernetes.io/oci-load-balancer-internal": ["true"],
    "service.beta.kubernetes.io/openstack-internal-load-balancer": ["true"],
    "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type": ["private"],
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": ["intranet"],
}


class LoadBalancerParams(_Strict):
    #: annotations (and values) that make a cloud load balancer internal
    internal_annotations: dict[str, list[str]] = Field(
        default_factory=lambda: dict(DEFAULT_INTERNAL_ANNOTATIONS), alias="internalAnnotations"
    )
    #: the grade of an internal load balancer, or one limited to source ranges
    restricted: Severity = Severity.low


def _internal(service: Service, annotations: dict[str, list[str]]) -> str | None:
    for key, values in annotations.items():
        value = service.resource.annotations.get(key)
        if isinstance(value, str) and value in values:
            return f"{key}: {value}"
    return None


def _open_range(text: str) -> bool:
    try:
        return ipaddress.ip_network(text, strict=False).prefixlen == 0
    except ValueError:
        return False


@analyzer("exposure.load_balancers", params=LoadBalancerParams)
def load_balancers(context: AnalysisContext, params: LoadBalancerParams) -> Iterator[Hit]:
    """Services of type LoadBalancer, with the workloads they publish."""
    for paths in _paths_of(context, LOAD_BALANCER).values():
        service = paths[0].service
        assert service is not None
        internal = _internal(service, params.internal_annotations)
        ranges = source_ranges(service)
        severity = None
        if internal:
            scope = f"an internal load balancer ({internal})"
            severity = params.restricted
        elif ranges and not any(_open_range(r) for r in ranges):
            scope = f"a load balancer limited to {', '.join(ranges)}"
            severity = params.restricted
        else:
            scope = "a load balancer with a public address and no source ranges" if not ranges else (
                f"a load balancer open to {', '.join(ranges)}"
            )
        yield Hit(
            service.resource,
            f"Service {service.ref} is published on {scope}{_reach_note(paths)}: {_paths_text(paths)}",
            severity=severity,
            details={"paths": [p.to_dict() for p in paths]},
        )


@analyzer("exposure.node_ports")
def node_ports(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Services of type NodePort, with the workloads they publish."""
    for paths in _paths_of(context, NODE_PORT).values():
        service = paths[0].service
        assert service is not None
        ports = ", ".join(str(p.node_port) for p in service.ports if p.node_port) or "an allocated port"
        yield Hit(
            service.resource,
            f"Service {service.ref} opens node port {ports} on every node{_reach_note(paths)}: {_paths_text(paths)}",
            details={"paths": [p.to_dict() for p in paths]},
        )


@analyzer("exposure.external_ips")
def external_ips_services(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Services that claim externalIPs."""
    for paths in _paths_of(context, EXTERNAL_IPS).values():
        service = paths[0].service
        assert service is not None
        addresses = ", ".join(external_ips(service))
        yield Hit(
            service.resource,
            f"Service {service.ref} claims externalIPs {addresses}: traffic for those addresses that "
            f"reaches any node, from outside or from any pod, goes to it{_reach_note(paths)}: "
            f"{_paths_text(paths)}",
            details={"externalIPs": external_ips(service), "paths": [p.to_dict() for p in paths]},
        )


def _tls_hosts(resource: Resource) -> tuple[set[str], bool]:
    """Hosts covered by ``spec.tls``, and whether an entry without hosts covers all."""
    covered: set[str] = set()
    everything = False
    for entry in _spec(resource).get("tls") or []:
        if not isinstance(entry, dict):
            continue
        hosts = [h for h in entry.get("hosts") or [] if isinstance(h, str)]
        if not hosts:
            everything = True
        covered.update(hosts)
    return covered, everything


def _covered(host: str, covered: set[str]) -> bool:
    if host in covered:
        return True
    _, dot, parent = host.partition(".")
    return bool(dot) and f"*.{parent}" in covered


def paths_by_door(context: AnalysisContext) -> dict[int, list[ExposurePath]]:
    """id(door object) → its exposure paths."""

    def build() -> dict[int, list[ExposurePath]]:
        index: dict[int, list[ExposurePath]] = {}
        for path in exposure_paths(context):
            index.setdefault(id(path.door), []).append(path)
        return index

    return context.memo("exposure.by_door", build)


def _front_door_paths_of(context: AnalysisContext, resource: Resource) -> list[ExposurePath]:
    return paths_by_door(context).get(id(resource), [])


@analyzer("exposure.ingress_without_tls")
def ingress_without_tls(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Ingresses (and Routes) that serve hosts over plain HTTP."""
    engine = engine_of(context)
    for door in engine.model.front_doors:
        resource = door.resource
        if door.kind == "Route":
            tls = _spec(resource).get("tls")
            if not isinstance(tls, dict):
                plain = "serves plain HTTP (no spec.tls)"
            elif tls.get("insecureEdgeTerminationPolicy") == "Allow":
                plain = "also serves plain HTTP (tls.insecureEdgeTerminationPolicy: Allow)"
            else:
                continue
        else:
            covered, everything = _tls_hosts(resource)
            if everything:
                continue
            hosts = [h for h in dict.fromkeys(ingress_hosts(resource))]
            missing = [h or "any host" for h in hosts if h is None or not _covered(h, covered)]
            if not missing:
                continue
            plain = f"serves {', '.join(missing)} over plain HTTP (no spec.tls entry covers "
            plain += "them)" if len(missing) > 1 else "it)"
        paths = _front_door_paths_of(context, resource)
        chain = f": {_paths_text(paths)}" if paths else ""
        yield Hit(
            resource,
            f"{door.ref} {plain}; credentials, cookies and data cross the network readable and "
            f"alterable{chain}",
            details={"paths": [p.to_dict() for p in paths]},
        )


@analyzer("exposure.catch_all_hosts")
def catch_all_hosts(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Ingresses with wildcard hosts, rules without a host, or a default backend."""
    engine = engine_of(context)
    for door in engine.model.front_doors:
        if door.kind != "Ingress":
            continue
        spec = _spec(door.resource)
        reasons = []
        if spec.get("defaultBackend", spec.get("backend")) is not None:
            reasons.append("a default backend answers every request no rule matches")
        hosts = ingress_hosts(door.resource)
        if spec.get("rules") and any(h is None for h in hosts[1 if reasons else 0:]):
            reasons.append("a rule without host matches every host name and the bare address")
        wildcards = sorted({h for h in hosts if h and h.startswith("*")})
        if wildcards:
            reasons.append(f"wildcard host {', '.join(wildcards)} matches every subdomain")
        if not reasons:
            continue
        yield Hit(
            door.resource,
            f"{door.ref} accepts more host names than it names: {'; '.join(reasons)}",
        )


DEFAULT_ADMIN_NAMES = [
    "dashboard", "admin", "grafana", "kibana", "argocd", "argo-cd", "jenkins", "phpmyadmin",
    "pgadmin", "adminer", "prometheus", "alertmanager", "portainer", "rancher", "weave-scope",
    "kubeview", "kube-ops-view", "headlamp", "lens", "k9s", "jupyter", "airflow", "rabbitmq-management",
    "kafka-ui", "akhq", "minio-console", "sonarqube", "nexus", "traefik-dashboard", "consul-ui",
    "vault-ui", "spark-ui", "flower", "pgweb", "mongo-express", "redis-commander", "opensearch-dashboards",
]


class AdminParams(_Strict):
    #: words that name an administration interface, matched in Service and workload names,
    #: label values and container images (between non-letters, case-insensitive)
    names: list[str] = Field(default_factory=lambda: list(DEFAULT_ADMIN_NAMES), min_length=1)


def admin_pattern(names: list[str]) -> re.Pattern[str]:
    words = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    return re.compile(rf"(?<![a-z])(?:{words})(?![a-z])", re.I)


def _image_name(image: str) -> str:
    """``registry:5000/team/app:1.2@sha256:…`` → ``team/app``: the repository, no tag."""
    image = image.split("@", 1)[0]
    parts = image.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    last = parts[-1].split(":", 1)[0]
    return "/".join(parts[:-1] + [last])


def admin_evidence(pattern: re.Pattern[str], service: Service | None, workload: Workload | None) -> list[str]:
    """What makes a Service or workload look like an administration interface."""
    evidence: list[str] = []

    def look(what: str, text: str) -> None:
        match = pattern.search(text)
        if match and len(evidence) < 4:
            evidence.append(f"{what}{text!r}")

    if service is not None:
        look("Service name ", service.name)
    if workload is not None:
        look("workload name ", workload.name)
        for key, value in sorted(workload.labels.items()):
            look(f"label {key}=", str(value))
        for container in workload.template.spec.get("containers") or []:
            if isinstance(container, dict) and isinstance(container.get("image"), str):
                look("image ", _image_name(container["image"]))
    return list(dict.fromkeys(evidence))


@analyzer("exposure.admin_interfaces", params=AdminParams)
def admin_interfaces(context: AnalysisContext, params: AdminParams) -> Iterator[Hit]:
    """Administration interfaces (dashboards, CI, monitoring UIs) published outside the cluster."""
    pattern = admin_pattern(params.names)
    seen: set[tuple[int, str]] = set()
    for path in exposure_paths(context):
        evidence = admin_evidence(pattern, path.service, path.workload)
        if not evidence:
            continue
        target = path.workload.display if path.workload else (path.service.ref if path.service else "")
        key = (id(path.door), target)
        if key in seen:
            continue
        seen.add(key)
        related = [p for p in paths_by_door(context)[id(path.door)] if (
            (p.workload.display if p.workload else (p.service.ref if p.service else "")) == target
        )]
        what = f"{path.workload.kind} {path.workload.ref}" if path.workload else f"Service {target}"
        yield Hit(
            path.door,
            f"{path.door_ref} publishes an administration interface outside the cluster: {what} "
            f"({'; '.join(evidence)}){_reach_note(related)}: {_paths_text(related)}",
            key=target,
            details={"evidence": evidence, "paths": [p.to_dict() for p in related]},
        )
