"""Small builders for NetworkPolicy tests: namespaces, pods, workloads and policies as dicts."""

from __future__ import annotations

from typing import Any

from auditor.analysis.netpol.connlist import sorted_connections
from auditor.analysis.netpol.engine import Engine
from auditor.analysis.netpol.model import build_model
from auditor.inventory import Inventory


def namespace(name: str, labels: dict | None = None) -> dict:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _containers(ports) -> list[dict]:
    container: dict[str, Any] = {"name": "app", "image": "registry.example/app:1"}
    if ports:
        container["ports"] = [
            {"containerPort": p[0], **({"name": p[1]} if len(p) > 1 and p[1] else {}),
             **({"protocol": p[2]} if len(p) > 2 else {})}
            for p in ports
        ]
    return [container]


def pod(ns: str, name: str, labels: dict | None = None, ports=(), owner: tuple | None = None) -> dict:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True}
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": _containers(ports)}}


def deployment(ns: str, name: str, labels: dict, ports=(), kind: str = "Deployment",
               api: str = "apps/v1") -> dict:
    template = {"metadata": {"labels": labels}, "spec": {"containers": _containers(ports)}}
    spec: dict[str, Any] = {"selector": {"matchLabels": labels}, "template": template}
    if kind == "CronJob":
        spec = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def policy(ns: str, name: str, **spec: Any) -> dict:
    spec.setdefault("podSelector", {})
    if "policyTypes" in spec and spec["policyTypes"] is None:
        del spec["policyTypes"]
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns}, "spec": spec,
    }


def service(ns: str, name: str, selector: dict | None, ports: list[dict], type_: str = "ClusterIP") -> dict:
    spec: dict[str, Any] = {"ports": ports, "type": type_}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def engine(*objects: dict) -> Engine:
    return Engine(build_model(Inventory.from_dicts(list(objects))))


def edges(*objects: dict) -> dict[tuple[str, str], str]:
    """(src, dst) → connection string, for every listed connection."""
    return {(c.src_name, c.dst_name): str(c.conns) for c in sorted_connections(engine(*objects))}
