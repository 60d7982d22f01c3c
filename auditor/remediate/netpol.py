"""NetworkPolicies that deny by default and allow exactly the flows the inventory needs.

Per namespace: ``kube-auditor-default-deny`` (ingress and egress of every pod), and
``kube-auditor-allow-dns`` (egress to the cluster DNS), then, per workload, one policy for
the traffic it must receive and one for the traffic it must send.

Which flows are *needed* (the heuristic, also in docs/remediation.md):

1. **Front doors.** An Ingress or Route sends traffic from the ingress controller to the
   pods of its backend Services, on the Service's target ports. The controller is taken to
   run in ``--ingress-namespace`` (``ingress-nginx`` by default).
2. **NodePort and LoadBalancer Services** receive traffic from outside: their target ports
   stay open to every address, as they are today.
3. **References by name.** A container that names a Service's DNS name in its environment
   (``value``, a ``configMapKeyRef``, an ``envFrom`` ConfigMap of the inventory), its
   ``args`` or its ``command`` (``redis``, ``redis:6379``, ``redis.shop``,
   ``redis.shop.svc.cluster.local``, ``http://redis:6379/0``) may connect to that
   Service's pods: on the port it names when that is a Service port, else on every port.
   Only whole host names count (a token equal to the Service name), not substrings.
4. **Same application.** Workloads labelled with the same ``app.kubernetes.io/part-of``
   in one namespace may reach each other's Services (every Service port).
5. **DNS.** Every pod may query kube-dns (UDP and TCP 53) in ``kube-system``.
6. **The Kubernetes API.** A pod that mounts a token of a ServiceAccount some binding
   grants permissions to uses the API: it may connect to TCP 443 and 6443 of
   ``--api-server-cidr`` (every address when not given: the API server's address is not in
   manifests).

System namespaces (``kube-system``, ``kube-public``, ``kube-node-lease``) and the ingress
controller's namespace are left alone: their add-ons need flows manifests do not show.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..analysis.netpol.ingress import service_workloads, workloads_by_namespace
from ..analysis.netpol.model import NAMESPACE_NAME_LABEL, NetpolModel, Service, Workload
from ..analysis.serviceaccounts import (
    directly_bound_service_accounts,
    group_bound_service_account_namespaces,
    service_account_name,
    token_automounted,
)
from ..inventory import Inventory, iter_containers

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
PART_OF = "app.kubernetes.io/part-of"
PREFIX = "kube-auditor"
#: labels a controller adds to pods, never part of a stable selector
VOLATILE_LABELS = frozenset({
    "pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
    "controller-uid", "batch.kubernetes.io/controller-uid", "pod-template-generation",
    "apps.kubernetes.io/pod-index", "batch.kubernetes.io/job-completion-index",
})


@dataclass
class NetpolOptions:
    ingress_namespace: str = "ingress-nginx"
    dns_namespace: str = "kube-system"
    dns_labels: dict[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})
    api_server_cidr: str | None = None
    skip_namespaces: tuple[str, ...] = SYSTEM_NAMESPACES


@dataclass(frozen=True)
class Port:
    protocol: str
    port: int | str  #: a number, or a container port name

    def to_dict(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "port": self.port}

    def __str__(self) -> str:
        return f"{self.protocol} {self.port}"


@dataclass
class Flow:
    """A connection the inventory shows is needed. ``src`` is a workload, or a peer that is
    not one (``ingress``: the ingress controller; ``world``: any address)."""

    src: Workload | str
    dst: Workload
    ports: tuple[Port, ...]  #: empty: every port
    why: str

    @property
    def src_name(self) -> str:
        if isinstance(self.src, Workload):
            return self.src.display
        return {"ingress": "the ingress controller", "world": "any address"}[self.src]


@dataclass
class EgressOut:
    """Egress that leaves the pods' world: DNS, the API server."""

    src: Workload
    ports: tuple[Port, ...]
    cidr: str
    why: str


@dataclass
class PolicyPlan:
    namespace: str
    manifest: dict[str, Any]
    blocks: str
    allows: list[str]
    could_break: str


@dataclass
class NetpolPlan:
    policies: dict[str, list[PolicyPlan]]  #: namespace → policies
    flows: list[Flow]
    api_egress: list[EgressOut]
    #: namespace → notes (workloads that cannot be selected, existing policies kept)
    notes: dict[str, list[str]]
    skipped: dict[str, str]  #: namespace → why it is left alone


# ----------------------------------------------------------------------------- selectors


