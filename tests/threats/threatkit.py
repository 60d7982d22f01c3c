"""Builders for exposure, attack-path and threat-report tests."""

from __future__ import annotations

from auditor.analysis.registry import AnalysisContext
from auditor.engine.result import ScanResult
from auditor.inventory import Inventory
from auditor.pipeline import ScanOptions, load_rules, scan_inventory


def deployment(name, ns="shop", image="registry.example/app:1.0", ports=(("http", 8080),), labels=None,
               account=None, **pod_spec) -> dict:
    labels = labels or {"app": name}
    container = {"name": name, "image": image,
                 "ports": [{"name": n, "containerPort": p} if n else {"containerPort": p} for n, p in ports]}
    spec = {"containers": [container]} | pod_spec
    if account:
        spec["serviceAccountName"] = account
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def service(name, ns="shop", selector=None, type=None, port=80, target="http", node_port=None, **spec) -> dict:
    entry = {"name": "web", "port": port, "targetPort": target}
    if node_port:
        entry["nodePort"] = node_port
    body = {"selector": selector if selector is not None else {"app": name}, "ports": [entry]} | spec
    if type:
        body["type"] = type
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": body}


def ingress(name, ns="shop", backend=None, hosts=("shop.example.com",), tls=None, annotations=None,
            default=False) -> dict:
    backend = backend or name
    target = {"service": {"name": backend, "port": {"number": 80}}}
    spec: dict = {"rules": [
        ({"host": h} if h else {}) | {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": target}]}}
        for h in hosts
    ]}
    if default:
        spec["defaultBackend"] = target
    if tls is not None:
        spec["tls"] = tls
    metadata = {"name": name, "namespace": ns} | ({"annotations": annotations} if annotations else {})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}


def deny_all(ns="shop") -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "deny-all", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def allow_from_controller(app, ns="shop") -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"allow-{app}", "namespace": ns},
            "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [{"namespaceSelector": {}}]}]}}


def context(*objects) -> AnalysisContext:
    return AnalysisContext(Inventory.from_dicts(list(objects)))


def scan(*objects, prefix: str | tuple[str, ...]) -> ScanResult:
    options = ScanOptions()
    options.settings.extra["rbac.builtin"] = False
    rules = [r for r in load_rules(options) if r.id.startswith(prefix)]
    return scan_inventory(Inventory.from_dicts(list(objects)), rules, options)


def rows(result: ScanResult) -> set[str]:
    return {f"{f.rule} {f.resource.display}" for f in result.findings}
