"""Compound attack paths: an exposed workload plus one more weakness, hop by hop.

One finding alone understates a chain: a NodePort Service is medium, a cluster-admin token
in a pod is high, but the two together let anyone who reaches a node's port take the
cluster. These analyzers start from every workload that outside traffic actually reaches
(:func:`auditor.analysis.exposure.exposed_workloads`: a front door, its Service, and the
workload's NetworkPolicies admitting the traffic) and follow one more step:

* **the node** (``paths.exposed_node_access``): the pod spec fails the Pod Security
  ``baseline`` level (privileged, host namespaces, hostPath, host ports, added
  capabilities, …), judged exactly by :func:`auditor.analysis.pss.evaluate_pod`;
* **the cluster** (``paths.exposed_rbac_escalation``): the pods mount the token of a
  ServiceAccount that can become cluster-admin, by the RBAC escalation graph
  (:mod:`auditor.analysis.rbac.paths`), directly or in several steps;
* **sensitive workloads** (``paths.exposed_lateral_movement``): the NetworkPolicy engine
  lets the exposed workload connect to a database (by image or port), a workload holding
  Secrets, or anything in ``kube-system``.

Each finding sits on the exposed workload; its message lists every hop with the object that
enables it, and ``details.hops`` carries them as data (``kind``, ``ref``, ``detail``,
``object``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..inventory import iter_containers
from .exposure import ExposurePath, Hop, exposed_workloads
from .netpol.analyzers import engine_of
from .netpol.model import Workload
from .pss import evaluate_pod
from .rbac.analyzers import escalation_graph
from .rbac.paths import DEFAULT_MAX_DEPTH, DEFAULT_MAX_NODES
from .registry import AnalysisContext, Hit, NoParams, analyzer
from .serviceaccounts import service_account_name, token_automounted


def _first_path(paths: list[ExposurePath]) -> ExposurePath:
    """The path to show: the first that reaches the workload (front doors first)."""
    return paths[0]


def _chain(paths: list[ExposurePath]) -> list[Hop]:
    """The exposure hops of the first path (its last hop is the workload itself)."""
    return list(_first_path(paths).hops)


def _render(hops: list[Hop]) -> str:
    parts = []
    for index, hop in enumerate(hops):
        text = hop.ref if not hop.detail else f"{hop.ref} [{hop.detail}]"
        parts.append(text if index == 0 else f"→ {text}")
    return " ".join(parts)


def _other_doors(paths: list[ExposurePath]) -> str:
    others = list(dict.fromkeys(p.door_ref for p in paths[1:] if p.door_ref != paths[0].door_ref))
    return f" (also reachable through {', '.join(others)})" if others else ""


def _details(hops: list[Hop], paths: list[ExposurePath], **extra: Any) -> dict[str, Any]:
    return {"hops": [h.to_dict() for h in hops], "exposure": [p.to_dict() for p in paths], **extra}


# ---------------------------------------------------------------------------- the node


@analyzer("paths.exposed_node_access")
def exposed_node_access(context: AnalysisContext, params: NoParams) -> Iterator[Hit]:
    """Exposed workloads whose pods fail Pod Security baseline (a way onto the node)."""
    version = context.settings.pss_version or "latest"
    for workload, paths in exposed_workloads(context):
        template = workload.template
        try:
            result = evaluate_pod(template.metadata, template.spec, "baseline", version)
        except ValueError:
            result = evaluate_pod(template.metadata, template.spec, "baseline", "latest")
        if result.allowed:
            continue
        reasons = "; ".join(v.message for v in result.violations)
        hops = _chain(paths) + [Hop(
            "node", "the node", f"the pod spec fails Pod Security baseline: {reasons}", workload.resource,
        )]
        yield Hit(
            workload.resource,
            f"{workload.kind} {workload.ref} is reachable from outside and its pods can take over "
            f"their node: {_render(hops)}{_other_doors(paths)}",
            path=template.path_str,
            details=_details(hops, paths, violations=[v.to_dict() for v in result.violations]),
        )


# ---------------------------------------------------------------------------- the cluster


class EscalationParams(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    max_depth: int = Field(default=DEFAULT_MAX_DEPTH, ge=1, le=64, alias="maxDepth")
    max_nodes: int = Field(default=DEFAULT_MAX_NODES, ge=100, alias="maxNodes")


@analyzer("paths.exposed_rbac_escalation", params=EscalationParams)
def exposed_rbac_escalation(context: AnalysisContext, params: EscalationParams) -> Iterator[Hit]:
    """Exposed workloads whose ServiceAccount token leads to cluster-admin."""
    exposed = list(exposed_workloads(context))
    if not exposed:
        return  # nothing reachable from outside: no path to look for
    graph = escalation_graph(context)
    for workload, paths in exposed:
        template = workload.template
        mounted, why = token_automounted(template, context.inventory)
        if not mounted:
            continue
        account = service_account_name(template.spec)
        node = f"sa:{workload.namespace}:{account}"
        path, report = graph.path(node, max_nodes=params.max_nodes, max_depth=params.max_depth)
        if path is None:
            continue
        account_resource = context.inventory.get("ServiceAccount", account, workload.namespace)
        hops = _chain(paths) + [Hop(
            "ServiceAccount", f"ServiceAccount {workload.namespace}/{account}",
            f"its token is in every pod: {why}", account_resource,
        )]
        for _, edge in path.steps:
            evidence = "; ".join(e.describe() for e in edge.evidence)
            binding = next((e.source.binding for e in edge.evidence if e.source.binding), None)
            hops.append(Hop(
                "rbac", graph.label(edge.target),
                edge.action + (f": {evidence}" if evidence else ""),
                binding.resource if binding is not None and binding.resource is not None else None,
            ))
        note = f" (search bound: {report.bound_note})" if report.bound_note else ""
        steps = "one step" if path.length == 1 else f"{path.length} steps"
        yield Hit(
            workload.resource,
            f"{workload.kind} {workload.ref} is reachable from outside and runs with a token that "
            f"becomes cluster-admin in {steps}: {_render(hops)}{_other_doors(paths)}{note}",
            path=template.path_str,
            key=node,
            details=_details(hops, paths, rbac=path.to_dict(graph)),
        )


# ---------------------------------------------------------------------------- sensitive


#: sensitive targets listed in a finding's details (``targetCount`` has them all)
MAX_TARGETS = 50

DEFAULT_DATABASE_IMAGES = [
    "mysql", "mariadb", "percona", "postgres", "postgresql", "postgis", "timescaledb", "mongo",
    "mongodb", "redis", "valkey", "keydb", "memcached", "cassandra", "scylla", "elasticsearch",
    "opensearch", "couchdb", "couchbase", "influxdb", "neo4j", "cockroach", "cockroachdb",
    "etcd", "clickhouse", "mssql", "oracle", "db2", "rethinkdb", "arangodb", "dgraph",
    "vitess", "tidb", "yugabyte", "kafka", "rabbitmq", "minio", "vault",
]
DEFAULT_DATABASE_PORTS = [
    3306, 5432, 27017, 27018, 6379, 11211, 9042, 9200, 9300, 5984, 8086, 7687, 26257, 2379,
    1433, 1521, 50000, 8123, 9092, 5672, 8200, 28015,
]


class SensitiveParams(BaseModel):
    """What counts as sensitive; every field is optional (the defaults are above)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    #: image repository names (the last path part, before the tag) of data stores
    images: list[str] = Field(default_factory=lambda: list(DEFAULT_DATABASE_IMAGES))
    #: container ports of data stores
    ports: list[int] = Field(default_factory=lambda: list(DEFAULT_DATABASE_PORTS))
    #: every workload of these namespaces is sensitive
    namespaces: list[str] = Field(default_factory=lambda: ["kube-system"])
    #: workloads that mount Secrets (volumes, projected sources, env, envFrom) are sensitive
    secrets: bool = True