def workload_selector(workload: Workload) -> dict[str, str] | None:
    """Labels that select the workload's pods: the controller's matchLabels, else the pod
    template's labels (minus those controllers add). ``None`` when it has none."""
    spec = workload.resource.obj.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if (
        workload.resource.kind != "Pod"
        and isinstance(selector, dict)
        and isinstance(selector.get("matchLabels"), dict)
        and selector["matchLabels"]
        and not selector.get("matchExpressions")
    ):
        labels = {str(k): str(v) for k, v in selector["matchLabels"].items()}
        if all(workload.labels.get(k) == v for k, v in labels.items()):
            return labels
    labels = {k: v for k, v in workload.labels.items() if k not in VOLATILE_LABELS}
    return labels or None


def _dns_name(value: str) -> str:
    """A Kubernetes object name as a DNS-1123 label fragment."""
    text = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return text or "x"


# ----------------------------------------------------------------------------- flows

_HOST = re.compile(
    r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://)?(?:[^@/\s]*@)?"
    r"(?P<host>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)"
    r"(?::(?P<port>[0-9]{1,5}))?(?:/\S*)?$"
)
def references(text: str) -> list[tuple[str, int | None]]:
    """Host names (and ports) a configuration string names: ``redis:6379,db`` →
    ``[("redis", 6379), ("db", None)]``; ``--host=redis`` → ``[("redis", None)]``.

    A string is read as a list of items separated by commas or semicolons; an item with
    blanks inside is prose (or a shell line), not a reference, and is ignored."""
    found = []
    for item in re.split(r"[,;]", text):
        item = item.strip().strip("\"'")
        if not item or any(c.isspace() for c in item):
            continue
        match = _HOST.match(item.rsplit("=", 1)[-1])
        if match:
            port = match.group("port")
            found.append((match.group("host"), int(port) if port else None))
    return found


def _service_for_host(host: str, namespace: str, services: dict[tuple[str, str], Service]) -> Service | None:
    parts = host.split(".")
    if len(parts) == 1:
        return services.get((namespace, parts[0]))
    if len(parts) == 2 or (len(parts) >= 3 and parts[2] == "svc"):
        return services.get((parts[1], parts[0]))
    return None


def _config_strings(workload: Workload, inventory: Inventory) -> list[str]:
    """The strings a workload is configured with: env values (literal and from ConfigMaps
    of the inventory), envFrom ConfigMaps' values, args and command."""
    out: list[str] = []
    namespace = workload.namespace

    def config_map(name: Any) -> dict[str, Any]:
        if not isinstance(name, str):
            return {}
        found = inventory.get("ConfigMap", name, namespace)
        data = found.obj.get("data") if found is not None else None
        return data if isinstance(data, dict) else {}

    for ref in iter_containers(workload.template.spec):
        container = ref.container
        for item in container.get("env") or []:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("value"), str):
                out.append(item["value"])
            key_ref = (item.get("valueFrom") or {}).get("configMapKeyRef") if isinstance(item.get("valueFrom"), dict) else None
            if isinstance(key_ref, dict):
                value = config_map(key_ref.get("name")).get(key_ref.get("key"))
                if isinstance(value, str):
                    out.append(value)
        for source in container.get("envFrom") or []:
            if isinstance(source, dict) and isinstance(source.get("configMapRef"), dict):
                out.extend(v for v in config_map(source["configMapRef"].get("name")).values() if isinstance(v, str))
        for key in ("args", "command"):
            out.extend(v for v in container.get(key) or [] if isinstance(v, str))
    return out


def _target_ports(service: Service, wanted: int | str | None) -> tuple[Port, ...]:
    """The pod ports a reference to the Service reaches (every Service port when unnamed)."""
    ports = []
    for port in service.ports:
        target = port.target if port.target is not None else port.port
        if target is None:
            continue
        if wanted is None or port.port == wanted or port.name == wanted:
            ports.append(Port(port.protocol if port.protocol in ("TCP", "UDP", "SCTP") else "TCP", target))
    if wanted is not None and not ports:
        return _target_ports(service, None)
    return tuple(dict.fromkeys(ports))


