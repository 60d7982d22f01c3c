"""Helpers for the live-cluster tests: put manifests into the real API server, read it back,
and compare findings.

``apply_manifests`` creates objects the way ``kubectl create`` would (namespaces first,
each namespace with its ``default`` ServiceAccount, as a cluster's controllers would add),
finding each kind's URL by discovery; kinds the server does not serve are skipped and
returned with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from harness.apiserver import HarnessError, KubeAPIServer
from harness.waiting import eventually as wait_for

from auditor.analysis.registry import AnalysisSettings
from auditor.engine.result import ScanResult
from auditor.inventory import Inventory, load_paths
from auditor.inventory.kinds import CLUSTER_SCOPED_KINDS
from auditor.inventory.live import (
    CATALOGUE,
    KindSpec,
    LiveInventory,
    connect,
    discover,
    read_cluster,
)
from auditor.pipeline import ScanOptions, load_rules, scan_inventory, scan_paths


def live_options() -> ScanOptions:
    """What ``scan --cluster`` uses: the cluster's own RBAC roles, not the bundled ones."""
    return ScanOptions(settings=AnalysisSettings(extra={"rbac.builtin": False}))


def read(server: KubeAPIServer, kubeconfig: Path | None = None, **kwargs) -> LiveInventory:
    return read_cluster(connect(str(kubeconfig or server.kubeconfig)), **kwargs)


def scan_live(live: LiveInventory, options: ScanOptions | None = None) -> ScanResult:
    from auditor.cli.live_source import live_notices

    options = options or live_options()
    inventory = Inventory.from_objects(live.objects)
    return scan_inventory(inventory, load_rules(options), options, live_notices(live), [live.source])


def scan_files(paths: list[str], options: ScanOptions | None = None) -> ScanResult:
    return scan_paths(paths, options or ScanOptions())


def finding_rows(result: ScanResult, with_message: bool = True) -> set[tuple]:
    """(rule, kind, namespace, name, container[, message]): a finding without its location."""
    rows = set()
    for f in result.findings:
        row = (f.rule, f.resource.kind, f.resource.namespace, f.resource.name, f.container)
        rows.add(row + ((f.message,) if with_message else ()))
    return rows


def _paths(server: KubeAPIServer, specs: Iterable[KindSpec]) -> dict[tuple[str, str], object]:
    connection = connect(str(server.kubeconfig))
    discovery = discover(connection.transport, specs)
    found = {}
    for spec in specs:
        served = discovery.resolve(spec)
        if served is not None:
            found[(served.api_version, spec.kind)] = served
    return found


def apply_manifests(
    server: KubeAPIServer, paths: list[str], default_namespace: str = "default"
) -> tuple[list[dict], list[tuple[dict, str]]]:
    """Create every object of the manifests; return (created, [(skipped, why)])."""
    loaded = load_paths(paths)
    objects = [raw.obj for raw in loaded.objects]
    served = _paths(server, CATALOGUE)
    created: list[dict] = []
    skipped: list[tuple[dict, str]] = []
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    used = {
        (o.get("metadata") or {}).get("namespace") or default_namespace
        for o in objects
        if o["kind"] not in CLUSTER_SCOPED_KINDS
    }
    for ns in namespaces:
        server.ensure_namespace(ns["metadata"]["name"])
        created.append(ns)
    for name in sorted(used):
        server.ensure_namespace(name)
    for obj in objects:
        if obj["kind"] == "Namespace":
            continue
        target = served.get((obj["apiVersion"], obj["kind"]))
        if target is None:
            skipped.append((obj, f"{obj['apiVersion']} {obj['kind']} is not served by this API server"))
            continue
        namespace = None
        if target.namespaced:
            namespace = (obj.get("metadata") or {}).get("namespace") or default_namespace
        server.request_json("POST", target.collection_path(namespace), obj)
        created.append(obj)
    return created, skipped


def post(server: KubeAPIServer, api_path: str, obj: dict, namespace: str | None = None) -> dict:
    """POST ``obj`` to a collection path (``/api/v1/secrets`` style, namespace inserted)."""
    if namespace is not None:
        prefix, _, resource = api_path.rpartition("/")
        api_path = f"{prefix}/namespaces/{quote(namespace, safe='')}/{resource}"
    return server.request_json("POST", api_path, obj)


def eventually(check, timeout: float = 15.0, interval: float = 0.05):
    """Poll ``check()`` until truthy (RBAC caches catch up asynchronously)."""
    return wait_for(check, timeout, interval)


def sar_allowed(server: KubeAPIServer, user: str, groups: list[str], verb: str, resource: str,
                namespace: str = "", group: str = "") -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": groups,
            "resourceAttributes": {"verb": verb, "resource": resource, "group": group, "namespace": namespace},
        },
    }
    try:
        answer = server.request_json("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
    except HarnessError:
        return False
    return bool(answer.get("status", {}).get("allowed"))