def _image_base(image: str) -> str:
    image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def _secret_refs(spec: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        secret = volume.get("secret")
        if isinstance(secret, dict) and isinstance(secret.get("secretName"), str):
            names.append(secret["secretName"])
        projected = volume.get("projected")
        for source in (projected.get("sources") or []) if isinstance(projected, dict) else []:
            if isinstance(source, dict) and isinstance(source.get("secret"), dict):
                name = source["secret"].get("name")
                if isinstance(name, str):
                    names.append(name)
    for ref in iter_containers(spec):
        container = ref.container
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") if isinstance(env, dict) else None
            key_ref = value_from.get("secretKeyRef") if isinstance(value_from, dict) else None
            if isinstance(key_ref, dict) and isinstance(key_ref.get("name"), str):
                names.append(key_ref["name"])
        for env_from in container.get("envFrom") or []:
            secret_ref = env_from.get("secretRef") if isinstance(env_from, dict) else None
            if isinstance(secret_ref, dict) and isinstance(secret_ref.get("name"), str):
                names.append(secret_ref["name"])
    return list(dict.fromkeys(names))


def sensitivity(workload: Workload, params: SensitiveParams) -> list[str]:
    """Why a workload is sensitive (empty when it is not)."""
    reasons: list[str] = []
    if workload.namespace in params.namespaces:
        reasons.append(f"runs in {workload.namespace}")
    images = {name.lower() for name in params.images}
    spec = workload.template.spec
    for ref in iter_containers(spec, ("initContainers", "containers")):
        image = ref.container.get("image")
        if isinstance(image, str) and _image_base(image) in images:
            reasons.append(f"data store image {image}")
            break
    ports = set(params.ports)
    found = sorted({p.number for p in workload.ports if p.number in ports})
    if found:
        reasons.append("data store port " + ", ".join(str(p) for p in found))
    if params.secrets:
        secrets = _secret_refs(spec)
        if secrets:
            reasons.append("mounts Secret " + ", ".join(secrets[:3]) + (" …" if len(secrets) > 3 else ""))
    return reasons


@analyzer("paths.exposed_lateral_movement", params=SensitiveParams)
def exposed_lateral_movement(context: AnalysisContext, params: SensitiveParams) -> Iterator[Hit]:
    """Exposed workloads that NetworkPolicy does not isolate from sensitive workloads."""
    exposed = list(exposed_workloads(context))
    if not exposed:
        return  # nothing reachable from outside: no path to look for
    engine = engine_of(context)
    sensitive = [(w, sensitivity(w, params)) for w in engine.model.workloads]
    sensitive = [(w, why) for w, why in sensitive if why]
    if not sensitive:
        return
    by_class: dict[int, list[tuple[Workload, list[str]]]] = {}
    for target, why in sensitive:
        by_class.setdefault(engine.class_of[id(target)].index, []).append((target, why))
    reached: dict[int, list[tuple[int, object]]] = {}  # source class → (sensitive class, conns)
    for workload, paths in exposed:
        source = engine.class_of[id(workload)].index
        classes = reached.get(source)
        if classes is None:
            classes = reached[source] = [
                (index, conns) for index in by_class
                if not (conns := engine.class_conns(source, index)).is_empty
            ]
        targets = [
            (target, why, conns)
            for index, conns in classes for target, why in by_class[index] if target is not workload
        ]
        if not targets:
            continue
        chain = _chain(paths)
        first, why, conns = targets[0]
        hops = chain + [Hop(
            first.kind, f"{first.kind} {first.ref}", f"{'; '.join(why)}; NetworkPolicy allows {conns}",
            first.resource,
        )]
        listed = [f"{t.kind} {t.ref} ({'; '.join(w)}; {c})" for t, w, c in targets[1:6]]
        more = f" and {len(targets) - 6} more" if len(targets) > 6 else ""
        also = f"; it also reaches {', '.join(listed)}{more}" if listed else ""
        yield Hit(
            workload.resource,
            f"{workload.kind} {workload.ref} is reachable from outside and NetworkPolicy lets it "
            f"connect to {len(targets)} sensitive workload(s): {_render(hops)}{_other_doors(paths)}"
            f"{also}",
            path=workload.template.path_str,
            details=_details(hops, paths, targetCount=len(targets), targets=[
                {"workload": t.display, "why": w, "connections": str(c), "object": t.resource.ref()}
                for t, w, c in targets[:MAX_TARGETS]
            ]),
        )