def needed_flows(model: NetpolModel, inventory: Inventory, options: NetpolOptions) -> list[Flow]:
    by_namespace = workloads_by_namespace(model.workloads)
    services = {(s.namespace, s.name): s for s in model.services}
    flows: list[Flow] = []
    for door in model.front_doors:
        for backend in door.backends:
            service = services.get((door.namespace, backend.service))
            if service is None:
                continue
            ports = _target_ports(service, backend.port)
            for workload in service_workloads(service, by_namespace):
                flows.append(Flow("ingress", workload, ports, f"{door.ref} → Service {service.name}"))
    for service in model.services:
        if service.type in ("NodePort", "LoadBalancer"):
            for workload in service_workloads(service, by_namespace):
                flows.append(Flow("world", workload, _target_ports(service, None), f"{service.type} Service {service.ref}"))
    for workload in model.workloads:
        seen: set[tuple[str, str, int | None]] = set()
        for text in _config_strings(workload, inventory):
            for host, port in references(text):
                service = _service_for_host(host, workload.namespace, services)
                if service is None or (service.namespace, service.name, port) in seen:
                    continue
                seen.add((service.namespace, service.name, port))
                for target in service_workloads(service, by_namespace):
                    if target is not workload:
                        flows.append(Flow(workload, target, _target_ports(service, port),
                                          f"configuration names {host}{':' + str(port) if port else ''} (Service {service.ref})"))
        app = workload.labels.get(PART_OF)
        if app:
            for service in model.services:
                if service.namespace != workload.namespace:
                    continue
                for target in service_workloads(service, by_namespace):
                    if target is not workload and target.labels.get(PART_OF) == app:
                        flows.append(Flow(workload, target, _target_ports(service, None),
                                          f"same application ({PART_OF}={app}, Service {service.ref})"))
    return flows


def api_clients(model: NetpolModel, inventory: Inventory) -> list[Workload]:
    """Workloads that mount a token of a ServiceAccount some binding gives permissions."""
    bound = directly_bound_service_accounts(inventory)
    everyone, namespaces = group_bound_service_account_namespaces(inventory)
    out = []
    for workload in model.workloads:
        mounted, _ = token_automounted(workload.template, inventory)
        account = (workload.namespace, service_account_name(workload.template.spec))
        if mounted and (account in bound or everyone or workload.namespace in namespaces):
            out.append(workload)
    return out


# ----------------------------------------------------------------------------- policies


def _policy(name: str, namespace: str, selector: dict[str, str] | None, types: list[str], **rules) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(selector)} if selector else {}, "policyTypes": types}
    spec.update({k: v for k, v in rules.items() if v is not None})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "kube-auditor"},
        },
        "spec": spec,
    }


def _peer(src: Workload | str, policy_namespace: str, options: NetpolOptions) -> dict[str, Any] | None:
    if src == "ingress":
        return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: options.ingress_namespace}}}
    if src == "world":
        return {"ipBlock": {"cidr": "0.0.0.0/0"}}
    assert isinstance(src, Workload)
    selector = workload_selector(src)
    if selector is None:
        return None
    peer: dict[str, Any] = {"podSelector": {"matchLabels": selector}}
    if src.namespace != policy_namespace:
        peer["namespaceSelector"] = {"matchLabels": {NAMESPACE_NAME_LABEL: src.namespace}}
    return peer


def _rules(entries: list[tuple[dict[str, Any], tuple[Port, ...]]], peers_key: str) -> list[dict[str, Any]]:
    """One rule per distinct port set, its peers merged (deterministic order)."""
    grouped: dict[tuple[Port, ...], list[dict[str, Any]]] = {}
    for peer, ports in entries:
        bucket = grouped.setdefault(ports, [])
        if peer not in bucket:
            bucket.append(peer)
    rules = []
    for ports, peers in grouped.items():
        rule: dict[str, Any] = {peers_key: peers}
        if ports:
            rule["ports"] = [p.to_dict() for p in ports]
        rules.append(rule)
    return rules


def build(model: NetpolModel, inventory: Inventory, options: NetpolOptions | None = None) -> NetpolPlan:
    """The NetworkPolicies of every namespace the inventory has workloads in."""
    options = options or NetpolOptions()
    skip = set(options.skip_namespaces) | {options.ingress_namespace}
    flows = needed_flows(model, inventory, options)
    clients = api_clients(model, inventory)
    cidr = options.api_server_cidr or "0.0.0.0/0"
    api_egress = [
        EgressOut(w, (Port("TCP", 443), Port("TCP", 6443)), cidr, "mounts a token of a ServiceAccount with RBAC bindings")
        for w in clients
    ]
    namespaces = sorted({w.namespace for w in model.workloads})
    policies: dict[str, list[PolicyPlan]] = defaultdict(list)
    notes: dict[str, list[str]] = defaultdict(list)
    skipped = {ns: "system namespace" if ns in options.skip_namespaces else "the ingress controller's namespace"
               for ns in namespaces if ns in skip}
    names: dict[str, set[str]] = defaultdict(set)

    def unique(namespace: str, base: str, workload: Workload) -> str:
        name = base if base not in names[namespace] else f"{base}-{_dns_name(workload.kind)}"
        names[namespace].add(name)
        return name[:253]

    for namespace in namespaces:
        if namespace in skip:
            continue
        policies[namespace].append(PolicyPlan(
            namespace,
            _policy(f"{PREFIX}-default-deny", namespace, None, ["Ingress", "Egress"]),
            "all ingress and egress of every pod in the namespace, except what the policies below (and the policies already there) allow",
            [],
            "any connection the manifests do not show: traffic from monitoring (Prometheus scrapes), service meshes, "
            "webhooks called by the API server, and egress to external services and databases",
        ))
        dns_peer = {
            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: options.dns_namespace}},
            "podSelector": {"matchLabels": dict(options.dns_labels)},
        }
        dns_ports = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
        policies[namespace].append(PolicyPlan(
            namespace,
            _policy(f"{PREFIX}-allow-dns", namespace, None, ["Egress"], egress=[{"to": [dns_peer], "ports": dns_ports}]),
            "nothing (it allows)",
            [f"every pod → kube-dns ({options.dns_namespace}, {options.dns_labels}) on UDP/TCP 53"],
            "DNS servers other than kube-dns (NodeLocal DNSCache on a link-local address, an external resolver)",
        ))
        for policy in model.policies_in(namespace):
            notes[namespace].append(
                f"existing NetworkPolicy {policy.name} is kept; it still allows what its rules allow (review it)"
            )

    ingress: dict[int, list[tuple[Flow, dict[str, Any]]]] = defaultdict(list)
    egress: dict[int, list[tuple[Flow, dict[str, Any]]]] = defaultdict(list)
    for flow in flows:
        dst = flow.dst
        if dst.namespace not in skip:
            peer = _peer(flow.src, dst.namespace, options)
            if peer is None:
                notes[dst.namespace].append(f"{flow.src_name} has no labels to select it; its flow to {dst.display} is not allowed ({flow.why})")
            else:
                ingress[id(dst)].append((flow, peer))
        if isinstance(flow.src, Workload) and flow.src.namespace not in skip:
            peer = _peer(dst, flow.src.namespace, options)
            if peer is None:
                notes[flow.src.namespace].append(f"{dst.display} has no labels to select it; the flow from {flow.src_name} is not allowed ({flow.why})")
            else:
                egress[id(flow.src)].append((flow, peer))
    api_by_workload = {id(e.src): e for e in api_egress}

    for workload in model.workloads:
        namespace = workload.namespace
        if namespace in skip:
            continue
        selector = workload_selector(workload)
        key = id(workload)
        wants = ingress.get(key) or egress.get(key) or key in api_by_workload
        if wants and selector is None:
            notes[namespace].append(f"{workload.display} has no labels: no policy can select it alone, so it gets no allow policy")
            continue
        if ingress.get(key):
            entries = ingress[key]
            manifest = _policy(
                unique(namespace, f"{PREFIX}-ingress-{_dns_name(workload.name)}", workload), namespace, selector,
                ["Ingress"], ingress=_rules([(peer, f.ports) for f, peer in entries], "from"),
            )
            policies[namespace].append(PolicyPlan(
                namespace, manifest, "nothing (it allows)",
                [f"{f.src_name} → {workload.display} on {_ports_text(f.ports)} ({f.why})" for f, _ in entries],
                "clients of these pods that the manifests do not show",
            ))
        out_entries = [(peer, f.ports) for f, peer in egress.get(key, [])]
        allows = [f"{workload.display} → {f.dst.display} on {_ports_text(f.ports)} ({f.why})" for f, _ in egress.get(key, [])]
        api = api_by_workload.get(key)
        if api is not None:
            out_entries.append(({"ipBlock": {"cidr": api.cidr}}, api.ports))
            allows.append(f"{workload.display} → the Kubernetes API ({api.cidr}) on {_ports_text(api.ports)} ({api.why})")
        if out_entries:
            manifest = _policy(
                unique(namespace, f"{PREFIX}-egress-{_dns_name(workload.name)}", workload), namespace, selector,
                ["Egress"], egress=_rules(out_entries, "to"),
            )
            policies[namespace].append(PolicyPlan(
                namespace, manifest, "nothing (it allows)", allows,
                "connections of these pods that the manifests do not show (external APIs, databases outside the cluster)",
            ))
        if not ingress.get(key) and namespace not in skip:
            notes[namespace].append(f"{workload.display}: no client found in the manifests, so all its ingress is denied")
    return NetpolPlan(dict(policies), flows, api_egress, dict(notes), skipped)


def _ports_text(ports: tuple[Port, ...]) -> str:
    return ", ".join(str(p) for p in ports) if ports else "every port"
